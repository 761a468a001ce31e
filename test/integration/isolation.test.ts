/**
 * A dead endpoint on moto, through local mode: once its circuit opens its deliveries are held in
 * its backlog (out of the queue, so nothing piles up in flight) while the API shows the backlog
 * grow; one probe per open period tests the receiver; when it heals and the operator re-enables
 * the endpoint, the backlog arrives at the configured release rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { receiverPool } from '../support/receiver.ts';

const OPEN_SECONDS = 2;
const RELEASE_PER_SECOND = 5;
const receivers = receiverPool();

const receiver = receivers.start;

interface EndpointView {
  id: string;
  failureStreak: number;
  circuitOpenUntil: string | null;
  backlog: { size: number; oldestAt: string | null; reason: string | null };
}

describe('a dead endpoint', () => {
  let harness: Harness;

  /** When each release of the endpoint's backlog becomes visible: its send time plus its delay. */
  function recordReleases(endpointId: string): Map<string, number> {
    const visibleAt = new Map<string, number>();
    harness.interceptors.push((call) => {
      if (call.fn !== 'delivery' || call.command !== 'SendMessageBatchCommand') return;
      for (const entry of (call.input.Entries ?? []) as Array<{
        MessageBody: string;
        DelaySeconds?: number;
      }>) {
        const [fields = '{}'] = entry.MessageBody.split('\n', 1);
        const message = JSON.parse(fields) as { deliveryId?: string; endpointId?: string; reason?: string };
        if (message.endpointId === endpointId && message.reason === 'released' && message.deliveryId) {
          visibleAt.set(message.deliveryId, Date.now() + (entry.DelaySeconds ?? 0) * 1000);
        }
      }
    });
    return visibleAt;
  }

  beforeAll(async () => {
    // Retry at once (delay 0): without the breaker this would hammer the receiver.
    harness = await startHarness({
      policy: { scheduleSeconds: [0], maxAttempts: 50 },
      // Recorded, so that the rate-limit test can read the release schedule the worker sent.
      record: true,
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
    // While the circuit stays open, sample the queue: what is in it is the probe, its retry and
    // the release, not the backlog (the first second is left out: the last holds' batches are
    // still in the pollers' hands until they return).
    const watchStarted = Date.now();
    const samples: number[] = [];
    while (Date.now() - watchStarted < 3 * OPEN_SECONDS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const counts = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
      if (Date.now() - watchStarted > 1000) samples.push(counts.visible + counts.inFlight);
    }
    const queue = { maxSeen: Math.max(...samples), samples: samples.length };
    const watchedSeconds = (Date.now() - watchStarted) / 1000;
    const hitsWhileOpen = target.received.length - hitsWhenOpened;
    const stillHeld = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);

    // Assess 1: held, not in flight; probes only (the open time plus the release's round trip).
    expect(backlogged.backlog.reason).toBe('circuit_open');
    expect(queue.maxSeen).toBeLessThanOrEqual(3);
    expect(stillHeld.body.backlog.size).toBeGreaterThanOrEqual(40);
    expect(hitsWhileOpen).toBeLessThanOrEqual(Math.ceil(watchedSeconds / OPEN_SECONDS) + 3);

    // Act 2: the receiver heals, the operator re-enables the endpoint (closing its circuit).
    healthy = true;
    const visibleAt = recordReleases(endpoint.body.id);
    const before = target.received.length;
    const enabled = await harness.api('PATCH', `/endpoints/${endpoint.body.id}`, { enabled: true });
    const arrivals = await target.waitFor(before + 40, 30_000);
    harness.interceptors.length = 0;

    // Assess 2: every event arrived; the released ones at the release rate (within 20%).
    expect(enabled.status).toBe(200);
    const ids = new Set(
      target.received.filter((_, index) => index >= before).map((w) => w.headers['webhook-id']),
    );
    expect(ids.size).toBeGreaterThanOrEqual(40);
    const released = arrivals.slice(before);
    // Measured from the releases the workers scheduled (send time plus delay), so that how fast
    // the local pollers go on a loaded machine does not blur it. SQS delays are whole seconds, so
    // releases come in one-second slots of `rate` each: n of them span n / rate slots, the last of
    // which starts (n / rate - 1) s after the first.
    const times = [...visibleAt.values()].sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(40);
    const seconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    const rate = times.length / (seconds + 1);
    expect(rate).toBeGreaterThan(RELEASE_PER_SECOND * 0.8);
    expect(rate).toBeLessThan(RELEASE_PER_SECOND * 1.2);
    const drained = await eventually(async () => {
      const { body } = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);
      return body.backlog.size === 0 ? body : undefined;
    });
    expect(drained).toMatchObject({ circuitOpenUntil: null, failureStreak: 0 });
    process.stdout.write(
      `isolation: ${times.length} released (${released.length} arrived) in ${seconds.toFixed(2)} s = ${rate.toFixed(2)}/s ` +
        `(configured ${RELEASE_PER_SECOND}/s); ${hitsWhileOpen} receiver hits in ${watchedSeconds.toFixed(1)} s open; ` +
        `queue at most ${queue.maxSeen} visible + in flight over ${queue.samples} samples with ${backlogged.backlog.size} held\n`,
    );
  }, 90_000);

  it('honours an endpoint rateLimit within 10%: every delivery goes through its backlog at that rate, at least once', async () => {
    // Prepare
    const RATE = 10;
    const target = await receiver();
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: target.url,
      rateLimit: RATE,
    });

    const visibleAt = recordReleases(endpoint.body.id);

    // Act: 120 events at once.
    const COUNT = 120;
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        harness.api('POST', '/events', {
          type: 'isolation.limited',
          data: { i },
          endpointIds: [endpoint.body.id],
        }),
      ),
    );
    await target.waitFor(COUNT, 40_000);
    // Delivery is at least once: a copy may go out twice (an enqueue that timed out on a loaded
    // machine after SQS took it, say), under the same webhook-id. Wait for every id, then count.
    const firstOf = await eventually(
      async () => {
        const first = new Map<string, (typeof target.received)[number]>();
        for (const webhook of target.received) {
          const id = webhook.headers['webhook-id'] as string;
          if (!first.has(id)) first.set(id, webhook);
        }
        return first.size >= COUNT ? first : undefined;
      },
      20_000,
      'every event to arrive',
    );
    const arrivals = [...firstOf.values()];
    const duplicates = target.received.length - firstOf.size;
    harness.interceptors.length = 0;

    // Assess: every event arrived once, and the releases the workers scheduled (measured from the
    // sends, so the local pollers' own timing does not blur it) keep to the rate within 10% over
    // any ten seconds. SQS delays are whole seconds from each send, so a second's worth can land
    // up to a second late: over ten seconds that is the 10%.
    const times = [...visibleAt.values()].sort((a, b) => a - b);
    const busiest = (windowMs: number) =>
      Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + windowMs).length));
    const arrived = arrivals.map((webhook) => webhook.at).sort((a, b) => a - b);
    const spanSeconds = ((arrived.at(-1) as number) - (arrived[0] as number)) / 1000;
    expect(visibleAt.size).toBe(COUNT);
    expect(firstOf.size).toBe(COUNT);
    expect(duplicates).toBeLessThanOrEqual(2);
    expect(busiest(10_000)).toBeLessThanOrEqual(Math.floor(10 * RATE * 1.1));
    expect(busiest(1_000)).toBeLessThanOrEqual(2 * RATE);
    expect(spanSeconds).toBeGreaterThanOrEqual(COUNT / RATE - 2);
    process.stdout.write(
      `rateLimit: ${COUNT} deliveries at ${RATE}/s: at most ${busiest(10_000)} scheduled in any 10 s ` +
        `(${busiest(1_000)} in any 1 s); arrived over ${spanSeconds.toFixed(2)} s; ${duplicates} duplicates\n`,
    );
  }, 60_000);
});

afterAll(async () => {
  await receivers.closeAll();
});
