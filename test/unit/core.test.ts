import { describe, expect, it } from 'vitest';
import { classifyResponse, parseRetryAfter } from '../../lambdas/core/classify.ts';
import {
  decodeTime,
  deliveryId,
  deliveryIdLowerBound,
  encodeTime,
  idempotentEventId,
  isEventId,
  newEndpointId,
  newEventId,
  parseDeliveryId,
} from '../../lambdas/core/ids.ts';
import { KeyedLimiter } from '../../lambdas/core/keyed-limiter.ts';
import {
  buildWebhookBody,
  decodeMessage,
  encodeMessage,
  packBody,
  unpackBody,
} from '../../lambdas/core/payload.ts';
import { TtlCache } from '../../lambdas/core/ttl-cache.ts';

describe('classifyResponse', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');

  it.each([200, 201, 202, 204, 299])('%i is delivered', (status) => {
    expect(classifyResponse(status, undefined, now)).toEqual({ kind: 'delivered' });
  });

  it('410 is gone', () => {
    expect(classifyResponse(410, undefined, now)).toEqual({ kind: 'gone' });
  });

  it.each([301, 302, 307, 308, 400, 401, 404, 408, 425, 429, 500, 502, 503, 504])(
    '%i is retried',
    (status) => {
      expect(classifyResponse(status, undefined, now).kind).toBe('retry');
    },
  );

  it('says a redirect was not followed', () => {
    expect(classifyResponse(302, undefined, now)).toMatchObject({ reason: 'redirect 302 not followed' });
  });

  it('carries Retry-After in seconds or as an HTTP date', () => {
    expect(classifyResponse(429, '120', now)).toMatchObject({ retryAfterSeconds: 120 });
    expect(parseRetryAfter('Fri, 27 Nov 2026 12:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('Fri, 27 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
});

describe('ids', () => {
  it('encodes time so that it sorts as a string and decodes back', () => {
    const earlier = encodeTime(1_700_000_000_000);
    const later = encodeTime(1_700_000_000_001);
    expect(earlier < later).toBe(true);
    expect(decodeTime(later)).toBe(1_700_000_000_001);
  });

  it('derives the same event id from the same Idempotency-Key, and another from another', () => {
    expect(idempotentEventId('order-1')).toBe(idempotentEventId('order-1'));
    expect(idempotentEventId('order-1')).not.toBe(idempotentEventId('order-2'));
    expect(isEventId(idempotentEventId('order-1'))).toBe(true);
  });

  it('packs event, endpoint and time into a delivery id and gets them back', () => {
    const eventId = newEventId(1_795_819_984_001);
    const endpointId = newEndpointId();
    const id = deliveryId(eventId, endpointId, 1_795_819_984_001);
    expect(parseDeliveryId(id)).toEqual({ eventId, endpointId, eventCreatedAtMs: 1_795_819_984_001 });
    expect(id >= deliveryIdLowerBound(1_795_819_984_001)).toBe(true);
    expect(id < deliveryIdLowerBound(1_795_819_984_002)).toBe(true);
    expect(parseDeliveryId('dlv_nope')).toBeUndefined();
  });
});

describe('payload', () => {
  it('builds the Standard Webhooks body shape', () => {
    expect(JSON.parse(buildWebhookBody('a.b', 0, { x: 1 }))).toEqual({
      type: 'a.b',
      timestamp: '1970-01-01T00:00:00.000Z',
      data: { x: 1 },
    });
  });

  it('stores short bodies as they are and long ones deflated, losslessly', () => {
    const short = '{"a":1}';
    const long = JSON.stringify({
      items: Array.from({ length: 50 }, (_, i) => ({ sku: `sku-${i}`, qty: i })),
    });
    expect(packBody(short)).toEqual({ body: short });
    const packed = packBody(long);
    expect('bodyZ' in packed).toBe(true);
    expect((packed as { bodyZ: Uint8Array }).bodyZ.length).toBeLessThan(long.length / 2);
    expect(unpackBody(packed)).toBe(long);
  });

  it('round-trips a message and refuses a poisoned one as permanent', () => {
    const message = {
      deliveryId: 'd',
      eventId: 'e',
      endpointId: 'p',
      eventType: 't',
      createdAtMs: 1,
      body: '{}',
    };
    expect(decodeMessage(encodeMessage(message))).toEqual(message);
    expect(() => decodeMessage('not json')).toThrow(expect.objectContaining({ retryable: false }));
    expect(() => decodeMessage('{"deliveryId":1}')).toThrow(
      expect.objectContaining({ code: 'poison_message' }),
    );
  });
});

describe('KeyedLimiter', () => {
  it('runs at most the limit per key at once, and keys independently', async () => {
    const limiter = new KeyedLimiter(2);
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const task = () =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        release.push(() => {
          running--;
          resolve();
        });
      });
    const all = Array.from({ length: 5 }, () => limiter.run('a', task));
    const other = limiter.run('b', task);
    await new Promise((r) => setTimeout(r, 10));
    expect(limiter.inFlight('a')).toBe(2);
    expect(limiter.inFlight('b')).toBe(1);
    while (release.length > 0) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all([...all, other]);
    expect(peak).toBe(3);
    expect(limiter.inFlight('a')).toBe(0);
  });
});

describe('TtlCache', () => {
  it('loads once while fresh, again after expiry, and does not cache failures', async () => {
    let now = 0;
    let loads = 0;
    const cache = new TtlCache<number>(1000, () => now);
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    now = 1001;
    expect(await cache.get('k', load)).toBe(2);
    await expect(cache.get('x', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('x', load)).toBe(3);
  });
});
