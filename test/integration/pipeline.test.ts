/**
 * The core pipeline end to end on moto: API in, signed webhooks out, retries with a
 * compressed schedule, the dead-letter queue, redrive and duplicate suppression.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { receiverPool } from '../support/receiver.ts';
import { subscribersOf } from '../support/subscribers.ts';

const POLICY = { scheduleSeconds: [1, 2], maxAttempts: 3 };

interface Endpoint {
  id: string;
  secret: string;
  url: string;
}
interface Delivery {
  id: string;
  status: string;
  attemptCount: number;
  redrives: number;
  endpointId: string;
  eventId: string;
}
let harness: Harness;
const receivers = receiverPool();

const receiver = receivers.start;

async function createEndpoint(url: string, extra: Record<string, unknown> = {}): Promise<Endpoint> {
  const { status, body } = await harness.api<Endpoint>('POST', '/endpoints', { url, ...extra });
  expect(status).toBe(201);
  return body;
}

beforeAll(async () => {
  harness = await startHarness({ policy: POLICY });
});

afterAll(async () => {
  await receivers.closeAll();
  await harness?.stop();
});

describe('happy path', () => {
  it('fans an event out to every subscribed endpoint, signed so that standardwebhooks verifies it', async () => {
    // Prepare: the endpoints earlier tests left subscribed are expected too.
    const others = await subscribersOf(harness, 'invoice.paid');
    const invoices = await receiver();
    const everything = await receiver();
    const orders = await receiver();
    const invoiceEndpoint = await createEndpoint(invoices.url, { eventTypes: ['invoice.paid'] });
    const allEndpoint = await createEndpoint(everything.url);
    await createEndpoint(orders.url, { eventTypes: ['order.shipped'] });

    // Act
    const sent = await harness.api<{ id: string; deliveries: Delivery[] }>('POST', '/events', {
      type: 'invoice.paid',
      data: { invoiceId: 'inv_1', amount: 4200 },
    });

    // Assess
    expect(sent.status).toBe(202);
    expect(sent.headers.get('trackingid')).toMatch(/\S+/);
    const own = [invoiceEndpoint.id, allEndpoint.id];
    expect(sent.body.deliveries.map((d) => d.endpointId).sort()).toEqual([...others, ...own].sort());
    const [toInvoices] = await invoices.waitFor(1);
    const [toAll] = await everything.waitFor(1);
    for (const [webhook, endpoint] of [
      [toInvoices, invoiceEndpoint],
      [toAll, allEndpoint],
    ] as const) {
      expect(webhook?.headers['webhook-id']).toBe(sent.body.id);
      const verified = new Webhook(endpoint.secret).verify(webhook?.body ?? '', {
        'webhook-id': String(webhook?.headers['webhook-id']),
        'webhook-timestamp': String(webhook?.headers['webhook-timestamp']),
        'webhook-signature': String(webhook?.headers['webhook-signature']),
      });
      expect(verified).toMatchObject({ type: 'invoice.paid', data: { invoiceId: 'inv_1', amount: 4200 } });
    }
    expect(orders.received).toHaveLength(0);
    const ownDeliveries = await eventually(async () => {
      const { body } = await harness.api<{ deliveries: Delivery[] }>('GET', `/events/${sent.body.id}`);
      const mine = body.deliveries.filter((d) => own.includes(d.endpointId));
      return mine.every((d) => d.status === 'delivered') ? mine : undefined;
    });
    expect(ownDeliveries).toHaveLength(2);
    const listed = await harness.api<{ items: Delivery[] }>(
      'GET',
      `/deliveries?endpointId=${allEndpoint.id}`,
    );
    expect(listed.body.items.map((d) => d.eventId)).toEqual([sent.body.id]);
  });

  it('answers unknown routes, bad keys and bad input with JSON errors and a Trackingid', async () => {
    // Act
    const noKey = await harness.api('GET', '/endpoints', undefined, { authorization: 'Bearer wrong' });
    const badJson = await harness.api('POST', '/events', '{"type":', {});
    const unknownEndpoint = await harness.api('POST', '/events', {
      type: 'a.b',
      data: {},
      endpointIds: ['ep_00000000000000000000000000'],
    });
    const privateUrl = await harness.api('POST', '/endpoints', { url: 'https://10.0.0.1/hook' });

    // Assess
    expect(noKey.status).toBe(401);
    expect(noKey.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(badJson.status).toBe(400);
    expect((badJson.body as { error: { code: string } }).error.code).toBe('malformed_json');
    expect(unknownEndpoint.status).toBe(422);
    expect(privateUrl.status).toBe(400);
    for (const response of [noKey, badJson, unknownEndpoint, privateUrl]) {
      expect(response.headers.get('trackingid')).toMatch(/\S+/);
    }
  });
});

describe('retries', () => {
  it('retries a failing receiver with backoff until it recovers, recording every attempt', async () => {
    // Prepare: two 500s, then success.
    const flaky = await receiver((_, index) =>
      index < 2 ? { status: 500, body: `overloaded #${index}` } : { status: 204 },
    );
    const endpoint = await createEndpoint(flaky.url);

    // Act
    const sent = await harness.api<{ deliveries: Delivery[] }>('POST', '/events', {
      type: 'retry.test',
      data: { n: 1 },
      endpointIds: [endpoint.id],
    });
    const arrivals = await flaky.waitFor(3);

    // Assess: the delays of the compressed schedule (1 s, 2 s, each at most 20% shorter) held.
    const gaps = [arrivals[1]!.at - arrivals[0]!.at, arrivals[2]!.at - arrivals[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(800);
    expect(gaps[1]).toBeGreaterThanOrEqual(1600);
    expect(new Set(arrivals.map((a) => a.headers['webhook-id'])).size).toBe(1);
    const deliveryId = sent.body.deliveries[0]!.id;
    const detail = await eventually(async () => {
      const { body } = await harness.api<{ status: string; attempts: Array<Record<string, unknown>> }>(
        'GET',
        `/deliveries/${deliveryId}`,
      );
      return body.status === 'delivered' ? body : undefined;
    });
    expect(detail.attempts.map((a) => a.statusCode)).toEqual([500, 500, 204]);
    expect(detail.attempts[0]).toMatchObject({ attempt: 1, responseExcerpt: 'overloaded #0' });
    expect(detail.attempts[1]).toMatchObject({ attempt: 2, responseExcerpt: 'overloaded #1' });
    // The success clears the streak in a write after the outcome's: wait for it, not for a time.
    const endpointAfter = await eventually(
      async () => {
        const { body } = await harness.api<{ failureStreak: number }>('GET', `/endpoints/${endpoint.id}`);
        return body.failureStreak === 0 ? body : undefined;
      },
      10_000,
      'the failure streak cleared',
    );
    expect(endpointAfter.failureStreak).toBe(0);
  });

  it('marks a delivery dead and parks it in the DLQ when the budget is spent; a redrive delivers it', async () => {
    // Prepare: a receiver that is down (503) until told otherwise.
    let healthy = false;
    const down = await receiver(() => (healthy ? { status: 200 } : { status: 503, body: 'down' }));
    const endpoint = await createEndpoint(down.url);
    // Other tests of this file may leave messages in the DLQ: this one counts and moves its own.
    const dlqBefore = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
    const sent = await harness.api<{ id: string; deliveries: Delivery[] }>('POST', '/events', {
      type: 'dead.test',
      data: { n: 2 },
      endpointIds: [endpoint.id],
    });
    const deliveryId = sent.body.deliveries[0]!.id;

    // Act 1: the budget (3 attempts) runs out.
    await down.waitFor(POLICY.maxAttempts);
    const dead = await eventually(async () => {
      const { body } = await harness.api<Delivery>('GET', `/deliveries/${deliveryId}`);
      return body.status === 'dead' ? body : undefined;
    });
    const dlq = await eventually(async () => {
      const counts = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
      return counts.visible + counts.inFlight > dlqBefore.visible + dlqBefore.inFlight ? counts : undefined;
    });

    // Assess 1
    expect(dead.attemptCount).toBe(POLICY.maxAttempts);
    expect(dlq.visible + dlq.inFlight).toBe(dlqBefore.visible + dlqBefore.inFlight + 1);
    const listedDead = await harness.api<{ items: Delivery[] }>(
      'GET',
      `/deliveries?endpointId=${endpoint.id}&status=dead`,
    );
    expect(listedDead.body.items.map((d) => d.id)).toEqual([deliveryId]);
    // Nothing is left to retry: the only copy is in the DLQ and the delivery queue is empty.
    await eventually(async () => {
      const counts = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
      return counts.visible + counts.inFlight === 0 ? true : undefined;
    });
    expect(down.received).toHaveLength(POLICY.maxAttempts);

    // Act 2: the receiver heals and the DLQ is redriven (receive, send, delete, as on the emulator).
    healthy = true;
    const { Messages: received = [] } = await harness.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: harness.stack.resources.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 1,
      }),
    );
    const Messages = received.filter((message) => message.Body?.includes(deliveryId));
    expect(Messages).toHaveLength(1);
    for (const message of Messages) {
      await harness.sqs.send(
        new SendMessageCommand({
          QueueUrl: harness.stack.resources.deliveryQueueUrl,
          MessageBody: message.Body,
        }),
      );
      await harness.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: harness.stack.resources.deadLetterQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }

    // Assess 2: delivered with the same webhook-id; the record counts on and shows the redrive.
    const arrivals = await down.waitFor(POLICY.maxAttempts + 1);
    expect(arrivals.at(-1)?.headers['webhook-id']).toBe(sent.body.id);
    const redriven = await eventually(async () => {
      const { body } = await harness.api<Delivery>('GET', `/deliveries/${deliveryId}`);
      return body.status === 'delivered' ? body : undefined;
    });
    expect(redriven).toMatchObject({ attemptCount: POLICY.maxAttempts + 1, redrives: 1 });
    const listedDeadAfter = await harness.api<{ items: Delivery[] }>(
      'GET',
      `/deliveries?endpointId=${endpoint.id}&status=dead`,
    );
    expect(listedDeadAfter.body.items).toEqual([]);
  });

  it('does not send again when SQS delivers an already-delivered message a second time', async () => {
    // Prepare
    const target = await receiver();
    const endpoint = await createEndpoint(target.url);
    const sent = await harness.api<{ id: string; deliveries: Delivery[] }>('POST', '/events', {
      type: 'dup.test',
      data: { n: 3 },
      endpointIds: [endpoint.id],
    });
    await target.waitFor(1);
    const deliveryId = sent.body.deliveries[0]!.id;
    await eventually(async () => {
      const { body } = await harness.api<Delivery>('GET', `/deliveries/${deliveryId}`);
      return body.status === 'delivered' ? body : undefined;
    });

    // Act: the same message arrives again, as SQS's at-least-once delivery allows.
    const event = await harness.api<{ createdAt: string }>('GET', `/events/${sent.body.id}`);
    await harness.sqs.send(
      new SendMessageCommand({
        QueueUrl: harness.stack.resources.deliveryQueueUrl,
        MessageBody: JSON.stringify({
          deliveryId,
          eventId: sent.body.id,
          endpointId: endpoint.id,
          eventType: 'dup.test',
          createdAtMs: Date.parse(event.body.createdAt),
          body: target.received[0]!.body,
        }),
      }),
    );
    await eventually(async () => {
      const counts = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
      return counts.visible + counts.inFlight === 0 ? true : undefined;
    });

    // Assess: the worker deletes a message only after handling it, so a drained queue is final.
    expect(target.received).toHaveLength(1);
    const after = await harness.api<Delivery>('GET', `/deliveries/${deliveryId}`);
    expect(after.body.attemptCount).toBe(1);
  });

  it('disables an endpoint that answers 410 Gone and parks its message without retrying', async () => {
    // Prepare
    const gone = await receiver(() => ({ status: 410, body: 'gone' }));
    const endpoint = await createEndpoint(gone.url);
    const dlqBefore = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);

    // Act
    const sent = await harness.api<{ deliveries: Delivery[] }>('POST', '/events', {
      type: 'gone.test',
      data: {},
      endpointIds: [endpoint.id],
    });
    await gone.waitFor(1);
    const disabled = await eventually(async () => {
      const { body } = await harness.api<{ enabled: boolean; disabledReason: string }>(
        'GET',
        `/endpoints/${endpoint.id}`,
      );
      return body.enabled ? undefined : body;
    });

    // Assess
    expect(disabled.disabledReason).toMatch(/410/);
    const record = await eventually(async () => {
      const { body } = await harness.api<Delivery>('GET', `/deliveries/${sent.body.deliveries[0]!.id}`);
      return body.status === 'dead' ? body : undefined;
    });
    expect(record.attemptCount).toBe(1);
    const dlqAfter = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
    expect(dlqAfter.visible + dlqAfter.inFlight).toBe(dlqBefore.visible + dlqBefore.inFlight + 1);
    const later = await harness.api('POST', '/events', {
      type: 'gone.test',
      data: {},
      endpointIds: [endpoint.id],
    });
    expect(later.status).toBe(422);
    expect(gone.received).toHaveLength(1);
  });
});
