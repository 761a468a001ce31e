/**
 * Operational events (issue 12) on moto, through local mode's delivery function: published to an
 * EventBridge bus (moto's, with a rule that sends every `source: webhooks` event to an SQS queue
 * the test reads), each once per occurrence, each valid against its published JSON Schema.
 *
 * Why "once" is checked without waiting for nothing: an event is published by the batch whose
 * store write caused it, and a batch answers only once all its events are published; so once the
 * last record of a scenario is final and the events of its last batch are read, every event that
 * scenario could cause has been read.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import { buildWebhookBody, type DeliveryMessage, encodeMessage } from '../../lambdas/core/payload.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { createEndpointDirect, storeEventOf } from '../support/direct-endpoints.ts';
import {
  type DeliveredEvent,
  type EventBusEmulator,
  startEventBusEmulator,
} from '../support/event-bus-emulator.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { schemaErrors } from '../support/operational-event-schemas.ts';
import { receiverPool } from '../support/receiver.ts';

const THRESHOLD = 3;
const POLICY = { scheduleSeconds: [3], maxAttempts: 2 };

let harness: Harness;
let bus: EventBusEmulator;
let documents: DynamoDBDocumentClient;
const receivers = receiverPool();

beforeAll(async () => {
  bus = await startEventBusEmulator();
  harness = await startHarness({
    policy: POLICY,
    env: {
      WEBHOOKS_OPERATIONAL_EVENT_BUS: bus.busName,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      WEBHOOKS_BREAKER_THRESHOLD: String(THRESHOLD),
      WEBHOOKS_BREAKER_OPEN_SECONDS: '2',
    },
  });
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: harness.moto.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: EMULATOR_CREDENTIALS,
    }),
  );
});

afterAll(async () => {
  await receivers.closeAll();
  await harness?.stop();
  await bus?.stop();
});

async function send(endpointId: string, trackingId: string): Promise<DeliveryMessage> {
  const createdAtMs = Date.now();
  const eventId = newEventId(createdAtMs);
  const message: DeliveryMessage = {
    deliveryId: deliveryId(eventId, endpointId, createdAtMs),
    eventId,
    endpointId,
    eventType: 'invoice.paid',
    createdAtMs,
    body: buildWebhookBody('invoice.paid', createdAtMs, { n: 1 }),
    trackingId,
  };
  await storeEventOf(harness, message);
  await harness.sqs.send(
    new SendMessageCommand({
      QueueUrl: harness.stack.resources.deliveryQueueUrl,
      MessageBody: encodeMessage(message),
    }),
  );
  return message;
}

async function statusOf(message: DeliveryMessage): Promise<string | undefined> {
  const { Item } = await documents.send(
    new GetCommand({
      TableName: harness.stack.resources.tables.Deliveries,
      Key: { endpointId: message.endpointId, id: message.deliveryId },
      ConsistentRead: true,
    }),
  );
  return Item?.status as string | undefined;
}

/** The events about one endpoint, once `done` says the scenario's events are all there. */
async function eventsOf(
  endpointId: string,
  done: (events: DeliveredEvent[]) => boolean,
): Promise<DeliveredEvent[]> {
  return eventually(async () => {
    const events = distinct((await bus.drain()).filter((event) => event.detail.endpointId === endpointId));
    return done(events) ? events : undefined;
  });
}

/**
 * One PutEvents that the SDK sent twice (its first answer too slow, on a loaded machine) reaches
 * the bus twice with the very same detail, `occurredAt` to the millisecond: that is one
 * publication, not two occurrences (EventBridge's delivery to targets is at least once too).
 */
function distinct(events: DeliveredEvent[]): DeliveredEvent[] {
  const seen = new Set<string>();
  return events.filter((event) => {
    const key = `${event['detail-type']} ${JSON.stringify(event.detail)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const ofType = (events: DeliveredEvent[], type: string) => events.filter((e) => e['detail-type'] === type);

function expectPublishedShape(events: DeliveredEvent[]): void {
  for (const event of events) {
    expect(event.source).toBe('webhooks');
    expect(schemaErrors(event['detail-type'], event.detail)).toEqual([]);
    expect(event.detail.version).toBe(1);
  }
}

describe('operational events', () => {
  it('an operator disabling an endpoint twice: one endpoint.disabled (manual); a DLQ redrive: one dlq.redriven', async () => {
    // Prepare
    const receiver = await receivers.start(() => ({ status: 200 }));
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: receiver.url });
    expect(created.status).toBe(201);

    // Act
    for (let round = 0; round < 2; round++) {
      const patched = await harness.api('PATCH', `/endpoints/${created.body.id}`, { enabled: false });
      expect(patched.status).toBe(200);
    }
    const redriven = await harness.api('POST', '/dlq/redrive');
    expect(redriven.status).toBe(200);

    // Assess
    const events = await eventsOf(created.body.id, (seen) => ofType(seen, 'endpoint.disabled').length >= 1);
    expectPublishedShape(events);
    expect(events.map((event) => [event['detail-type'], event.detail.reason])).toEqual([
      ['endpoint.disabled', 'manual'],
    ]);
    const redrives = await eventually(async () => {
      const found = ofType(distinct(await bus.drain()), 'dlq.redriven');
      return found.length > 0 ? found : undefined;
    });
    expectPublishedShape(redrives);
    expect(redrives).toHaveLength(1);
    expect(redrives[0]?.detail).toMatchObject({ mode: 'copied' });
  });

  it('a receiver answering 410: one endpoint.disabled, then one delivery.dead per delivery', async () => {
    // Prepare
    const receiver = await receivers.start(() => ({ status: 410 }));
    const endpoint = await createEndpointDirect(harness, receiver.url);

    // Act: four deliveries, one after the other. (moto 5.2.1 does not make a conditional write
    // atomic against a concurrent one, as DynamoDB does: two writes at the same moment may both
    // pass their condition there, so the deliveries here do not race.)
    const messages: DeliveryMessage[] = [];
    for (const i of [1, 2, 3, 4]) {
      const message = await send(endpoint.id, `trk-gone-${i}`);
      await eventually(async () => ((await statusOf(message)) === 'dead' ? true : undefined));
      messages.push(message);
    }

    // Assess
    const events = await eventsOf(endpoint.id, (seen) => ofType(seen, 'delivery.dead').length >= 4);
    expectPublishedShape(events);
    const disabled = ofType(events, 'endpoint.disabled');
    expect(disabled).toHaveLength(1);
    expect(disabled[0]?.detail).toMatchObject({
      endpointId: endpoint.id,
      tenantId: 'default',
      reason: 'gone',
      description: 'receiver answered 410 Gone',
    });
    expect(messages.map((m) => m.deliveryId)).toContain(disabled[0]?.detail.deliveryId);
    const dead = ofType(events, 'delivery.dead');
    expect(dead.map((event) => event.detail.deliveryId).sort()).toEqual(
      messages.map((m) => m.deliveryId).sort(),
    );
    // The first is the 410; the others find the endpoint disabled.
    expect(dead.map((event) => event.detail.cause).sort()).toEqual([
      'endpoint_unavailable',
      'endpoint_unavailable',
      'endpoint_unavailable',
      'gone',
    ]);
    expect(dead.map((event) => event.detail.trackingId).sort()).toEqual([
      'trk-gone-1',
      'trk-gone-2',
      'trk-gone-3',
      'trk-gone-4',
    ]);
    expect(events).toHaveLength(5);
  });

  it('a circuit that opens and closes: one endpoint.circuit_opened, one endpoint.recovered, nothing dead', async () => {
    // Prepare: the first THRESHOLD requests fail, the rest succeed.
    const receiver = await receivers.start((_, index) => ({ status: index < THRESHOLD ? 500 : 200 }));
    const endpoint = await createEndpointDirect(harness, receiver.url);

    // Act: THRESHOLD deliveries whose first attempts open the circuit, each sent once the one
    // before has failed (the failure streak is an atomic counter on DynamoDB, not on moto 5.2.1).
    const messages: DeliveryMessage[] = [];
    for (let i = 0; i < THRESHOLD; i++) {
      messages.push(await send(endpoint.id, `trk-circuit-${i}`));
      await receiver.waitFor(i + 1);
      await eventually(async () =>
        (await statusOf(messages[i] as DeliveryMessage)) === 'failed' ? true : undefined,
      );
    }

    // Assess
    for (const message of messages) {
      await eventually(async () => ((await statusOf(message)) === 'delivered' ? true : undefined));
    }
    const events = await eventsOf(endpoint.id, (seen) => ofType(seen, 'endpoint.recovered').length >= 1);
    expectPublishedShape(events);
    const opened = ofType(events, 'endpoint.circuit_opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.detail).toMatchObject({
      endpointId: endpoint.id,
      failureStreak: THRESHOLD,
      openSeconds: 2,
      lastStatusCode: 500,
    });
    const recovered = ofType(events, 'endpoint.recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.detail).toMatchObject({ endpointId: endpoint.id });
    expect(Number(recovered[0]?.detail.failureStreak)).toBeGreaterThanOrEqual(THRESHOLD);
    expect(recovered[0]?.detail.failingSince).toBe(opened[0]?.detail.failingSince);
    expect(ofType(events, 'delivery.dead')).toEqual([]);
    expect(ofType(events, 'endpoint.disabled')).toEqual([]);
  });

  it('a spent attempt budget: one delivery.dead (budget_spent, with its attempts, last status and trackingId)', async () => {
    // Prepare: fewer failures than open the circuit.
    const receiver = await receivers.start(() => ({ status: 503 }));
    const endpoint = await createEndpointDirect(harness, receiver.url);

    // Act
    const message = await send(endpoint.id, 'trk-budget');

    // Assess
    await eventually(async () => ((await statusOf(message)) === 'dead' ? true : undefined));
    const events = await eventsOf(endpoint.id, (seen) => ofType(seen, 'delivery.dead').length >= 1);
    expectPublishedShape(events);
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({
      endpointId: endpoint.id,
      tenantId: 'default',
      deliveryId: message.deliveryId,
      eventId: message.eventId,
      eventType: 'invoice.paid',
      cause: 'budget_spent',
      attempts: POLICY.maxAttempts,
      lastStatusCode: 503,
      trackingId: 'trk-budget',
    });
  });
});
