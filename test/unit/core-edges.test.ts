/**
 * More of lambdas/core that the mutation run (npm run mutate, docs/mutation-testing.md) found
 * unchecked: the isolation and event-check settings read from the environment, the release and
 * event-check messages, a body stored plain when deflating does not shrink it, validation's
 * words for wrong types and unknown fields, nesting refused however deep, error names in logs,
 * malformed stored API key hashes, and a host that only looks like a hex IPv4 number.
 */
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hashApiKey, matchApiKey, parseApiKeyDocument } from '../../lambdas/core/api-keys.ts';
import { classifyResponse } from '../../lambdas/core/classify.ts';
import {
  DEFAULT_ISOLATION,
  EVENT_CHECK_DELAY_SECONDS,
  eventCheckDelayFromEnv,
  isolationEnv,
  isolationFromEnv,
  SHORT_WAIT_MAX_SECONDS,
} from '../../lambdas/core/config.ts';
import { errorName, HttpError } from '../../lambdas/core/errors.ts';
import {
  COMPRESS_OVER_BYTES,
  decodeEventCheck,
  decodeMessage,
  decodeRelease,
  encodeEventCheck,
  encodeMessage,
  encodeRelease,
  packBody,
  unpackBody,
} from '../../lambdas/core/payload.ts';
import { checkEndpointUrl, parseHostLiteral } from '../../lambdas/core/ssrf.ts';
import {
  createEndpointSchema,
  MAX_JSON_DEPTH,
  parseJsonBody,
  parseOrThrow,
  sendEventSchema,
} from '../../lambdas/core/validation.ts';

describe('isolation settings from the environment', () => {
  it('defaults to 25 releases a second and 15-minute short waits, also for empty variables', () => {
    expect(DEFAULT_ISOLATION).toEqual({ releasePerSecond: 25, shortWaitMaxSeconds: 900 });
    expect(SHORT_WAIT_MAX_SECONDS).toBe(900);
    expect(isolationFromEnv({})).toEqual(DEFAULT_ISOLATION);
    expect(
      isolationFromEnv({ WEBHOOKS_SHORT_WAIT_MAX_SECONDS: '', WEBHOOKS_BACKLOG_RELEASE_PER_SECOND: '' }),
    ).toEqual(DEFAULT_ISOLATION);
  });

  it('round-trips through the variables the stack writes', () => {
    const settings = { releasePerSecond: 7, shortWaitMaxSeconds: 30 };
    expect(isolationEnv(settings)).toEqual({
      WEBHOOKS_BACKLOG_RELEASE_PER_SECOND: '7',
      WEBHOOKS_SHORT_WAIT_MAX_SECONDS: '30',
    });
    expect(isolationFromEnv(isolationEnv(settings))).toEqual(settings);
  });

  it('takes a short wait from 0 to 900 seconds, whole, and refuses anything else naming the variable', () => {
    expect(isolationFromEnv({ WEBHOOKS_SHORT_WAIT_MAX_SECONDS: '0' }).shortWaitMaxSeconds).toBe(0);
    expect(isolationFromEnv({ WEBHOOKS_SHORT_WAIT_MAX_SECONDS: '900' }).shortWaitMaxSeconds).toBe(900);
    for (const raw of ['901', '-1', '1.5', 'soon']) {
      expect(() => isolationFromEnv({ WEBHOOKS_SHORT_WAIT_MAX_SECONDS: raw })).toThrow(
        `WEBHOOKS_SHORT_WAIT_MAX_SECONDS must be a whole number from 0 to 900, got "${raw}"`,
      );
    }
  });

  it('refuses a release rate that is not a positive integer, naming the variable', () => {
    expect(() => isolationFromEnv({ WEBHOOKS_BACKLOG_RELEASE_PER_SECOND: '0' })).toThrow(
      'WEBHOOKS_BACKLOG_RELEASE_PER_SECOND must be a positive integer, got "0"',
    );
  });
});

describe('the event-check delay from the environment', () => {
  it('is 60 s by default and 1 to 900 s (SQS delays) when set', () => {
    expect(EVENT_CHECK_DELAY_SECONDS).toBe(60);
    expect(eventCheckDelayFromEnv({})).toBe(60);
    expect(eventCheckDelayFromEnv({ WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: '1' })).toBe(1);
    expect(eventCheckDelayFromEnv({ WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: '900' })).toBe(900);
    expect(() => eventCheckDelayFromEnv({ WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: '901' })).toThrow(
      "WEBHOOKS_EVENT_CHECK_DELAY_SECONDS is at most 900 (SQS's delay), got 901",
    );
    expect(() => eventCheckDelayFromEnv({ WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: '0' })).toThrow(
      'WEBHOOKS_EVENT_CHECK_DELAY_SECONDS must be a positive integer, got "0"',
    );
  });
});

describe('release and event-check messages', () => {
  const delivery = {
    deliveryId: 'dlv_1',
    eventId: 'msg_1',
    endpointId: 'ep_1',
    eventType: 'a',
    createdAtMs: 1,
    body: '{"kind":"release","endpointId":"ep_1"}',
  };

  it('round-trip, and neither is mistaken for the other or for a delivery', () => {
    expect(decodeRelease(encodeRelease('ep_1'))).toEqual({ kind: 'release', endpointId: 'ep_1' });
    expect(decodeEventCheck(encodeEventCheck('msg_1'))).toEqual({ kind: 'event-check', eventId: 'msg_1' });
    expect(decodeRelease(encodeEventCheck('msg_1'))).toBeUndefined();
    expect(decodeEventCheck(encodeRelease('ep_1'))).toBeUndefined();
    // A delivery whose event body looks like a release is still a delivery.
    expect(decodeRelease(encodeMessage(delivery))).toBeUndefined();
    expect(decodeEventCheck(encodeMessage(delivery))).toBeUndefined();
  });

  it('are undefined when truncated, of another kind or without their id', () => {
    expect(decodeRelease('{"kind":"release","endpointId":"ep')).toBeUndefined();
    expect(decodeEventCheck('{"kind":"event-check","eventId":')).toBeUndefined();
    expect(decodeRelease('{"kind":"releases","endpointId":"ep_1"}')).toBeUndefined();
    expect(decodeEventCheck('{"kind":"event-checks","eventId":"msg_1"}')).toBeUndefined();
    expect(decodeRelease('{"kind":"release","endpointId":5}')).toBeUndefined();
    expect(decodeEventCheck('{"kind":"event-check"}')).toBeUndefined();
  });

  it('a delivery message of JSON null is a permanent poison_message, not a crash', () => {
    expect(() => decodeMessage('null')).toThrow(
      expect.objectContaining({
        code: 'poison_message',
        retryable: false,
        message: 'message body lacks delivery fields',
      }),
    );
  });
});

describe('bodies stored deflated only when that is strictly smaller', () => {
  /** A deterministic 7-bit string (xorshift32 from `seed`): random enough not to shrink. */
  const noise = (seed: number, length: number): string => {
    let x = seed;
    let text = '';
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      text += String.fromCharCode(x & 127);
    }
    return text;
  };
  /** The first noise body over the threshold whose deflated size compares to its size as `test` says. */
  const find = (test: (deflated: number, size: number) => boolean): string => {
    for (let seed = 1; seed < 100_000; seed++) {
      const body = noise(seed, COMPRESS_OVER_BYTES + 1);
      if (test(deflateRawSync(body).length, Buffer.byteLength(body))) return body;
    }
    throw new Error('no such body found');
  };

  it('keeps plain a body that deflates to more bytes, or to as many', () => {
    const larger = find((deflated, size) => deflated > size);
    const equal = find((deflated, size) => deflated === size);
    expect(packBody(larger)).toEqual({ body: larger });
    expect(packBody(equal)).toEqual({ body: equal });
    const smaller = find((deflated, size) => deflated < size);
    const packed = packBody(smaller) as { bodyZ: Uint8Array };
    expect(packed.bodyZ.length).toBeLessThan(Buffer.byteLength(smaller));
    expect(unpackBody(packed)).toBe(smaller);
  });
});

describe('validation in our words', () => {
  const refusal = (schema: Parameters<typeof parseOrThrow>[0], input: unknown): string => {
    try {
      parseOrThrow(schema, input);
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      return (error as HttpError).message;
    }
    throw new Error('parsed');
  };

  it('says which type was expected, with the right article', () => {
    expect(refusal(sendEventSchema, { type: 5, data: 1 })).toBe(
      'type: must be a string; data: must be an object',
    );
    expect(refusal(createEndpointSchema, { url: 'https://x.test', eventTypes: 'x' })).toBe(
      'eventTypes: must be an array',
    );
    expect(refusal(sendEventSchema, [])).toBe('body: must be an object');
  });

  it('lists every unknown field, in the plural when there are several', () => {
    expect(refusal(sendEventSchema, { type: 'a', data: {}, x: 1, y: 2 })).toBe(
      'body: unknown fields "x", "y"',
    );
    expect(refusal(sendEventSchema, { type: 'a', data: {}, x: 1 })).toBe('body: unknown field "x"');
  });

  it('names at most five problems', () => {
    const message = refusal(sendEventSchema, {
      type: 5,
      data: 1,
      endpointIds: ['a', 'b', 'c', 'd', 'e'],
    });
    expect(message.split('; ')).toEqual([
      'type: must be a string',
      'data: must be an object',
      'endpointIds.0: must be an endpoint id (ep_...)',
      'endpointIds.1: must be an endpoint id (ep_...)',
      'endpointIds.2: must be an endpoint id (ep_...)',
    ]);
  });

  const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('refuses a too-deep value that follows a sibling at exactly the limit', () => {
    expect(parseJsonBody(`[${nested(MAX_JSON_DEPTH - 1)},${nested(MAX_JSON_DEPTH - 1)}]`)).toHaveLength(2);
    expect(() => parseJsonBody(`[${nested(MAX_JSON_DEPTH - 1)},${nested(MAX_JSON_DEPTH)}]`)).toThrow(
      expect.objectContaining({ status: 400, code: 'too_deep' }),
    );
  });

  it('answers 400 too_deep for 100,000 levels of nesting, without walking them all', () => {
    // JSON.parse takes it; walking it recursively to the bottom would overflow the stack.
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => parseJsonBody(deep)).toThrow(expect.objectContaining({ status: 400, code: 'too_deep' }));
  });
});

describe('errorName', () => {
  it('logs the class name of an error, and "Error" for anything that is not a plain name', () => {
    expect(errorName(new TypeError('secret text'))).toBe('TypeError');
    expect(errorName({ name: 'ResourceNotFoundException' })).toBe('ResourceNotFoundException');
    expect(errorName({ name: 'A'.repeat(64) })).toBe('A'.repeat(64));
    for (const odd of [
      { name: 'A'.repeat(65) },
      { name: '1Error' },
      { name: 'Error: arn:aws:secretsmanager:us-east-1:123456789012:secret:x' },
      { name: 'Bad name' },
      { name: 5 },
      undefined,
      'text',
    ]) {
      expect(errorName(odd)).toBe('Error');
    }
  });
});

describe('stored API key hashes', () => {
  it('drops a hash with anything before or after its 64 hex digits, so matching never throws', () => {
    const hex = hashApiKey('whk_mine');
    const doc = parseApiKeyDocument(
      JSON.stringify({
        keys: [
          { id: 'prefixed', sha256: `0${hex}` },
          { id: 'suffixed', sha256: `${hex}0` },
          { id: 'good', sha256: hex },
        ],
      }),
    );
    expect(doc.keys.map((key) => key.id)).toEqual(['good']);
    expect(matchApiKey('whk_mine', doc.keys)).toBe('good');
  });
});

describe('classifyResponse', () => {
  it('carries no retryAfterSeconds at all without a usable Retry-After', () => {
    expect(classifyResponse(503, undefined, 0)).toStrictEqual({
      kind: 'retry',
      reason: 'receiver error 503',
    });
  });
});

describe('hosts that only look like IPv4 numbers', () => {
  it('reads 000x10 as a domain name, as WHATWG URL does, not as 0.0.0.16', () => {
    expect(new URL('http://000x10/').hostname).toBe('000x10');
    expect(parseHostLiteral('000x10')).toBeUndefined();
    expect(parseHostLiteral('0x10')).toBe('0.0.0.16');
    expect(checkEndpointUrl('https://000x10/', { allowLoopback: false }).ok).toBe(true);
  });
});
