/**
 * The delivery worker when its dependencies or its input fail: an unreadable secret, a
 * poisoned record in the middle of a batch, a record whose processing throws, and a
 * duplicate of a delivery already made. The worker runs over in-memory fakes with the real
 * sender against receivers on 127.0.0.1.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { deliveryMessage, FakeSecrets, FakeStore, fakeWorker, seedEndpoint, sqsRecord } from './fakes.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

let tripwire: Tripwire;
let sender: WebhookSender;
let target: TestReceiver;

beforeAll(async () => {
  tripwire = installLoopbackTripwire();
  sender = new WebhookSender({ guard: { allowLoopback: true }, timeoutMs: 2000 });
  target = await startReceiver();
});

afterEach(() => {
  target.received.length = 0;
  expect(tripwire.stopped).toEqual([]);
});

afterAll(async () => {
  await sender?.close();
  await target?.close();
  tripwire?.uninstall();
});

function setup() {
  const store = new FakeStore();
  const secrets = new FakeSecrets();
  const endpoint = seedEndpoint(store, secrets, target.url);
  return { ...fakeWorker(sender, { store, secrets }), endpoint };
}

it('sends nothing and retries the record when Secrets Manager is unreachable', async () => {
  // Prepare
  const { worker, store, secrets, queue, endpoint } = setup();
  secrets.unreachable = true;
  const record = sqsRecord(deliveryMessage(endpoint));

  // Act
  const result = await worker.processBatch([record]);

  // Assess
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  expect(secrets.reads).toBeGreaterThanOrEqual(1);
  expect(target.received).toHaveLength(0);
  expect(queue.deferred).toEqual([{ receiptHandle: record.receiptHandle, seconds: 5 }]);
  expect(queue.deadLettered).toEqual([]);
  expect(store.outcomes.at(-1)).toMatchObject({
    status: 'failed',
    attempt: { error: expect.stringMatching(/^secret_unavailable: /) },
  });
});

it('dead-letters only the poisoned middle record of three and delivers the others', async () => {
  // Prepare
  const { worker, store, queue, endpoint } = setup();
  const first = sqsRecord(deliveryMessage(endpoint, { n: 1 }));
  const poisoned = sqsRecord('{"deliveryId": "dlv_x", "this is not json');
  const last = sqsRecord(deliveryMessage(endpoint, { n: 3 }));

  // Act
  const result = await worker.processBatch([first, poisoned, last]);

  // Assess
  expect(result.batchItemFailures).toEqual([]);
  expect(queue.deadLettered).toEqual([poisoned.body]);
  expect(queue.deferred).toEqual([]);
  expect(target.received.map((webhook) => JSON.parse(webhook.body).data.n).sort()).toEqual([1, 3]);
  expect(store.outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'delivered']);
});

it('dead-letters a record that is JSON but lacks the delivery fields', async () => {
  // Prepare
  const { worker, queue } = setup();
  const record = sqsRecord(JSON.stringify({ hello: 'world' }));

  // Act
  const result = await worker.processBatch([record]);

  // Assess
  expect(result.batchItemFailures).toEqual([]);
  expect(queue.deadLettered).toEqual([record.body]);
  expect(target.received).toHaveLength(0);
});

it('reports a record whose processing throws unexpectedly by its own messageId only', async () => {
  // Prepare: DynamoDB fails for the middle record's delivery.
  const { worker, store, endpoint } = setup();
  const messages = [1, 2, 3].map((n) => deliveryMessage(endpoint, { n }));
  const records = messages.map((message) => sqsRecord(message));
  store.failGetDeliveryFor = messages[1]!.deliveryId;

  // Act
  const result = await worker.processBatch(records);

  // Assess
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.messageId }]);
  const known = new Set(records.map((record) => record.messageId));
  for (const failure of result.batchItemFailures) {
    expect(failure.itemIdentifier).not.toBe('');
    expect(known.has(failure.itemIdentifier)).toBe(true);
  }
  expect(target.received.map((webhook) => JSON.parse(webhook.body).data.n).sort()).toEqual([1, 3]);
});

it('never reports an empty or unknown itemIdentifier, whatever fails in a mixed batch', async () => {
  // Prepare: one of each fate, secrets down for the whole batch.
  const { worker, secrets, endpoint } = setup();
  secrets.unreachable = true;
  const records = [
    sqsRecord(deliveryMessage(endpoint)),
    sqsRecord('not json at all'),
    sqsRecord(deliveryMessage(endpoint), { receiveCount: 4 }),
    sqsRecord(deliveryMessage({ ...endpoint, id: 'ep_00000000000000000000000000' })),
  ];

  // Act
  const result = await worker.processBatch(records);

  // Assess
  const known = new Set(records.map((record) => record.messageId));
  expect(result.batchItemFailures.length).toBeGreaterThan(0);
  for (const failure of result.batchItemFailures) {
    expect(failure.itemIdentifier).toMatch(/\S/);
    expect(known.has(failure.itemIdentifier)).toBe(true);
  }
  expect(new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier)).size).toBe(
    result.batchItemFailures.length,
  );
  expect(target.received).toHaveLength(0);
});

it('does not send again a duplicate record of a delivery already delivered', async () => {
  // Prepare: deliver once, then the same message comes back (SQS at-least-once, or a redrive).
  const { worker, store, queue, endpoint } = setup();
  const message = deliveryMessage(endpoint);
  await worker.processBatch([sqsRecord(message)]);
  expect(target.received).toHaveLength(1);
  const duplicate = sqsRecord(message, { receiveCount: 1 });

  // Act
  const result = await worker.processBatch([duplicate]);

  // Assess
  expect(result.batchItemFailures).toEqual([]);
  expect(target.received).toHaveLength(1);
  expect(store.outcomes).toHaveLength(1);
  expect(queue.deadLettered).toEqual([]);
  expect(queue.deferred).toEqual([]);
});
