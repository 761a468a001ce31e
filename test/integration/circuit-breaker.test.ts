/**
 * The per-endpoint circuit breaker on moto, through local mode, against the attempt budget: an
 * open circuit holds deliveries instead of spending their attempts, so a receiver that needs
 * three tries per event gets them all. (A dead endpoint's backlog and its release rate are in
 * isolation.test.ts: the SDK clients are per process, so one harness per file.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { receiverPool } from '../support/receiver.ts';

const OPEN_SECONDS = 2;
const receivers = receiverPool();

const receiver = receivers.start;

interface EndpointView {
  id: string;
  failureStreak: number;
  circuitOpenUntil: string | null;
  backlog: { size: number; oldestAt: string | null; reason: string | null };
}

interface DeliveryView {
  status: string;
  attempts: Array<{ statusCode?: number; error?: string }>;
}

describe('a receiver that fails the first two attempts of each event (a compressed 4-attempt schedule)', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness({
      policy: { scheduleSeconds: [1], maxAttempts: 4 },
      env: { WEBHOOKS_BREAKER_THRESHOLD: '5', WEBHOOKS_BREAKER_OPEN_SECONDS: String(OPEN_SECONDS) },
    });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it('opens the circuit, yet every event ends delivered on its third real attempt: waiting is not an attempt', async () => {
    // Prepare: five events at once make ten failures in a row, which opens the circuit (5).
    const seen = new Map<string, number>();
    const target = await receiver((webhook) => {
      const id = String(webhook.headers['webhook-id']);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      return n <= 2 ? { status: 500, body: 'not yet' } : { status: 200 };
    });
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    const deliveries: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = await harness.api<{ deliveries: Array<{ id: string }> }>('POST', '/events', {
        type: 'breaker.flaky',
        data: { i },
        endpointIds: [endpoint.body.id],
      });
      deliveries.push(sent.body.deliveries[0]?.id ?? '');
    }

    // Act
    const opened = await eventually(async () => {
      const { body } = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);
      return body.circuitOpenUntil ? body : undefined;
    });
    const final = await Promise.all(
      deliveries.map((id) =>
        eventually(
          async () => {
            const { body } = await harness.api<DeliveryView>('GET', `/deliveries/${id}`);
            return body.status === 'delivered' || body.status === 'dead' ? body : undefined;
          },
          40_000,
          `${id} to end`,
        ),
      ),
    );

    // Assess
    expect(opened.failureStreak).toBeGreaterThanOrEqual(5);
    for (const delivery of final) {
      expect(delivery.status).toBe('delivered');
      // Only real attempts are recorded: two 500s, then the 200 (summarised on the delivery).
      expect(delivery.attempts.map((attempt) => attempt.statusCode)).toEqual([500, 500, 200]);
      expect(delivery.attempts.some((attempt) => attempt.error?.startsWith('circuit_open'))).toBe(false);
    }
    expect([...seen.values()]).toEqual([3, 3, 3, 3, 3]);
    const closed = await harness.api<EndpointView>('GET', `/endpoints/${endpoint.body.id}`);
    expect(closed.body).toMatchObject({ circuitOpenUntil: null, failureStreak: 0, backlog: { size: 0 } });
  }, 60_000);
});

afterAll(async () => {
  await receivers.closeAll();
});
