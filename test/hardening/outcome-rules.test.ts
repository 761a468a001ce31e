/**
 * The worker's outcome rules, with a clock and failures injected (fakes that keep the store's
 * conditions): a failure never overwrites `delivered` (the losing copy is a counted duplicate),
 * a visibility timeout keeps a margin from the receive and a refused one is retried smaller,
 * records and logs carry our words rather than an exception's text, and event checks hand an
 * event left accepted to the sweep. No request leaves the process: the sender is a stub.
 */
import { describe, expect, it } from 'vitest';
import type { HttpAnswer } from '../../lambdas/adapters/http-sender.ts';
import type { DeliveryRecord, EventRecord } from '../../lambdas/adapters/store.ts';
import { SHORT_WAIT_MAX_SECONDS, SQS_MAX_VISIBILITY_SECONDS } from '../../lambdas/core/config.ts';
import { encodeEventCheck } from '../../lambdas/core/payload.ts';
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

/** A sender that answers every request with `statusCode`, and counts them. */
function stubSender(statusCode: number) {
  const sent: string[] = [];
  return {
    sent,
    post: async (url: string): Promise<HttpAnswer> => {
      sent.push(url);
      return { statusCode, excerpt: statusCode >= 400 ? 'receiver says no' : '', durationMs: 3 };
    },
  };
}

/** A store whose first read of a delivery is stale: another copy delivered it meanwhile. */
class StaleReadStore extends FakeStore {
  override getDelivery = async (): Promise<DeliveryRecord | undefined> => undefined;
}

function worker(
  options: {
    store?: FakeStore;
    status?: number;
    queue?: FakeQueue;
    policy?: { scheduleSeconds: number[]; maxAttempts: number };
    now?: () => number;
    secrets?: FakeSecrets;
  } = {},
) {
  const store = options.store ?? new FakeStore();
  const secrets = options.secrets ?? new FakeSecrets();
  const queue = options.queue ?? new FakeQueue();
  const logger = new MemoryLogger();
  const sender = stubSender(options.status ?? 200);
  const endpoint = seedEndpoint(store, secrets, 'https://receiver.example/hook');
  const metrics: string[] = [];
  const instance = new DeliveryWorker({
    store,
    secrets,
    sender,
    queue,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/outcomes',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/outcomes-dlq',
    policy: options.policy ?? { scheduleSeconds: [30], maxAttempts: 3 },
    logger,
    random: () => 0.5,
    metric: (name, _unit, value) => {
      for (let n = 0; n < value; n++) metrics.push(name);
    },
    ...(options.now ? { now: options.now } : {}),
  });
  return { worker: instance, store, secrets, queue, logger, sender, endpoint, metrics };
}

function delivered(message: ReturnType<typeof deliveryMessage>): DeliveryRecord {
  return {
    endpointId: message.endpointId,
    id: message.deliveryId,
    eventId: message.eventId,
    eventType: message.eventType,
    status: 'delivered',
    attempts: 1,
    createdAtMs: message.createdAtMs,
    deliveredAt: '2026-12-01T00:00:00.000Z',
  };
}

describe('a failure never overwrites delivered', () => {
  it('the copy that got a 503 after the other copy delivered ends as a counted duplicate, not a retry', async () => {
    // Prepare
    const setup = worker({ store: new StaleReadStore(), status: 503 });
    const message = deliveryMessage(setup.endpoint);
    setup.store.deliveries.set(message.deliveryId, delivered(message));

    // Act
    const result = await setup.worker.processBatch([sqsRecord(message)]);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(setup.store.deliveries.get(message.deliveryId)).toMatchObject({
      status: 'delivered',
      attempts: 1,
    });
    expect(setup.store.attempts).toEqual([]);
    expect(setup.metrics).toContain('DuplicateSuppressed');
    expect(setup.metrics).not.toContain('DeliveryFailed');
  });

  it('nor does a dead outcome: the budget-spent copy parks nothing in the DLQ', async () => {
    // Prepare
    const setup = worker({ store: new StaleReadStore(), status: 503 });
    const message = deliveryMessage(setup.endpoint);
    setup.store.deliveries.set(message.deliveryId, delivered(message));

    // Act
    const result = await setup.worker.processBatch([sqsRecord(message, { receiveCount: 3 })]);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(setup.queue.deadLettered).toEqual([]);
    expect(setup.store.deliveries.get(message.deliveryId)?.status).toBe('delivered');
    expect(setup.metrics).not.toContain('DeliveryDead');
  });

  it('a success clears failingSince and an open circuit whatever the streak', async () => {
    // Prepare
    const setup = worker();
    setup.store.endpoints.set(setup.endpoint.id, {
      ...setup.endpoint,
      failureStreak: 0,
      failingSince: '2026-11-01T00:00:00.000Z',
    });
    const message = deliveryMessage(setup.endpoint);

    // Act
    await setup.worker.processBatch([sqsRecord(message)]);

    // Assess
    const endpoint = setup.store.endpoints.get(setup.endpoint.id);
    expect(endpoint?.failingSince).toBeUndefined();
    expect(endpoint?.failureStreak).toBe(0);
  });
});

describe('visibility timeouts', () => {
  it('a wait over the short-wait window leaves the queue: no visibility change, the record waits in byWait', async () => {
    // Prepare: a 12-hour delay.
    const now = Date.parse('2026-12-01T00:00:00.000Z');
    const setup = worker({
      status: 500,
      policy: { scheduleSeconds: [SQS_MAX_VISIBILITY_SECONDS], maxAttempts: 3 },
      now: () => now,
    });
    const message = deliveryMessage(setup.endpoint);

    // Act
    const result = await setup.worker.processBatch([sqsRecord(message)]);

    // Assess: the message is deleted (not a batch failure, not hidden), and the record is due
    // at its time, where the sweep finds it.
    expect(result.batchItemFailures).toEqual([]);
    expect(setup.queue.deferred).toEqual([]);
    const record = setup.store.deliveries.get(message.deliveryId);
    expect(record).toMatchObject({ status: 'failed', waitKey: 'due' });
    const dueAt = Number(record?.waitAt);
    expect(new Date(dueAt).toISOString()).toBe(record?.nextAttemptAt);
    expect(dueAt - now).toBeGreaterThan((SQS_MAX_VISIBILITY_SECONDS - 2) * 1000);
  });

  it('a wait within the short-wait window stays in the queue as the visibility timeout', async () => {
    const now = Date.parse('2026-12-01T00:00:00.000Z');
    const setup = worker({
      status: 500,
      policy: { scheduleSeconds: [SHORT_WAIT_MAX_SECONDS], maxAttempts: 3 },
      now: () => now,
    });
    const message = deliveryMessage(setup.endpoint);
    const record = sqsRecord(message);

    const result = await setup.worker.processBatch([record]);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(setup.queue.deferred).toEqual([
      { receiptHandle: record.receiptHandle, seconds: SHORT_WAIT_MAX_SECONDS },
    ]);
    expect(setup.store.deliveries.get(message.deliveryId)?.waitKey).toBeUndefined();
  });

  it('a refused ChangeMessageVisibility is retried with a smaller value, and the record says the time set', async () => {
    // Prepare: SQS refuses anything over 100 s (as it does past its cap from the real receive).
    const queue = new FakeQueue();
    const tried: number[] = [];
    queue.defer = async (receiptHandle, seconds) => {
      tried.push(seconds);
      if (seconds > 100) {
        throw Object.assign(new Error('Value 400 for parameter VisibilityTimeout is invalid'), {
          name: 'InvalidParameterValue',
        });
      }
      queue.deferred.push({ receiptHandle, seconds });
    };
    const now = Date.parse('2026-12-01T00:00:00.000Z');
    const setup = worker({
      status: 500,
      queue,
      policy: { scheduleSeconds: [400], maxAttempts: 3 },
      now: () => now,
    });
    const message = deliveryMessage(setup.endpoint);

    // Act
    const result = await setup.worker.processBatch([sqsRecord(message)]);

    // Assess
    expect(tried).toEqual([400, 200, 100]);
    expect(result.batchItemFailures).toHaveLength(1);
    expect(setup.store.deliveries.get(message.deliveryId)?.nextAttemptAt).toBe(
      new Date(now + 100_000).toISOString(),
    );
  });
});

describe('our words only', () => {
  it('a secret that is not JSON puts none of its text in the attempt record or the logs', async () => {
    // Prepare: the parse error quotes the secret, as JSON.parse's message does.
    const secrets = new FakeSecrets();
    const setup = worker({ status: 200, secrets });
    secrets.get = async () => {
      throw new SyntaxError('Unexpected token \'w\', "whsec_MfKQ9sLx" is not valid JSON');
    };
    const message = deliveryMessage(setup.endpoint);

    // Act
    await setup.worker.processBatch([sqsRecord(message)]);

    // Assess
    const record = setup.store.deliveries.get(message.deliveryId);
    expect(record?.lastAttempt?.error).toBe('secret_unavailable: signing secret unreadable (SyntaxError)');
    expect(JSON.stringify(setup.store.attempts)).not.toContain('whsec_');
    expect(JSON.stringify(setup.logger.lines)).not.toContain('whsec_');
    expect(setup.sender.sent).toEqual([]);
  });

  it('an AWS error message (with ARNs and the account id) reaches neither the logs nor the records', async () => {
    // Prepare
    const setup = worker();
    const arnText = 'User: arn:aws:sts::123456789012:assumed-role/x is not authorized';
    setup.store.getEndpoint = async () => {
      throw Object.assign(new Error(arnText), { name: 'AccessDeniedException' });
    };
    const message = deliveryMessage(setup.endpoint);

    // Act
    const result = await setup.worker.processBatch([sqsRecord(message)]);

    // Assess
    expect(result.batchItemFailures).toHaveLength(1);
    const logged = JSON.stringify(setup.logger.lines);
    expect(logged).toContain('AccessDeniedException');
    expect(logged).not.toContain('123456789012');
    expect(JSON.stringify([...setup.store.deliveries.values()])).not.toContain('123456789012');
  });
});

describe('event checks', () => {
  const event = (extra: Partial<EventRecord>): EventRecord => ({
    id: 'msg_01M8SX9XQXB3Y23AEG93FYGENV',
    type: 'check.test',
    createdAtMs: Date.parse('2026-12-01T00:00:00.000Z'),
    endpointIds: [],
    fingerprint: 'f',
    body: '{}',
    ...extra,
  });
  const now = Date.parse('2026-12-01T00:01:00.000Z');

  it('hand an event still accepted after its lease to the sweep', async () => {
    const setup = worker({ now: () => now });
    setup.store.events.set(
      'msg_01M8SX9XQXB3Y23AEG93FYGENV',
      event({ state: 'accepted', leaseUntilMs: now - 1 }),
    );

    const result = await setup.worker.processBatch([
      sqsRecord(encodeEventCheck('msg_01M8SX9XQXB3Y23AEG93FYGENV')),
    ]);

    expect(result.batchItemFailures).toEqual([]);
    expect(setup.store.releasedEvents).toEqual(['msg_01M8SX9XQXB3Y23AEG93FYGENV']);
    expect(setup.store.events.get('msg_01M8SX9XQXB3Y23AEG93FYGENV')).toMatchObject({
      sweepShard: 'accepted',
    });
  });

  it('look again after the lease of an event still held, and leave a queued one alone', async () => {
    const setup = worker({ now: () => now });
    setup.store.events.set(
      'msg_01M8SX9XQXB3Y23AEG93FYGENV',
      event({ state: 'accepted', leaseUntilMs: now + 5_000 }),
    );
    setup.store.events.set('msg_01M8SX9XQXB3Y23AEG93FYGEN0', {
      ...event({ state: 'queued' }),
      id: 'msg_01M8SX9XQXB3Y23AEG93FYGEN0',
    });

    const held = sqsRecord(encodeEventCheck('msg_01M8SX9XQXB3Y23AEG93FYGENV'));
    const result = await setup.worker.processBatch([
      held,
      sqsRecord(encodeEventCheck('msg_01M8SX9XQXB3Y23AEG93FYGEN0')),
    ]);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: held.messageId }]);
    expect(setup.queue.deferred).toEqual([{ receiptHandle: held.receiptHandle, seconds: 6 }]);
    expect(setup.store.releasedEvents).toEqual([]);
    expect(setup.sender.sent).toEqual([]);
  });
});
