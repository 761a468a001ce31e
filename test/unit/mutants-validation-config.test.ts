/**
 * Request validation's messages and bounds, and the configuration the README documents, as the
 * mutation run (npm run mutate) found them unchecked. The API's 400s name the field and say
 * what is wrong, so the messages are behaviour; the documented numbers are checked against
 * the README's own wording.
 */
import { describe, expect, it } from 'vitest';
import {
  API_KEY_CACHE_TTL_MS,
  AUTHORIZER_CACHE_SECONDS,
  breakerPolicyEnv,
  breakerPolicyFromEnv,
  DEFAULT_BREAKER_POLICY,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  DELIVERY_FUNCTION_TIMEOUT_SECONDS,
  DELIVERY_QUEUE_RETENTION_SECONDS,
  DELIVERY_QUEUE_VISIBILITY_SECONDS,
  DELIVERY_RETENTION_SECONDS,
  DLQ_RETENTION_SECONDS,
  ENDPOINT_CACHE_TTL_MS,
  EVENT_RETENTION_SECONDS,
  MAX_REQUEST_BODY_BYTES,
  maxReceiveCountOf,
  REDRIVE_HEADROOM_RECEIVES,
  retryPolicyEnv,
  retryPolicyFromEnv,
  SECRET_CACHE_TTL_MS,
  SECRET_ROTATION_OVERLAP_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../../lambdas/core/config.ts';
import { HttpError } from '../../lambdas/core/errors.ts';
import {
  createEndpointSchema,
  deliveryStatusSchema,
  idempotencyKeySchema,
  listDeliveriesSchema,
  listEndpointsSchema,
  MAX_JSON_DEPTH,
  parseJsonBody,
  parseOrThrow,
  payloadTooLarge,
  sendEventSchema,
  updateEndpointSchema,
} from '../../lambdas/core/validation.ts';

const DAY = 24 * 60 * 60;

/** The 400's message for `input`, or undefined if it parses. */
function refusal(
  schema: Parameters<typeof parseOrThrow>[0],
  input: unknown,
  code?: string,
): string | undefined {
  try {
    parseOrThrow(schema, input, code);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    if (code) expect((error as HttpError).code).toBe(code);
    return (error as HttpError).message;
  }
}

const ENDPOINT = 'ep_01M8FKCN41CGE3BC09CCS334NS';

describe('validation messages name the field and the rule', () => {
  it.each([
    [
      sendEventSchema,
      { type: 'bad type', data: {} },
      'type: must be letters, digits and . _ : - (e.g. "invoice.paid")',
    ],
    [
      sendEventSchema,
      { type: 'a', data: {}, endpointIds: ['nope'] },
      'endpointIds.0: must be an endpoint id (ep_...)',
    ],
    [
      sendEventSchema,
      { type: 'a', data: {}, endpointIds: [ENDPOINT, ENDPOINT] },
      'endpointIds: must not repeat an id',
    ],
    [
      createEndpointSchema,
      { url: 'https://x.test', description: 'a\ud800b' },
      'description: must be well-formed Unicode',
    ],
    [
      updateEndpointSchema,
      {},
      'body: give at least one of url, eventTypes, enabled, description, rateLimit, headers, filter',
    ],
    [listDeliveriesSchema, { since: 'yesterday' }, 'since: must be ISO-8601 or Unix seconds'],
    [listDeliveriesSchema, { limit: '1.5' }, 'limit: must be a whole number'],
    [listDeliveriesSchema, { limit: '0' }, 'limit: must be 1 to 100'],
    [listDeliveriesSchema, { cursor: 'a.b' }, 'cursor: is not a cursor this API issued'],
    [listEndpointsSchema, { cursor: '%%' }, 'cursor: is not a cursor this API issued'],
    [idempotencyKeySchema, 'has space', 'body: must be printable ASCII without spaces'],
  ] as const)('%#: %j → %s', (schema, input, message) => {
    expect(refusal(schema, input)).toBe(message);
  });

  it('joins up to five issues with "; " and names nested paths with dots', () => {
    const message = refusal(
      sendEventSchema,
      { type: '', data: 1, endpointIds: ['x'], a: 1, b: 2, c: 3, d: 4 },
      'invalid_event',
    );
    const issues = message?.split('; ') ?? [];
    expect(issues).toHaveLength(5);
    expect(issues.some((issue) => issue.startsWith('endpointIds.0: '))).toBe(true);
  });

  it('accepts the bounds themselves', () => {
    expect(parseOrThrow(listDeliveriesSchema, { limit: '1' }).limit).toBe(1);
    expect(parseOrThrow(listDeliveriesSchema, { limit: '100' }).limit).toBe(100);
    expect(refusal(listDeliveriesSchema, { limit: '101' })).toBe('limit: must be 1 to 100');
    expect(refusal(listDeliveriesSchema, { limit: 'x5' })).toBe('limit: must be a whole number');
    expect(refusal(listDeliveriesSchema, { limit: '5x' })).toBe('limit: must be a whole number');
    expect(parseOrThrow(listDeliveriesSchema, { cursor: 'aZ09_-' }).cursor).toBe('aZ09_-');
    expect(refusal(listDeliveriesSchema, { cursor: 'ab!' })).toMatch(/^cursor: /);
    expect(refusal(listDeliveriesSchema, { cursor: '!ab' })).toMatch(/^cursor: /);
    // Refused, naming the field (zod/mini alone would say only "Invalid input").
    expect(refusal(listEndpointsSchema, { cursor: 'x', limit: '2', extra: '1' })).toBe(
      'body: unknown field "extra"',
    );
    expect(parseOrThrow(listEndpointsSchema, { cursor: 'abc', limit: '7' })).toEqual({
      cursor: 'abc',
      limit: 7,
    });
  });

  it('reads since as Unix seconds (up to 12 digits) or as ISO-8601', () => {
    expect(parseOrThrow(listDeliveriesSchema, { since: '1795819984' }).since).toBe(1_795_819_984_000);
    expect(parseOrThrow(listDeliveriesSchema, { since: '2026-11-27T00:00:00.250Z' }).since).toBe(
      Date.parse('2026-11-27T00:00:00.250Z'),
    );
    // Not seconds: 13 digits are not read as seconds, and do not parse as a date either.
    expect(refusal(listDeliveriesSchema, { since: '1795819984000' })).toBe(
      'since: must be ISO-8601 or Unix seconds',
    );
    expect(refusal(listDeliveriesSchema, { since: 'x1795819984' })).toBe(
      'since: must be ISO-8601 or Unix seconds',
    );
  });

  it('knows exactly the four delivery statuses', () => {
    expect(deliveryStatusSchema.options).toEqual(['pending', 'delivered', 'failed', 'dead']);
    expect(refusal(listDeliveriesSchema, { status: 'Failed' })).toMatch(/^status: /);
  });
});

describe('parseJsonBody', () => {
  const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const arrays = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

  it('says what is missing or malformed', () => {
    expect(() => parseJsonBody(undefined)).toThrow(
      expect.objectContaining({ code: 'missing_body', message: 'the request needs a JSON body' }),
    );
    expect(() => parseJsonBody('  ')).toThrow(expect.objectContaining({ code: 'missing_body' }));
    expect(() => parseJsonBody('{"a":')).toThrow(
      expect.objectContaining({
        code: 'malformed_json',
        message: expect.stringMatching(/^the body is not valid JSON: \S/),
      }),
    );
  });

  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and refuses one more, for objects and arrays`, () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeTypeOf('object');
    expect(parseJsonBody(arrays(MAX_JSON_DEPTH))).toBeInstanceOf(Array);
    for (const deep of [
      nested(MAX_JSON_DEPTH + 1),
      arrays(MAX_JSON_DEPTH + 1),
      `[1,"x",null,${nested(40)}]`,
    ]) {
      expect(() => parseJsonBody(deep)).toThrow(
        expect.objectContaining({
          code: 'too_deep',
          message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
        }),
      );
    }
    expect(parseJsonBody('[1,"x",null,true]')).toEqual([1, 'x', null, true]);
    expect(parseJsonBody('"text"')).toBe('text');
  });

  it('answers 413 payload_too_large naming the limit', () => {
    expect(payloadTooLarge(1234)).toMatchObject({
      status: 413,
      code: 'payload_too_large',
      message: 'the body is over the 1234-byte limit',
    });
  });
});

describe('configuration the README documents', () => {
  it('retries on the README table: now, 0 s, 10 s, 30 s, 1, 2, 5, 10, 20, 40 min, 1, 2, 4, 8, 12 h', () => {
    const minute = 60;
    const hour = 60 * minute;
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toEqual([
      0,
      10,
      30,
      minute,
      2 * minute,
      5 * minute,
      10 * minute,
      20 * minute,
      40 * minute,
      hour,
      2 * hour,
      4 * hour,
      8 * hour,
      12 * hour,
    ]);
    expect(DEFAULT_MAX_ATTEMPTS).toBe(19);
  });

  it('keeps the documented lifetimes: queues 14 days, records 30 days, rotation overlap 24 h', () => {
    expect([DELIVERY_QUEUE_RETENTION_SECONDS, DLQ_RETENTION_SECONDS]).toEqual([14 * DAY, 14 * DAY]);
    expect([EVENT_RETENTION_SECONDS, DELIVERY_RETENTION_SECONDS]).toEqual([30 * DAY, 30 * DAY]);
    expect(SECRET_ROTATION_OVERLAP_SECONDS).toBe(DAY);
  });

  it('caches secrets 5 minutes, a tenant’s endpoints 2 s, API keys 25 s and the authorizer’s answer 30 s', () => {
    expect(SECRET_CACHE_TTL_MS).toBe(300_000);
    expect(ENDPOINT_CACHE_TTL_MS).toBe(2_000);
    expect(API_KEY_CACHE_TTL_MS).toBe(25_000);
    expect(AUTHORIZER_CACHE_SECONDS).toBe(30);
    // A revoked key stops working within a minute: both caches together.
    expect(API_KEY_CACHE_TTL_MS / 1000 + AUTHORIZER_CACHE_SECONDS).toBeLessThanOrEqual(60);
  });

  it('takes bodies up to 200 KiB, and keeps the visibility timeout six times the function timeout', () => {
    expect(MAX_REQUEST_BODY_BYTES).toBe(204_800);
    expect(DELIVERY_QUEUE_VISIBILITY_SECONDS).toBe(6 * DELIVERY_FUNCTION_TIMEOUT_SECONDS);
    expect(SQS_MAX_VISIBILITY_SECONDS).toBe(43_200);
  });

  it('sets maxReceiveCount to the budget plus 5', () => {
    expect(REDRIVE_HEADROOM_RECEIVES).toBe(5);
    expect(maxReceiveCountOf({ scheduleSeconds: [1], maxAttempts: 19 })).toBe(24);
    expect(maxReceiveCountOf({ scheduleSeconds: [1], maxAttempts: 3 })).toBe(8);
  });
});

describe('policies from the environment', () => {
  it('round-trips the breaker policy through its environment variables', () => {
    const policy = { failureThreshold: 3, openSeconds: 7, disableAfterSeconds: 11 };
    expect(breakerPolicyEnv(policy)).toEqual({
      WEBHOOKS_BREAKER_THRESHOLD: '3',
      WEBHOOKS_BREAKER_OPEN_SECONDS: '7',
      WEBHOOKS_DISABLE_AFTER_SECONDS: '11',
    });
    expect(breakerPolicyFromEnv(breakerPolicyEnv(policy))).toEqual(policy);
    expect(breakerPolicyFromEnv({})).toEqual(DEFAULT_BREAKER_POLICY);
    expect(breakerPolicyFromEnv({ WEBHOOKS_BREAKER_THRESHOLD: '' })).toEqual(DEFAULT_BREAKER_POLICY);
    expect(DEFAULT_BREAKER_POLICY).toEqual({
      failureThreshold: 10,
      openSeconds: 60,
      disableAfterSeconds: 5 * DAY,
    });
  });

  it.each([
    ['WEBHOOKS_BREAKER_THRESHOLD', '0'],
    ['WEBHOOKS_BREAKER_OPEN_SECONDS', '1.5'],
    ['WEBHOOKS_DISABLE_AFTER_SECONDS', 'soon'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => breakerPolicyFromEnv({ [name]: value })).toThrow(
      `${name} must be a positive integer, got "${value}"`,
    );
  });

  it('accepts 1 as a breaker setting', () => {
    expect(breakerPolicyFromEnv({ WEBHOOKS_BREAKER_THRESHOLD: '1' }).failureThreshold).toBe(1);
  });

  it('round-trips the retry policy, trimming spaces and capping delays at 12 h', () => {
    const policy = { scheduleSeconds: [0, 5, 60], maxAttempts: 4 };
    expect(retryPolicyEnv(policy)).toEqual({ WEBHOOKS_RETRY_SCHEDULE: '0,5,60', WEBHOOKS_MAX_ATTEMPTS: '4' });
    expect(retryPolicyFromEnv(retryPolicyEnv(policy))).toEqual(policy);
    expect(retryPolicyFromEnv({ WEBHOOKS_RETRY_SCHEDULE: ' 2, 5 ,10 ', WEBHOOKS_MAX_ATTEMPTS: '1' })).toEqual(
      {
        scheduleSeconds: [2, 5, 10],
        maxAttempts: 1,
      },
    );
    expect(retryPolicyFromEnv({ WEBHOOKS_RETRY_SCHEDULE: '99999999' }).scheduleSeconds).toEqual([43_200]);
    expect(retryPolicyFromEnv({ WEBHOOKS_MAX_ATTEMPTS: '1000' }).maxAttempts).toBe(1000);
    expect(retryPolicyFromEnv({})).toEqual({
      scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
    });
  });

  it.each(['1,-2', '1,x', 'NaN', '1,,Infinity'])('refuses WEBHOOKS_RETRY_SCHEDULE=%s', (raw) => {
    expect(() => retryPolicyFromEnv({ WEBHOOKS_RETRY_SCHEDULE: raw })).toThrow(
      `WEBHOOKS_RETRY_SCHEDULE must be comma-separated non-negative seconds, got "${raw}"`,
    );
  });

  it.each(['0', '1001', '2.5', 'many'])('refuses WEBHOOKS_MAX_ATTEMPTS=%s', (raw) => {
    expect(() => retryPolicyFromEnv({ WEBHOOKS_MAX_ATTEMPTS: raw })).toThrow(
      `WEBHOOKS_MAX_ATTEMPTS must be an integer from 1 to 1000, got "${raw}"`,
    );
  });
});
