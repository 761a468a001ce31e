/**
 * Deliveries held while an endpoint's circuit is open are not failures of the endpoint: holding
 * them changes neither its failure streak, nor when its run of failures began, nor when its
 * circuit turns half-open. Otherwise an endpoint with traffic would keep its circuit open, and
 * reach the 5-day disable, on deliveries that were never sent. And a delivery another copy
 * delivered meanwhile is not held: it ends as a counted duplicate.
 */
import { expect, it } from 'vitest';
import type { DeliveryRecord } from '../../lambdas/adapters/store.ts';
import { DeliveryWorker } from '../../lambdas/delivery/worker.ts';
import {
  deliveryMessage,
  FakeQueue,
  FakeSecrets,
  FakeStore,
  MemoryLogger,
  seedEndpoint,
  sqsRecord,
} from './fakes.ts';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const BREAKER = { failureThreshold: 3, openSeconds: 60, disableAfterSeconds: 5 * 24 * 3600 };

it('holds deliveries on an open circuit without counting them against the endpoint', async () => {
  // Prepare: a circuit opened by three failures that began an hour ago.
  const store = new FakeStore();
  const secrets = new FakeSecrets();
  const sent: string[] = [];
  const endpoint = seedEndpoint(store, secrets, 'https://receiver.example/hook');
  const failingSince = new Date(T0 - 3_600_000).toISOString();
  store.addEndpoint({ ...endpoint, failureStreak: 3, failingSince, circuitOpenUntil: T0 + 30_000 });
  const worker = new DeliveryWorker({
    store,
    secrets,
    sender: {
      post: async (url) => {
        sent.push(url);
        return { statusCode: 200, excerpt: '', durationMs: 1 };
      },
    },
    queue: new FakeQueue(),
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/hold',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/hold-dlq',
    policy: { scheduleSeconds: [5], maxAttempts: 3 },
    breaker: BREAKER,
    logger: new MemoryLogger(),
    now: () => T0,
  });
  const messages = [1, 2, 3, 4, 5].map((n) => deliveryMessage(endpoint, { n }));

  // Act
  const result = await worker.processBatch(messages.map((message) => sqsRecord(message)));

  // Assess: all held, nothing sent, and the endpoint's failure run exactly as it was.
  expect(result.batchItemFailures).toEqual([]);
  expect(sent).toEqual([]);
  for (const message of messages) {
    expect(store.deliveries.get(message.deliveryId)).toMatchObject({ status: 'pending', attempts: 0 });
  }
  expect(store.endpoints.get(endpoint.id)).toMatchObject({
    failureStreak: 3,
    failingSince,
    circuitOpenUntil: T0 + 30_000,
    enabled: true,
  });
});

/** A store whose first read of a delivery is stale: another copy delivered it meanwhile. */
class StaleReadStore extends FakeStore {
  override getDelivery = async (): Promise<DeliveryRecord | undefined> => undefined;
}

it('does not hold a delivery another copy delivered meanwhile: a counted duplicate, the record kept', async () => {
  // Prepare: an open circuit, and a record already delivered that the worker's read misses.
  const store = new StaleReadStore();
  const secrets = new FakeSecrets();
  const endpoint = seedEndpoint(store, secrets, 'https://receiver.example/hook');
  store.addEndpoint({ ...endpoint, failureStreak: 3, circuitOpenUntil: T0 + 30_000 });
  const message = deliveryMessage(endpoint);
  const delivered: DeliveryRecord = {
    endpointId: endpoint.id,
    id: message.deliveryId,
    eventId: message.eventId,
    eventType: message.eventType,
    createdAtMs: message.createdAtMs,
    status: 'delivered',
    attempts: 1,
    lastAttempt: { attempt: 1, at: new Date(T0 - 1000).toISOString(), durationMs: 3, statusCode: 200 },
    deliveredAt: new Date(T0 - 1000).toISOString(),
  } as DeliveryRecord;
  store.deliveries.set(message.deliveryId, delivered);
  const metrics: string[] = [];
  const worker = new DeliveryWorker({
    store,
    secrets,
    sender: {
      post: async () => {
        throw new Error('nothing may be sent');
      },
    },
    queue: new FakeQueue(),
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/hold',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/hold-dlq',
    policy: { scheduleSeconds: [5], maxAttempts: 3 },
    breaker: BREAKER,
    logger: new MemoryLogger(),
    now: () => T0,
    metric: (name, _unit, value) => {
      for (let n = 0; n < value; n++) metrics.push(name);
    },
  });

  // Act
  const result = await worker.processBatch([sqsRecord(message)]);

  // Assess
  expect(result.batchItemFailures).toEqual([]);
  expect(metrics.filter((name) => name === 'DuplicateSuppressed')).toHaveLength(1);
  expect(metrics).not.toContain('HeldCircuitOpen');
  expect(store.deliveries.get(message.deliveryId)).toEqual(delivered);
});
