/**
 * The delivery worker (lambdas/delivery/worker.ts) on the store fakes that keep the store's
 * conditions (test/hardening/fakes.ts), with a fixed clock, a stub sender and an in-memory event
 * publisher: what is stored, sent, queued, logged, counted and published for each way a record
 * ends, and what the SQS batch response says. Written against the mutants Stryker left alive
 * (docs/mutation-testing.md, "lambdas/delivery").
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HttpAnswer } from '../../lambdas/adapters/http-sender.ts';
import type { EndpointTransitions } from '../../lambdas/adapters/store/endpoint-transitions.ts';
import type { BreakerPolicy } from '../../lambdas/core/config.ts';
import { DeliveryError } from '../../lambdas/core/errors.ts';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import {
  type OperationalEvent,
  type OperationalEventPublisher,
  validateOperationalEvent,
} from '../../lambdas/core/operational-events.ts';
import {
  buildWebhookBody,
  type DeliveryMessage,
  encodeEventCheck,
  encodeMessage,
  encodeRelease,
} from '../../lambdas/core/payload.ts';
import type { DeliveryRecord, EndpointRecord } from '../../lambdas/core/records.ts';
import { DeliveryWorker, type WorkerDeps } from '../../lambdas/delivery/worker.ts';
import { FakeQueue, FakeSecrets, FakeStore, MemoryLogger } from '../hardening/fakes.ts';

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const NOT_RETRYABLE = new DeliveryError('blocked_address', 'the address is not public', false);
const BREAKER: BreakerPolicy = { failureThreshold: 3, openSeconds: 60, disableAfterSeconds: 3600 };

type Answer = HttpAnswer | Error | ((url: string) => HttpAnswer | Promise<HttpAnswer>);

/** Keeps every event, in order. */
class Events implements OperationalEventPublisher {
  readonly events: OperationalEvent[] = [];
  async publish(event: OperationalEvent): Promise<void> {
    this.events.push(event);
  }
  of(type: string) {
    return this.events.filter((event) => event.detailType === type).map((event) => event.detail);
  }
}

interface Options {
  answer?: Answer;
  endpoint?: Partial<EndpointRecord>;
  policy?: { scheduleSeconds: number[]; maxAttempts: number };
  breaker?: BreakerPolicy;
  isolation?: WorkerDeps['isolation'];
  store?: FakeStore;
  queue?: FakeQueue;
  transitions?: EndpointTransitions;
  events?: boolean;
  metric?: boolean;
}

function setup(options: Options = {}) {
  const clock = { now: T0 };
  const store = options.store ?? new FakeStore();
  const secrets = new FakeSecrets();
  const queue = options.queue ?? new FakeQueue();
  const logger = new MemoryLogger();
  const events = new Events();
  const metrics: Array<{ name: string; unit: string; value: number }> = [];
  const sent: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const endpoint: EndpointRecord = {
    id: 'ep_mutants1',
    tenantId: 'tenant-a',
    url: 'https://receiver.example/hook',
    enabled: true,
    secretName: 'test/endpoints/ep_mutants1',
    createdAt: iso(T0 - 86_400_000),
    updatedAt: iso(T0 - 86_400_000),
    ...options.endpoint,
  };
  store.addEndpoint(endpoint);
  secrets.secrets.set(endpoint.secretName, { current: `whsec_${Buffer.alloc(24, 7).toString('base64')}` });
  const answer = options.answer ?? { statusCode: 200, excerpt: 'ok', durationMs: 12 };
  const worker = new DeliveryWorker({
    store,
    secrets,
    sender: {
      post: async (url, headers, body) => {
        sent.push({ url, headers, body });
        if (answer instanceof Error) throw answer;
        return typeof answer === 'function' ? answer(url) : answer;
      },
    },
    queue,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/mutants',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/mutants-dlq',
    policy: options.policy ?? { scheduleSeconds: [30, 60], maxAttempts: 3 },
    breaker: options.breaker ?? BREAKER,
    logger,
    now: () => clock.now,
    random: () => 0.5,
    ...(options.isolation ? { isolation: options.isolation } : {}),
    ...(options.transitions ? { endpointTransitions: options.transitions } : {}),
    ...(options.events === false ? {} : { operationalEvents: events }),
    ...(options.metric === false
      ? {}
      : { metric: (name: string, unit: string, value: number) => metrics.push({ name, unit, value }) }),
  });
  const counted = (name: string) =>
    metrics.filter((m) => m.name === name && m.unit === 'Count').reduce((sum, m) => sum + m.value, 0);
  return { worker, store, secrets, queue, logger, events, metrics, counted, sent, clock, endpoint };
}

function message(endpoint: { id: string }, extra: Partial<DeliveryMessage> = {}): DeliveryMessage {
  const createdAtMs = T0 - 5000;
  const eventId = newEventId(createdAtMs);
  return {
    deliveryId: deliveryId(eventId, endpoint.id, createdAtMs),
    eventId,
    endpointId: endpoint.id,
    eventType: 'order.created',
    createdAtMs,
    body: buildWebhookBody('order.created', createdAtMs, { n: 1 }),
    ...extra,
  };
}

let counter = 0;
function record(
  body: DeliveryMessage | string,
  extra: { receiveCount?: string; messageId?: string } = {},
): SQSRecord {
  counter++;
  const messageId = extra.messageId ?? `msg-${counter}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : encodeMessage(body),
    attributes: {
      ...(extra.receiveCount !== undefined ? { ApproximateReceiveCount: extra.receiveCount } : {}),
    },
  } as unknown as SQSRecord;
}

const answered = (statusCode: number, extra: Partial<HttpAnswer> = {}): HttpAnswer => ({
  statusCode,
  excerpt: statusCode >= 300 ? 'receiver says no' : 'ok',
  durationMs: 20,
  ...extra,
});

function expectValid(events: Events) {
  for (const event of events.events) {
    expect(validateOperationalEvent(event.detailType, event.detail)).toEqual({ ok: true });
  }
}

describe('the batch response and its metrics', () => {
  it('names only the records to retry, by messageId; counters go out once per batch, summed', async () => {
    const t = setup({ answer: (url) => answered(url.endsWith('fail') ? 503 : 200) });
    const failing: EndpointRecord = {
      ...t.endpoint,
      id: 'ep_mutants2',
      url: 'https://receiver.example/fail',
    };
    t.store.addEndpoint(failing);
    const records = [record(message(t.endpoint)), record(message(failing)), record(message(t.endpoint))];
    const response = await t.worker.processBatch(records);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.messageId }] });
    expect(t.metrics.filter((m) => m.name === 'DeliveryDelivered')).toEqual([
      { name: 'DeliveryDelivered', unit: 'Count', value: 2 },
    ]);
    expect(t.metrics.filter((m) => m.name === 'DeliveryAttempts')).toEqual([
      { name: 'DeliveryAttempts', unit: 'Count', value: 3 },
    ]);
    expect(t.counted('DeliveryFailed')).toBe(1);
  });

  it('a record to retry that has no messageId is not reported (an empty identifier fails the whole batch)', async () => {
    const t = setup({ answer: answered(503) });
    const response = await t.worker.processBatch([record(message(t.endpoint), { messageId: '' })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.queue.deferred).toEqual([{ receiptHandle: 'rh-', seconds: 30 }]);
  });

  it('each answered attempt reports its duration, and each delivery its latency from creation, in milliseconds', async () => {
    const t = setup({ answer: answered(200, { durationMs: 37 }) });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.metrics).toContainEqual({ name: 'AttemptDuration', unit: 'Milliseconds', value: 37 });
    expect(t.metrics).toContainEqual({ name: 'DeliveryLatency', unit: 'Milliseconds', value: 5000 });
  });

  it('a send that failed before an answer reports no attempt duration', async () => {
    const t = setup({ answer: new DeliveryError('timeout', 'no answer in time', true) });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.metrics.map((m) => m.name)).not.toContain('AttemptDuration');
    expect(t.counted('DeliveryAttempts')).toBe(1);
  });

  it('works without a metric sink or an event publisher', async () => {
    const t = setup({ answer: answered(410), metric: false, events: false });
    const response = await t.worker.processBatch([record(message(t.endpoint))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.endpoints.get(t.endpoint.id)?.enabled).toBe(false);
  });

  it('waits for the events of the batch before it answers, and a publisher that rejects breaks nothing', async () => {
    let published = 0;
    const t = setup({ answer: answered(410) });
    const worker = new DeliveryWorker({
      ...(t.worker as unknown as { deps: WorkerDeps }).deps,
      operationalEvents: {
        publish: async () => {
          await Promise.resolve();
          published++;
          throw new Error('publisher broke its promise');
        },
      },
    });
    const response = await worker.processBatch([record(message(t.endpoint))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(published).toBe(2);
  });
});

describe('what is sent', () => {
  it('the message body, signed, to the endpoint URL, with the custom headers under the signature', async () => {
    const t = setup();
    t.secrets.secrets.set(t.endpoint.secretName, {
      current: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
      headers: { 'x-team': 'blue' },
    });
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]?.url).toBe(t.endpoint.url);
    expect(t.sent[0]?.body).toBe(m.body);
    expect(t.sent[0]?.headers).toMatchObject({
      'webhook-id': m.eventId,
      'webhook-timestamp': String(Math.floor(T0 / 1000)),
      'x-team': 'blue',
    });
    expect(t.sent[0]?.headers['webhook-signature']).toMatch(/^v1,/);
  });
});

describe('unexpected failures', () => {
  it('are logged with the record ids (never the error text), the message back in 10 s, reported for retry', async () => {
    const t = setup();
    const m = message(t.endpoint, { trackingId: 'trk-1', tenantId: 'tenant-a' });
    t.store.failGetDeliveryFor = m.deliveryId;
    const r = record(m, { receiveCount: '4' });
    const response = await t.worker.processBatch([r]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: r.messageId }]);
    expect(t.queue.deferred).toEqual([{ receiptHandle: r.receiptHandle, seconds: 10 }]);
    expect(t.logger.lines).toEqual([
      {
        level: 'error',
        message: 'record failed unexpectedly; it will be retried',
        extra: {
          messageId: r.messageId,
          eventId: m.eventId,
          deliveryId: m.deliveryId,
          endpointId: m.endpointId,
          receiveCount: 4,
          trackingId: 'trk-1',
          tenantId: 'tenant-a',
          error: 'Error',
          retryInSeconds: 10,
        },
      },
    ]);
    expect(t.sent).toEqual([]);
  });

  it('a visibility change that fails too still reports the record for retry', async () => {
    const queue = new FakeQueue();
    queue.defer = async () => {
      throw new Error('SQS down');
    };
    const t = setup({ queue });
    const m = message(t.endpoint);
    t.store.failGetDeliveryFor = m.deliveryId;
    const r = record(m);
    expect((await t.worker.processBatch([r])).batchItemFailures).toEqual([{ itemIdentifier: r.messageId }]);
  });
});

describe('poisoned records', () => {
  it('go to the DLQ as they came, counted dead, logged with our words for a bad message', async () => {
    const t = setup();
    const r = record('{"deliveryId":1}');
    const response = await t.worker.processBatch([r]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.queue.deadLettered).toEqual(['{"deliveryId":1}']);
    expect(t.counted('DeliveryDead')).toBe(1);
    expect(t.logger.lines).toHaveLength(1);
    expect(t.logger.lines[0]).toMatchObject({
      level: 'error',
      message: 'poisoned message moved to the dead-letter queue',
      extra: { messageId: r.messageId },
    });
    expect(String(t.logger.lines[0]?.extra.error)).not.toBe('DeliveryError');
  });

  it('a record the store refuses to note is logged by the error name only', async () => {
    const store = new FakeStore();
    store.noteEndpointTenant = () => {
      throw new TypeError('secret detail from somewhere');
    };
    const t = setup({ store });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.logger.lines[0]?.extra.error).toBe('TypeError');
    expect(t.queue.deadLettered).toHaveLength(1);
  });

  it('the message names its tenant to the store before any read', async () => {
    const t = setup();
    await t.worker.processBatch([record(message(t.endpoint, { tenantId: 'tenant-a' }))]);
    expect(t.store.tenantHints.get(t.endpoint.id)).toBe('tenant-a');
  });
});

describe('the ids on every line', () => {
  it('a delivery line carries the ids, the receive count (1 when SQS gives none), and no absent tracking id', async () => {
    const t = setup({ answer: answered(503) });
    const m = message(t.endpoint);
    const r = record(m);
    await t.worker.processBatch([r]);
    const warn = t.logger.lines.find((line) => line.level === 'warn');
    expect(warn?.extra).toEqual({
      eventId: m.eventId,
      deliveryId: m.deliveryId,
      endpointId: m.endpointId,
      messageId: r.messageId,
      receiveCount: 1,
      statusCode: 503,
      error: expect.stringContaining('503'),
      retryInSeconds: 30,
    });
  });

  it('an unreadable receive count is 1', async () => {
    const t = setup({ answer: answered(503) });
    await t.worker.processBatch([record(message(t.endpoint), { receiveCount: 'x' })]);
    expect(t.logger.lines.find((line) => line.level === 'warn')?.extra.receiveCount).toBe(1);
  });

  it('debug, info and error lines carry them too', async () => {
    const t = setup();
    const m = message(t.endpoint, { trackingId: 'trk-2' });
    await t.worker.processBatch([record(m)]);
    expect(t.logger.lines).toEqual([
      expect.objectContaining({
        level: 'debug',
        message: 'delivered',
        extra: {
          eventId: m.eventId,
          deliveryId: m.deliveryId,
          endpointId: m.endpointId,
          messageId: expect.any(String),
          receiveCount: 1,
          trackingId: 'trk-2',
          statusCode: 200,
          durationMs: 12,
        },
      }),
    ]);
    t.store.deliveries.set(m.deliveryId, { ...(t.store.deliveries.get(m.deliveryId) as DeliveryRecord) });
    await t.worker.processBatch([record(m)]);
    expect(t.logger.lines[1]).toMatchObject({
      level: 'info',
      message: 'already delivered; duplicate message dropped',
      extra: { deliveryId: m.deliveryId, trackingId: 'trk-2' },
    });
  });
});

describe('a delivery already delivered', () => {
  it('is dropped without a send, counted as a duplicate', async () => {
    const t = setup();
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    const response = await t.worker.processBatch([record(m)]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.sent).toHaveLength(1);
    expect(t.counted('DuplicateSuppressed')).toBe(1);
    expect(t.store.deliveries.get(m.deliveryId)?.attempts).toBe(1);
  });
});

describe('the endpoint read', () => {
  it('a disabled endpoint in the cache is read again: enabled meanwhile, the delivery is sent', async () => {
    const t = setup();
    t.store.endpoints.set(t.endpoint.id, { ...t.endpoint, enabled: false });
    await t.worker.processBatch([record('{"kind":"release","endpointId":"ep_none"}')]);
    // The worker reads (and caches) the disabled endpoint through a first delivery.
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.sent).toHaveLength(0);
    t.store.endpoints.set(t.endpoint.id, { ...t.endpoint, enabled: true });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.sent).toHaveLength(1);
  });

  it('an enabled endpoint is read from the cache within its lifetime', async () => {
    const t = setup();
    let reads = 0;
    const read = t.store.getEndpoint;
    t.store.getEndpoint = async (id) => {
      reads++;
      return read(id);
    };
    await t.worker.processBatch([record(message(t.endpoint))]);
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(reads).toBe(1);
    expect(t.sent).toHaveLength(2);
  });

  it('a deleted endpoint: dead, with our reason recorded and the message in the DLQ', async () => {
    const t = setup();
    const m = message({ id: 'ep_gone' }, { tenantId: 'tenant-b' });
    const r = record(m);
    await t.worker.processBatch([r]);
    expect(t.store.deliveries.get(m.deliveryId)).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastAttempt: {
        attempt: 1,
        at: iso(T0),
        durationMs: 0,
        error: 'endpoint_unavailable: endpoint was deleted',
      },
    });
    expect(t.store.attempts).toEqual([
      {
        deliveryId: m.deliveryId,
        attempt: {
          attempt: 1,
          at: iso(T0),
          durationMs: 0,
          error: 'endpoint_unavailable: endpoint was deleted',
        },
      },
    ]);
    expect(t.queue.deadLettered).toEqual([r.body]);
    expect(t.events.of('delivery.dead')).toEqual([
      {
        version: 1,
        occurredAt: iso(T0),
        endpointId: 'ep_gone',
        tenantId: 'tenant-b',
        deliveryId: m.deliveryId,
        eventId: m.eventId,
        eventType: 'order.created',
        cause: 'endpoint_unavailable',
        attempts: 1,
        lastError: 'endpoint_unavailable: endpoint was deleted',
      },
    ]);
    expectValid(t.events);
    expect(t.logger.lines.find((line) => line.level === 'warn')).toMatchObject({
      message: 'not sent: endpoint unavailable; parked in the dead-letter queue',
      extra: { error: 'endpoint_unavailable: endpoint was deleted' },
    });
    expect(t.counted('DeliveryDead')).toBe(1);
    expect(t.counted('DeliveryFailed')).toBe(0);
  });

  it('an endpoint unavailable for a copy already delivered elsewhere: nothing parked, nothing published', async () => {
    const t = setup({ endpoint: { enabled: false, disabledReason: 'manual' } });
    const m = message(t.endpoint);
    // The read sees no record; the write finds it delivered.
    const stale = t.store.getDelivery;
    t.store.getDelivery = async () => undefined;
    t.store.deliveries.set(m.deliveryId, {
      endpointId: m.endpointId,
      id: m.deliveryId,
      eventId: m.eventId,
      eventType: m.eventType,
      createdAtMs: m.createdAtMs,
      status: 'delivered',
      attempts: 1,
    });
    const response = await t.worker.processBatch([record(m)]);
    t.store.getDelivery = stale;
    expect(response.batchItemFailures).toEqual([]);
    expect(t.queue.deadLettered).toEqual([]);
    expect(t.events.events).toEqual([]);
    expect(t.counted('DuplicateSuppressed')).toBe(1);
    expect(t.logger.lines.map((line) => line.message)).toContain(
      'not sent: endpoint unavailable; parked in the dead-letter queue',
    );
  });

  it('an event of an endpoint without a tenant, whose message names none, is the default tenant', async () => {
    const t = setup({ answer: NOT_RETRYABLE, endpoint: { tenantId: undefined } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.events.of('delivery.dead')[0]).toMatchObject({ tenantId: 'default', cause: 'not_retryable' });
  });

  it("an endpoint's tenant wins over the message's", async () => {
    const t = setup({ answer: NOT_RETRYABLE });
    await t.worker.processBatch([record(message(t.endpoint, { tenantId: 'other' }))]);
    expect(t.events.of('delivery.dead')[0]).toMatchObject({ tenantId: 'tenant-a' });
  });
});

describe('a failed attempt, retried', () => {
  it('in the queue: hidden for the delay, recorded failed with the time set, the excerpt kept, counted', async () => {
    const t = setup({ answer: answered(503, { excerpt: 'x'.repeat(5000), durationMs: 40 }) });
    const m = message(t.endpoint);
    const r = record(m);
    const response = await t.worker.processBatch([r]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: r.messageId }]);
    expect(t.queue.deferred).toEqual([{ receiptHandle: r.receiptHandle, seconds: 30 }]);
    const stored = t.store.deliveries.get(m.deliveryId);
    expect(stored).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: iso(T0 + 30_000) });
    expect(stored?.waitKey).toBeUndefined();
    expect(stored?.lastAttempt).toEqual({
      attempt: 1,
      at: iso(T0),
      statusCode: 503,
      durationMs: 40,
      error: expect.stringContaining('503'),
      responseExcerpt: 'x'.repeat(4096),
    });
    expect(t.store.attempts[0]?.attempt).toEqual(stored?.lastAttempt);
    expect(t.store.endpoints.get(t.endpoint.id)).toMatchObject({ failureStreak: 1, failingSince: iso(T0) });
    expect(t.counted('DeliveryFailed')).toBe(1);
    expect(t.counted('RetriesOutOfQueue')).toBe(0);
    expect(t.logger.lines.find((line) => line.level === 'warn')?.message).toBe(
      'attempt failed; retry scheduled',
    );
  });

  it('out of the queue: the message deleted, the record waiting in byWait at its time, counted', async () => {
    const t = setup({ answer: answered(503), isolation: { shortWaitMaxSeconds: 10 } });
    const m = message(t.endpoint);
    const response = await t.worker.processBatch([record(m)]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.queue.deferred).toEqual([]);
    expect(t.store.deliveries.get(m.deliveryId)).toMatchObject({
      status: 'failed',
      nextAttemptAt: iso(T0 + 30_000),
      waitKey: 'due',
    });
    expect(t.counted('RetriesOutOfQueue')).toBe(1);
    expect(t.counted('DeliveryFailed')).toBe(1);
    expect(t.logger.lines.find((line) => line.level === 'warn')).toMatchObject({
      message: 'attempt failed; retry scheduled out of the queue',
      extra: { statusCode: 503, retryInSeconds: 30 },
    });
  });

  it('a send that threw: recorded with its own code, no status code, no excerpt, and the time it took', async () => {
    const t = setup({ answer: new DeliveryError('connection_error', 'connection reset', true) });
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    expect(t.store.deliveries.get(m.deliveryId)?.lastAttempt).toEqual({
      attempt: 1,
      at: iso(T0),
      durationMs: 0,
      error: 'connection_error: connection reset',
    });
  });

  it('a send that threw something unexpected: an internal error, retried, named by its error name only', async () => {
    const t = setup({ answer: new RangeError('the secret text') });
    const m = message(t.endpoint);
    const r = record(m);
    const response = await t.worker.processBatch([r]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: r.messageId }]);
    expect(t.store.deliveries.get(m.deliveryId)?.lastAttempt?.error).toBe(
      'internal_error: unexpected error while sending (RangeError)',
    );
  });

  it('an unreadable secret: nothing sent, a retryable secret_unavailable named by the error', async () => {
    const t = setup();
    t.secrets.unreachable = true;
    const m = message(t.endpoint);
    const r = record(m);
    const response = await t.worker.processBatch([r]);
    expect(t.sent).toEqual([]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: r.messageId }]);
    expect(t.store.deliveries.get(m.deliveryId)?.lastAttempt?.error).toBe(
      'secret_unavailable: signing secret unreadable (Error)',
    );
    expect(t.counted('DeliveryAttempts')).toBe(0);
  });

  it('a copy that lost to a delivered one records nothing more and is not retried', async () => {
    const t = setup({ answer: answered(503) });
    const m = message(t.endpoint);
    t.store.getDelivery = async () => undefined;
    t.store.deliveries.set(m.deliveryId, {
      endpointId: m.endpointId,
      id: m.deliveryId,
      eventId: m.eventId,
      eventType: m.eventType,
      createdAtMs: m.createdAtMs,
      status: 'delivered',
      attempts: 1,
    });
    const response = await t.worker.processBatch([record(m)]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.attempts).toEqual([]);
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBeUndefined();
    expect(t.counted('DeliveryFailed')).toBe(0);
    expect(t.logger.lines.map((line) => line.message)).toContain(
      'delivered by another copy meanwhile; this failure is not recorded',
    );
  });
});

describe('a refused visibility change', () => {
  function refusing(refusals: number, name = 'InvalidParameterValue') {
    const queue = new FakeQueue();
    const tried: number[] = [];
    queue.defer = async (_handle, seconds) => {
      tried.push(seconds);
      if (tried.length <= refusals) {
        const error = new Error('refused');
        error.name = name;
        throw error;
      }
    };
    return { queue, tried };
  }

  it('is tried again at half, then half again; the record says the time that was set', async () => {
    const { queue, tried } = refusing(2);
    const t = setup({ answer: answered(503), queue, policy: { scheduleSeconds: [301], maxAttempts: 3 } });
    const m = message(t.endpoint);
    const response = await t.worker.processBatch([record(m)]);
    expect(tried).toEqual([301, 150, 75]);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(t.store.deliveries.get(m.deliveryId)?.nextAttemptAt).toBe(iso(T0 + 75_000));
    expect(
      t.logger.lines.filter((line) => line.message === 'visibility timeout refused; trying a shorter one'),
    ).toEqual([
      expect.objectContaining({ level: 'warn', extra: expect.objectContaining({ refusedSeconds: 301 }) }),
      expect.objectContaining({ level: 'warn', extra: expect.objectContaining({ refusedSeconds: 150 }) }),
    ]);
  });

  it('gives up after three shorter tries: an unexpected failure, the record retried in 10 s, no failure recorded', async () => {
    const { queue, tried } = refusing(10);
    const t = setup({ answer: answered(503), queue, policy: { scheduleSeconds: [800], maxAttempts: 3 } });
    const m = message(t.endpoint);
    const response = await t.worker.processBatch([record(m)]);
    expect(tried).toEqual([800, 400, 200, 100, 10]);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(t.store.deliveries.get(m.deliveryId)).toBeUndefined();
  });

  it('is not tried again below 2 seconds', async () => {
    const { queue, tried } = refusing(10);
    const t = setup({ answer: answered(503), queue, policy: { scheduleSeconds: [2], maxAttempts: 3 } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(tried).toEqual([2, 1, 10]);
  });

  it('nor for another error', async () => {
    const { queue, tried } = refusing(10, 'ThrottlingException');
    const t = setup({ answer: answered(503), queue });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(tried).toEqual([30, 10]);
  });
});

describe('dead', () => {
  it('budget spent: recorded dead with the attempt, in the DLQ, counted, published with the last answer', async () => {
    const t = setup({ answer: answered(503), policy: { scheduleSeconds: [30], maxAttempts: 2 } });
    const m = message(t.endpoint, { trackingId: 'trk-9', tenantId: 'tenant-a' });
    const existing: DeliveryRecord = {
      endpointId: m.endpointId,
      id: m.deliveryId,
      eventId: m.eventId,
      eventType: m.eventType,
      createdAtMs: m.createdAtMs,
      status: 'failed',
      attempts: 1,
      nextAttemptAt: iso(T0),
    };
    t.store.deliveries.set(m.deliveryId, existing);
    const r = record(m);
    const response = await t.worker.processBatch([r]);
    expect(response.batchItemFailures).toEqual([]);
    const stored = t.store.deliveries.get(m.deliveryId);
    expect(stored).toMatchObject({
      status: 'dead',
      attempts: 2,
      lastAttempt: { attempt: 2, statusCode: 503 },
    });
    expect(stored?.nextAttemptAt).toBeUndefined();
    expect(t.store.outcomes.at(-1)).not.toHaveProperty('nextAttemptAt');
    expect(t.store.attempts).toEqual([
      { deliveryId: m.deliveryId, attempt: expect.objectContaining({ attempt: 2 }) },
    ]);
    expect(t.queue.deadLettered).toEqual([r.body]);
    expect(t.queue.deferred).toEqual([]);
    expect(t.counted('DeliveryDead')).toBe(1);
    expect(t.counted('DeliveryFailed')).toBe(1);
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBe(1);
    expect(t.events.of('delivery.dead')).toEqual([
      {
        version: 1,
        occurredAt: iso(T0),
        endpointId: t.endpoint.id,
        tenantId: 'tenant-a',
        deliveryId: m.deliveryId,
        eventId: m.eventId,
        eventType: 'order.created',
        cause: 'budget_spent',
        attempts: 2,
        lastStatusCode: 503,
        lastError: expect.stringContaining('503'),
        trackingId: 'trk-9',
      },
    ]);
    expectValid(t.events);
    expect(t.logger.lines.find((line) => line.level === 'warn')).toMatchObject({
      message: 'attempt budget spent; dead, parked in the dead-letter queue',
      extra: { statusCode: 503, error: expect.stringContaining('503') },
    });
  });

  it('not retryable: dead at once, not counted against the endpoint', async () => {
    const t = setup({ answer: NOT_RETRYABLE });
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    expect(t.store.deliveries.get(m.deliveryId)?.status).toBe('dead');
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBeUndefined();
    expect(t.counted('DeliveryFailed')).toBe(0);
    expect(t.counted('DeliveryDead')).toBe(1);
    expect(t.logger.lines.find((line) => line.level === 'warn')?.message).toBe(
      'not retryable; parked in the dead-letter queue',
    );
  });

  it('410 Gone: the endpoint disabled with its reason, one endpoint.disabled and one delivery.dead', async () => {
    const t = setup({
      answer: answered(410),
      endpoint: { failureStreak: 2, failingSince: iso(T0 - 60_000) },
    });
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    expect(t.store.endpoints.get(t.endpoint.id)).toMatchObject({
      enabled: false,
      disabledReason: 'receiver answered 410 Gone',
      updatedAt: iso(T0),
    });
    expect(t.events.of('endpoint.disabled')).toEqual([
      {
        version: 1,
        occurredAt: iso(T0),
        endpointId: t.endpoint.id,
        tenantId: 'tenant-a',
        reason: 'gone',
        description: 'receiver answered 410 Gone',
        failureStreak: 2,
        failingSince: iso(T0 - 60_000),
        deliveryId: m.deliveryId,
      },
    ]);
    expect(t.events.of('delivery.dead')).toEqual([
      expect.objectContaining({ cause: 'gone', lastStatusCode: 410, attempts: 1 }),
    ]);
    expect(t.events.events.map((event) => event.detailType)).toEqual(['endpoint.disabled', 'delivery.dead']);
    expectValid(t.events);
    const warning = t.logger.lines.find((line) => line.level === 'warn');
    expect(warning?.message).toBe('receiver answered 410 Gone: endpoint disabled, message parked');
    expect(warning?.extra).not.toHaveProperty('statusCode');
    expect(warning?.extra).not.toHaveProperty('error');
    // The next delivery finds the endpoint disabled (the cache was cleared).
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.sent).toHaveLength(1);
  });

  it('410 from an endpoint with no failure run: its disabled event has no streak or start', async () => {
    const t = setup({ answer: answered(410) });
    await t.worker.processBatch([record(message(t.endpoint))]);
    const [disabled] = t.events.of('endpoint.disabled');
    expect(disabled).not.toHaveProperty('failureStreak');
    expect(disabled).not.toHaveProperty('failingSince');
  });

  it('410 on an endpoint another worker disabled first: no endpoint.disabled from this one', async () => {
    const t = setup({
      answer: answered(410),
      transitions: { disableIfEnabled: async () => undefined, endFailureRun: async () => undefined },
    });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.events.of('endpoint.disabled')).toEqual([]);
    expect(t.events.of('delivery.dead')).toHaveLength(1);
  });

  it('a redriven delivery that dies again records its new schedule base', async () => {
    const t = setup({ answer: NOT_RETRYABLE });
    const m = message(t.endpoint);
    t.store.deliveries.set(m.deliveryId, {
      endpointId: m.endpointId,
      id: m.deliveryId,
      eventId: m.eventId,
      eventType: m.eventType,
      createdAtMs: m.createdAtMs,
      status: 'dead',
      attempts: 3,
    });
    await t.worker.processBatch([record(m)]);
    expect(t.store.deliveries.get(m.deliveryId)).toMatchObject({
      status: 'dead',
      attempts: 4,
      scheduleBase: 3,
      redrives: 1,
      lastAttempt: { attempt: 4 },
    });
  });
});

describe('the circuit', () => {
  it('the failure that reaches the threshold opens it and publishes endpoint.circuit_opened once', async () => {
    const t = setup({
      answer: new DeliveryError('timeout', 'no answer', true),
      endpoint: { failureStreak: 1, failingSince: iso(T0 - 30_000) },
    });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.store.endpoints.get(t.endpoint.id)?.circuitOpenUntil).toBeUndefined();
    expect(t.events.events).toEqual([]);
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.store.endpoints.get(t.endpoint.id)).toMatchObject({
      failureStreak: 3,
      circuitOpenUntil: T0 + 60_000,
    });
    expect(t.events.of('endpoint.circuit_opened')).toEqual([
      {
        version: 1,
        occurredAt: iso(T0),
        endpointId: t.endpoint.id,
        tenantId: 'tenant-a',
        failureStreak: 3,
        failingSince: iso(T0 - 30_000),
        openUntil: iso(T0 + 60_000),
        openSeconds: 60,
        lastError: 'timeout: no answer',
      },
    ]);
    expectValid(t.events);
    expect(
      t.logger.lines.find((line) => line.message === "circuit opened: deferring this endpoint's messages"),
    ).toMatchObject({
      level: 'warn',
      extra: { endpointId: t.endpoint.id, failureStreak: 3, openSeconds: 60 },
    });
  });

  it('a failure past the threshold (a failed probe) keeps it open for another spell, with no second event', async () => {
    const t = setup({
      answer: answered(500),
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 30_000), circuitOpenUntil: T0 - 1 },
    });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.sent).toHaveLength(1);
    expect(t.store.endpoints.get(t.endpoint.id)).toMatchObject({
      failureStreak: 4,
      circuitOpenUntil: T0 + 60_000,
    });
    expect(t.events.of('endpoint.circuit_opened')).toEqual([]);
    expect(t.logger.lines.map((line) => line.message)).toContain('circuit half-open: sending one probe');
  });

  it('an open circuit holds the delivery: nothing sent, the endpoint listed, a release queued', async () => {
    const t = setup({
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 30_000), circuitOpenUntil: T0 + 5000 },
    });
    const m = message(t.endpoint);
    const response = await t.worker.processBatch([record(m)]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.sent).toEqual([]);
    expect(t.store.deliveries.get(m.deliveryId)).toMatchObject({
      status: 'pending',
      attempts: 0,
      heldReason: 'circuit_open',
      heldAtMs: T0,
    });
    expect(t.queue.releases).toEqual([{ endpointId: t.endpoint.id, delaySeconds: 0 }]);
    expect(t.counted('HeldCircuitOpen')).toBe(1);
    expect(t.counted('HeldRateLimited')).toBe(0);
    expect(t.logger.lines.at(-1)).toMatchObject({
      level: 'debug',
      message: 'held in the endpoint backlog',
      extra: { reason: 'circuit_open' },
    });
    // Listed already: the next hold queues no second release.
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.queue.releases).toHaveLength(1);
  });

  it('a probe that loses the claim is held; the winner is sent', async () => {
    const t = setup({
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 30_000), circuitOpenUntil: T0 - 1 },
    });
    const response = await t.worker.processBatch([record(message(t.endpoint)), record(message(t.endpoint))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.sent).toHaveLength(1);
    expect(t.counted('HeldCircuitOpen')).toBe(1);
    expect(t.logger.lines.filter((line) => line.message === 'circuit half-open: sending one probe')).toEqual([
      expect.objectContaining({
        level: 'info',
        extra: expect.objectContaining({ endpointId: t.endpoint.id }),
      }),
    ]);
  });

  it("the probe claim moves the circuit's end on from the value seen", async () => {
    const t = setup({
      answer: new DeliveryError('timeout', 'no answer', true),
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 30_000), circuitOpenUntil: T0 - 1 },
    });
    const claims: unknown[][] = [];
    const claim = t.store.claimProbe;
    t.store.claimProbe = async (...args) => {
      claims.push(args);
      return claim(...args);
    };
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(claims).toEqual([[t.endpoint.id, T0 - 1, T0 + 60_000]]);
  });

  it('a success that ends a run which opened the circuit: the run cleared, endpoint.recovered, the backlog released', async () => {
    const t = setup({
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 125_500), circuitOpenUntil: T0 - 1 },
    });
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    const endpoint = t.store.endpoints.get(t.endpoint.id);
    expect(endpoint?.failureStreak).toBe(0);
    expect(endpoint?.failingSince).toBeUndefined();
    expect(endpoint?.circuitOpenUntil).toBeUndefined();
    expect(t.events.of('endpoint.recovered')).toEqual([
      {
        version: 1,
        occurredAt: iso(T0),
        endpointId: t.endpoint.id,
        tenantId: 'tenant-a',
        failureStreak: 3,
        failingSince: iso(T0 - 125_500),
        downSeconds: 125,
        deliveryId: m.deliveryId,
      },
    ]);
    expectValid(t.events);
    expect(t.queue.releases).toEqual([{ endpointId: t.endpoint.id, delaySeconds: 0 }]);
  });

  it('a success after a short run (no circuit opened): the run cleared, no recovered event, no release', async () => {
    const t = setup({ endpoint: { failureStreak: 2, failingSince: iso(T0 - 10_000) } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBe(0);
    expect(t.events.events).toEqual([]);
    expect(t.queue.releases).toEqual([]);
  });

  it('a success on an endpoint whose streak alone reached the threshold (the circuit already cleared) is a recovery', async () => {
    const t = setup({ endpoint: { failureStreak: 3 } });
    const m = message(t.endpoint);
    // Half-open (no circuitOpenUntil): the probe is claimed and succeeds.
    await t.worker.processBatch([record(m)]);
    const [recovered] = t.events.of('endpoint.recovered');
    expect(recovered).toMatchObject({ failureStreak: 3, deliveryId: m.deliveryId });
    expect(recovered).not.toHaveProperty('failingSince');
    expect(recovered).not.toHaveProperty('downSeconds');
  });

  it('a success with only a backlog listed and an open-circuit time releases it', async () => {
    const t = setup({ endpoint: { failureStreak: 1, backlogShard: 'held' } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.queue.releases).toEqual([{ endpointId: t.endpoint.id, delaySeconds: 0 }]);
    expect(t.events.events).toEqual([]);
  });

  it('a success with no trace of a failure run touches nothing', async () => {
    const t = setup({ endpoint: { backlogShard: 'held' } });
    const updates: string[] = [];
    const reset = t.store.resetEndpointFailures;
    t.store.resetEndpointFailures = async (id) => {
      updates.push(id);
      return reset(id);
    };
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(updates).toEqual([]);
    expect(t.queue.releases).toEqual([]);
  });

  it('a failure run that ended on another worker first: no recovered event from this one', async () => {
    const t = setup({
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 30_000), circuitOpenUntil: T0 - 1 },
      transitions: { disableIfEnabled: async () => undefined, endFailureRun: async () => undefined },
    });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.events.of('endpoint.recovered')).toEqual([]);
    // The release still goes: the endpoint takes deliveries again.
    expect(t.queue.releases).toHaveLength(1);
  });

  it('a slow success is delivered, counted slow, and adds to the failure run instead of ending it', async () => {
    const t = setup({ answer: answered(200, { durationMs: 60_000 }), endpoint: { failureStreak: 1 } });
    const m = message(t.endpoint);
    await t.worker.processBatch([record(m)]);
    expect(t.store.deliveries.get(m.deliveryId)?.status).toBe('delivered');
    expect(t.counted('SlowAnswers')).toBe(1);
    expect(t.counted('DeliveryDelivered')).toBe(1);
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBe(2);
  });

  it('after failing for longer than the breaker allows, the endpoint is disabled and endpoint.disabled published', async () => {
    const since = iso(T0 - 3600_000);
    const t = setup({ answer: answered(503), endpoint: { failureStreak: 1, failingSince: since } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    const reason = `failing without a success since ${since}`;
    expect(t.store.endpoints.get(t.endpoint.id)).toMatchObject({ enabled: false, disabledReason: reason });
    expect(t.store.endpoints.get(t.endpoint.id)?.circuitOpenUntil).toBeUndefined();
    expect(t.events.of('endpoint.disabled')).toEqual([
      {
        version: 1,
        occurredAt: iso(T0),
        endpointId: t.endpoint.id,
        tenantId: 'tenant-a',
        reason: 'failing_too_long',
        description: reason,
        failureStreak: 2,
        failingSince: since,
      },
    ]);
    expectValid(t.events);
    expect(
      t.logger.lines.find((line) => line.message === 'endpoint disabled: failing for too long'),
    ).toMatchObject({
      level: 'warn',
      extra: { endpointId: t.endpoint.id, reason },
    });
  });

  it('a failure of a deleted endpoint counts against nothing', async () => {
    const t = setup({ answer: answered(503) });
    const m = message(t.endpoint);
    const read = t.store.getEndpoint;
    let reads = 0;
    // The endpoint is read (and sent to); it is gone by the time the failure is counted.
    t.store.getEndpoint = async (id) => {
      reads++;
      return read(id);
    };
    t.store.addEndpointFailure = async () => undefined;
    await t.worker.processBatch([record(m)]);
    expect(reads).toBeGreaterThan(0);
    expect(t.store.endpointUpdates).toEqual([]);
    expect(t.events.events).toEqual([]);
  });
});

describe('rate-limited endpoints', () => {
  it('hold what the releaser did not send, counted rate-limited, and send what it did', async () => {
    const t = setup({ endpoint: { rateLimit: 2 } });
    const held = message(t.endpoint);
    await t.worker.processBatch([record(held)]);
    expect(t.sent).toEqual([]);
    expect(t.store.deliveries.get(held.deliveryId)).toMatchObject({ heldReason: 'rate_limited' });
    expect(t.counted('HeldRateLimited')).toBe(1);
    await t.worker.processBatch([record(message(t.endpoint, { reason: 'released' }))]);
    await t.worker.processBatch([record(message(t.endpoint, { reason: 'probe' }))]);
    expect(t.sent).toHaveLength(2);
  });

  it('a hold of a delivery another copy delivered meanwhile changes nothing', async () => {
    const t = setup({ endpoint: { rateLimit: 2 } });
    const m = message(t.endpoint);
    t.store.getDelivery = async () => undefined;
    t.store.deliveries.set(m.deliveryId, {
      endpointId: m.endpointId,
      id: m.deliveryId,
      eventId: m.eventId,
      eventType: m.eventType,
      createdAtMs: m.createdAtMs,
      status: 'delivered',
      attempts: 1,
    });
    await t.worker.processBatch([record(m)]);
    expect(t.store.deliveries.get(m.deliveryId)?.status).toBe('delivered');
    expect(t.counted('DuplicateSuppressed')).toBe(1);
    expect(t.counted('HeldRateLimited')).toBe(0);
    expect(t.queue.releases).toEqual([]);
    expect(t.logger.lines.map((line) => line.message)).toContain(
      'delivered by another copy meanwhile; not held',
    );
  });
});

describe('redrives and manual retries', () => {
  const previous = (
    m: DeliveryMessage,
    status: DeliveryRecord['status'],
    attempts: number,
  ): DeliveryRecord => ({
    endpointId: m.endpointId,
    id: m.deliveryId,
    eventId: m.eventId,
    eventType: m.eventType,
    createdAtMs: m.createdAtMs,
    status,
    attempts,
  });

  it('a pending delivery with attempts (queued again by hand) starts a new schedule', async () => {
    const t = setup({ answer: answered(503), policy: { scheduleSeconds: [30, 60], maxAttempts: 2 } });
    const m = message(t.endpoint);
    t.store.deliveries.set(m.deliveryId, previous(m, 'pending', 5));
    const response = await t.worker.processBatch([record(m)]);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(t.store.deliveries.get(m.deliveryId)).toMatchObject({
      status: 'failed',
      attempts: 6,
      scheduleBase: 5,
    });
    expect(t.store.outcomes.at(-1)).toMatchObject({ redrive: true });
  });

  it('a pending delivery with no attempt yet (held, then released) is no redrive', async () => {
    const t = setup({ answer: answered(503) });
    const m = message(t.endpoint);
    t.store.deliveries.set(m.deliveryId, previous(m, 'pending', 0));
    await t.worker.processBatch([record(m)]);
    expect(t.store.outcomes.at(-1)).toMatchObject({ redrive: false });
    expect(t.store.deliveries.get(m.deliveryId)).not.toHaveProperty('scheduleBase');
  });

  it('a failed delivery is no redrive: its schedule goes on from the recorded base', async () => {
    const t = setup({ answer: answered(503), policy: { scheduleSeconds: [30, 60], maxAttempts: 2 } });
    const m = message(t.endpoint);
    t.store.deliveries.set(m.deliveryId, { ...previous(m, 'failed', 5), scheduleBase: 4 });
    await t.worker.processBatch([record(m)]);
    expect(t.store.outcomes.at(-1)).toMatchObject({ redrive: false, status: 'dead' });
    expect(t.store.outcomes.at(-1)).not.toHaveProperty('scheduleBase');
  });

  it('a failed delivery without a base counts from its first attempt', async () => {
    const t = setup({ answer: answered(503), policy: { scheduleSeconds: [30, 60], maxAttempts: 3 } });
    const m = message(t.endpoint);
    t.store.deliveries.set(m.deliveryId, previous(m, 'failed', 1));
    await t.worker.processBatch([record(m)]);
    // Position 2: the second delay of the schedule.
    expect(t.queue.deferred.at(-1)?.seconds).toBe(60);
  });

  it('a redrive on an open circuit is sent at once as the probe', async () => {
    const t = setup({
      endpoint: { failureStreak: 3, failingSince: iso(T0 - 1000), circuitOpenUntil: T0 + 60_000 },
    });
    const m = message(t.endpoint);
    t.store.deliveries.set(m.deliveryId, previous(m, 'dead', 2));
    await t.worker.processBatch([record(m)]);
    expect(t.sent).toHaveLength(1);
    expect(t.store.deliveries.get(m.deliveryId)?.status).toBe('delivered');
  });
});

describe('event checks', () => {
  it('an event still leased comes back one second after its lease', async () => {
    const t = setup();
    t.store.events.set('evt_1', {
      id: 'evt_1',
      state: 'accepted',
      leaseUntilMs: T0 + 2500,
    } as never);
    const r = record(encodeEventCheck('evt_1'));
    const response = await t.worker.processBatch([r]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: r.messageId }]);
    expect(t.queue.deferred).toEqual([{ receiptHandle: r.receiptHandle, seconds: 4 }]);
    expect(t.store.releasedEvents).toEqual([]);
  });

  it('an event whose lease ends now is handed to the sweep, counted and logged', async () => {
    const t = setup();
    t.store.events.set('evt_2', { id: 'evt_2', state: 'accepted', leaseUntilMs: T0 } as never);
    const response = await t.worker.processBatch([record(encodeEventCheck('evt_2'))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.releasedEvents).toEqual(['evt_2']);
    expect(t.store.events.get('evt_2')).toMatchObject({ sweepAfterMs: T0 });
    expect(t.counted('EventsHandedToSweep')).toBe(1);
    expect(t.logger.lines).toEqual([
      {
        level: 'warn',
        message: 'event found accepted but not queued; handed to the sweep',
        extra: { eventId: 'evt_2' },
      },
    ]);
  });

  it('an event without a lease is handed to the sweep; an unknown one is left alone', async () => {
    const t = setup();
    t.store.events.set('evt_3', { id: 'evt_3', state: 'accepted' } as never);
    await t.worker.processBatch([record(encodeEventCheck('evt_3')), record(encodeEventCheck('evt_none'))]);
    expect(t.store.releasedEvents).toEqual(['evt_3']);
    expect(t.counted('EventsHandedToSweep')).toBe(1);
  });
});

describe('release messages', () => {
  it('release the backlog: each delivery sent counted, and logged with the report', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) {
      const m = message(t.endpoint);
      await t.store.holdDelivery(
        {
          endpointId: m.endpointId,
          id: m.deliveryId,
          eventId: m.eventId,
          eventType: m.eventType,
          createdAtMs: m.createdAtMs,
        },
        'rate_limited',
        T0 - 1000,
      );
    }
    await t.store.markBacklog(t.endpoint.id);
    // Held deliveries need their events' bodies to be sent again.
    for (const delivery of t.store.deliveries.values()) {
      t.store.events.set(delivery.eventId, {
        id: delivery.eventId,
        type: delivery.eventType,
        createdAtMs: delivery.createdAtMs,
        body: buildWebhookBody('order.created', delivery.createdAtMs, { n: 1 }),
      } as never);
    }
    const response = await t.worker.processBatch([record(encodeRelease(t.endpoint.id))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.queue.sent).toHaveLength(3);
    expect(t.counted('BacklogReleased')).toBe(3);
    expect(t.logger.lines.find((line) => line.message === 'backlog released')).toMatchObject({
      level: 'info',
      extra: { released: 3 },
    });
  });

  it('a release with nothing held logs nothing and counts nothing', async () => {
    const t = setup();
    await t.worker.processBatch([record(encodeRelease(t.endpoint.id))]);
    expect(t.metrics.filter((m) => m.name === 'BacklogReleased')).toEqual([]);
    expect(t.logger.lines.filter((line) => line.message === 'backlog released')).toEqual([]);
  });
});

describe("the store's own endpoint transitions (no conditional ones given)", () => {
  it('disable: an endpoint an operator disabled while the request was out is not reported disabled again', async () => {
    const store = new FakeStore();
    const t = setup({
      store,
      answer: (url) => {
        const endpoint = [...store.endpoints.values()].find((e) => e.url === url) as EndpointRecord;
        store.endpoints.set(endpoint.id, { ...endpoint, enabled: false, disabledReason: 'manual' });
        return answered(410);
      },
    });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.events.of('endpoint.disabled')).toEqual([]);
    expect(t.events.of('delivery.dead')).toHaveLength(1);
    expect(t.store.endpoints.get(t.endpoint.id)).toMatchObject({
      enabled: false,
      disabledReason: 'receiver answered 410 Gone',
    });
  });

  it('end of a run: a circuit time alone is a run (recovered), a clear endpoint is none', async () => {
    const t = setup({ endpoint: { circuitOpenUntil: T0 - 1 } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.events.of('endpoint.recovered')).toEqual([expect.objectContaining({ failureStreak: 0 })]);
  });

  it('end of a run: a start alone is a run, ended by the success but not reported as a recovery', async () => {
    const t = setup({ endpoint: { failingSince: iso(T0 - 1000) } });
    await t.worker.processBatch([record(message(t.endpoint))]);
    expect(t.store.endpoints.get(t.endpoint.id)?.failingSince).toBeUndefined();
    expect(t.events.events).toEqual([]);
  });
});
