/**
 * Idempotency-Key semantics on moto under concurrency: requests with one key racing each other
 * make one event; the losers get 409 (the first still holds the event) or the original answer.
 * The replay and conflict cases are in delivery-guarantees.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
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

it('answers two simultaneous requests with one key with one event: the other gets 409 or the replay, never a second event', async () => {
  // Prepare
  const key = `order-${Date.now()}`;
  const event = { type: 'order.created', data: { orderId: 'o_1' }, endpointIds: [endpointId] };

  // Act
  const answers = await Promise.all(
    Array.from({ length: 4 }, () =>
      harness.api<{ id: string }>('POST', '/events', event, { 'idempotency-key': key }),
    ),
  );
  const settled = await harness.api<{ id: string }>('POST', '/events', event, { 'idempotency-key': key });
  await target.waitFor(1);

  // Assess
  const accepted = answers.filter((answer) => answer.status === 202);
  expect(accepted.length).toBeGreaterThanOrEqual(1);
  for (const answer of answers) expect([202, 409]).toContain(answer.status);
  for (const answer of answers.filter((a) => a.status === 409)) {
    expect(answer.body).toMatchObject({ error: { code: 'request_in_progress' } });
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  expect(new Set(accepted.map((answer) => answer.body.id)).size).toBe(1);
  expect(settled.status).toBe(202);
  expect(settled.headers.get('idempotent-replayed')).toBe('true');
  expect(settled.body.id).toBe(accepted[0]?.body.id);
  // One event: every webhook that arrived carries its id.
  expect(new Set(target.received.map((webhook) => webhook.headers['webhook-id']))).toEqual(
    new Set([settled.body.id]),
  );
});

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
