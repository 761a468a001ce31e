/**
 * Request validation with zod. Every schema is strict: unknown fields are refused rather
 * than silently dropped, so a typo in a field name is an error the caller sees.
 */
import * as z from 'zod/mini';
import { MAX_BATCH_EVENTS, MAX_PAGE_SIZE } from './config.ts';
import { badRequest, HttpError } from './errors.ts';
import { isEndpointId } from './ids.ts';
import { OPERATIONAL_EVENT_TYPES } from './operational-events.ts';
import { TENANT_ID_PATTERN } from './tenants.ts';

// zod/mini: the same validation as classic zod, tree-shakable, ~20 KB instead of ~450 KB per bundle.

/** Deepest JSON nesting accepted in `data` (deeper payloads are refused, not truncated). */
export const MAX_JSON_DEPTH = 32;

/** Event types: dotted names such as `invoice.paid`; no spaces, quotes or control characters. */
const eventType = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be letters, digits and . _ : - (e.g. "invoice.paid")'),
  );

/** `*` subscribes to every type. */
const eventTypeFilter = z.union([z.literal('*'), eventType]);

const endpointId = z.string().check(z.refine(isEndpointId, 'must be an endpoint id (ep_...)'));

/** Lone UTF-16 surrogates cannot be stored (DynamoDB wants valid UTF-8): refuse them up front. */
const wellFormed = z.refine<string>((text) => !/\p{Surrogate}/u.test(text), 'must be well-formed Unicode');

const description = z.string().check(z.maxLength(500), wellFormed);

/** An operator-chosen tenant id (lambdas/core/tenants.ts). */
export const tenantIdSchema = z
  .string()
  .check(
    z.regex(
      TENANT_ID_PATTERN,
      'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    ),
  );

/** Idempotency keys: 1 to 255 printable ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(255),
    z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  );

const url = z.string().check(z.minLength(1), z.maxLength(2048));

const eventTypeFilters = z.array(eventTypeFilter).check(z.minLength(1), z.maxLength(100));

/** Deliveries per second at most, across every worker: 1 to 1,000. */
const rateLimit = z
  .number()
  .check(
    z.refine((n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'must be a whole number from 1 to 1000'),
  );

export const createEndpointSchema = z.strictObject({
  url,
  eventTypes: z.optional(eventTypeFilters),
  description: z.optional(description),
  rateLimit: z.optional(rateLimit),
  tenantId: z.optional(tenantIdSchema),
  /** Static headers sent with every delivery (checked by lambdas/core/custom-headers.ts). */
  headers: z.optional(z.record(z.string(), z.unknown())),
  /** A payload filter (checked by lambdas/core/filter.ts). */
  filter: z.optional(z.unknown()),
});
export type CreateEndpointInput = z.infer<typeof createEndpointSchema>;

export const updateEndpointSchema = z
  .strictObject({
    url: z.optional(url),
    eventTypes: z.optional(z.nullable(eventTypeFilters)),
    enabled: z.optional(z.boolean()),
    description: z.optional(z.nullable(description)),
    rateLimit: z.optional(z.nullable(rateLimit)),
    headers: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
    filter: z.optional(z.unknown()),
  })
  .check(
    z.refine(
      (value) => Object.keys(value).length > 0,
      'give at least one of url, eventTypes, enabled, description, rateLimit, headers, filter',
    ),
  );
export type UpdateEndpointInput = z.infer<typeof updateEndpointSchema>;

export const sendEventSchema = z.strictObject({
  type: eventType,
  data: z.record(z.string(), z.unknown()),
  /** The tenant whose endpoints it goes to; `default` when absent. */
  tenantId: z.optional(tenantIdSchema),
  endpointIds: z.optional(
    z.array(endpointId).check(
      z.minLength(1),
      z.maxLength(100),
      z.refine((ids) => new Set(ids).size === ids.length, 'must not repeat an id'),
    ),
  ),
});
export type SendEventInput = z.infer<typeof sendEventSchema>;

/** One event of a batch: what `POST /events` takes, and its own Idempotency-Key. */
export const batchEventSchema = z.strictObject({
  ...sendEventSchema.shape,
  idempotencyKey: z.optional(idempotencyKeySchema),
});
export type BatchEventInput = z.infer<typeof batchEventSchema>;

/**
 * `POST /events/batch`: 1 to {@link MAX_BATCH_EVENTS} events. Each event is validated on its
 * own (see lambdas/api/batch-ingest.ts), so one bad event refuses only itself.
 */
export const sendEventBatchSchema = z.strictObject({
  events: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_BATCH_EVENTS)),
});

export const deliveryStatusSchema = z.enum(['pending', 'delivered', 'failed', 'dead']);
export type DeliveryStatus = z.infer<typeof deliveryStatusSchema>;

/** `since`: ISO-8601 or Unix seconds, as epoch milliseconds. */
const since = z.pipe(
  z.string(),
  z.transform((raw, ctx) => {
    const ms = /^\d{1,12}$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
    if (!Number.isFinite(ms)) {
      ctx.issues.push({ code: 'custom', message: 'must be ISO-8601 or Unix seconds', input: raw });
      return z.NEVER;
    }
    return ms;
  }),
);

const limit = z.pipe(
  z.string().check(z.regex(/^\d+$/, 'must be a whole number')),
  z.pipe(
    z.transform((raw: string) => Number(raw)),
    z.number().check(z.refine((n) => n >= 1 && n <= MAX_PAGE_SIZE, `must be 1 to ${MAX_PAGE_SIZE}`)),
  ),
);

const cursor = z
  .string()
  .check(z.maxLength(2048), z.regex(/^[A-Za-z0-9_-]+$/, 'is not a cursor this API issued'));

/** Filters shared by `GET /deliveries` and `GET /events`. */
export const listDeliveriesSchema = z.strictObject({
  tenantId: z.optional(tenantIdSchema),
  endpointId: z.optional(endpointId),
  status: z.optional(deliveryStatusSchema),
  type: z.optional(eventType),
  since: z.optional(since),
  cursor: z.optional(cursor),
  limit: z.optional(limit),
});
export type ListDeliveriesQuery = z.infer<typeof listDeliveriesSchema>;

/**
 * `GET /operational-events?type=&since=&cursor=&limit=`: the recorded operational events, newest
 * first; `type` one detail-type, `since` ISO-8601 or Unix seconds (the route bounds it).
 */
export const listOperationalEventsSchema = z.strictObject({
  type: z.optional(
    z.enum(OPERATIONAL_EVENT_TYPES, { error: `must be one of ${OPERATIONAL_EVENT_TYPES.join(', ')}` }),
  ),
  since: z.optional(since),
  cursor: z.optional(cursor),
  limit: z.optional(limit),
});

/**
 * `POST /endpoints/{id}/recover?since=&cursor=`: since is required, so a recovery is always
 * bounded in time; `cursor` resumes a recovery where the previous call stopped; `limit` is the
 * most deliveries one call queues (at most RECOVER_PAGE_SIZE).
 */
export const recoverSchema = z.strictObject({ since, cursor: z.optional(cursor), limit: z.optional(limit) });

export const listEndpointsSchema = z.strictObject({
  tenantId: z.optional(tenantIdSchema),
  cursor: z.optional(cursor),
  limit: z.optional(limit),
});

/** `PUT /tenants/{id}`: a display name and up to 20 string metadata values. */
export const putTenantSchema = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(200), wellFormed)),
  metadata: z.optional(
    z
      .record(
        z.string().check(z.minLength(1), z.maxLength(64)),
        z.string().check(z.maxLength(500), wellFormed),
      )
      .check(z.refine((value) => Object.keys(value).length <= 20, 'at most 20 entries')),
  ),
});

export const listTenantsSchema = z.strictObject({ cursor: z.optional(cursor), limit: z.optional(limit) });

/** `POST /tenants/{id}/portal-sessions`: how long the link works, 5 minutes to 24 hours (default 1 hour). */
export const portalSessionSchema = z.strictObject({
  expiresInSeconds: z.optional(
    z
      .number()
      .check(
        z.refine(
          (n) => Number.isInteger(n) && n >= 300 && n <= 86_400,
          'must be a whole number of seconds from 300 to 86400',
        ),
      ),
  ),
});

/** `POST /api-keys`: a scope (`admin` or `send`) and an optional name. */
export const createApiKeySchema = z.strictObject({
  scope: z.enum(['admin', 'send']),
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(100), wellFormed)),
});

/** What zod/mini reports of one problem (it carries no English messages of its own). */
interface Issue {
  readonly path: PropertyKey[];
  readonly message: string;
  readonly code?: string;
  readonly keys?: readonly string[];
  readonly expected?: string;
}

/** Our words for one issue: zod/mini without a locale says only "Invalid input". */
function issueText(issue: Issue): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.expected && issue.message === 'Invalid input') {
    const expected = issue.expected === 'record' ? 'object' : issue.expected;
    return `must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
  }
  return issue.message;
}

function describeIssues(error: { issues: ReadonlyArray<Issue> }): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body';
      return `${path}: ${issueText(issue)}`;
    })
    .join('; ');
}

/** Parses `input` with `schema` or throws a 400 naming the offending fields. */
export function parseOrThrow<T extends z.ZodMiniType>(
  schema: T,
  input: unknown,
  code = 'invalid_request',
): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw badRequest(code, describeIssues(result.error));
  return result.data;
}

function depthOf(value: unknown, limitDepth: number, depth = 0): number {
  if (depth > limitDepth || value === null || typeof value !== 'object') return depth;
  let deepest = depth;
  for (const child of Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, depthOf(child, limitDepth, depth + 1));
    if (deepest > limitDepth) break;
  }
  return deepest;
}

/** Parses a JSON request body, refusing malformed JSON and absurd nesting with a 400. */
export function parseJsonBody(raw: string | undefined): unknown {
  if (raw === undefined || raw.trim() === '')
    throw badRequest('missing_body', 'the request needs a JSON body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw badRequest('malformed_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (depthOf(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw badRequest('too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return parsed;
}

/** 413 for a body over the limit. */
export const payloadTooLarge = (limitBytes: number): HttpError =>
  new HttpError(413, 'payload_too_large', `the body is over the ${limitBytes}-byte limit`);
