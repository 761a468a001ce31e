/**
 * Builds `openapi.json`, the OpenAPI 3.1 description of the HTTP API, and writes it
 * (`npm run openapi`). test/unit/openapi-document.test.ts regenerates it and compares, so the
 * committed file never drifts from this script.
 *
 * Request bodies, query parameters and the Idempotency-Key header come from the zod schemas in
 * lambdas/core/validation.ts through zod 4's `z.toJSONSchema`, on the input side (query strings
 * are strings on the wire, before `limit` and `since` are transformed). What zod cannot express
 * in JSON Schema (its `refine` checks: endpoint ids, no repeated ids, at least one field, the
 * page size and the rate limit's range) is added below by name, the build fails if a named field
 * is no longer there, and the unit test checks the two agree on the examples and edge values.
 *
 * Response schemas are written here once, from lambdas/api/views.ts and the routes. They live
 * only in this script: nothing here is imported by a lambda, so no function bundle grows except
 * by the finished document, which the pages function serves at `GET /openapi.json` from
 * lambdas/api/openapi-document.ts (written here too: the file brotli-compressed and base64-encoded, about 20 KB).
 *
 * Examples come in two kinds. A *named* example (`examples: {name: ...}`) is a scenario: the
 * request under that name (body, parameters, headers) gets the response under the same name,
 * and test/integration/openapi-examples.test.ts sends every one to local mode and checks the
 * answer against the documented schema. A single `example` illustrates an answer that local
 * mode cannot be made to give on demand (500, 503, 413, the move task of real SQS).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import * as z from 'zod/mini';
import {
  DEFAULT_PAGE_SIZE,
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_EVENTS,
  MAX_PAGE_SIZE,
  MAX_REQUEST_BODY_BYTES,
  RECOVER_PAGE_SIZE,
} from '../lambdas/core/config.ts';
import {
  MAX_CUSTOM_HEADERS,
  MAX_CUSTOM_HEADERS_TOTAL_BYTES,
  MAX_HEADER_NAME_BYTES,
  MAX_HEADER_VALUE_BYTES,
} from '../lambdas/core/custom-headers.ts';
import { MAX_FILTER_BYTES, MAX_FILTER_DEPTH } from '../lambdas/core/filter.ts';
import {
  deliveryId,
  ENDPOINT_PREFIX,
  EVENT_PREFIX,
  encodeTime,
  idempotentEventId,
  OPERATIONAL_EVENT_PREFIX,
} from '../lambdas/core/ids.ts';
import { OPERATIONAL_EVENT_TYPES } from '../lambdas/core/operational-events.ts';
import { DEFAULT_TENANT, TENANT_ID_PATTERN } from '../lambdas/core/tenants.ts';
import {
  batchEventSchema,
  createApiKeySchema,
  createEndpointSchema,
  deliveryStatusSchema,
  idempotencyKeySchema,
  listDeliveriesSchema,
  listEndpointsSchema,
  listOperationalEventsSchema,
  listTenantsSchema,
  portalSessionSchema,
  putTenantSchema,
  recoverSchema,
  sendEventBatchSchema,
  sendEventSchema,
  updateEndpointSchema,
} from '../lambdas/core/validation.ts';

/** Where the document is committed. */
export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));
/** The copy the API serves, compressed (about 20 KB of base64 brotli instead of 100 KB of minified JSON in the bundle). */
export const SERVED_FILE = fileURLToPath(new URL('../lambdas/api/openapi-document.ts', import.meta.url));

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Json): Json => ({ anyOf: [schema, { type: 'null' }] });

// ---------------------------------------------------------------------------------------------
// Identifiers. lambdas/core/ids.ts checks them with these shapes (its regular expressions are
// private); the unit test holds the two together on generated and mangled ids.

const CROCKFORD_CLASS = '[0-9A-HJKMNP-TV-Z]';
export const ID_PATTERNS = {
  endpoint: `^${ENDPOINT_PREFIX}${CROCKFORD_CLASS}{26}$`,
  event: `^${EVENT_PREFIX}${CROCKFORD_CLASS}{26}$`,
  delivery: `^dlv_${CROCKFORD_CLASS}{62}$`,
  tenant: TENANT_ID_PATTERN.source,
} as const;

const idSchema = (kind: keyof typeof ID_PATTERNS): Json => ({ type: 'string', pattern: ID_PATTERNS[kind] });
const dateTime: Json = { type: 'string', format: 'date-time' };
const count: Json = { type: 'integer', minimum: 0 };

// ---------------------------------------------------------------------------------------------
// Request schemas, from zod.

/** A zod schema's JSON Schema on the input side, without the `$schema` line (OpenAPI sets the dialect). */
function fromZod(schema: z.ZodMiniType): Json {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
  }) as Json;
  return json;
}

/** Merges `extra` into the object at `path` (property names) of `schema` and returns it; throws if it is not there. */
function refine(schema: Json, path: readonly string[], extra: Json): Json {
  let node: Json = schema;
  for (const key of path) {
    const next = (node.properties as Record<string, Json> | undefined)?.[key];
    if (!next) throw new Error(`openapi: no property ${path.join('.')} in the zod schema any more`);
    node = next;
  }
  Object.assign(node, extra);
  return node;
}

/** `endpointIds`: zod checks each id and that none repeats with `refine`, which JSON Schema cannot read. */
function withEndpointIds(schema: Json): Json {
  refine(schema, ['endpointIds'], {
    uniqueItems: true,
    description: 'Only these endpoints (each enabled), instead of every endpoint subscribed to the type.',
  });
  const endpointIds = (schema.properties as Record<string, Json>).endpointIds as Json;
  Object.assign(endpointIds.items as Json, idSchema('endpoint'));
  return schema;
}

/** Deliveries per second at most, across every worker: zod checks a whole number from 1 to 1,000 with a refine. */
const RATE_LIMIT: Json = { type: 'integer', minimum: 1, maximum: 1000 };

/** `rateLimit` of an endpoint body: a number, or number-or-null, made the whole numbers zod accepts. */
function rateLimitIn(schema: Json, absent: string): void {
  const field = refine(schema, ['rateLimit'], {
    description: `Deliveries per second at most to this endpoint, across every worker. ${absent}`,
  });
  const types = [field.type].flat();
  if (!types.includes('number'))
    throw new Error('openapi: rateLimit is no longer a number in the zod schema');
  Object.assign(
    field,
    RATE_LIMIT,
    types.length > 1 ? { type: types.map((type) => (type === 'number' ? 'integer' : type)) } : {},
  );
}

/** Replaces the property `name` of `schema` (zod's `z.unknown()` or a record JSON Schema cannot bound); throws if it is not there. */
function replaceProperty(schema: Json, name: string, replacement: Json): void {
  const properties = schema.properties as Record<string, Json> | undefined;
  if (!properties?.[name]) throw new Error(`openapi: no property ${name} in the zod schema any more`);
  properties[name] = replacement;
}

const TENANT_ID: Json = {
  type: 'string',
  pattern: ID_PATTERNS.tenant,
  description: `An operator-chosen tenant id; \`${DEFAULT_TENANT}\` always exists.`,
};

/**
 * `headers` of an endpoint body: what lambdas/core/custom-headers.ts accepts, as far as JSON
 * Schema says it (the refused names, case-insensitive duplicates and the total size are the
 * code's alone: a 400 \`invalid_header\` naming the header).
 */
const CUSTOM_HEADERS: Json = {
  type: 'object',
  maxProperties: MAX_CUSTOM_HEADERS,
  propertyNames: {
    type: 'string',
    pattern: `^[!#$%&'*+\\-.^_\`|~0-9A-Za-z]{1,${MAX_HEADER_NAME_BYTES}}$`,
  },
  additionalProperties: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_HEADER_VALUE_BYTES,
    pattern: '^[\\x21-\\x7e](?:[\\t\\x20-\\x7e]*[\\x21-\\x7e])?$',
  },
  description: `Static headers sent with every delivery, under the signature: at most ${MAX_CUSTOM_HEADERS}, names HTTP tokens of at most ${MAX_HEADER_NAME_BYTES} bytes (unique whatever their case), values printable ASCII of 1 to ${MAX_HEADER_VALUE_BYTES} bytes with no whitespace at either end, ${MAX_CUSTOM_HEADERS_TOTAL_BYTES} bytes in all. Refused (400 \`invalid_header\`): the \`webhook-*\` and \`proxy-*\` names, \`content-type\`, \`content-length\`, \`content-encoding\`, \`user-agent\`, \`host\` and the hop-by-hop headers; \`Authorization\` is allowed. Kept with the signing secret: the values are never shown again (the endpoint shows \`headerNames\`).`,
};

/** `filter` of an endpoint body: checked by lambdas/core/filter.ts (docs/filters.md). */
const FILTER: Json = {
  type: 'object',
  description: `A payload filter (docs/filters.md): the event, as \`{"type", "data"}\`, must pass it to be sent to this endpoint, on top of \`eventTypes\` (an event that names the endpoint in \`endpointIds\`, and \`POST /endpoints/{id}/test\`, skip both). Fields match values exactly; \`$eq\`, \`$neq\`, \`$in\`, \`$nin\`, \`$exists\`, \`$gt\`, \`$gte\`, \`$lt\`, \`$lte\`, \`$and\`, \`$or\` and \`$not\` compare. At most ${MAX_FILTER_BYTES} bytes as JSON and ${MAX_FILTER_DEPTH} levels deep; a fault is a 400 \`invalid_filter\` naming its path.`,
};

function requestSchemas(): Record<string, Json> {
  const sendEvent = withEndpointIds(fromZod(sendEventSchema));
  refine(sendEvent, ['type'], { description: 'A dotted event type such as `invoice.paid`.' });
  refine(sendEvent, ['data'], { description: "The payload, delivered as the webhook body's `data`." });
  const batchEvent = withEndpointIds(fromZod(batchEventSchema));
  refine(batchEvent, ['idempotencyKey'], {
    description: "This event's Idempotency-Key: the same rules as the header of `POST /events`.",
  });
  const batch = fromZod(sendEventBatchSchema);
  // The envelope takes any items and validates each on its own (a bad one is refused in its
  // item of the answer, not for the whole request); what each should be is a BatchEvent.
  refine(batch, ['events'], {
    items: ref('BatchEvent'),
    description: `1 to ${MAX_BATCH_EVENTS} events, each validated on its own: one that is not a BatchEvent is refused in its own item (400), not the request.`,
  });
  refine(sendEvent, ['tenantId'], {
    ...TENANT_ID,
    description: `The tenant whose endpoints it goes to (\`${DEFAULT_TENANT}\` when absent); it must exist (else 422 \`unknown_tenant\`), and every endpoint named must be one of its (else 422 \`endpoint_not_in_tenant\`).`,
  });
  refine(batchEvent, ['tenantId'], { description: 'The same as `tenantId` of `POST /events`.' });
  const update = fromZod(updateEndpointSchema);
  update.minProperties = 1;
  replaceProperty(update, 'headers', {
    anyOf: [ref('CustomHeaders'), { type: 'null' }],
    description: 'Replaces every custom header; `null` or `{}` removes them.',
  });
  replaceProperty(update, 'filter', {
    anyOf: [ref('PayloadFilter'), { type: 'null' }],
    description: 'Replaces the payload filter (docs/filters.md); `null` removes it.',
  });
  rateLimitIn(update, '`null` removes the limit.');
  refine(update, ['eventTypes'], { description: '`null` removes the filter: every type.' });
  refine(update, ['enabled'], {
    description: '`true` re-enables the endpoint with a clean slate (failure run and circuit cleared).',
  });
  const create = fromZod(createEndpointSchema);
  refine(create, ['url'], {
    description:
      'https only (http only for loopback in local mode); a literal private, loopback, link-local, CGNAT or metadata address is refused.',
  });
  refine(create, ['eventTypes'], { description: 'Types to receive; absent or `["*"]` means all.' });
  rateLimitIn(create, 'Absent: no limit.');
  refine(create, ['tenantId'], {
    ...TENANT_ID,
    description: `The tenant it belongs to (\`${DEFAULT_TENANT}\` when absent); it must exist (else 422 \`unknown_tenant\`). A portal session may name only its own (or none).`,
  });
  replaceProperty(create, 'headers', ref('CustomHeaders'));
  replaceProperty(create, 'filter', ref('PayloadFilter'));
  const tenant = fromZod(putTenantSchema);
  refine(tenant, ['name'], { description: 'A display name (the portal shows it); absent: none.' });
  refine(tenant, ['metadata'], {
    maxProperties: 20,
    description: 'Up to 20 strings of your own (a plan, a CRM id); absent: none.',
  });
  const session = fromZod(portalSessionSchema);
  refine(session, ['expiresInSeconds'], {
    type: 'integer',
    minimum: 300,
    maximum: 86_400,
    description: 'How long the link works: 5 minutes to 24 hours (default 1 hour).',
  });
  const apiKey = fromZod(createApiKeySchema);
  refine(apiKey, ['scope'], {
    description:
      '`admin`: every route; `send`: `POST /events`, `POST /events/batch` and `GET /events/{id}` of the events it sent.',
  });
  refine(apiKey, ['name'], { description: 'What it is for, to recognise it in the list.' });
  return {
    CreateEndpoint: create,
    UpdateEndpoint: update,
    CustomHeaders: CUSTOM_HEADERS,
    PayloadFilter: FILTER,
    SendEvent: sendEvent,
    BatchEvent: batchEvent,
    SendEventBatch: batch,
    PutTenant: tenant,
    CreatePortalSession: session,
    CreateApiKey: apiKey,
  };
}

// ---------------------------------------------------------------------------------------------
// Response schemas, from lambdas/api/views.ts and the routes. Strict (no other fields), so the
// example test notices a field the API answers but this document does not name.

function object(properties: Record<string, Json>, optional: readonly string[] = []): Json {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    additionalProperties: false,
  };
}

const page = (item: string, what: string): Json => ({
  ...object({
    items: { type: 'array', items: ref(item) },
    nextCursor: {
      ...nullable({ type: 'string' }),
      description: `Pass back as \`cursor\` for the next page of ${what}; \`null\` on the last page.`,
    },
  }),
});

const endpointProperties: Record<string, Json> = {
  id: idSchema('endpoint'),
  tenantId: { ...idSchema('tenant'), description: 'The tenant it belongs to.' },
  url: { type: 'string' },
  eventTypes: { type: 'array', items: { type: 'string' }, description: '`["*"]`: every type.' },
  description: nullable({ type: 'string' }),
  enabled: { type: 'boolean' },
  disabledReason: {
    ...nullable({ type: 'string' }),
    description: 'Why it was disabled (by hand, 410 Gone, failing too long).',
  },
  failureStreak: { ...count, description: 'Consecutive failed attempts; a success resets it.' },
  failingSince: { ...nullable(dateTime), description: 'When the current run of failures began.' },
  circuitOpenUntil: {
    ...nullable(dateTime),
    description: 'Until when deliveries wait instead of being attempted.',
  },
  rateLimit: { ...nullable(RATE_LIMIT), description: 'Deliveries per second at most; `null`: no limit.' },
  filter: {
    ...nullable({ type: 'object' }),
    description: 'The payload filter as it was given (docs/filters.md); `null`: every event of its types.',
  },
  headerNames: {
    type: 'array',
    items: { type: 'string' },
    description: 'The names of its custom headers; their values are never shown.',
  },
  hasBacklog: {
    type: 'boolean',
    description:
      'Whether deliveries are held for it (open circuit, rate limit); `GET /endpoints/{id}` says how many.',
  },
  createdAt: dateTime,
  updatedAt: dateTime,
};

/** `GET /endpoints/{id}` only: the deliveries held out of the queue (circuit open, over its rateLimit). */
const backlog = object({
  size: { ...count, description: 'Deliveries held.' },
  complete: { type: 'boolean', description: '`false` when counting stopped early: `size` is a lower bound.' },
  oldestAt: { ...nullable(dateTime), description: 'When the oldest held delivery was created.' },
  oldestHeldSince: { ...nullable(dateTime), description: 'Since when it has been held.' },
  reason: { ...nullable({ enum: ['circuit_open', 'rate_limited'] }), description: 'Why the oldest is held.' },
});

const attempt = object(
  {
    attempt: { type: 'integer', minimum: 1 },
    at: dateTime,
    statusCode: { type: 'integer', description: "The receiver's status; absent when no answer came." },
    durationMs: count,
    error: { type: 'string', description: 'Why the attempt failed (timeout, connection refused, status).' },
    responseExcerpt: { type: 'string', description: "The start of the receiver's answer (at most 4 KiB)." },
  },
  ['statusCode', 'error', 'responseExcerpt'],
);

/** What `publicDelivery` shows; a delivery without a record yet (`pendingDelivery`) lacks those of {@link withoutRecord}. */
const deliveryProperties: Record<string, Json> = {
  id: idSchema('delivery'),
  eventId: idSchema('event'),
  endpointId: idSchema('endpoint'),
  tenantId: {
    ...idSchema('tenant'),
    description: "The endpoint's tenant.",
  },
  eventType: { type: 'string' },
  status: ref('DeliveryStatus'),
  trackingId: {
    ...nullable({ type: 'string' }),
    description:
      'The Trackingid of the request that sent the event: the worker logs of the delivery carry it too.',
  },
  attemptCount: count,
  createdAt: dateTime,
  lastAttempt: nullable(ref('Attempt')),
  deliveredAt: nullable(dateTime),
  nextAttemptAt: { ...nullable(dateTime), description: 'When a failed delivery is attempted next.' },
  redrives: { ...count, description: 'How often it came back from the dead-letter queue.' },
  retryQueuedAt: { ...nullable(dateTime), description: 'When a manual retry or recover last queued it.' },
};
const withoutRecord = ['lastAttempt', 'deliveredAt', 'nextAttemptAt', 'redrives', 'retryQueuedAt'];

const pendingRef = object({
  id: idSchema('delivery'),
  endpointId: idSchema('endpoint'),
  status: { const: 'pending' },
});

const eventAcceptedProperties: Record<string, Json> = {
  id: idSchema('event'),
  type: { type: 'string' },
  createdAt: dateTime,
  deliveries: { type: 'array', items: pendingRef, description: 'One per endpoint the event goes to.' },
};

const apiKeyProperties: Record<string, Json> = {
  id: { type: 'string', description: 'For `DELETE /api-keys/{id}` and the logs; not a secret.' },
  scope: { enum: ['admin', 'send'] },
  name: nullable({ type: 'string' }),
  createdAt: { ...nullable(dateTime), description: '`null` for a key made before keys had dates.' },
};

const errorBody: Json = object({
  code: { type: 'string', description: 'Machine-readable, e.g. `invalid_request`, `not_found`.' },
  message: { type: 'string', description: 'What was wrong, in words; quote the Trackingid for a 500.' },
});

function responseSchemas(): Record<string, Json> {
  return {
    Error: { ...object({ error: errorBody }), description: 'Every failure answers this.' },
    Endpoint: object(endpointProperties),
    EndpointDetail: object({ ...endpointProperties, backlog }),
    EndpointCreated: object({
      ...endpointProperties,
      secret: { type: 'string', pattern: '^whsec_', description: 'The signing secret, shown only here.' },
    }),
    EndpointPage: page('Endpoint', 'endpoints'),
    SecretRotated: object({
      id: idSchema('endpoint'),
      secret: { type: 'string', pattern: '^whsec_' },
      previousSecretExpiresAt: { ...dateTime, description: 'Until then the previous secret signs too.' },
    }),
    RecoverResult: object({
      endpointId: idSchema('endpoint'),
      queued: count,
      skipped: { ...count, description: 'Deliveries that already have a retry coming.' },
      done: { type: 'boolean' },
      nextCursor: {
        ...nullable({ type: 'string' }),
        description: 'Call again with it as `cursor` until `done`.',
      },
    }),
    EventAccepted: object(eventAcceptedProperties),
    Event: object({
      id: idSchema('event'),
      tenantId: { ...idSchema('tenant'), description: 'The tenant it was sent to.' },
      type: { type: 'string' },
      createdAt: dateTime,
      state: {
        enum: ['accepted', 'queued'],
        description:
          '`accepted` until every delivery message went out (the sweep finishes it), then `queued`.',
      },
      data: { type: 'object' },
      deliveries: { type: 'array', items: ref('Delivery') },
    }),
    EventSummary: object({
      id: idSchema('event'),
      type: { type: 'string' },
      createdAt: dateTime,
      deliveries: {
        type: 'array',
        items: object({
          id: idSchema('delivery'),
          endpointId: idSchema('endpoint'),
          status: ref('DeliveryStatus'),
        }),
      },
    }),
    EventPage: page('EventSummary', 'events'),
    BatchResult: object({
      items: {
        type: 'array',
        items: { oneOf: [ref('BatchItemAccepted'), ref('BatchItemRefused')] },
        description: 'One per event, in request order.',
      },
      accepted: count,
      failed: count,
    }),
    BatchItemAccepted: {
      ...object(
        {
          status: { const: 202 },
          ...eventAcceptedProperties,
          replayed: { const: true, description: 'Its idempotencyKey was seen before: the original answer.' },
        },
        ['replayed'],
      ),
      description: 'What `POST /events` answers with 202, and its status.',
    },
    BatchItemRefused: {
      ...object(
        {
          status: { enum: [400, 409, 413, 422, 500, 503] },
          error: errorBody,
          id: {
            ...idSchema('event'),
            description: 'The event, when it is stored but not all of it queued (503).',
          },
          retryAfterSeconds: {
            type: 'integer',
            minimum: 1,
            description: 'For 409 and 503: when to send it again.',
          },
        },
        ['id', 'retryAfterSeconds'],
      ),
      description: 'What `POST /events` answers for this event alone: the error and its status.',
    },
    DeliveryStatus: {
      ...fromZod(deliveryStatusSchema),
      description:
        '`pending`: queued, no outcome yet; `delivered`: a 2xx; `failed`: the last attempt failed, another is due at `nextAttemptAt`; `dead`: given up, in the dead-letter queue.',
    },
    Attempt: attempt,
    Delivery: object(deliveryProperties, withoutRecord),
    DeliveryDetail: object(
      {
        ...deliveryProperties,
        attempts: { type: 'array', items: ref('Attempt'), description: 'Oldest first.' },
      },
      withoutRecord,
    ),
    DeliveryPage: page('Delivery', 'deliveries'),
    RetryQueued: object({ id: idSchema('delivery'), status: { const: 'pending' } }),
    DeadLetterDepth: object({ visible: count, inFlight: count }),
    RedriveMoveTask: object({ mode: { const: 'move-task' }, taskHandle: { type: 'string' } }),
    RedriveCopied: object({ mode: { const: 'copied' }, moved: count }),
    OperationalEvent: object({
      id: { type: 'string', pattern: `^${OPERATIONAL_EVENT_PREFIX}${CROCKFORD_CLASS}{26}$` },
      detailType: { enum: [...OPERATIONAL_EVENT_TYPES] },
      occurredAt: dateTime,
      detail: {
        type: 'object',
        description:
          "The event's `detail` exactly as it was published to the bus: its JSON Schema per detail-type is in docs/operational-events.md.",
      },
    }),
    OperationalEventPage: page('OperationalEvent', 'operational events'),
    Tenant: object({
      id: idSchema('tenant'),
      name: { ...nullable({ type: 'string' }), description: 'Its display name; `null`: none given.' },
      metadata: { type: 'object', additionalProperties: { type: 'string' } },
      createdAt: dateTime,
      updatedAt: dateTime,
    }),
    TenantPage: page('Tenant', 'tenants'),
    PortalSession: object({
      tenantId: idSchema('tenant'),
      url: {
        type: 'string',
        format: 'uri',
        description:
          "The portal page with the token in its fragment (`/portal#token=...`), which browsers never send to a server: hand it to the tenant's user.",
      },
      token: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
        description:
          'A JWT: send it as `Authorization: Bearer <token>` to the portal routes, limited to this tenant.',
      },
      expiresAt: dateTime,
    }),
    PortalSessionInfo: object({
      tenantId: idSchema('tenant'),
      tenantName: { type: 'string', description: 'Its name, or its id when it has none.' },
      expiresAt: { ...dateTime, description: 'When the token stops working (401 `token_expired`).' },
    }),
    ApiKey: object(apiKeyProperties),
    ApiKeyCreated: object({
      ...apiKeyProperties,
      key: {
        type: 'string',
        pattern: '^whk_',
        description: 'The key, shown only here (only its SHA-256 is kept).',
      },
    }),
    ApiKeyList: object({ items: { type: 'array', items: ref('ApiKey') } }),
    GatewayUnauthorized: {
      ...object({ message: { const: 'Unauthorized' } }),
      description: "API Gateway's own answer to a request without an `Authorization` header.",
    },
    Unauthorized: {
      oneOf: [ref('Error'), ref('GatewayUnauthorized')],
      description:
        'An `Error` (`unauthorized`, `token_expired`, `invalid_token`), or API Gateway\'s `{"message": "Unauthorized"}` when there is no `Authorization` header.',
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Example values, internally consistent: the delivery ids are those ids.ts derives.

const EXAMPLE_TIME = Date.parse('2026-12-01T09:30:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const at = (seconds: number) => iso(EXAMPLE_TIME + seconds * 1000);
const ulidAt = (ms: number, body: string) => encodeTime(ms) + body;

export const EXAMPLE = {
  url: 'https://example.com/webhooks',
  endpointId: ENDPOINT_PREFIX + ulidAt(EXAMPLE_TIME, 'K4M5N6P7R8S9T0VW'),
  missingEndpointId: ENDPOINT_PREFIX + ulidAt(EXAMPLE_TIME, 'ZZZZZZZZZZZZZZZZ'),
  idempotencyKey: 'order-1042-paid',
  batchKey: 'order-1043-paid',
  missingEventId: EVENT_PREFIX + ulidAt(EXAMPLE_TIME, '0000000000000000'),
  tenantId: 'acme',
  missingTenantId: 'globex',
  tenantEndpointId: ENDPOINT_PREFIX + ulidAt(EXAMPLE_TIME + 2000, 'A1B2C3D4E5F6G7H8'),
  testEventId: EVENT_PREFIX + ulidAt(EXAMPLE_TIME + 300_000, 'Q2W3E4R5T6Y7Z8X9'),
  tenantEventId: EVENT_PREFIX + ulidAt(EXAMPLE_TIME + 120_000, 'M3N4P5Q6R7S8T9V0'),
  adminKeyId: 'key_3f9a1c0d7b2e4a56',
  sendKeyId: 'key_8d41e07c2b9f3a15',
  portalToken:
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6InBvcnRhbCIsInN1YiI6ImFjbWUiLCJpc3MiOiJ3ZWJob29rcyIsImF1ZCI6IndlYmhvb2tzLXBvcnRhbCIsImlhdCI6MTc5NjExNjQwMCwiZXhwIjoxNzk2MTIwMDAwfQ.5Yk2uXb8p1Qm3rT0vW9sZa7cE4dF6gH2jK8lN0oP1qR',
} as const;
const keyedEventId = idempotentEventId(EXAMPLE.idempotencyKey);
const batchEventId = idempotentEventId(EXAMPLE.batchKey);
const eventAt = EXAMPLE_TIME + 60_000;
const keyedDeliveryId = deliveryId(keyedEventId, EXAMPLE.endpointId, eventAt);
const tenantDeliveryId = deliveryId(EXAMPLE.tenantEventId, EXAMPLE.tenantEndpointId, EXAMPLE_TIME + 120_000);
const testDeliveryId = deliveryId(EXAMPLE.testEventId, EXAMPLE.endpointId, EXAMPLE_TIME + 300_000);
const batchDeliveryId = deliveryId(batchEventId, EXAMPLE.endpointId, eventAt + 5000);
const missingDeliveryId = deliveryId(EXAMPLE.missingEventId, EXAMPLE.endpointId, EXAMPLE_TIME);

const endpointExample = {
  id: EXAMPLE.endpointId,
  tenantId: DEFAULT_TENANT,
  url: EXAMPLE.url,
  eventTypes: ['invoice.paid', 'invoice.refunded'],
  description: 'Billing service',
  enabled: true,
  disabledReason: null,
  failureStreak: 0,
  failingSince: null,
  circuitOpenUntil: null,
  rateLimit: 50,
  filter: null,
  headerNames: [],
  hasBacklog: false,
  createdAt: iso(EXAMPLE_TIME),
  updatedAt: iso(EXAMPLE_TIME),
};
const tenantFilter = { data: { amount: { $gte: 1000 } } };
const tenantEndpointExample = {
  ...endpointExample,
  id: EXAMPLE.tenantEndpointId,
  tenantId: EXAMPLE.tenantId,
  eventTypes: ['invoice.paid'],
  description: 'Acme ERP',
  rateLimit: null,
  filter: tenantFilter,
  headerNames: ['X-Api-Key'],
  createdAt: at(2),
  updatedAt: at(2),
};
const tenantExample = {
  id: EXAMPLE.tenantId,
  name: 'Acme Corp',
  metadata: { plan: 'enterprise' },
  createdAt: at(1),
  updatedAt: at(1),
};
const sessionExpiresAt = at(3 + 3600);
const invoice = { invoiceId: 'inv_1042', amount: 4200, currency: 'EUR' };
const acceptedExample = {
  id: keyedEventId,
  type: 'invoice.paid',
  createdAt: iso(eventAt),
  deliveries: [{ id: keyedDeliveryId, endpointId: EXAMPLE.endpointId, status: 'pending' }],
};
const failedAttempt = {
  attempt: 1,
  at: at(61),
  statusCode: 500,
  durationMs: 38,
  error: 'receiver error 500',
  responseExcerpt: 'internal error',
};
const failedDelivery = {
  id: keyedDeliveryId,
  eventId: keyedEventId,
  endpointId: EXAMPLE.endpointId,
  tenantId: DEFAULT_TENANT,
  eventType: 'invoice.paid',
  status: 'failed',
  trackingId: '9b8e6a0c-3d2f-4e71-8c5a-2f0d1b7e4a63',
  attemptCount: 1,
  createdAt: iso(eventAt),
  lastAttempt: failedAttempt,
  deliveredAt: null,
  nextAttemptAt: at(61 + 10),
  redrives: 0,
  retryQueuedAt: null,
};

const error = (code: string, message: string) => ({ error: { code, message } });

// ---------------------------------------------------------------------------------------------
// Operations.

interface Scenario {
  readonly summary: string;
  readonly status: number;
  readonly body?: unknown;
  readonly request?: unknown;
  readonly path?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** Sent with this credential instead of an admin key (the example's `x-credential`). */
  readonly credential?: 'portal';
}

/** Who may call an operation: the `access` of its route (lambdas/api/router.ts). */
type Access = 'open' | 'admin' | 'send' | 'portal';

const ACCESS_TEXT: Record<Access, string> = {
  open: 'Who may call it: anyone, with no credential.',
  admin: 'Who may call it: admin keys only (a send-only key or a portal session: 403 `forbidden`).',
  send: 'Who may call it: admin and send-only keys (a portal session: 403 `forbidden`).',
  portal:
    "Who may call it: admin keys, and portal sessions limited to their tenant (another tenant's ids answer 404, as if they did not exist); a send-only key: 403 `forbidden`.",
};

interface Operation {
  readonly method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly access: Access;
  readonly requestBody?: string;
  /** The body may be left out (read as `{}`). */
  readonly requestBodyOptional?: boolean;
  readonly query?: z.ZodMiniType;
  /** Descriptions of query parameters where they differ from {@link QUERY_DESCRIPTIONS}. */
  readonly queryDescriptions?: Record<string, string>;
  readonly idempotencyKey?: boolean;
  /** Status → schema name (or `null` for no body) and a description. */
  readonly responses: Record<number, { schema: string | null; description: string; headers?: string[] }>;
  readonly scenarios: Record<string, Scenario>;
  /** Illustrations of answers that local mode cannot give on demand. */
  readonly illustrations?: Record<number, unknown>;
  /** Shared responses (components/responses) this operation can give. */
  readonly shared?: readonly string[];
  readonly contentType?: string;
}

const QUERY_DESCRIPTIONS: Record<string, string> = {
  tenantId: `Only this tenant's (default \`${DEFAULT_TENANT}\`); a portal session's is its own, and naming another answers 404.`,
  endpointId: 'Only deliveries to this endpoint.',
  status: 'Only deliveries in this status.',
  type: 'Only events of this type.',
  since: 'Only what was created at or after this time: ISO-8601 or Unix seconds.',
  cursor: "The previous page's `nextCursor`.",
  limit: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`,
};

const bodyOps = ['PayloadTooLarge'];

const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/endpoints',
    operationId: 'createEndpoint',
    access: 'portal',
    tag: 'endpoints',
    summary: 'Create an endpoint',
    description:
      "Answers the signing secret once; it is never shown again (rotate it to get a new one). It belongs to `tenantId` (`default` when absent; a portal session's own tenant), which must exist.",
    requestBody: 'CreateEndpoint',
    responses: {
      201: { schema: 'EndpointCreated', description: 'Created, with its signing secret.' },
      400: {
        schema: 'Error',
        description:
          'Invalid body, URL (`invalid_url`), filter (`invalid_filter`) or custom header (`invalid_header`).',
      },
      404: { schema: 'Error', description: 'A portal session named another tenant.' },
      422: { schema: 'Error', description: 'No such tenant (`unknown_tenant`).' },
    },
    scenarios: {
      created: {
        summary: 'An endpoint for invoice events',
        status: 201,
        request: {
          url: EXAMPLE.url,
          eventTypes: ['invoice.paid', 'invoice.refunded'],
          description: 'Billing service',
          rateLimit: 50,
        },
        body: { ...endpointExample, secret: 'whsec_iipaX1Ibo/GkGoAqozppKMzbQetGo0lnKaRXvYbqvx8=' },
      },
      inTenant: {
        summary: "A tenant's endpoint, with a payload filter and a custom header",
        status: 201,
        request: {
          url: EXAMPLE.url,
          tenantId: EXAMPLE.tenantId,
          eventTypes: ['invoice.paid'],
          description: 'Acme ERP',
          filter: tenantFilter,
          headers: { 'X-Api-Key': 'acme-erp-7f3b' },
        },
        body: { ...tenantEndpointExample, secret: 'whsec_Q3JvY2tmb3JkIGJhc2UzMiBpcyBub3QgYmFzZTY0IQ==' },
      },
      unknownTenant: {
        summary: 'A tenant that does not exist',
        status: 422,
        request: { url: EXAMPLE.url, tenantId: EXAMPLE.missingTenantId },
        body: error(
          'unknown_tenant',
          `no tenant "${EXAMPLE.missingTenantId}"; create it with PUT /tenants/{id}`,
        ),
      },
      badFilter: {
        summary: 'A filter comparing with something other than a number',
        status: 400,
        request: { url: EXAMPLE.url, filter: { data: { amount: { $gte: '1000' } } } },
        body: error('invalid_filter', 'filter at data.amount.$gte: $gte takes a number'),
      },
      refusedHeader: {
        summary: 'A header the delivery sets itself',
        status: 400,
        request: { url: EXAMPLE.url, headers: { Host: 'erp.acme.example' } },
        body: error(
          'invalid_header',
          'header "Host" cannot be set: the delivery sets this header itself, or it controls how the request travels',
        ),
      },
      unknownField: {
        summary: 'A misspelt field is refused, not ignored',
        status: 400,
        request: { url: EXAMPLE.url, eventType: ['invoice.paid'] },
        body: error('invalid_request', 'body: unknown field "eventType"'),
      },
      plainHttp: {
        summary: 'Only https (http for loopback in local mode)',
        status: 400,
        request: { url: 'ftp://example.com/webhooks' },
        body: error('invalid_url', 'URL must use https'),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'get',
    path: '/endpoints',
    operationId: 'listEndpoints',
    access: 'portal',
    tag: 'endpoints',
    summary: "List one tenant's endpoints",
    query: listEndpointsSchema,
    responses: {
      200: { schema: 'EndpointPage', description: 'A page of endpoints.' },
      400: { schema: 'Error', description: 'A bad query parameter (unknown ones are refused too).' },
      404: { schema: 'Error', description: 'No such tenant (or, for a portal session, another one).' },
    },
    scenarios: {
      firstPage: {
        summary: "The first ten of the default tenant's",
        status: 200,
        query: { limit: '10' },
        body: { items: [endpointExample], nextCursor: null },
      },
      tenant: {
        summary: "A tenant's",
        status: 200,
        query: { tenantId: EXAMPLE.tenantId },
        body: { items: [tenantEndpointExample], nextCursor: null },
      },
      asPortal: {
        summary: "A portal session sees its own tenant's",
        status: 200,
        credential: 'portal',
        query: { limit: '20' },
        body: { items: [tenantEndpointExample], nextCursor: null },
      },
      unknownTenant: {
        summary: 'A tenant that does not exist',
        status: 404,
        query: { tenantId: EXAMPLE.missingTenantId },
        body: error('not_found', `tenant "${EXAMPLE.missingTenantId}" does not exist`),
      },
      limitTooHigh: {
        summary: `At most ${MAX_PAGE_SIZE} a page`,
        status: 400,
        query: { limit: '500' },
        body: error('invalid_query', `limit: must be 1 to ${MAX_PAGE_SIZE}`),
      },
    },
  },
  {
    method: 'get',
    path: '/endpoints/{id}',
    operationId: 'getEndpoint',
    access: 'portal',
    tag: 'endpoints',
    summary: 'Read an endpoint (never its secret)',
    responses: {
      200: { schema: 'EndpointDetail', description: 'The endpoint and its backlog.' },
      404: { schema: 'Error', description: 'No such endpoint.' },
    },
    scenarios: {
      found: {
        summary: 'An endpoint',
        status: 200,
        path: { id: EXAMPLE.endpointId },
        body: {
          ...endpointExample,
          backlog: { size: 0, complete: true, oldestAt: null, oldestHeldSince: null, reason: null },
        },
      },
      missing: {
        summary: 'An id that does not exist',
        status: 404,
        path: { id: EXAMPLE.missingEndpointId },
        body: error('not_found', `endpoint "${EXAMPLE.missingEndpointId}" does not exist`),
      },
      otherTenant: {
        summary: "A portal session asking for another tenant's endpoint: as if it did not exist",
        status: 404,
        credential: 'portal',
        path: { id: EXAMPLE.endpointId },
        body: error('not_found', `endpoint "${EXAMPLE.endpointId}" does not exist`),
      },
    },
  },
  {
    method: 'patch',
    path: '/endpoints/{id}',
    operationId: 'updateEndpoint',
    access: 'portal',
    tag: 'endpoints',
    summary: 'Change url, eventTypes, enabled, description, rateLimit, headers or filter',
    description:
      'Only the fields given change; `null` removes eventTypes, description, rateLimit, headers or filter. Its tenant never changes.',
    requestBody: 'UpdateEndpoint',
    responses: {
      200: { schema: 'Endpoint', description: 'The endpoint as it is now.' },
      400: {
        schema: 'Error',
        description:
          'Invalid body, URL (`invalid_url`), filter (`invalid_filter`) or custom header (`invalid_header`).',
      },
      404: { schema: 'Error', description: 'No such endpoint.' },
    },
    scenarios: {
      describe: {
        summary: 'A new description',
        status: 200,
        path: { id: EXAMPLE.endpointId },
        request: { description: 'Billing service (EU)' },
        body: { ...endpointExample, description: 'Billing service (EU)', updatedAt: at(30) },
      },
      headers: {
        summary: 'New custom headers (replacing all of them) and no filter any more',
        status: 200,
        path: { id: EXAMPLE.tenantEndpointId },
        request: { headers: { 'X-Api-Key': 'acme-erp-9c1d', 'X-Acme-Region': 'eu' }, filter: null },
        body: {
          ...tenantEndpointExample,
          filter: null,
          headerNames: ['X-Api-Key', 'X-Acme-Region'],
          updatedAt: at(31),
        },
      },
      nothing: {
        summary: 'At least one field',
        status: 400,
        path: { id: EXAMPLE.endpointId },
        request: {},
        body: error(
          'invalid_request',
          'body: give at least one of url, eventTypes, enabled, description, rateLimit, headers, filter',
        ),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'delete',
    path: '/endpoints/{id}',
    operationId: 'deleteEndpoint',
    access: 'portal',
    tag: 'endpoints',
    summary: 'Delete an endpoint (its secret is scheduled for deletion)',
    responses: {
      204: { schema: null, description: 'Deleted.' },
      404: { schema: 'Error', description: 'No such endpoint.' },
    },
    scenarios: {
      deleted: { summary: 'Delete it', status: 204, path: { id: EXAMPLE.endpointId } },
      alreadyDeleted: {
        summary: 'Deleting it again',
        status: 404,
        path: { id: EXAMPLE.endpointId },
        body: error('not_found', `endpoint "${EXAMPLE.endpointId}" does not exist`),
      },
    },
  },
  {
    method: 'post',
    path: '/endpoints/{id}/secret/rotate',
    operationId: 'rotateSecret',
    access: 'portal',
    tag: 'endpoints',
    summary: 'A new signing secret; the previous one keeps signing for 24 h',
    responses: {
      200: { schema: 'SecretRotated', description: 'The new secret, shown only here.' },
      404: { schema: 'Error', description: 'No such endpoint.' },
    },
    scenarios: {
      rotated: {
        summary: 'Rotate',
        status: 200,
        path: { id: EXAMPLE.endpointId },
        body: {
          id: EXAMPLE.endpointId,
          secret: 'whsec_sYQm/BgmcURtMixUQZN60Vo1GdTyZXNsQebH/5dh4PY=',
          previousSecretExpiresAt: at(40 + 24 * 3600),
        },
      },
    },
  },
  {
    method: 'post',
    path: '/endpoints/{id}/test',
    operationId: 'sendTestEvent',
    access: 'portal',
    tag: 'endpoints',
    summary: 'Send a `webhook.test` event to this endpoint only',
    description:
      'An event of type `webhook.test` with `data` `{"message", "endpointId"}`, sent to this endpoint alone (whatever its eventTypes and filter) and answered as `POST /events` answers.',
    responses: {
      202: { schema: 'EventAccepted', description: 'Stored and queued: one pending delivery.' },
      404: { schema: 'Error', description: 'No such endpoint.' },
      422: { schema: 'Error', description: 'The endpoint is disabled (`endpoint_disabled`).' },
      503: {
        schema: 'Error',
        description:
          'Stored, but its delivery could not be queued (`enqueue_failed`): it is queued within minutes.',
        headers: ['RetryAfter'],
      },
    },
    scenarios: {
      sent: {
        summary: 'A test event',
        status: 202,
        path: { id: EXAMPLE.endpointId },
        body: {
          id: EXAMPLE.testEventId,
          type: 'webhook.test',
          createdAt: at(300),
          deliveries: [{ id: testDeliveryId, endpointId: EXAMPLE.endpointId, status: 'pending' }],
        },
      },
      missing: {
        summary: 'An id that does not exist',
        status: 404,
        path: { id: EXAMPLE.missingEndpointId },
        body: error('not_found', `endpoint "${EXAMPLE.missingEndpointId}" does not exist`),
      },
    },
    illustrations: {
      503: error(
        'enqueue_failed',
        `event ${EXAMPLE.testEventId} is stored but not every delivery could be queued; it is queued within minutes. Do not resend it: without an Idempotency-Key a resend is a second event`,
      ),
    },
  },
  {
    method: 'post',
    path: '/endpoints/{id}/recover',
    operationId: 'recoverEndpoint',
    access: 'portal',
    tag: 'deliveries',
    summary: 'Queue again the failed and dead deliveries of an endpoint since a time, one page per call',
    description: `At most ${RECOVER_PAGE_SIZE} deliveries (and about 5 s) per call; call again with \`cursor\` until \`done\`. Deliveries that already have a retry coming are skipped.`,
    query: recoverSchema,
    responses: {
      202: { schema: 'RecoverResult', description: 'What this call queued, and where the next resumes.' },
      400: { schema: 'Error', description: 'A bad or missing query parameter.' },
      404: { schema: 'Error', description: 'No such endpoint.' },
      409: { schema: 'Error', description: 'The endpoint is disabled (`endpoint_disabled`).' },
    },
    scenarios: {
      since: {
        summary: 'Everything failed or dead since the morning',
        status: 202,
        path: { id: EXAMPLE.endpointId },
        query: { since: '2026-12-01T00:00:00Z' },
        body: { endpointId: EXAMPLE.endpointId, queued: 0, skipped: 1, done: true, nextCursor: null },
      },
      noSince: {
        summary: '`since` is required: a recovery is always bounded in time',
        status: 400,
        path: { id: EXAMPLE.endpointId },
        body: error('invalid_query', 'since: must be a string'),
      },
    },
  },
  {
    method: 'post',
    path: '/events',
    operationId: 'sendEvent',
    access: 'send',
    tag: 'events',
    summary: 'Send an event to every subscribed endpoint of its tenant (or the ones named)',
    description:
      "It goes to `tenantId`'s endpoints (`default` when absent): each enabled one subscribed to its type whose payload filter it passes, or the ones named in `endpointIds` (all of that tenant). Answers 202 once every delivery message is queued. With an Idempotency-Key the same key and body answer the original response again (`Idempotent-Replayed: true`); the same key with another body is 422; 409 only while the first request still holds the event.",
    requestBody: 'SendEvent',
    idempotencyKey: true,
    responses: {
      202: {
        schema: 'EventAccepted',
        description: 'Stored and queued: one pending delivery per endpoint.',
        headers: ['IdempotentReplayed'],
      },
      400: { schema: 'Error', description: 'Invalid body or Idempotency-Key.' },
      409: {
        schema: 'Error',
        description: 'The first request with this key is still being processed (`request_in_progress`).',
        headers: ['RetryAfter'],
      },
      422: {
        schema: 'Error',
        description:
          'The key was used with another body (`idempotency_key_reused`), the tenant does not exist (`unknown_tenant`), or an endpoint named is unknown (`unknown_endpoint`), of another tenant (`endpoint_not_in_tenant`) or disabled (`endpoint_disabled`).',
      },
      503: {
        schema: 'Error',
        description:
          'Stored, but not every delivery could be queued (`enqueue_failed`): it is queued within minutes.',
        headers: ['RetryAfter'],
      },
    },
    scenarios: {
      accepted: {
        summary: 'An event, with an Idempotency-Key',
        status: 202,
        headers: { 'Idempotency-Key': EXAMPLE.idempotencyKey },
        request: { type: 'invoice.paid', data: invoice },
        body: acceptedExample,
      },
      replayed: {
        summary: 'The same request again: the original answer',
        status: 202,
        headers: { 'Idempotency-Key': EXAMPLE.idempotencyKey },
        request: { type: 'invoice.paid', data: invoice },
        body: acceptedExample,
      },
      keyReused: {
        summary: 'The same key with another body',
        status: 422,
        headers: { 'Idempotency-Key': EXAMPLE.idempotencyKey },
        request: { type: 'invoice.paid', data: { ...invoice, amount: 4300 } },
        body: error(
          'idempotency_key_reused',
          'this Idempotency-Key was used with a different request body; use a new key for a new event',
        ),
      },
      unknownEndpoint: {
        summary: 'An endpoint id that does not exist',
        status: 422,
        request: { type: 'invoice.paid', data: invoice, endpointIds: [EXAMPLE.missingEndpointId] },
        body: error('unknown_endpoint', `no endpoint ${EXAMPLE.missingEndpointId}`),
      },
      inTenant: {
        summary: "An event for a tenant's endpoints",
        status: 202,
        request: {
          type: 'invoice.paid',
          tenantId: EXAMPLE.tenantId,
          data: { ...invoice, invoiceId: 'inv_2001' },
        },
        body: {
          id: EXAMPLE.tenantEventId,
          type: 'invoice.paid',
          createdAt: at(120),
          deliveries: [{ id: tenantDeliveryId, endpointId: EXAMPLE.tenantEndpointId, status: 'pending' }],
        },
      },
      unknownTenant: {
        summary: 'A tenant that does not exist',
        status: 422,
        request: { type: 'invoice.paid', tenantId: EXAMPLE.missingTenantId, data: invoice },
        body: error(
          'unknown_tenant',
          `no tenant "${EXAMPLE.missingTenantId}"; create it with PUT /tenants/{id}`,
        ),
      },
      notInTenant: {
        summary: "Naming another tenant's endpoint",
        status: 422,
        request: {
          type: 'invoice.paid',
          tenantId: EXAMPLE.tenantId,
          data: invoice,
          endpointIds: [EXAMPLE.endpointId],
        },
        body: error(
          'endpoint_not_in_tenant',
          `endpoint ${EXAMPLE.endpointId} is not one of tenant "${EXAMPLE.tenantId}"'s`,
        ),
      },
      badType: {
        summary: 'An event type with a space',
        status: 400,
        request: { type: 'invoice paid', data: invoice },
        body: error('invalid_request', 'type: must be letters, digits and . _ : - (e.g. "invoice.paid")'),
      },
    },
    illustrations: {
      503: error(
        'enqueue_failed',
        `event ${EXAMPLE.missingEventId} is stored but not every delivery could be queued; it is queued within minutes. Do not resend it: without an Idempotency-Key a resend is a second event`,
      ),
    },
    shared: bodyOps,
  },
  {
    method: 'post',
    path: '/events/batch',
    operationId: 'sendEventBatch',
    access: 'send',
    tag: 'events',
    summary: `Send up to ${MAX_BATCH_EVENTS} events in one request, each accepted or refused on its own`,
    description: `One item per event, in request order, each carrying the status and body \`POST /events\` would have answered for it alone. The request itself fails only for a bad envelope (not JSON, no \`events\` array, over ${MAX_BATCH_EVENTS} events, over ${MAX_BATCH_BODY_BYTES} bytes, or an Idempotency-Key header: keys go on each event) or when the store cannot be read before anything was written. Each event is held to ${MAX_REQUEST_BODY_BYTES} bytes (413 in its item).`,
    requestBody: 'SendEventBatch',
    responses: {
      200: { schema: 'BatchResult', description: 'One item per event.' },
      400: { schema: 'Error', description: 'A bad envelope, or an Idempotency-Key header.' },
    },
    scenarios: {
      mixed: {
        summary: 'One event accepted, one refused',
        status: 200,
        request: {
          events: [
            {
              type: 'invoice.paid',
              data: { ...invoice, invoiceId: 'inv_1043' },
              idempotencyKey: EXAMPLE.batchKey,
            },
            { type: 'invoice.paid', data: invoice, endpointIds: [EXAMPLE.missingEndpointId] },
          ],
        },
        body: {
          items: [
            {
              status: 202,
              id: batchEventId,
              type: 'invoice.paid',
              createdAt: iso(eventAt + 5000),
              deliveries: [{ id: batchDeliveryId, endpointId: EXAMPLE.endpointId, status: 'pending' }],
            },
            {
              status: 422,
              error: error('unknown_endpoint', `no endpoint ${EXAMPLE.missingEndpointId}`).error,
            },
          ],
          accepted: 1,
          failed: 1,
        },
      },
      headerKey: {
        summary: 'Keys go on each event, not the request',
        status: 400,
        headers: { 'Idempotency-Key': 'batch-7' },
        request: { events: [{ type: 'invoice.paid', data: invoice }] },
        body: error(
          'idempotency_key_not_allowed',
          'a batch takes no Idempotency-Key header; give each event its own idempotencyKey field',
        ),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    access: 'admin',
    tag: 'events',
    summary: 'Events newest first, each with its deliveries',
    description:
      'Found through their deliveries (the same filters, and the same choice of deliveries, as `GET /deliveries`): an event shows up once a delivery has an outcome; `GET /events/{id}` shows one at once.',
    query: listDeliveriesSchema,
    responses: {
      200: { schema: 'EventPage', description: 'A page of events.' },
      400: { schema: 'Error', description: 'A bad query parameter (unknown ones are refused too).' },
    },
    scenarios: {
      recent: {
        summary: "An endpoint's recent events",
        status: 200,
        query: { endpointId: EXAMPLE.endpointId, limit: '10' },
        body: {
          items: [
            {
              id: keyedEventId,
              type: 'invoice.paid',
              createdAt: iso(eventAt),
              deliveries: [{ id: keyedDeliveryId, endpointId: EXAMPLE.endpointId, status: 'failed' }],
            },
          ],
          nextCursor: null,
        },
      },
    },
  },
  {
    method: 'get',
    path: '/events/{id}',
    operationId: 'getEvent',
    access: 'send',
    tag: 'events',
    summary: 'An event, its state, its data and its deliveries',
    description: 'A send-only key reads back only the events it sent itself (any other answers 404).',
    responses: {
      200: { schema: 'Event', description: 'The event.' },
      404: { schema: 'Error', description: 'No such event (or not one this send-only key sent).' },
    },
    scenarios: {
      found: {
        summary: 'An event whose first attempt failed',
        status: 200,
        path: { id: keyedEventId },
        body: {
          id: keyedEventId,
          tenantId: DEFAULT_TENANT,
          type: 'invoice.paid',
          createdAt: iso(eventAt),
          state: 'queued',
          data: invoice,
          deliveries: [failedDelivery],
        },
      },
      missing: {
        summary: 'An id that does not exist',
        status: 404,
        path: { id: EXAMPLE.missingEventId },
        body: error('not_found', `event "${EXAMPLE.missingEventId}" does not exist`),
      },
    },
  },
  {
    method: 'get',
    path: '/deliveries',
    operationId: 'listDeliveries',
    access: 'portal',
    tag: 'deliveries',
    summary: 'Deliveries newest first',
    description:
      "A delivery is listed once it has an outcome (usually within a second). Which deliveries: with `endpointId`, that endpoint's (of `tenantId` when it is given too, else 404); with `status` `failed` or `dead` and neither `endpointId` nor `tenantId`, for an admin key, every tenant's (the cross-tenant failure view); otherwise one tenant's: `tenantId`'s, `default`'s when it is absent, a portal session's own.",
    query: listDeliveriesSchema,
    queryDescriptions: {
      endpointId:
        "Only deliveries to this endpoint (else those of every endpoint of the tenant, merged by time; or every tenant's failures: see above).",
    },
    responses: {
      200: { schema: 'DeliveryPage', description: 'A page of deliveries.' },
      400: { schema: 'Error', description: 'A bad query parameter (unknown ones are refused too).' },
      404: { schema: 'Error', description: 'No such tenant or endpoint (or one of another tenant).' },
    },
    scenarios: {
      failed: {
        summary: "An endpoint's failed deliveries",
        status: 200,
        query: { endpointId: EXAMPLE.endpointId, status: 'failed' },
        body: { items: [failedDelivery], nextCursor: null },
      },
      everyTenantsFailures: {
        summary: "Every tenant's failed deliveries (admin key)",
        status: 200,
        query: { status: 'failed', limit: '50' },
        body: { items: [failedDelivery], nextCursor: null },
      },
      tenant: {
        summary: "A tenant's deliveries",
        status: 200,
        query: { tenantId: EXAMPLE.tenantId },
        body: {
          items: [
            {
              ...failedDelivery,
              id: tenantDeliveryId,
              eventId: EXAMPLE.tenantEventId,
              endpointId: EXAMPLE.tenantEndpointId,
              tenantId: EXAMPLE.tenantId,
              createdAt: at(120),
              lastAttempt: { ...failedAttempt, at: at(121) },
              nextAttemptAt: at(131),
            },
          ],
          nextCursor: null,
        },
      },
      unknownTenant: {
        summary: 'A tenant that does not exist',
        status: 404,
        query: { tenantId: EXAMPLE.missingTenantId },
        body: error('not_found', `tenant "${EXAMPLE.missingTenantId}" does not exist`),
      },
      badStatus: {
        summary: 'A status that does not exist',
        status: 400,
        query: { status: 'lost' },
        body: error('invalid_query', 'status: Invalid input'),
      },
    },
  },
  {
    method: 'get',
    path: '/deliveries/{id}',
    operationId: 'getDelivery',
    access: 'portal',
    tag: 'deliveries',
    summary: 'One delivery with every attempt',
    responses: {
      200: { schema: 'DeliveryDetail', description: 'The delivery.' },
      404: { schema: 'Error', description: 'No such delivery.' },
    },
    scenarios: {
      found: {
        summary: 'A delivery whose first attempt failed',
        status: 200,
        path: { id: keyedDeliveryId },
        body: { ...failedDelivery, attempts: [failedAttempt] },
      },
      missing: {
        summary: 'An id that does not exist',
        status: 404,
        path: { id: missingDeliveryId },
        body: error('not_found', `delivery "${missingDeliveryId}" does not exist`),
      },
    },
  },
  {
    method: 'post',
    path: '/deliveries/{id}/retry',
    operationId: 'retryDelivery',
    access: 'portal',
    tag: 'deliveries',
    summary: 'Queue a delivery again now, from the stored event',
    responses: {
      202: { schema: 'RetryQueued', description: 'Queued.' },
      404: { schema: 'Error', description: 'No such delivery.' },
      409: {
        schema: 'Error',
        description:
          'Already delivered (`already_delivered`), a retry is already queued (`retry_in_progress`), or the endpoint is disabled or deleted.',
      },
    },
    scenarios: {
      queued: {
        summary: 'Retry',
        status: 202,
        path: { id: keyedDeliveryId },
        body: { id: keyedDeliveryId, status: 'pending' },
      },
      doubleClick: {
        summary: 'Retrying again while the first retry is queued',
        status: 409,
        path: { id: keyedDeliveryId },
        body: error('retry_in_progress', 'a retry of this delivery is already queued'),
      },
    },
  },
  {
    method: 'put',
    path: '/tenants/{tenantId}',
    operationId: 'putTenant',
    access: 'admin',
    tag: 'tenants',
    summary: 'Create or replace a tenant, under an id of your choosing',
    description:
      'The body replaces the name and metadata (a field left out is removed); `createdAt` stays. An empty body is `{}`.',
    requestBody: 'PutTenant',
    requestBodyOptional: true,
    responses: {
      200: { schema: 'Tenant', description: 'Replaced.' },
      201: { schema: 'Tenant', description: 'Created.' },
      400: {
        schema: 'Error',
        description: 'Invalid body, or a tenant id of the wrong form (`invalid_tenant_id`).',
      },
    },
    scenarios: {
      created: {
        summary: 'A new tenant',
        status: 201,
        path: { tenantId: EXAMPLE.tenantId },
        request: { name: 'Acme Corp', metadata: { plan: 'enterprise' } },
        body: tenantExample,
      },
      replaced: {
        summary: 'The same id again: replaced',
        status: 200,
        path: { tenantId: EXAMPLE.tenantId },
        request: { name: 'Acme Corp', metadata: { plan: 'enterprise', crmId: '0042' } },
        body: { ...tenantExample, metadata: { plan: 'enterprise', crmId: '0042' }, updatedAt: at(5) },
      },
      badId: {
        summary: 'An id must start with a letter or digit',
        status: 400,
        path: { tenantId: '-acme' },
        body: error(
          'invalid_tenant_id',
          'a tenant id is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
        ),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'get',
    path: '/tenants',
    operationId: 'listTenants',
    access: 'admin',
    tag: 'tenants',
    summary: 'List tenants by id',
    description: `Those made with \`PUT /tenants/{tenantId}\`: \`${DEFAULT_TENANT}\` is listed only once it was.`,
    query: listTenantsSchema,
    responses: {
      200: { schema: 'TenantPage', description: 'A page of tenants.' },
      400: { schema: 'Error', description: 'A bad query parameter (unknown ones are refused too).' },
    },
    scenarios: {
      firstPage: {
        summary: 'The first ten',
        status: 200,
        query: { limit: '10' },
        body: { items: [tenantExample], nextCursor: null },
      },
    },
  },
  {
    method: 'get',
    path: '/tenants/{tenantId}',
    operationId: 'getTenant',
    access: 'admin',
    tag: 'tenants',
    summary: 'Read a tenant',
    responses: {
      200: { schema: 'Tenant', description: 'The tenant.' },
      404: { schema: 'Error', description: 'No such tenant.' },
    },
    scenarios: {
      found: {
        summary: 'A tenant',
        status: 200,
        path: { tenantId: EXAMPLE.tenantId },
        body: tenantExample,
      },
      defaultTenant: {
        summary: `\`${DEFAULT_TENANT}\` exists even if it was never written`,
        status: 200,
        path: { tenantId: DEFAULT_TENANT },
        body: { id: DEFAULT_TENANT, name: 'Default', metadata: {}, createdAt: iso(0), updatedAt: iso(0) },
      },
      missing: {
        summary: 'An id that does not exist',
        status: 404,
        path: { tenantId: EXAMPLE.missingTenantId },
        body: error('not_found', `tenant "${EXAMPLE.missingTenantId}" does not exist`),
      },
    },
  },
  {
    method: 'delete',
    path: '/tenants/{tenantId}',
    operationId: 'deleteTenant',
    access: 'admin',
    tag: 'tenants',
    summary: 'Delete a tenant and its endpoints',
    description:
      'Its endpoints and their secrets are deleted with it (the tenant first, so no event is accepted for it meanwhile); its deliveries and attempts expire with their retention.',
    responses: {
      204: { schema: null, description: 'Deleted.' },
      404: { schema: 'Error', description: 'No such tenant.' },
      409: { schema: 'Error', description: `\`${DEFAULT_TENANT}\` cannot be deleted (\`default_tenant\`).` },
    },
    scenarios: {
      deleted: { summary: 'Delete it', status: 204, path: { tenantId: EXAMPLE.tenantId } },
      alreadyDeleted: {
        summary: 'Deleting it again',
        status: 404,
        path: { tenantId: EXAMPLE.tenantId },
        body: error('not_found', `tenant "${EXAMPLE.tenantId}" does not exist`),
      },
      defaultTenant: {
        summary: `\`${DEFAULT_TENANT}\` always exists`,
        status: 409,
        path: { tenantId: DEFAULT_TENANT },
        body: error('default_tenant', 'the default tenant cannot be deleted; delete its endpoints instead'),
      },
    },
  },
  {
    method: 'post',
    path: '/tenants/{tenantId}/portal-sessions',
    operationId: 'createPortalSession',
    access: 'admin',
    tag: 'portal',
    summary: "A link to the tenant's portal, working until it expires",
    description:
      "The portal (`GET /portal`) lets the tenant's own people see and manage their endpoints and deliveries, and nothing else: its token is a credential of `x-access` `portal` limited to this tenant. It cannot be revoked before it expires. An empty body is `{}`.",
    requestBody: 'CreatePortalSession',
    requestBodyOptional: true,
    responses: {
      201: { schema: 'PortalSession', description: 'The link and its token.' },
      400: { schema: 'Error', description: 'Invalid body.' },
      404: { schema: 'Error', description: 'No such tenant.' },
    },
    scenarios: {
      created: {
        summary: 'A link for an hour',
        status: 201,
        path: { tenantId: EXAMPLE.tenantId },
        request: { expiresInSeconds: 3600 },
        body: {
          tenantId: EXAMPLE.tenantId,
          url: `https://abcdef1234.execute-api.us-east-1.amazonaws.com/portal#token=${EXAMPLE.portalToken}`,
          token: EXAMPLE.portalToken,
          expiresAt: sessionExpiresAt,
        },
      },
      tooLong: {
        summary: 'At most 24 hours',
        status: 400,
        path: { tenantId: EXAMPLE.tenantId },
        request: { expiresInSeconds: 604_800 },
        body: error(
          'invalid_request',
          'expiresInSeconds: must be a whole number of seconds from 300 to 86400',
        ),
      },
      missing: {
        summary: 'A tenant that does not exist',
        status: 404,
        path: { tenantId: EXAMPLE.missingTenantId },
        body: error('not_found', `tenant "${EXAMPLE.missingTenantId}" does not exist`),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'get',
    path: '/portal/session',
    operationId: 'getPortalSession',
    access: 'portal',
    tag: 'portal',
    summary: 'Which tenant a portal session token is for, and until when',
    responses: {
      200: { schema: 'PortalSessionInfo', description: 'The session.' },
      400: { schema: 'Error', description: 'The credential is an API key (`not_a_portal_session`).' },
      404: { schema: 'Error', description: 'Its tenant was deleted.' },
    },
    scenarios: {
      current: {
        summary: 'Asked with a portal session token',
        status: 200,
        credential: 'portal',
        body: { tenantId: EXAMPLE.tenantId, tenantName: 'Acme Corp', expiresAt: sessionExpiresAt },
      },
      apiKey: {
        summary: 'Asked with an admin key',
        status: 400,
        body: error('not_a_portal_session', 'this route answers for a portal session token only'),
      },
    },
  },
  {
    method: 'post',
    path: '/api-keys',
    operationId: 'createApiKey',
    access: 'admin',
    tag: 'api-keys',
    summary: 'Create an API key (shown once)',
    description:
      "Only its SHA-256 is kept. A new key may be refused (401 `unauthorized`) in its first second, while the authorizer's copy of the key list lasts, and API Gateway keeps a refusal for 30 s.",
    requestBody: 'CreateApiKey',
    responses: {
      201: { schema: 'ApiKeyCreated', description: 'Created, with the key.' },
      400: { schema: 'Error', description: 'Invalid body.' },
    },
    scenarios: {
      created: {
        summary: 'A send-only key for a service',
        status: 201,
        request: { scope: 'send', name: 'billing-service' },
        body: {
          id: EXAMPLE.sendKeyId,
          scope: 'send',
          name: 'billing-service',
          createdAt: at(10),
          key: 'whk_q2lOdD3fN8b0mZKxJp7VtY4cR1sWuA6eGhBnLkQo9Ei',
        },
      },
      badScope: {
        summary: 'A scope that does not exist',
        status: 400,
        request: { scope: 'read' },
        body: error('invalid_request', 'scope: Invalid input'),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'get',
    path: '/api-keys',
    operationId: 'listApiKeys',
    access: 'admin',
    tag: 'api-keys',
    summary: 'The API keys (never the keys themselves)',
    responses: { 200: { schema: 'ApiKeyList', description: 'Every key, oldest first.' } },
    scenarios: {
      all: {
        summary: 'The first admin key and a send-only key',
        status: 200,
        body: {
          items: [
            { id: EXAMPLE.adminKeyId, scope: 'admin', name: null, createdAt: iso(EXAMPLE_TIME) },
            { id: EXAMPLE.sendKeyId, scope: 'send', name: 'billing-service', createdAt: at(10) },
          ],
        },
      },
    },
  },
  {
    method: 'delete',
    path: '/api-keys/{id}',
    operationId: 'deleteApiKey',
    access: 'admin',
    tag: 'api-keys',
    summary: 'Revoke an API key',
    description:
      'It stops working within a minute (the API and the authorizer cache the key list and their answers).',
    responses: {
      204: { schema: null, description: 'Revoked.' },
      404: { schema: 'Error', description: 'No such key.' },
      409: {
        schema: 'Error',
        description: 'It is the last admin key (`last_admin_key`): create another first.',
      },
    },
    scenarios: {
      revoked: { summary: 'Revoke it', status: 204, path: { id: EXAMPLE.sendKeyId } },
      alreadyRevoked: {
        summary: 'Revoking it again',
        status: 404,
        path: { id: EXAMPLE.sendKeyId },
        body: error('not_found', `API key "${EXAMPLE.sendKeyId}" does not exist`),
      },
      lastAdmin: {
        summary: 'The only admin key',
        status: 409,
        path: { id: EXAMPLE.adminKeyId },
        body: error('last_admin_key', 'this is the only admin key; create another before revoking it'),
      },
    },
  },
  {
    method: 'get',
    path: '/dlq',
    operationId: 'getDeadLetterDepth',
    access: 'admin',
    tag: 'dlq',
    summary: 'Messages in the dead-letter queue',
    responses: { 200: { schema: 'DeadLetterDepth', description: 'Visible and in flight.' } },
    scenarios: { depth: { summary: 'The depth', status: 200, body: { visible: 0, inFlight: 0 } } },
  },
  {
    method: 'post',
    path: '/dlq/redrive',
    operationId: 'redriveDeadLetters',
    access: 'admin',
    tag: 'dlq',
    summary: 'Move the dead-letter queue back to the delivery queue',
    responses: {
      200: {
        schema: 'RedriveCopied',
        description: 'Where SQS has no message move tasks (the emulator): up to 100 messages copied back.',
      },
      202: { schema: 'RedriveMoveTask', description: 'SQS started a message move task for the whole queue.' },
    },
    scenarios: { copied: { summary: 'Local mode copies', status: 200, body: { mode: 'copied', moved: 0 } } },
    illustrations: {
      202: {
        mode: 'move-task',
        taskHandle: 'eyJ0YXNrSWQiOiJkYWE4ZDM0Yy0xYjE2LTRiMjQtOTE3Ni1jYjJlM2QxYTYwZmMifQ',
      },
    },
  },
  {
    method: 'get',
    path: '/operational-events',
    operationId: 'listOperationalEvents',
    access: 'admin',
    tag: 'operational-events',
    summary: 'Operational events newest first',
    description:
      'What the delivery worker published to the EventBridge bus (`endpoint.disabled`, `endpoint.circuit_opened`, `endpoint.recovered`, `delivery.dead`, `dlq.redriven`), as it recorded each before publishing it: for the CLI, the dashboard and anyone without access to the bus. Kept 30 days; `since` defaults to 7 days back.',
    query: listOperationalEventsSchema,
    queryDescriptions: {
      type: 'Only events of this detail-type.',
      since: 'Only events at or after this time (ISO-8601 or Unix seconds), at most 30 days back.',
    },
    responses: {
      200: { schema: 'OperationalEventPage', description: 'A page of operational events.' },
      400: {
        schema: 'Error',
        description:
          'A bad query parameter (unknown ones are refused too), or a `since` beyond the 30 days kept.',
      },
    },
    scenarios: {
      recent: {
        summary: 'The latest events',
        status: 200,
        query: { limit: '10' },
        body: {
          items: [
            {
              id: 'oev_01JD8X3N5R8Q2W6T4Y7ZB1C3D5',
              detailType: 'endpoint.disabled',
              occurredAt: at(90),
              detail: {
                version: 1,
                occurredAt: at(90),
                endpointId: EXAMPLE.endpointId,
                tenantId: DEFAULT_TENANT,
                reason: 'gone',
                description: 'the receiver answered 410 Gone',
              },
            },
          ],
          nextCursor: null,
        },
      },
      badType: {
        summary: 'A detail-type that does not exist',
        status: 400,
        query: { type: 'endpoint.deleted' },
        body: error('invalid_query', `type: must be one of ${OPERATIONAL_EVENT_TYPES.join(', ')}`),
      },
    },
  },
  {
    method: 'get',
    path: '/dashboard',
    operationId: 'getDashboard',
    access: 'open',
    tag: 'pages',
    summary: 'The delivery dashboard page (holds no data: it asks for an admin key and calls this API)',
    contentType: 'text/html',
    responses: { 200: { schema: 'Html', description: 'The page.' } },
    scenarios: { page: { summary: 'The page (its start)', status: 200, body: '<!doctype html>' } },
  },
  {
    method: 'get',
    path: '/portal',
    operationId: 'getPortal',
    access: 'open',
    tag: 'pages',
    summary:
      "A tenant's portal page (holds no data: it reads its token from the link's fragment and calls this API)",
    contentType: 'text/html',
    responses: { 200: { schema: 'Html', description: 'The page.' } },
    scenarios: { page: { summary: 'The page (its start)', status: 200, body: '<!doctype html>' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    access: 'open',
    tag: 'pages',
    summary: 'This document',
    responses: {
      200: { schema: 'OpenApiDocument', description: 'The OpenAPI 3.1 description of this API.' },
    },
    scenarios: {
      document: { summary: 'This document (its start)', status: 200, body: { openapi: '3.1.0' } },
    },
  },
];

// Used only by the two pages, which are not JSON objects of ours.
const PAGE_SCHEMAS: Record<string, Json> = {
  Html: { type: 'string' },
  OpenApiDocument: {
    type: 'object',
    properties: { openapi: { const: '3.1.0' } },
    required: ['openapi'],
  },
};

// ---------------------------------------------------------------------------------------------
// Assembly.

const trackingHeader = { Trackingid: { $ref: '#/components/headers/Trackingid' } };

function responseHeaders(names: readonly string[] = []): Json {
  const headers: Json = { ...trackingHeader };
  for (const name of names) {
    const header = name === 'RetryAfter' ? 'Retry-After' : 'Idempotent-Replayed';
    headers[header] = { $ref: `#/components/headers/${name}` };
  }
  return headers;
}

/**
 * Named examples of `scenarios` picked by `pick`, or undefined when there are none. A response
 * example says with `x-credential` when its request is sent with something other than an admin key.
 */
function examplesOf(
  scenarios: Record<string, Scenario>,
  pick: (scenario: Scenario) => unknown,
  response = false,
): Record<string, Json> | undefined {
  const entries = Object.entries(scenarios).flatMap(([name, scenario]) => {
    const value = pick(scenario);
    const credential = response && scenario.credential ? { 'x-credential': scenario.credential } : {};
    return value === undefined ? [] : [[name, { summary: scenario.summary, value, ...credential }] as const];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** 1 to `max` (a power of ten) as decimal text, leading zeros allowed as `Number()` allows them. */
function pageSizePattern(max: number): string {
  const digits = Math.log10(max);
  if (!Number.isInteger(digits) || digits < 1) throw new Error(`openapi: write the pattern of 1 to ${max}`);
  return `^0*(?:[1-9][0-9]{0,${digits - 1}}|1${'0'.repeat(digits)})$`;
}

/** The schema of a path parameter, by its name and the resource it names. */
function pathSchema(path: string, name: string): Json {
  if (name === 'tenantId') return idSchema('tenant');
  if (path.startsWith('/api-keys')) return { type: 'string' };
  if (path.startsWith('/endpoints')) return idSchema('endpoint');
  return idSchema(path.startsWith('/events') ? 'event' : 'delivery');
}

function parameters(operation: Operation): Json[] {
  const params: Json[] = [];
  const pathNames = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  for (const name of pathNames) {
    params.push({
      name,
      in: 'path',
      required: true,
      schema: pathSchema(operation.path, name),
      examples: examplesOf(operation.scenarios, (scenario) => scenario.path?.[name]),
    });
  }
  if (operation.query) {
    const schema = fromZod(operation.query);
    // What zod checks with refine: the endpoint id, and the page size once it is a number.
    if ((schema.properties as Json).endpointId) refine(schema, ['endpointId'], idSchema('endpoint'));
    if ((schema.properties as Json).tenantId) refine(schema, ['tenantId'], idSchema('tenant'));
    if ((schema.properties as Json).limit)
      refine(schema, ['limit'], { pattern: pageSizePattern(MAX_PAGE_SIZE) });
    const required = (schema.required as string[] | undefined) ?? [];
    for (const [name, property] of Object.entries(schema.properties as Record<string, Json>)) {
      params.push({
        name,
        in: 'query',
        required: required.includes(name),
        description: operation.queryDescriptions?.[name] ?? QUERY_DESCRIPTIONS[name],
        schema: property,
        examples: examplesOf(operation.scenarios, (scenario) => scenario.query?.[name]),
      });
    }
  }
  const headerNames = new Set(
    Object.values(operation.scenarios).flatMap((scenario) => Object.keys(scenario.headers ?? {})),
  );
  if (operation.idempotencyKey || headerNames.has('Idempotency-Key')) {
    params.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: operation.idempotencyKey
        ? 'Makes a retry safe: the same key and body answer the original response again (kept as long as the event, 30 days).'
        : 'Not taken here: refused with 400 `idempotency_key_not_allowed` (give each event its own `idempotencyKey`).',
      schema: fromZod(idempotencyKeySchema),
      examples: examplesOf(operation.scenarios, (scenario) => scenario.headers?.['Idempotency-Key']),
    });
  }
  return params.map((param) =>
    Object.fromEntries(Object.entries(param).filter(([, value]) => value !== undefined)),
  );
}

function operationObject(operation: Operation): Json {
  const responses: Json = {};
  for (const [status, response] of Object.entries(operation.responses)) {
    const forStatus = Object.fromEntries(
      Object.entries(operation.scenarios).filter(([, scenario]) => String(scenario.status) === status),
    );
    const entry: Json = { description: response.description, headers: responseHeaders(response.headers) };
    if (response.schema !== null) {
      const illustration = operation.illustrations?.[Number(status)];
      const examples = examplesOf(forStatus, (scenario) => scenario.body, true);
      entry.content = {
        [operation.contentType ?? 'application/json']: {
          schema: ref(response.schema),
          ...(examples ? { examples } : illustration !== undefined ? { example: illustration } : {}),
        },
      };
    }
    responses[status] = entry;
  }
  const open = operation.access === 'open';
  for (const name of [
    ...(open ? [] : ['Unauthorized', 'Forbidden']),
    ...(operation.shared ?? []),
    'InternalError',
  ]) {
    const status = { Unauthorized: '401', Forbidden: '403', PayloadTooLarge: '413', InternalError: '500' }[
      name
    ];
    if (status && !responses[status]) responses[status] = { $ref: `#/components/responses/${name}` };
  }
  const requestExamples = examplesOf(operation.scenarios, (scenario) => scenario.request);
  const params = parameters(operation);
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    description: [operation.description, ACCESS_TEXT[operation.access]].filter(Boolean).join('\n\n'),
    'x-access': operation.access,
    ...(open ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(operation.requestBody
      ? {
          requestBody: {
            required: !operation.requestBodyOptional,
            content: {
              'application/json': { schema: ref(operation.requestBody), examples: requestExamples },
            },
          },
        }
      : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
  };
}

const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The whole document, in a fixed key order. */
export function buildOpenApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const operation of OPERATIONS) {
    paths[operation.path] = { ...paths[operation.path], [operation.method]: operationObject(operation) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'aws-serverless-webhooks API',
      version,
      summary: 'Signed, retried, observable webhook delivery on AWS serverless.',
      description:
        'Send events; they are delivered as signed (Standard Webhooks) HTTP POSTs to every subscribed endpoint, retried with backoff, and parked in a dead-letter queue when they still fail. Every request but `GET /dashboard`, `GET /portal` and `GET /openapi.json` needs a credential as `Authorization: Bearer <credential>`: an API key (`whk_...`; scope `admin`, or `send` for sending events only) or a portal session token (a JWT from `POST /tenants/{tenantId}/portal-sessions`, limited to the endpoints and deliveries of one tenant). Each operation says who may call it (`x-access`: `admin`, `send` = admin and send-only keys, `portal` = admin keys and portal sessions); anyone else gets 403 `forbidden`. Endpoints, events and deliveries belong to a tenant (`tenantId`; `default` when none is named, and for everything made before tenants). Every response carries a `Trackingid` header, also found in the logs of that request; every failure is `{"error": {"code", "message"}}`. Unknown body fields and query parameters are refused (400), not ignored. A path with no route answers 404 `not_found`, another method on a known path 405 `method_not_allowed` with `Allow`. Each named example is a request and its answer under the same name, sent with an admin key unless the example of the answer says `x-credential: portal` (a portal session token). Generated by scripts/openapi.ts from the validation schemas: run `npm run openapi`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'The deployed stack (its ApiUrl output)',
        variables: { apiId: { default: 'abcdef1234' }, region: { default: 'us-east-1' } },
      },
      {
        url: 'http://127.0.0.1:{port}',
        description: 'Local mode (npm run local)',
        variables: { port: { default: '3000' } },
      },
    ],
    security: [{ bearer: [] }],
    tags: [
      { name: 'tenants', description: "The operator's customers, each with their own endpoints." },
      { name: 'endpoints', description: 'Where webhooks go, and their signing secrets.' },
      { name: 'events', description: 'What is sent.' },
      {
        name: 'deliveries',
        description: 'One per event and endpoint, with every attempt; retry and recover.',
      },
      { name: 'dlq', description: 'The dead-letter queue.' },
      { name: 'portal', description: "Links to a tenant's portal, and the portal's own session." },
      { name: 'api-keys', description: 'Admin and send-only keys: create, list, revoke.' },
      {
        name: 'operational-events',
        description: 'What happened to endpoints and deliveries, as published to the EventBridge bus.',
      },
      { name: 'pages', description: 'Served without a credential.' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            '`Authorization: Bearer <credential>`: an API key (`whk_...`: the deploy creates the first admin key and says where to read it; `POST /api-keys` makes more) or a portal session token (a JWT). `x-api-key` is not read.',
        },
      },
      headers: {
        Trackingid: {
          description: 'Unique per request; the logs of the request carry it too.',
          required: true,
          schema: { type: 'string' },
        },
        RetryAfter: {
          description: 'Seconds to wait before sending again.',
          schema: { type: 'string', pattern: '^\\d+$' },
        },
        IdempotentReplayed: {
          description:
            '`true` when this is the original answer to an earlier request with the same Idempotency-Key.',
          schema: { const: 'true' },
        },
      },
      responses: {
        Unauthorized: {
          description:
            'No credential, or not a valid one: without an `Authorization` header API Gateway itself answers `{"message": "Unauthorized"}` (no Trackingid); a credential of the shape of a JWT is taken for a portal session token (past its expiry: `token_expired`; not signed by this stack, or altered: `invalid_token`), anything else for an API key (unknown or revoked: `unauthorized`); another scheme than Bearer is `unauthorized` too. These carry `WWW-Authenticate: Bearer`.',
          headers: {
            Trackingid: {
              description:
                "As on every answer of the API; absent from API Gateway's own answer to a request without `Authorization`.",
              schema: { type: 'string' },
            },
          },
          content: {
            'application/json': {
              schema: ref('Unauthorized'),
              examples: {
                noCredential: {
                  summary: 'No Authorization header (API Gateway answers)',
                  value: { message: 'Unauthorized' },
                },
                unknownKey: {
                  summary: 'A key that is not (or no longer) valid',
                  value: error('unauthorized', 'this API key is not valid (unknown or revoked)'),
                },
                notBearer: {
                  summary: 'An Authorization header of another scheme',
                  value: error(
                    'unauthorized',
                    'send an API key or a portal token as "Authorization: Bearer <credential>"',
                  ),
                },
                expiredToken: {
                  summary: 'A portal session past its expiry',
                  value: error('token_expired', 'this portal link has expired'),
                },
                invalidToken: {
                  summary: 'A token this API did not sign, or altered',
                  value: error('invalid_token', 'this portal link is not valid'),
                },
              },
            },
          },
        },
        Forbidden: {
          description:
            "A valid credential that may not call this operation (see the operation's `x-access`).",
          headers: trackingHeader,
          content: {
            'application/json': {
              schema: ref('Error'),
              examples: {
                sendKey: {
                  summary: 'A send-only key on a route for admin keys',
                  value: error('forbidden', 'a send-only key cannot use this route; it needs an admin key'),
                },
                portalSession: {
                  summary: 'A portal session on a route it may not use',
                  value: error('forbidden', 'a portal session cannot use this route'),
                },
              },
            },
          },
        },
        PayloadTooLarge: {
          description: `The body is over the limit (${MAX_REQUEST_BODY_BYTES} bytes; ${MAX_BATCH_BODY_BYTES} for \`POST /events/batch\`).`,
          headers: trackingHeader,
          content: {
            'application/json': {
              schema: ref('Error'),
              example: error(
                'payload_too_large',
                `the body is over the ${MAX_REQUEST_BODY_BYTES}-byte limit`,
              ),
            },
          },
        },
        InternalError: {
          description: 'Something failed on our side; the logs of the Trackingid say what.',
          headers: trackingHeader,
          content: {
            'application/json': {
              schema: ref('Error'),
              example: error(
                'internal_error',
                'internal error; quote Trackingid 4f0c2b9e-2f61-4f3a-9a43-1d2b0c7e9a55',
              ),
            },
          },
        },
      },
      schemas: { ...requestSchemas(), ...responseSchemas(), ...PAGE_SCHEMAS },
    },
  };
}

/** The document as committed: 2-space JSON and a trailing newline. */
export const renderOpenApiDocument = (): string => `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;

/**
 * lambdas/api/openapi-document.ts: the document brotli-compressed and base64-encoded, and the
 * route handler that serves it decompressed, byte for byte the committed file.
 */
export function renderServedModule(text: string): string {
  const compressed = brotliCompressSync(Buffer.from(text, 'utf8'), {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: text.length },
  }).toString('base64');
  return `/**
 * \`GET /openapi.json\`: openapi.json, compressed so the pages function's bundle carries ${Math.round(compressed.length / 1024)} KB instead of
 * ${Math.round(Buffer.byteLength(JSON.stringify(JSON.parse(text))) / 1024)} KB. Generated by scripts/openapi.ts (\`npm run openapi\`); do not edit.
 */
import { brotliDecompressSync } from 'node:zlib';
import type { ApiResponse } from './router.ts';

const COMPRESSED =
  '${compressed}';

let text: string | undefined;

/** The committed openapi.json, byte for byte (decompressed once, on the first request). */
export function openApiDocument(): ApiResponse {
  text ??= brotliDecompressSync(Buffer.from(COMPRESSED, 'base64')).toString('utf8');
  return { status: 200, body: text, contentType: 'application/json' };
}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = renderOpenApiDocument();
  writeFileSync(OPENAPI_FILE, text);
  writeFileSync(SERVED_FILE, renderServedModule(text));
  process.stdout.write(`wrote ${OPENAPI_FILE} (${Buffer.byteLength(text)} bytes) and ${SERVED_FILE}\n`);
}
