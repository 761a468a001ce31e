/**
 * Behaviour of lambdas/core that the mutation run (npm run mutate) found unchecked: API keys,
 * the move-task fallback rule, the key schemas, typed errors, response classification, the
 * keyed limiter, the TTL cache, id formats, signing's edge cases, the delivery message
 * framing and the SSRF guard's reasons and parser edges. Each test names the rule it holds.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  API_KEY_PREFIX,
  generateApiKey,
  hashApiKey,
  matchApiKey,
  parseApiKeyDocument,
} from '../../lambdas/core/api-keys.ts';
import { classifyResponse, parseRetryAfter } from '../../lambdas/core/classify.ts';
import { badRequest, DeliveryError, HttpError, notFound } from '../../lambdas/core/errors.ts';
import {
  decodeTime,
  deliveryId,
  encodeTime,
  isEndpointId,
  isEventId,
  newEndpointId,
  newEventId,
  parseDeliveryId,
} from '../../lambdas/core/ids.ts';
import { KeyedLimiter } from '../../lambdas/core/keyed-limiter.ts';
import { isMoveTaskUnsupported } from '../../lambdas/core/move-task.ts';
import {
  COMPRESS_OVER_BYTES,
  decodeMessage,
  encodeMessage,
  packBody,
  requestFingerprint,
  unpackBody,
} from '../../lambdas/core/payload.ts';
import { retryDelaySeconds } from '../../lambdas/core/retry-schedule.ts';
import {
  ATTEMPTS_TABLE,
  DELIVERIES_TABLE,
  ENDPOINTS_TABLE,
  ENV,
  EVENTS_TABLE,
  TABLES,
} from '../../lambdas/core/schema.ts';
import { sign, TOLERANCE_IN_SECONDS, verify, WebhookVerificationError } from '../../lambdas/core/signing.ts';
import {
  BlockedAddressError,
  checkEndpointUrl,
  classifyAddress,
  DnsNoAnswerError,
  parseHostLiteral,
  resolveAndCheck,
} from '../../lambdas/core/ssrf.ts';
import { TtlCache } from '../../lambdas/core/ttl-cache.ts';

const STRICT = { allowLoopback: false };
const LOCAL = { allowLoopback: true };

describe('API keys', () => {
  it('generates whk_ and 32 random bytes in base64url, different every time', () => {
    const keys = [generateApiKey(), generateApiKey()];
    for (const key of keys) {
      expect(key.startsWith(API_KEY_PREFIX)).toBe(true);
      expect(key.slice(API_KEY_PREFIX.length)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key.slice(4), 'base64url')).toHaveLength(32);
    }
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('hashes a key as hex SHA-256 of its UTF-8', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey('é')).toBe(hashApiKey('\u00e9'));
    expect(hashApiKey('é')).not.toBe(hashApiKey('e\u0301'));
  });

  it('keeps only well-formed stored keys and refuses a document without a keys array', () => {
    const good = { id: 'k1', sha256: 'a'.repeat(64), createdAt: '2026-01-01T00:00:00Z' };
    const doc = parseApiKeyDocument(
      JSON.stringify({
        keys: [
          good,
          { id: 'k2', sha256: 'A'.repeat(64) },
          { id: 3, sha256: 'b'.repeat(64) },
          { id: 'k4' },
          null,
          'x',
        ],
      }),
    );
    expect(doc).toEqual({ keys: [good] });
    expect(() => parseApiKeyDocument('{"keys":{}}')).toThrow('API key document has no "keys" array');
    expect(() => parseApiKeyDocument('{}')).toThrow(/no "keys" array/);
    expect(() => parseApiKeyDocument('not json')).toThrow(SyntaxError);
  });

  it('matches a presented key to the first stored key with its hash, and nothing else', () => {
    const stored = [
      { id: 'other', sha256: hashApiKey('whk_other') },
      { id: 'first', sha256: hashApiKey('whk_mine') },
      { id: 'second', sha256: hashApiKey('whk_mine') },
    ];
    expect(matchApiKey('whk_mine', stored)).toBe('first');
    expect(matchApiKey('whk_other', stored)).toBe('other');
    expect(matchApiKey('whk_nobody', stored)).toBeUndefined();
    expect(matchApiKey('', stored)).toBeUndefined();
    expect(matchApiKey(undefined, stored)).toBeUndefined();
    expect(matchApiKey('whk_mine', [])).toBeUndefined();
  });
});

describe('isMoveTaskUnsupported', () => {
  const withStatus = (fields: Record<string, unknown>, status?: number) => ({
    ...fields,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });

  it.each([
    'UnsupportedOperation',
    'AWS.SimpleQueueService.UnsupportedOperation',
    'InvalidAction',
    'UnknownOperation',
    'UnknownOperationException',
    'NotImplemented',
    'NotImplementedException',
  ])('recognises %s as the error name and as the Code', (code) => {
    expect(isMoveTaskUnsupported({ name: code })).toBe(true);
    expect(isMoveTaskUnsupported({ name: 'Error', Code: code })).toBe(true);
  });

  it.each([
    ['a 501', withStatus({ name: 'Error' }, 501)],
    ['"not implemented"', { message: 'Action Not Implemented here' }],
    ['"not yet implemented"', { message: 'not yet implemented' }],
    ['"unknown action"', { message: 'Unknown Action: StartMessageMoveTask' }],
    ['"unknown operation"', { message: 'unknown operation' }],
    ['"unsupported operation"', { message: 'Unsupported Operation' }],
    ['an unparseable error page', withStatus({ name: 'SyntaxError', message: 'Unexpected token <' }, 404)],
    ['a deserialization error', withStatus({ name: 'Error', message: 'Deserialization error: x' }, 400)],
  ])('recognises %s', (_, error) => {
    expect(isMoveTaskUnsupported(error)).toBe(true);
  });

  it.each([
    ['a refusal', withStatus({ name: 'AccessDenied', message: 'not authorized' }, 403)],
    ['an outage', withStatus({ name: 'InternalError', message: 'try again' }, 500)],
    ['a 502', withStatus({ name: 'Error' }, 502)],
    ['a parse failure without an HTTP answer', { name: 'SyntaxError', message: 'Unexpected token <' }],
    ['a parse failure on a success', withStatus({ name: 'SyntaxError' }, 200)],
    ['a parse failure just below 400', withStatus({ name: 'SyntaxError' }, 399)],
    ['a deserialization error without an HTTP answer', { name: 'Error', message: 'deserialization error' }],
    ['an empty error', {}],
  ])('does not mistake %s for a missing action', (_, error) => {
    expect(isMoveTaskUnsupported(error)).toBe(false);
  });
});

describe('the key schemas the stack and local mode build their tables from', () => {
  it('keys each table as the README documents', () => {
    expect(EVENTS_TABLE).toMatchObject({
      id: 'Events',
      envVar: 'EVENTS_TABLE',
      partitionKey: { name: 'id', type: 'S' },
      ttlAttribute: 'expiresAt',
    });
    expect(EVENTS_TABLE.sortKey).toBeUndefined();
    expect(DELIVERIES_TABLE).toEqual({
      id: 'Deliveries',
      envVar: 'DELIVERIES_TABLE',
      partitionKey: { name: 'endpointId', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
      indexes: [
        {
          indexName: 'byFailure',
          partitionKey: { name: 'failedKey', type: 'S' },
          sortKey: { name: 'id', type: 'S' },
        },
        {
          indexName: 'byWait',
          partitionKey: { name: 'waitKey', type: 'S' },
          sortKey: { name: 'waitAt', type: 'S' },
        },
        {
          indexName: 'byFailedShard',
          partitionKey: { name: 'failedShard', type: 'S' },
          sortKey: { name: 'id', type: 'S' },
        },
      ],
      ttlAttribute: 'expiresAt',
    });
    expect(ATTEMPTS_TABLE).toEqual({
      id: 'Attempts',
      envVar: 'ATTEMPTS_TABLE',
      partitionKey: { name: 'deliveryId', type: 'S' },
      sortKey: { name: 'attempt', type: 'N' },
      indexes: [],
      ttlAttribute: 'expiresAt',
    });
    expect(ENDPOINTS_TABLE).toEqual({
      id: 'Endpoints',
      envVar: 'ENDPOINTS_TABLE',
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
      indexes: [
        {
          indexName: 'byBacklog',
          partitionKey: { name: 'backlogShard', type: 'S' },
          sortKey: { name: 'id', type: 'S' },
        },
        { indexName: 'byEndpointId', partitionKey: { name: 'id', type: 'S' }, projection: 'KEYS_ONLY' },
      ],
    });
    expect(TABLES.map((table) => table.id)).toEqual(['Events', 'Deliveries', 'Attempts', 'Endpoints']);
  });

  it('names the other resources by the environment variables the handlers read', () => {
    expect(ENV).toEqual({
      deliveryQueueUrl: 'DELIVERY_QUEUE_URL',
      deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
      apiKeysSecretId: 'API_KEYS_SECRET_ID',
      portalKeySecretId: 'PORTAL_KEY_SECRET_ID',
      endpointSecretPrefix: 'ENDPOINT_SECRET_PREFIX',
      allowLoopback: 'WEBHOOKS_ALLOW_LOOPBACK',
      blockedHosts: 'WEBHOOKS_BLOCKED_HOSTS',
      operationalEventBus: 'WEBHOOKS_OPERATIONAL_EVENT_BUS',
      operatorEndpointId: 'WEBHOOKS_OPERATOR_ENDPOINT_ID',
    });
  });
});

describe('typed errors', () => {
  it('carries status, code, message and headers for the API, and names itself', () => {
    const error = new HttpError(409, 'retry_in_progress', 'wait', { 'retry-after': '30' });
    expect(error).toMatchObject({
      name: 'HttpError',
      status: 409,
      code: 'retry_in_progress',
      message: 'wait',
      headers: { 'retry-after': '30' },
    });
    expect(new HttpError(500, 'x', 'y').headers).toEqual({});
    expect(badRequest('invalid_query', 'limit: too big')).toMatchObject({
      status: 400,
      code: 'invalid_query',
      message: 'limit: too big',
    });
    expect(notFound('endpoint', 'ep_1')).toMatchObject({
      status: 404,
      code: 'not_found',
      message: 'endpoint "ep_1" does not exist',
    });
  });

  it('tells a retryable delivery failure from a permanent one, and names itself', () => {
    expect(new DeliveryError('timeout', 'slow', true)).toMatchObject({
      name: 'DeliveryError',
      code: 'timeout',
      message: 'slow',
      retryable: true,
    });
    expect(new DeliveryError('gone', '410', false).retryable).toBe(false);
  });
});

describe('classifyResponse and parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');

  it.each([
    [199, { kind: 'retry', reason: 'receiver refused with 199' }],
    [200, { kind: 'delivered' }],
    [299, { kind: 'delivered' }],
    [300, { kind: 'retry', reason: 'redirect 300 not followed' }],
    [399, { kind: 'retry', reason: 'redirect 399 not followed' }],
    [400, { kind: 'retry', reason: 'receiver refused with 400' }],
    [410, { kind: 'gone' }],
    [499, { kind: 'retry', reason: 'receiver refused with 499' }],
    [500, { kind: 'retry', reason: 'receiver error 500' }],
    [503, { kind: 'retry', reason: 'receiver error 503' }],
  ])('classifies %i exactly', (status, verdict) => {
    expect(classifyResponse(status, undefined, now)).toEqual(verdict);
  });

  it('adds retryAfterSeconds only when the receiver sent a usable Retry-After', () => {
    expect(classifyResponse(429, '7', now)).toEqual({
      kind: 'retry',
      reason: 'receiver refused with 429',
      retryAfterSeconds: 7,
    });
    expect(classifyResponse(503, 'soon', now)).toEqual({ kind: 'retry', reason: 'receiver error 503' });
  });

  it('reads delta seconds (trimmed) and HTTP dates, and nothing else', () => {
    expect(parseRetryAfter(' 7 ', now)).toBe(7);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('7s', now)).toBeUndefined();
    expect(parseRetryAfter('x7', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBe(0); // read as a date in year -5: no wait
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('Fri, 27 Nov 2026 12:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Fri, 27 Nov 2026 12:00:00 GMT', now + 500)).toBe(0);
    expect(parseRetryAfter('Fri, 27 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
});

describe('KeyedLimiter', () => {
  it('counts what runs per key and frees each slot as a task ends', async () => {
    const limiter = new KeyedLimiter(2);
    const release: Array<() => void> = [];
    const task = () => new Promise<void>((resolve) => release.push(resolve));
    const runs = [
      limiter.run('a', task),
      limiter.run('a', task),
      limiter.run('a', task),
      limiter.run('b', task),
    ];
    await Promise.resolve();
    expect([limiter.inFlight('a'), limiter.inFlight('b')]).toEqual([2, 1]);

    release.shift()?.(); // the first 'a' ends: the queued third takes its slot
    await runs[0];
    await Promise.resolve();
    expect(limiter.inFlight('a')).toBe(2);

    release.shift()?.(); // the second 'a' ends: nobody waits, one left running
    await runs[1];
    expect(limiter.inFlight('a')).toBe(1);

    for (const done of release.splice(0)) done();
    await Promise.all(runs);
    expect([limiter.inFlight('a'), limiter.inFlight('b')]).toEqual([0, 0]);
  });
});

describe('TtlCache', () => {
  it('serves a value until exactly its lifetime has passed, then loads again', async () => {
    let now = 1000;
    const cache = new TtlCache<string>(5000, () => now);
    const load = vi.fn(async () => `v${load.mock.calls.length}`);
    expect(await cache.get('k', load)).toBe('v1');
    now = 5999;
    expect(await cache.get('k', load)).toBe('v1');
    now = 6000;
    expect(await cache.get('k', load)).toBe('v2');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps what set() put for the lifetime, and forgets what delete() removed', async () => {
    let now = 0;
    const cache = new TtlCache<string>(100, () => now);
    const load = vi.fn(async () => 'loaded');
    cache.set('k', 'put');
    now = 99;
    expect(await cache.get('k', load)).toBe('put');
    cache.delete('k');
    expect(await cache.get('k', load)).toBe('loaded');
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('does not cache a failure, and a late failure does not evict a newer value', async () => {
    let now = 0;
    const cache = new TtlCache<string>(100, () => now);
    let fail!: (error: Error) => void;
    const first = cache.get('k', () => new Promise<string>((_, reject) => (fail = reject)));
    now = 200; // the pending entry has expired: the next get loads anew
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
    fail(new Error('late'));
    await expect(first).rejects.toThrow('late');
    expect(await cache.get('k', async () => 'unexpected reload')).toBe('fresh');

    const failing = cache.get('other', async () => {
      throw new Error('down');
    });
    await expect(failing).rejects.toThrow('down');
    expect(await cache.get('other', async () => 'back')).toBe('back');
  });
});

describe('ids', () => {
  it('accepts only whole event, endpoint and delivery ids', () => {
    const event = newEventId(Date.parse('2026-11-27T00:00:00Z'));
    const endpoint = newEndpointId();
    expect(event.startsWith('msg_')).toBe(true);
    expect(endpoint.startsWith('ep_')).toBe(true);
    expect([isEventId(event), isEndpointId(endpoint)]).toEqual([true, true]);
    for (const bad of [`x${event}`, `${event}0`, event.replace('msg_', 'ep_')])
      expect(isEventId(bad)).toBe(false);
    for (const bad of [`x${endpoint}`, `${endpoint}0`]) expect(isEndpointId(bad)).toBe(false);
    const delivery = deliveryId(event, endpoint, 1_795_819_984_001);
    expect(parseDeliveryId(delivery)).toEqual({
      eventId: event,
      endpointId: endpoint,
      eventCreatedAtMs: 1_795_819_984_001,
    });
    expect(parseDeliveryId(`x${delivery}`)).toBeUndefined();
    expect(parseDeliveryId(`${delivery}0`)).toBeUndefined();
  });

  it('encodes time so that it sorts as a string and decodes back', () => {
    const times = [0, 1, 31, 32, 2 ** 40, 1_795_819_984_001];
    const encoded = times.map(encodeTime);
    expect([...encoded].sort()).toEqual(encoded);
    expect(encoded.map(decodeTime)).toEqual(times);
    expect(encodeTime(-5)).toBe('0000000000');
  });
});

describe('signing edge cases', () => {
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const AT = 1_700_000_000;
  const headers = (signature: string, timestamp = String(AT)) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': timestamp,
    'webhook-signature': signature,
  });
  const codeOf = (action: () => void): string | undefined => {
    try {
      action();
    } catch (error) {
      expect(error).toBeInstanceOf(WebhookVerificationError);
      expect((error as Error).name).toBe('WebhookVerificationError');
      expect((error as Error).message).toMatch(/\S/);
      return (error as WebhookVerificationError).code;
    }
    return undefined;
  };

  it('tolerates exactly five minutes either way', () => {
    const signature = sign(SECRET, 'msg_1', AT, 'b');
    expect(TOLERANCE_IN_SECONDS).toBe(300);
    expect(codeOf(() => verify(SECRET, headers(signature), 'b', { nowSeconds: AT + 300 }))).toBeUndefined();
    expect(codeOf(() => verify(SECRET, headers(signature), 'b', { nowSeconds: AT + 301 }))).toBe(
      'timestamp_too_old',
    );
    expect(codeOf(() => verify(SECRET, headers(signature), 'b', { nowSeconds: AT - 300 }))).toBeUndefined();
    expect(codeOf(() => verify(SECRET, headers(signature), 'b', { nowSeconds: AT - 301 }))).toBe(
      'timestamp_in_future',
    );
  });

  it('reads the timestamp as 1 to 15 digits and nothing else', () => {
    const signature = sign(SECRET, 'msg_1', AT, 'b');
    for (const bad of [` ${AT}`, `${AT} `, '1e9', '-1', '1234567890123456', 'x1700000000', '1700000000x']) {
      expect(codeOf(() => verify(SECRET, headers(signature, bad), 'b', { nowSeconds: AT }))).toBe(
        'invalid_timestamp',
      );
    }
  });

  it('skips signatures of other versions, without a comma or of another length, and finds the valid one', () => {
    const valid = sign(SECRET, 'msg_1', AT, 'b');
    const digest = valid.slice(3);
    const list = `v2,${digest} v1${digest} v1,short ,${digest} ${valid}`;
    expect(codeOf(() => verify(SECRET, headers(list), 'b', { nowSeconds: AT }))).toBeUndefined();
    expect(codeOf(() => verify(SECRET, headers(`v2,${digest} v1,short`), 'b', { nowSeconds: AT }))).toBe(
      'bad_signature',
    );
    expect(codeOf(() => verify(SECRET, headers(''), 'b', { nowSeconds: AT }))).toBe('missing_headers');
  });

  it('accepts a secret with or without whsec_, in strict padded base64 only', () => {
    expect(sign(SECRET.slice(6), 'msg_1', AT, 'b')).toBe(sign(SECRET, 'msg_1', AT, 'b'));
    for (const ok of ['whsec_ab==', 'whsec_abc=', 'whsec_abcd', 'whsec_abcdab==']) {
      expect(sign(ok, 'msg_1', AT, 'b')).toMatch(/^v1,/);
    }
    for (const bad of [
      'whsec_',
      'whsec_abc',
      'whsec_a===',
      'whsec_ab=c',
      'whsec_abcd-_==',
      'whsec_!bcd',
      'whsec_abcda==',
    ]) {
      expect(() => sign(bad, 'msg_1', AT, 'b')).toThrow(
        'Webhook secret must be "whsec_" followed by non-empty base64',
      );
    }
  });

  it('refuses an empty id and a timestamp that is not whole non-negative seconds', () => {
    expect(() => sign(SECRET, '', AT, 'b')).toThrow('webhook-id must not be empty');
    expect(sign(SECRET, 'msg_1', 0, 'b')).toMatch(/^v1,/);
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => sign(SECRET, 'msg_1', bad, 'b')).toThrow(
        `webhook-timestamp must be whole non-negative seconds, got ${bad}`,
      );
    }
  });
});

describe('the delivery message', () => {
  const message = {
    deliveryId: 'dlv_1',
    eventId: 'msg_1',
    endpointId: 'ep_1',
    eventType: 'invoice.paid',
    createdAtMs: 1_795_819_984_001,
    body: '{"type":"invoice.paid","data":{"note":"line\\nbreak"}}',
  };

  it('round-trips through its SQS encoding', () => {
    expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });

  it.each(['deliveryId', 'eventId', 'endpointId', 'eventType', 'createdAtMs', 'body'])(
    'is a permanent poison_message without %s',
    (field) => {
      const broken = JSON.stringify({ ...message, [field]: undefined });
      expect(() => decodeMessage(broken)).toThrow(
        expect.objectContaining({
          code: 'poison_message',
          retryable: false,
          message: 'message body lacks delivery fields',
        }),
      );
    },
  );

  it('is a permanent poison_message when the body is not JSON', () => {
    expect(() => decodeMessage('{"deliveryId":')).toThrow(
      expect.objectContaining({
        code: 'poison_message',
        retryable: false,
        message: 'message body is not JSON',
      }),
    );
  });

  it('stores a body plain up to 256 bytes, deflated above when that is smaller, plain when it is not', () => {
    const atLimit = 'a'.repeat(COMPRESS_OVER_BYTES);
    const over = 'a'.repeat(COMPRESS_OVER_BYTES + 1);
    const random = Buffer.from(Array.from({ length: 400 }, (_, i) => (i * 7919 + 13) % 251)).toString(
      'latin1',
    );
    expect(packBody(atLimit)).toEqual({ body: atLimit });
    const packed = packBody(over);
    expect('bodyZ' in packed).toBe(true);
    expect(unpackBody(packed as { bodyZ: Uint8Array })).toBe(over);
    const noisy = packBody(random);
    if ('bodyZ' in noisy) expect(noisy.bodyZ.length).toBeLessThan(Buffer.byteLength(random));
    else expect(noisy).toEqual({ body: random });
    expect(() => unpackBody({})).toThrow('stored event has no body');
  });

  it('fingerprints a request in 22 base64url characters, equal for equal parts only', () => {
    const one = requestFingerprint({ type: 'a', data: { n: 1 } });
    expect(one).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(requestFingerprint({ type: 'a', data: { n: 1 } })).toBe(one);
    expect(requestFingerprint({ type: 'a', data: { n: 2 } })).not.toBe(one);
  });
});

describe('the retry schedule at its edges', () => {
  it('says which receive count it refused', () => {
    expect(() => retryDelaySeconds(0, { scheduleSeconds: [1], maxAttempts: 2 })).toThrow(
      'receiveCount must be a positive integer, got 0',
    );
  });

  it('retries at once with an empty schedule', () => {
    expect(retryDelaySeconds(3, { scheduleSeconds: [], maxAttempts: 5 }, { random: () => 0.9 })).toBe(0);
  });
});

describe('the SSRF guard: reasons and parser edges', () => {
  it.each([
    ['192.31.196.1', 'special-purpose address (AS112)'],
    ['192.52.193.1', 'special-purpose address (AMT)'],
    ['2001:2::1', 'benchmarking address (2001:2::/48)'],
    ['2001:3::1', 'special-purpose address (AMT)'],
    ['2620:4f:8000::1', 'special-purpose address (AS112)'],
    ['2001:10::1', 'special-purpose address (ORCHID)'],
    ['2001:20::1', 'special-purpose address (ORCHIDv2)'],
    ['2001:30::1', 'special-purpose address (DRIP)'],
    ['5f00::1', 'special-purpose address (SRv6 SIDs)'],
    ['100::1', 'discard-only address (100::/64)'],
    ['fec0::1', 'site-local address (fec0::/10)'],
    ['4000::1', 'address outside global unicast (2000::/3)'],
    ['::ffff:10.0.0.1', 'IPv4-mapped address embedding 10.0.0.1: private address'],
  ])('refuses %s as %s', (address, reason) => {
    expect(classifyAddress(address, LOCAL)).toEqual({ allowed: false, reason });
  });

  it('refuses a local-use NAT64 address unless its middle is zero', () => {
    expect(classifyAddress('64:ff9b:1::808:808', STRICT)).toEqual({ allowed: true });
    for (const address of ['64:ff9b:1:1::808:808', '64:ff9b:1:0:1::808:808', '64:ff9b:1:0:0:1:808:808']) {
      expect(classifyAddress(address, STRICT)).toEqual({
        allowed: false,
        reason: 'local-use NAT64 address (64:ff9b:1::/48) of unknown layout',
      });
    }
  });

  it.each(['0x1g.0.0.1', '019.0.0.1', '1.2.3.4.0', '1.2.3.4.5', '0x.0x.0x.0x1g', '08'])(
    'does not read %s as an IPv4 address',
    (host) => {
      expect(parseHostLiteral(host)).toBeUndefined();
    },
  );

  it('reads 0x alone as zero, and a trailing dot after a full address', () => {
    expect(parseHostLiteral('0x.0x.0x.0x')).toBe('0.0.0.0');
    expect(parseHostLiteral('8.8.8.8.')).toBe('8.8.8.8');
  });

  it('allows http in local mode only for loopback literals and localhost', () => {
    for (const url of [
      'http://8.8.8.8/',
      'http://[2001:4860::8888]/',
      'http://[::ffff:8.8.8.8]/',
      'http://example.com/',
    ]) {
      expect(checkEndpointUrl(url, LOCAL)).toEqual({
        ok: false,
        reason: 'URL must use https (http is allowed only for loopback in local mode)',
      });
    }
    for (const url of [
      'http://127.0.0.1:4000/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost/',
    ]) {
      expect(checkEndpointUrl(url, LOCAL).ok).toBe(true);
    }
  });

  it('names its errors and says which host was refused', async () => {
    const blocked = resolveAndCheck('api.internal', async () => [], {
      allowLoopback: false,
      blockedHosts: ['api.internal'],
    });
    await expect(blocked).rejects.toThrow(new BlockedAddressError('Host api.internal is not allowed'));
    await expect(blocked).rejects.toMatchObject({ name: 'BlockedAddressError', address: undefined });
    const empty = resolveAndCheck('nothing.example', async () => [], STRICT);
    await expect(empty).rejects.toBeInstanceOf(DnsNoAnswerError);
    await expect(empty).rejects.toMatchObject({
      name: 'DnsNoAnswerError',
      code: 'dns_no_answer',
      message: 'No address found for nothing.example',
    });
    await expect(
      resolveAndCheck('odd.example', async () => [{ address: 'not-an-ip', family: 4 }], STRICT),
    ).rejects.toThrow('odd.example resolves to not-an-ip: not an IP address: not-an-ip');
  });
});
