/**
 * A dead endpoint on moto, through local mode: once its circuit opens its deliveries are held in
 * its backlog (out of the queue, so nothing piles up in flight) while the API shows the backlog
 * grow; one probe per open period tests the receiver; when it heals and the operator re-enables
 * the endpoint, the backlog arrives at the configured release rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const OPEN_SECONDS = 2;
const RELEASE_PER_SECOND = 5;
const receivers: TestReceiver[] = [];

async function receiver(...args: Parameters<typeof startReceiver>): Promise<TestReceiver> {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

interface EndpointView {
  id: string;
  failureStreak: number;
  circuitOpenUntil: string | null;
  backlog: { size: number; oldestAt: string | null; reason: string | null };
}

describe('a dead endpoint', () => {
  let harness: Harness;

  beforeAll(async () => {
    // Retry at once (delay 0): without the breaker this would hammer the receiver.
    harness = await startHarness({
      policy: { scheduleSeconds: [0], maxAttempts: 50 },
      env: {
        WEBHOOKS_BREAKER_THRESHOLD: '3',
        WEBHOOKS_BREAKER_OPEN_SECONDS: String(OPEN_SECONDS),
        WEBHOOKS_BACKLOG_RELEASE_PER_SECOND: String(RELEASE_PER_SECOND),
      },
    });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it('holds its traffic out of the queue with about one probe per open period, then releases it at the configured rate', async () => {
    // Prepare
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 500, body: 'down' }));
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    const send = (i: number) =>
      harness.api('POST', '/events', { type: 'breaker.dead', data: { i }, endpointIds: [endpoint.body.id] });
    for (let i = 0; i < 3; i++) await send(i);
    await eventually(async () => {
      const { body } = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);
      return body.circuitOpenUntil ? body : undefined;
    });

    // Act 1: 40 more events while the circuit is open.
    const hitsWhenOpened = target.received.length;
    for (let i = 3; i < 43; i++) await send(i);
    const backlogged = await eventually(
      async () => {
        const { body } = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);
        return body.backlog.size >= 40 ? body : undefined;
      },
      20_000,
      'the backlog to hold the new events',
    );
    const queue = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
    const watchStarted = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3 * OPEN_SECONDS * 1000));
    const watchedSeconds = (Date.now() - watchStarted) / 1000;
    const hitsWhileOpen = target.received.length - hitsWhenOpened;
    const stillHeld = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);

    // Assess 1: held, not in flight; probes only (the open time plus the release's round trip).
    expect(backlogged.backlog.reason).toBe('circuit_open');
    expect(queue.inFlight + queue.visible).toBeLessThanOrEqual(3);
    expect(stillHeld.body.backlog.size).toBeGreaterThanOrEqual(40);
    expect(hitsWhileOpen).toBeLessThanOrEqual(Math.ceil(watchedSeconds / OPEN_SECONDS) + 3);

    // Act 2: the receiver heals, the operator re-enables the endpoint (closing its circuit).
    healthy = true;
    const before = target.received.length;
    const enabled = await harness.api('PATCH', `/endpoints/${endpoint.body.id}`, { enabled: true });
    const arrivals = await target.waitFor(before + 40, 30_000);

    // Assess 2: every event arrived; the released ones at the release rate (within 20%).
    expect(enabled.status).toBe(200);
    const ids = new Set(
      target.received.filter((_, index) => index >= before).map((w) => w.headers['webhook-id']),
    );
    expect(ids.size).toBeGreaterThanOrEqual(40);
    const released = arrivals.slice(before);
    const seconds = ((released.at(-1)?.at ?? 0) - (released[0]?.at ?? 0)) / 1000;
    const rate = (released.length - 1) / seconds;
    expect(rate).toBeGreaterThan(RELEASE_PER_SECOND * 0.8);
    expect(rate).toBeLessThan(RELEASE_PER_SECOND * 1.2);
    const drained = await eventually(async () => {
      const { body } = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);
      return body.backlog.size === 0 ? body : undefined;
    });
    expect(drained).toMatchObject({ circuitOpenUntil: null, failureStreak: 0 });
    process.stdout.write(
      `isolation: ${released.length} released in ${seconds.toFixed(2)} s = ${rate.toFixed(2)}/s ` +
        `(configured ${RELEASE_PER_SECOND}/s); ${hitsWhileOpen} receiver hits in ${watchedSeconds.toFixed(1)} s open; ` +
        `queue ${queue.visible} visible + ${queue.inFlight} in flight with ${backlogged.backlog.size} held\n`,
    );
  }, 90_000);
});

afterAll(async () => {
  await Promise.all(receivers.map((target) => target.close()));
});
