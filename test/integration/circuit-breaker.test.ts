/**
 * The per-endpoint circuit breaker on moto: after a run of failures an endpoint's messages
 * are deferred instead of hammering it, one probe at a time goes through, and a success
 * closes the circuit and lets the backlog through.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const OPEN_SECONDS = 2;
let harness: Harness;
let target: TestReceiver;
let healthy = false;

beforeAll(async () => {
  // Retry at once (delay 0): without the breaker this would hammer the receiver.
  harness = await startHarness({
    policy: { scheduleSeconds: [0], maxAttempts: 50 },
    env: { WEBHOOKS_BREAKER_THRESHOLD: '3', WEBHOOKS_BREAKER_OPEN_SECONDS: String(OPEN_SECONDS) },
  });
  target = await startReceiver(() => (healthy ? { status: 200 } : { status: 500, body: 'down' }));
});

afterAll(async () => {
  await target?.close();
  await harness?.stop();
});

it('defers a failing endpoint, probes it one message at a time, and closes on success', async () => {
  // Prepare
  const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
  const deliveryIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    const sent = await harness.api<{ deliveries: Array<{ id: string }> }>('POST', '/events', {
      type: 'breaker.test',
      data: { i },
      endpointIds: [endpoint.body.id],
    });
    deliveryIds.push(sent.body.deliveries[0]!.id);
  }

  // Act 1: let it fail until the circuit opens, then watch a few open periods.
  const opened = await eventually(async () => {
    const { body } = await harness.api<{ circuitOpenUntil: string | null; failureStreak: number }>(
      'GET',
      `/endpoints/${endpoint.body.id}`,
    );
    return body.circuitOpenUntil ? body : undefined;
  });
  const hitsWhenOpened = target.received.length;
  const watchSeconds = 3 * OPEN_SECONDS;
  await new Promise((resolve) => setTimeout(resolve, watchSeconds * 1000));
  const hitsWhileOpen = target.received.length - hitsWhenOpened;

  // Assess 1: about one probe per open period, where retry-at-once would have sent hundreds.
  expect(opened.failureStreak).toBeGreaterThanOrEqual(3);
  expect(hitsWhileOpen).toBeGreaterThanOrEqual(1);
  expect(hitsWhileOpen).toBeLessThanOrEqual(watchSeconds / OPEN_SECONDS + 2);
  const deferred = await harness.api<{ attempts: Array<{ error?: string; statusCode?: number }> }>(
    'GET',
    `/deliveries/${deliveryIds[4]}`,
  );
  expect(
    deferred.body.attempts.some((a) => a.error?.startsWith('circuit_open') && a.statusCode === undefined),
  ).toBe(true);

  // Act 2: the receiver heals; the next probe succeeds and closes the circuit.
  healthy = true;
  for (const id of deliveryIds) {
    await eventually(
      async () => {
        const { body } = await harness.api<{ status: string }>('GET', `/deliveries/${id}`);
        return body.status === 'delivered' ? true : undefined;
      },
      20_000,
      `${id} delivered`,
    );
  }

  // Assess 2
  const closed = await harness.api<{
    circuitOpenUntil: string | null;
    failureStreak: number;
    enabled: boolean;
  }>('GET', `/endpoints/${endpoint.body.id}`);
  expect(closed.body).toMatchObject({ circuitOpenUntil: null, failureStreak: 0, enabled: true });
}, 60_000);
