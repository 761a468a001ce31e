/**
 * The delivery worker (lambdas/delivery/worker.ts) on the store fakes: the optional keys of what
 * it stores, logs and publishes (present when known, absent otherwise, never `undefined`), the
 * operational event log (recorded before publishing, a duplicate not published again), events
 * handed over by the API, and the endings the first mutation run left untested
 * (docs/mutation-testing.md, "lambdas/delivery: worker and handler").
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HttpAnswer } from '../../lambdas/adapters/http-sender.ts';
import type { EndpointTransitions } from '../../lambdas/adapters/store/endpoint-transitions.ts';
import { SLOW_ANSWER_MS } from '../../lambdas/core/config.ts';
import { DeliveryError } from '../../lambdas/core/errors.ts';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import {
  OPERATIONAL_EVENTS_UNRECORDED_METRIC,
  type OperationalEvent,
  operationalEvent,
} from '../../lambdas/core/operational-events.ts';
import {
  buildWebhookBody,
  type DeliveryMessage,
  encodeMessage,
  encodeOperationalEvent,
  encodeRelease,
} from '../../lambdas/core/payload.ts';
import type { EndpointRecord } from '../../lambdas/core/records.ts';
import { DeliveryWorker, type WorkerDeps } from '../../lambdas/delivery/worker.ts';
import { FakeQueue, FakeSecrets, FakeStore, MemoryLogger } from '../hardening/fakes.ts';

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

interface Options {
  answer?: HttpAnswer | Error | (() => HttpAnswer);
  endpoint?: Partial<EndpointRecord>;
  policy?: { scheduleSeconds: number[]; maxAttempts: number };
  extra?: Partial<WorkerDeps>;
}

function setup(options: Options = {}) {
  const store = new FakeStore();
  const secrets = new FakeSecrets();
  const queue = new FakeQueue();
  const logger = new MemoryLogger();
  const published: OperationalEvent[] = [];
  const metrics: Array<{ name: string; value: number }> = [];
  const endpoint: EndpointRecord = {
    id: 'ep_keys1',
    tenantId: 'tenant-a',
    url: 'https://receiver.example/hook',
    enabled: true,
    secretName: 'test/endpoints/ep_keys1',
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
      post: async () => {
        if (answer instanceof Error) throw answer;
        return typeof answer === 'function' ? answer() : answer;
      },
    },
    queue,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/keys',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/keys-dlq',
    policy: options.policy ?? { scheduleSeconds: [30, 60], maxAttempts: 3 },
    breaker: { failureThreshold: 3, openSeconds: 60, disableAfterSeconds: 3600 },
    logger,
    now: () => T0,
    random: () => 0.5,
    operationalEvents: { publish: async (event) => void published.push(event) },
    metric: (name, _unit, value) => metrics.push({ name, value }),
    ...options.extra,
  });
  const of = (type: string) => published.filter((e) => e.detailType === type).map((e) => e.detail);
  const counted = (name: string) =>
    metrics.filter((m) => m.name === name).reduce((sum, m) => sum + m.value, 0);
  return { worker, store, queue, logger, published, of, counted, endpoint };
}

function message(endpointId: string, extra: Partial<DeliveryMessage> = {}): DeliveryMessage {
  const createdAtMs = T0 - 5000;
  const eventId = newEventId(createdAtMs);
  return {
    deliveryId: deliveryId(eventId, endpointId, createdAtMs),
    eventId,
    endpointId,
    eventType: 'order.created',
    createdAtMs,
    body: buildWebhookBody('order.created', createdAtMs, { n: 1 }),
    ...extra,
  };
}

let counter = 0;
function record(body: string, attributes?: Record<string, string>): SQSRecord {
  counter++;
  return {
    messageId: `keys-${counter}`,
    receiptHandle: `rh-keys-${counter}`,
    body,
    ...(attributes ? { attributes } : {}),
  } as unknown as SQSRecord;
}

const answered = (statusCode: number): HttpAnswer => ({ statusCode, excerpt: 'no', durationMs: 20 });

describe('optional keys are left out when the message or the attempt has no value', () => {
  it('a record with no attributes at all is received once; the ids on its lines name no tracking id or tenant', async () => {
    const t = setup();
    const m = message(t.endpoint.id);
    await t.worker.processBatch([record(encodeMessage(m))]);
    const line = t.logger.lines.find((l) => l.message === 'delivered');
    expect(line?.extra).toMatchObject({ receiveCount: 1 });
    expect(Object.keys(line?.extra ?? {})).not.toContain('trackingId');
    expect(Object.keys(line?.extra ?? {})).not.toContain('tenantId');
  });

  it("the outcome names the message's tenant and tracking id when it has them, and nothing when not", async () => {
    const t = setup({ answer: answered(503) });
    const withKeys = message(t.endpoint.id, { tenantId: 'tenant-a', trackingId: 'trk-9' });
    const without = message(t.endpoint.id);
    await t.worker.processBatch([record(encodeMessage(withKeys)), record(encodeMessage(without))]);
    const [first, second] = t.store.outcomes as unknown as Array<Record<string, unknown>>;
    expect(first).toMatchObject({ id: withKeys.deliveryId, tenantId: 'tenant-a', trackingId: 'trk-9' });
    expect(second?.id).toBe(without.deliveryId);
    for (const key of ['tenantId', 'trackingId', 'dueAtMs'])
      expect(Object.keys(second ?? {})).not.toContain(key);
  });

  it('a dead delivery without a status code or tracking id: its event has no such keys', async () => {
    const t = setup({ answer: new DeliveryError('blocked_address', 'the address is not public', false) });
    await t.worker.processBatch([record(encodeMessage(message(t.endpoint.id)))]);
    const [dead] = t.of('delivery.dead');
    expect(dead).toMatchObject({
      cause: 'not_retryable',
      lastError: 'blocked_address: the address is not public',
    });
    expect(Object.keys(dead ?? {})).not.toContain('lastStatusCode');
    expect(Object.keys(dead ?? {})).not.toContain('trackingId');
  });

  it('the circuit opened by a slow success names its status code and no error (it had none)', async () => {
    const t = setup({
      answer: { statusCode: 200, excerpt: 'ok', durationMs: SLOW_ANSWER_MS + 1 },
      endpoint: { failureStreak: 2 },
    });
    await t.worker.processBatch([record(encodeMessage(message(t.endpoint.id)))]);
    const [opened] = t.of('endpoint.circuit_opened');
    expect(opened).toMatchObject({ failureStreak: 3, lastStatusCode: 200 });
    expect(Object.keys(opened ?? {})).not.toContain('lastError');
  });

  it('the circuit opened by a 503 names its status code and error; by a thrown send, no status code', async () => {
    const byAnswer = setup({ answer: answered(503), endpoint: { failureStreak: 2 } });
    await byAnswer.worker.processBatch([record(encodeMessage(message(byAnswer.endpoint.id)))]);
    const [opened] = byAnswer.of('endpoint.circuit_opened');
    expect(opened).toMatchObject({ failureStreak: 3, lastStatusCode: 503 });
    expect(opened).toHaveProperty('lastError');

    const bySend = setup({
      answer: new DeliveryError('timeout', 'no answer in time', true),
      endpoint: { failureStreak: 2 },
    });
    await bySend.worker.processBatch([record(encodeMessage(message(bySend.endpoint.id)))]);
    const [thrown] = bySend.of('endpoint.circuit_opened');
    expect(thrown).toMatchObject({ failureStreak: 3, lastError: 'timeout: no answer in time' });
    expect(Object.keys(thrown ?? {})).not.toContain('lastStatusCode');
  });
});

describe('dead deliveries', () => {
  it('not retryable: the endpoint stays enabled (only a 410 disables it)', async () => {
    const t = setup({ answer: new DeliveryError('blocked_address', 'the address is not public', false) });
    await t.worker.processBatch([record(encodeMessage(message(t.endpoint.id)))]);
    expect(t.store.endpoints.get(t.endpoint.id)?.enabled).toBe(true);
    expect(t.of('endpoint.disabled')).toEqual([]);
  });

  it('a disabled endpoint: dead with the reason it was disabled for (not as deleted)', async () => {
    const t = setup({ endpoint: { enabled: false, disabledReason: 'manual' } });
    const m = message(t.endpoint.id);
    await t.worker.processBatch([record(encodeMessage(m))]);
    expect(t.store.deliveries.get(m.deliveryId)?.lastAttempt?.error).toBe(
      'endpoint_unavailable: endpoint is disabled (manual)',
    );
  });

  it('budget spent on a copy another delivered meanwhile: nothing counted against the endpoint, nothing logged as dead', async () => {
    const t = setup({ answer: answered(503), policy: { scheduleSeconds: [30], maxAttempts: 1 } });
    const m = message(t.endpoint.id);
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
    const response = await t.worker.processBatch([record(encodeMessage(m))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBeUndefined();
    expect(t.counted('DeliveryFailed')).toBe(0);
    expect(t.queue.deadLettered).toEqual([]);
    expect(t.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(t.published).toEqual([]);
  });
});

describe('recoveries', () => {
  it('a run whose streak reached exactly the threshold (no open-circuit time) is a recovery', async () => {
    const transitions: EndpointTransitions = {
      disableIfEnabled: async () => undefined,
      endFailureRun: async (endpoint) => ({ ...(endpoint as EndpointRecord), failureStreak: 3 }),
    };
    const t = setup({
      endpoint: { failingSince: iso(T0 - 60_000) },
      extra: { endpointTransitions: transitions },
    });
    await t.worker.processBatch([record(encodeMessage(message(t.endpoint.id)))]);
    expect(t.of('endpoint.recovered')).toMatchObject([{ failureStreak: 3 }]);
  });

  it("the store's own transition: a streak raised to the threshold during the send (no start, no open time) is a run that opened the circuit", async () => {
    let t: ReturnType<typeof setup> | undefined;
    t = setup({
      endpoint: { failingSince: iso(T0 - 60_000) },
      answer: () => {
        // Other workers' failures meanwhile; their record carries the streak alone.
        const current = t?.store.endpoints.get('ep_keys1') as EndpointRecord;
        const { failingSince: _start, ...rest } = current;
        t?.store.endpoints.set(current.id, { ...rest, failureStreak: 3 });
        return { statusCode: 200, excerpt: 'ok', durationMs: 12 };
      },
    });
    await t.worker.processBatch([record(encodeMessage(message(t.endpoint.id)))]);
    expect(t.of('endpoint.recovered')).toMatchObject([{ failureStreak: 3 }]);
    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak ?? 0).toBe(0);
  });
});

describe('the operational event log', () => {
  const dlq = (): OperationalEvent =>
    operationalEvent('dlq.redriven', { occurredAt: iso(T0), mode: 'copied', approximateMessages: 2 });

  function logged(answer: (id: string) => Promise<boolean>) {
    const recorded: string[] = [];
    const copied: Array<{ id: string; type: string }> = [];
    const t = setup({
      answer: answered(410),
      extra: {
        operationalEventLog: {
          recordOperationalEvent: async (id, event) => {
            recorded.push(`${id} ${event.detailType}`);
            return answer(id);
          },
        },
        operatorCopy: { copy: async (id, event) => void copied.push({ id, type: event.detailType }) },
      },
    });
    return { t, recorded, copied };
  }

  it('an event handed over by the API is recorded under its own id, published and copied', async () => {
    const { t, recorded, copied } = logged(async () => true);
    const event = dlq();
    const response = await t.worker.processBatch([record(encodeOperationalEvent('oev_handed1', event))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(recorded).toEqual(['oev_handed1 dlq.redriven']);
    expect(t.published).toEqual([event]);
    expect(copied).toEqual([{ id: 'oev_handed1', type: 'dlq.redriven' }]);
    expect(t.store.outcomes).toEqual([]);
  });

  it('one already recorded is not published or copied again, and says so', async () => {
    const { t, copied } = logged(async () => false);
    await t.worker.processBatch([record(encodeOperationalEvent('oev_handed2', dlq()))]);
    expect(t.published).toEqual([]);
    expect(copied).toEqual([]);
    expect(t.logger.lines).toContainEqual({
      level: 'info',
      message: 'operational event already recorded; not published again',
      extra: { operationalEventId: 'oev_handed2', detailType: 'dlq.redriven' },
    });
  });

  it('one that cannot be recorded is still published and copied, the miss counted and warned by error name', async () => {
    const { t, copied } = logged(async () => {
      throw Object.assign(new Error('table text'), { name: 'ProvisionedThroughputExceededException' });
    });
    await t.worker.processBatch([record(encodeOperationalEvent('oev_handed3', dlq()))]);
    expect(t.published.map((e) => e.detailType)).toEqual(['dlq.redriven']);
    expect(copied).toEqual([{ id: 'oev_handed3', type: 'dlq.redriven' }]);
    expect(t.counted(OPERATIONAL_EVENTS_UNRECORDED_METRIC)).toBe(1);
    expect(t.logger.lines).toContainEqual({
      level: 'warn',
      message: 'operational event not recorded',
      extra: {
        operationalEventId: 'oev_handed3',
        detailType: 'dlq.redriven',
        error: 'ProvisionedThroughputExceededException',
      },
    });
  });

  it("the worker's own events (a 410) are recorded under new ids, then published", async () => {
    const { t, recorded } = logged(async () => true);
    await t.worker.processBatch([record(encodeMessage(message(t.endpoint.id)))]);
    expect(recorded.map((line) => line.split(' ')[1])).toEqual(['endpoint.disabled', 'delivery.dead']);
    for (const line of recorded) expect(line).toMatch(/^oev_[0-9A-Z]{26} /);
    expect(t.published.map((e) => e.detailType)).toEqual(['endpoint.disabled', 'delivery.dead']);
  });
});

describe('a release of the backlog', () => {
  it("sends each held delivery with its event's tenant and tracking id, and none when the event has none", async () => {
    const t = setup();
    const withKeys = message(t.endpoint.id);
    const without = message(t.endpoint.id);
    for (const [m, keys] of [
      [withKeys, { tenantId: 'tenant-a', trackingId: 'trk-held' }],
      [without, {}],
    ] as const) {
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
      t.store.events.set(m.eventId, {
        id: m.eventId,
        type: m.eventType,
        createdAtMs: m.createdAtMs,
        endpointIds: [m.endpointId],
        fingerprint: 'f',
        body: m.body,
        ...keys,
      });
    }
    await t.store.markBacklog(t.endpoint.id);
    await t.worker.processBatch([record(encodeRelease(t.endpoint.id))]);
    const sent = new Map(t.queue.sent.map(({ message: m }) => [m.deliveryId, m]));
    expect(sent.get(withKeys.deliveryId)).toMatchObject({ tenantId: 'tenant-a', trackingId: 'trk-held' });
    expect(Object.keys(sent.get(without.deliveryId) ?? {})).not.toContain('tenantId');
    expect(Object.keys(sent.get(without.deliveryId) ?? {})).not.toContain('trackingId');
  });
});
