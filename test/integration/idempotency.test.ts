/**
 * Idempotency-Key semantics on moto: a replay returns the original answer, another body
 * under the same key is refused, and a repeat while the first may be in flight gets 409.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IDEMPOTENCY_IN_FLIGHT_SECONDS } from '../../lambdas/core/config.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

let harness: Harness;
let target: TestReceiver;
let endpointId: string;

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 } });
  target = await startReceiver();
  const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
  endpointId = created.body.id;
});

afterAll(async () => {
  await target?.close();
  await harness?.stop();
});

it(
  'answers 409 while the first request may be in flight, 422 for another body, then replays the original',
  async () => {
    // Prepare
    const key = `order-${Date.now()}`;
    const event = { type: 'order.created', data: { orderId: 'o_1' }, endpointIds: [endpointId] };

    // Act
    const first = await harness.api<{ id: string }>('POST', '/events', event, { 'idempotency-key': key });
    const tooSoon = await harness.api('POST', '/events', event, { 'idempotency-key': key });
    const otherBody = await harness.api(
      'POST',
      '/events',
      { ...event, data: { orderId: 'o_2' } },
      {
        'idempotency-key': key,
      },
    );
    await new Promise((resolve) => setTimeout(resolve, IDEMPOTENCY_IN_FLIGHT_SECONDS * 1000 + 200));
    const replay = await harness.api<{ id: string }>('POST', '/events', event, { 'idempotency-key': key });

    // Assess
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(tooSoon.status).toBe(409);
    expect(tooSoon.body).toMatchObject({ error: { code: 'request_in_progress' } });
    expect(Number(tooSoon.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(otherBody.status).toBe(422);
    expect(otherBody.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    // One event, one webhook, however many times the key was sent.
    await target.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(target.received).toHaveLength(1);
    expect(target.received[0]?.headers['webhook-id']).toBe(first.body.id);
  },
  IDEMPOTENCY_IN_FLIGHT_SECONDS * 1000 + 20_000,
);

it('refuses a malformed Idempotency-Key with a 400 naming the header', async () => {
  // Act
  const response = await harness.api(
    'POST',
    '/events',
    { type: 'order.created', data: {}, endpointIds: [endpointId] },
    { 'idempotency-key': 'has spaces in it' },
  );

  // Assess
  expect(response.status).toBe(400);
  expect(response.body).toMatchObject({ error: { code: 'invalid_idempotency_key' } });
});
