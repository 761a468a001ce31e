/**
 * Operator surfaces on moto: secret rotation (both secrets sign for 24 h), manual retry from
 * the stored event after the message left both queues, its double-click guard, and recovery
 * of an endpoint's failed deliveries.
 */
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 2 };
let harness: Harness;
const receivers: TestReceiver[] = [];

beforeAll(async () => {
  harness = await startHarness({ policy: POLICY });
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await harness?.stop();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<TestReceiver> {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

function verifyWith(secret: string, webhook: { body: string; headers: Record<string, unknown> }): unknown {
  return new Webhook(secret).verify(webhook.body, {
    'webhook-id': String(webhook.headers['webhook-id']),
    'webhook-timestamp': String(webhook.headers['webhook-timestamp']),
    'webhook-signature': String(webhook.headers['webhook-signature']),
  });
}

async function statusOf(deliveryId: string, wanted: string): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const { body } = await harness.api<{ status: string }>('GET', `/deliveries/${deliveryId}`);
      return body.status === wanted ? body : undefined;
    },
    20_000,
    `delivery ${deliveryId} to be ${wanted}`,
  );
}

describe('secret rotation', () => {
  it('signs with both the new and the previous secret, each verifiable on its own', async () => {
    // Prepare
    const target = await receiver();
    const created = await harness.api<{ id: string; secret: string }>('POST', '/endpoints', {
      url: target.url,
    });
    const oldSecret = created.body.secret;

    // Act
    const rotated = await harness.api<{ secret: string; previousSecretExpiresAt: string }>(
      'POST',
      `/endpoints/${created.body.id}/secret/rotate`,
    );
    await harness.api('POST', '/events', { type: 'rotation.test', data: {}, endpointIds: [created.body.id] });
    const [webhook] = await target.waitFor(1);

    // Assess
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(oldSecret);
    const hoursLeft = (Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(23.9);
    expect(hoursLeft).toBeLessThanOrEqual(24);
    expect(String(webhook?.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWith(rotated.body.secret, webhook!)).toMatchObject({ type: 'rotation.test' });
    expect(verifyWith(oldSecret, webhook!)).toMatchObject({ type: 'rotation.test' });
    expect(() => verifyWith(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, webhook!)).toThrow();
  });
});

describe('manual retry', () => {
  it('re-sends a dead delivery from the stored event after its message is gone, once per click', async () => {
    // Prepare: a dead delivery whose message is then purged from the DLQ.
    let healthy = false;
    // Once healthy it answers after a second, so the second click comes while the retry is queued.
    const target = await receiver(() =>
      healthy
        ? (response) => void setTimeout(() => response.writeHead(200).end('ok'), 1000)
        : { status: 500, body: 'nope' },
    );
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    const sent = await harness.api<{ id: string; deliveries: Array<{ id: string }> }>('POST', '/events', {
      type: 'retry.manual',
      data: { order: 7 },
      endpointIds: [endpoint.body.id],
    });
    const deliveryId = sent.body.deliveries[0]!.id;
    await statusOf(deliveryId, 'dead');
    await eventually(async () => {
      const dlq = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
      return dlq.visible + dlq.inFlight > 0 ? true : undefined;
    });
    await harness.sqs.send(new PurgeQueueCommand({ QueueUrl: harness.stack.resources.deadLetterQueueUrl }));
    healthy = true;

    // Act
    const first = await harness.api('POST', `/deliveries/${deliveryId}/retry`);
    const doubleClick = await harness.api('POST', `/deliveries/${deliveryId}/retry`);

    // Assess
    expect(first.status).toBe(202);
    expect(doubleClick.status).toBe(409);
    expect(doubleClick.body).toMatchObject({ error: { code: 'retry_in_progress' } });
    const delivered = await statusOf(deliveryId, 'delivered');
    expect(delivered).toMatchObject({ attemptCount: POLICY.maxAttempts + 1, redrives: 1 });
    const last = target.received.at(-1)!;
    expect(last.headers['webhook-id']).toBe(sent.body.id);
    expect(JSON.parse(last.body)).toMatchObject({ type: 'retry.manual', data: { order: 7 } });
  });

  it('answers 404 for a delivery that does not exist', async () => {
    const response = await harness.api('POST', '/deliveries/dlv_nope/retry');
    expect(response.status).toBe(404);
  });
});

describe('recover', () => {
  it('queues again every dead delivery of an endpoint since a time, and reports how many', async () => {
    // Prepare: three dead deliveries.
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 503 }));
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    const since = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await harness.api<{ deliveries: Array<{ id: string }> }>('POST', '/events', {
        type: 'recover.test',
        data: { i },
        endpointIds: [endpoint.body.id],
      });
      ids.push(sent.body.deliveries[0]!.id);
    }
    for (const id of ids) await statusOf(id, 'dead');
    healthy = true;

    // Act
    const recovered = await harness.api<{ queued: number; skipped: number }>(
      'POST',
      `/endpoints/${endpoint.body.id}/recover?since=${encodeURIComponent(since)}`,
    );
    const withoutSince = await harness.api('POST', `/endpoints/${endpoint.body.id}/recover`);

    // Assess
    expect(recovered.status).toBe(202);
    expect(recovered.body).toMatchObject({ queued: 3, skipped: 0 });
    for (const id of ids) await statusOf(id, 'delivered');
    expect(withoutSince.status).toBe(400);
  });
});

describe('delivery ids', () => {
  it('refuses a delivery id whose time part does not match its event (no stray records or re-sends)', async () => {
    // Prepare
    const target = await receiver();
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    const sent = await harness.api<{ deliveries: Array<{ id: string }> }>('POST', '/events', {
      type: 'ids.test',
      data: {},
      endpointIds: [endpoint.body.id],
    });
    const real = sent.body.deliveries[0]!.id;
    const forged = `dlv_0000000000${real.slice('dlv_'.length + 10)}`;

    // Act
    const read = await harness.api('GET', `/deliveries/${forged}`);
    const retry = await harness.api('POST', `/deliveries/${forged}/retry`);

    // Assess
    expect(read.status).toBe(404);
    expect(retry.status).toBe(404);
  });
});
