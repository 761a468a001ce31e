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
 * by the finished document, which the API serves at `GET /openapi.json` from
 * lambdas/api/openapi-document.ts (written here too: the file brotli-compressed, about 11 KB).
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
  deliveryId,
  ENDPOINT_PREFIX,
  EVENT_PREFIX,
  encodeTime,
  idempotentEventId,
} from '../lambdas/core/ids.ts';
import {
  batchEventSchema,
  createEndpointSchema,
  deliveryStatusSchema,
  idempotencyKeySchema,
  listDeliveriesSchema,
  listEndpointsSchema,
  recoverSchema,
  sendEventBatchSchema,
  sendEventSchema,
  updateEndpointSchema,
} from '../lambdas/core/validation.ts';

/** Where the document is committed. */
export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));
/** The copy the API serves, compressed (8 KB of brotli instead of 50 KB of minified JSON in the bundle). */
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
  const update = fromZod(updateEndpointSchema);
  update.minProperties = 1;
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
  return {
    CreateEndpoint: create,
    UpdateEndpoint: update,
    SendEvent: sendEvent,
    BatchEvent: batchEvent,
    SendEventBatch: batch,
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

/** What `publicDelivery` shows; a delivery without a record yet (`pendingDelivery`) has only the first seven. */
const deliveryProperties: Record<string, Json> = {
  id: idSchema('delivery'),
  eventId: idSchema('event'),
  endpointId: idSchema('endpoint'),
  eventType: { type: 'string' },
  status: ref('DeliveryStatus'),
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
} as const;
const keyedEventId = idempotentEventId(EXAMPLE.idempotencyKey);
const batchEventId = idempotentEventId(EXAMPLE.batchKey);
const eventAt = EXAMPLE_TIME + 60_000;
const keyedDeliveryId = deliveryId(keyedEventId, EXAMPLE.endpointId, eventAt);
const batchDeliveryId = deliveryId(batchEventId, EXAMPLE.endpointId, eventAt + 5000);
const missingDeliveryId = deliveryId(EXAMPLE.missingEventId, EXAMPLE.endpointId, EXAMPLE_TIME);

const endpointExample = {
  id: EXAMPLE.endpointId,
  url: EXAMPLE.url,
  eventTypes: ['invoice.paid', 'invoice.refunded'],
  description: 'Billing service',
  enabled: true,
  disabledReason: null,
  failureStreak: 0,
  failingSince: null,
  circuitOpenUntil: null,
  rateLimit: 50,
  hasBacklog: false,
  createdAt: iso(EXAMPLE_TIME),
  updatedAt: iso(EXAMPLE_TIME),
};
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
  eventType: 'invoice.paid',
  status: 'failed',
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
}

interface Operation {
  readonly method: 'get' | 'post' | 'patch' | 'delete';
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly open?: boolean;
  readonly requestBody?: string;
  readonly query?: z.ZodMiniType;
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
  endpointId: 'Only deliveries to this endpoint (else every endpoint, merged by time).',
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
    tag: 'endpoints',
    summary: 'Create an endpoint',
    description: 'Answers the signing secret once; it is never shown again (rotate it to get a new one).',
    requestBody: 'CreateEndpoint',
    responses: {
      201: { schema: 'EndpointCreated', description: 'Created, with its signing secret.' },
      400: { schema: 'Error', description: 'Invalid body or URL.' },
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
    tag: 'endpoints',
    summary: 'List endpoints',
    query: listEndpointsSchema,
    responses: {
      200: { schema: 'EndpointPage', description: 'A page of endpoints.' },
      400: { schema: 'Error', description: 'A bad query parameter (unknown ones are refused too).' },
    },
    scenarios: {
      firstPage: {
        summary: 'The first ten',
        status: 200,
        query: { limit: '10' },
        body: { items: [endpointExample], nextCursor: null },
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
    },
  },
  {
    method: 'patch',
    path: '/endpoints/{id}',
    operationId: 'updateEndpoint',
    tag: 'endpoints',
    summary: 'Change url, eventTypes, enabled, description or rateLimit',
    requestBody: 'UpdateEndpoint',
    responses: {
      200: { schema: 'Endpoint', description: 'The endpoint as it is now.' },
      400: { schema: 'Error', description: 'Invalid body or URL.' },
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
      nothing: {
        summary: 'At least one field',
        status: 400,
        path: { id: EXAMPLE.endpointId },
        request: {},
        body: error(
          'invalid_request',
          'body: give at least one of url, eventTypes, enabled, description, rateLimit',
        ),
      },
    },
    shared: bodyOps,
  },
  {
    method: 'delete',
    path: '/endpoints/{id}',
    operationId: 'deleteEndpoint',
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
    path: '/endpoints/{id}/recover',
    operationId: 'recoverEndpoint',
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
    tag: 'events',
    summary: 'Send an event to every subscribed endpoint (or the ones named)',
    description:
      'Answers 202 once every delivery message is queued. With an Idempotency-Key the same key and body answer the original response again (`Idempotent-Replayed: true`); the same key with another body is 422; 409 only while the first request still holds the event.',
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
        description: 'The key was used with another body, or an endpoint named is unknown or disabled.',
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
    tag: 'events',
    summary: 'Events newest first, each with its deliveries',
    description:
      'Found through their deliveries (the same filters as `GET /deliveries`): an event shows up once a delivery has an outcome; `GET /events/{id}` shows one at once.',
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
    tag: 'events',
    summary: 'An event, its state, its data and its deliveries',
    responses: {
      200: { schema: 'Event', description: 'The event.' },
      404: { schema: 'Error', description: 'No such event.' },
    },
    scenarios: {
      found: {
        summary: 'An event whose first attempt failed',
        status: 200,
        path: { id: keyedEventId },
        body: {
          id: keyedEventId,
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
    tag: 'deliveries',
    summary: 'Deliveries newest first',
    description: 'A delivery is listed once it has an outcome (usually within a second).',
    query: listDeliveriesSchema,
    responses: {
      200: { schema: 'DeliveryPage', description: 'A page of deliveries.' },
      400: { schema: 'Error', description: 'A bad query parameter (unknown ones are refused too).' },
    },
    scenarios: {
      failed: {
        summary: "An endpoint's failed deliveries",
        status: 200,
        query: { endpointId: EXAMPLE.endpointId, status: 'failed' },
        body: { items: [failedDelivery], nextCursor: null },
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
    method: 'get',
    path: '/dlq',
    operationId: 'getDeadLetterDepth',
    tag: 'dlq',
    summary: 'Messages in the dead-letter queue',
    responses: { 200: { schema: 'DeadLetterDepth', description: 'Visible and in flight.' } },
    scenarios: { depth: { summary: 'The depth', status: 200, body: { visible: 0, inFlight: 0 } } },
  },
  {
    method: 'post',
    path: '/dlq/redrive',
    operationId: 'redriveDeadLetters',
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
    path: '/dashboard',
    operationId: 'getDashboard',
    tag: 'pages',
    summary: 'The delivery dashboard page (holds no data: it asks for a key and calls this API)',
    open: true,
    contentType: 'text/html',
    responses: { 200: { schema: 'Html', description: 'The page.' } },
    scenarios: { page: { summary: 'The page (its start)', status: 200, body: '<!doctype html>' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    tag: 'pages',
    summary: 'This document',
    open: true,
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

/** Named examples of `scenarios` picked by `pick`, or undefined when there are none. */
function examplesOf(
  scenarios: Record<string, Scenario>,
  pick: (scenario: Scenario) => unknown,
): Record<string, Json> | undefined {
  const entries = Object.entries(scenarios).flatMap(([name, scenario]) => {
    const value = pick(scenario);
    return value === undefined ? [] : [[name, { summary: scenario.summary, value }] as const];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** 1 to `max` (a power of ten) as decimal text, leading zeros allowed as `Number()` allows them. */
function pageSizePattern(max: number): string {
  const digits = Math.log10(max);
  if (!Number.isInteger(digits) || digits < 1) throw new Error(`openapi: write the pattern of 1 to ${max}`);
  return `^0*(?:[1-9][0-9]{0,${digits - 1}}|1${'0'.repeat(digits)})$`;
}

function parameters(operation: Operation): Json[] {
  const params: Json[] = [];
  const pathNames = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  for (const name of pathNames) {
    const kind = operation.path.startsWith('/endpoints')
      ? 'endpoint'
      : operation.path.startsWith('/events')
        ? 'event'
        : 'delivery';
    params.push({
      name,
      in: 'path',
      required: true,
      schema: idSchema(kind),
      examples: examplesOf(operation.scenarios, (scenario) => scenario.path?.[name]),
    });
  }
  if (operation.query) {
    const schema = fromZod(operation.query);
    // What zod checks with refine: the endpoint id, and the page size once it is a number.
    if ((schema.properties as Json).endpointId) refine(schema, ['endpointId'], idSchema('endpoint'));
    if ((schema.properties as Json).limit)
      refine(schema, ['limit'], { pattern: pageSizePattern(MAX_PAGE_SIZE) });
    const required = (schema.required as string[] | undefined) ?? [];
    for (const [name, property] of Object.entries(schema.properties as Record<string, Json>)) {
      params.push({
        name,
        in: 'query',
        required: required.includes(name),
        description: QUERY_DESCRIPTIONS[name],
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
      const examples = examplesOf(forStatus, (scenario) => scenario.body);
      entry.content = {
        [operation.contentType ?? 'application/json']: {
          schema: ref(response.schema),
          ...(examples ? { examples } : illustration !== undefined ? { example: illustration } : {}),
        },
      };
    }
    responses[status] = entry;
  }
  for (const name of [
    ...(operation.open ? [] : ['Unauthorized']),
    ...(operation.shared ?? []),
    'InternalError',
  ]) {
    const status = { Unauthorized: '401', PayloadTooLarge: '413', InternalError: '500' }[name];
    if (status) responses[status] = { $ref: `#/components/responses/${name}` };
  }
  const requestExamples = examplesOf(operation.scenarios, (scenario) => scenario.request);
  const params = parameters(operation);
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    ...(operation.open ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(operation.requestBody
      ? {
          requestBody: {
            required: true,
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
        'Send events; they are delivered as signed (Standard Webhooks) HTTP POSTs to every subscribed endpoint, retried with backoff, and parked in a dead-letter queue when they still fail. Every request but `GET /dashboard` and `GET /openapi.json` needs the `x-api-key` header. Every response carries a `Trackingid` header, also found in the logs of that request; every failure is `{"error": {"code", "message"}}`. Unknown body fields and query parameters are refused (400), not ignored. A path with no route answers 404 `not_found`, another method on a known path 405 `method_not_allowed` with `Allow`. Generated by scripts/openapi.ts from the validation schemas: run `npm run openapi`.',
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
    security: [{ apiKey: [] }],
    tags: [
      { name: 'endpoints', description: 'Where webhooks go, and their signing secrets.' },
      { name: 'events', description: 'What is sent.' },
      {
        name: 'deliveries',
        description: 'One per event and endpoint, with every attempt; retry and recover.',
      },
      { name: 'dlq', description: 'The dead-letter queue.' },
      { name: 'pages', description: 'Served without a key.' },
    ],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'An API key; the deploy creates the first one and says where to read it.',
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
          description: 'No valid `x-api-key` header.',
          headers: trackingHeader,
          content: {
            'application/json': {
              schema: ref('Error'),
              example: error('unauthorized', 'a valid x-api-key header is required'),
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
 * \`GET /openapi.json\`: openapi.json, compressed so the API bundle carries ${Math.round(compressed.length / 1024)} KB instead of
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
