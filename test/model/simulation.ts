/**
 * A model of the delivery pipeline on a virtual clock, driving the real code: the real
 * {@link DeliveryWorker} (one per poller, as Lambda gives each concurrent batch its own
 * environment), the real backlog release and the real sweep (`sendDueRetries`,
 * `releaseBacklogs`), over the in-memory {@link ModelStore} and the {@link ModelQueue} (a standard
 * SQS queue with an in-flight ceiling). Pollers model the event source mapping: each long-polls a
 * batch of up to ten, hands it to `processBatch` and deletes what was not reported as failed.
 * Receivers are scripted per endpoint and answer after a virtual delay, so a slow one holds its
 * poller. Producers enqueue at scripted rates from their own seeded streams, so adding an endpoint
 * does not change the others' arrivals.
 */
import type { HttpAnswer } from '../../lambdas/adapters/http-sender.ts';
import { DUE_WAIT_KEY, type EndpointRecord, heldWaitKey } from '../../lambdas/adapters/store.ts';
import {
  type BreakerPolicy,
  DEFAULT_BREAKER_POLICY,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  DELIVERY_BATCH_SIZE,
  DELIVERY_QUEUE_VISIBILITY_SECONDS,
  type IsolationSettings,
  maxReceiveCountOf,
  type RetryPolicy,
  SWEEP_BATCH_DUE,
} from '../../lambdas/core/config.ts';
import { deliveryId, encodeTime } from '../../lambdas/core/ids.ts';
import {
  buildWebhookBody,
  type DeliveryMessage,
  encodeMessage,
  encodeRelease,
} from '../../lambdas/core/payload.ts';
import { generateSecret } from '../../lambdas/core/signing.ts';
import { DeliveryWorker, type WorkerLogger } from '../../lambdas/delivery/worker.ts';
import { releaseBacklogs, sendDueRetries } from '../../lambdas/sweeper/sweep.ts';
import { FakeSecrets } from '../hardening/fakes.ts';
import { VirtualClock } from './clock.ts';
import { ModelStore } from './model-store.ts';
import { ModelQueue } from './sqs-model.ts';

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A receiver's answer to one request: a status after a virtual delay, or a connection failure. */
export interface ScriptedAnswer {
  readonly statusCode: number;
  readonly durationMs: number;
}

export interface EndpointPlan {
  readonly name: string;
  /** Whose delays, throughput and fate the run reports. */
  readonly kind: 'healthy' | 'dead' | 'slow' | 'intermittent';
  /** Poisson arrivals per second while producers run. */
  readonly ratePerSecond: number;
  /** Deliveries queued at time 0 (a backlog). */
  readonly preload?: number;
  /** Keep at least this many of its deliveries undelivered (a producer faster than the pollers). */
  readonly saturate?: number;
  /** The receiver: its answer at `nowMs` (`random` is the endpoint's own stream). */
  readonly answer: (nowMs: number, random: () => number) => ScriptedAnswer;
}

export interface SimulationOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly endpoints: readonly EndpointPlan[];
  readonly pollers: number;
  readonly inFlightCeiling: number;
  readonly policy?: RetryPolicy;
  readonly breaker?: BreakerPolicy;
  readonly isolation?: Partial<IsolationSettings>;
}

/** Where each delivery of a kind ended when the run stopped. */
export interface Fates {
  produced: number;
  delivered: number;
  held: number;
  due: number;
  queued: number;
  deadLettered: number;
  lost: number;
}

export interface SimulationResult {
  /** Enqueue-to-delivered delays of the healthy endpoints' deliveries, ms, sorted. */
  readonly healthyDelaysMs: readonly number[];
  readonly healthyP95Ms: number;
  /** Healthy deliveries delivered while producers ran, per virtual second. */
  readonly healthyThroughputPerSecond: number;
  readonly maxInFlight: number;
  readonly receivesAtCeiling: number;
  readonly fates: Record<EndpointPlan['kind'], Fates>;
  /** Requests sent to the receivers of each kind. */
  readonly attempts: Record<EndpointPlan['kind'], number>;
  readonly sends: number;
  readonly releaseMessages: number;
  readonly clockSteps: number;
}

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 16 Crockford characters of a counter: deterministic ids that sort by creation. */
function counterChars(n: number): string {
  let out = '';
  let rest = n;
  for (let i = 0; i < 16; i++) {
    out = CROCKFORD[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

const silent: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number);

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const clock = new VirtualClock(T0);
  const store = new ModelStore();
  const secrets = new FakeSecrets();
  const policy = options.policy ?? {
    scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
  };
  const breaker = options.breaker ?? DEFAULT_BREAKER_POLICY;
  const queue = new ModelQueue(clock, {
    inFlightCeiling: options.inFlightCeiling,
    maxReceiveCount: maxReceiveCountOf(policy),
    visibilityTimeoutSeconds: DELIVERY_QUEUE_VISIBILITY_SECONDS,
  });
  const deadLetters: string[] = [];
  let releaseMessages = 0;
  const endAt = T0 + options.durationMs;

  // Endpoints, each with its script and its own random stream.
  const plans = new Map<string, { plan: EndpointPlan; random: () => number; endpoint: EndpointRecord }>();
  options.endpoints.forEach((plan, index) => {
    const id = `ep_${encodeTime(T0)}${counterChars(index + 1)}`;
    const endpoint: EndpointRecord = {
      id,
      url: `https://${plan.name}.model.example/hook`,
      enabled: true,
      secretName: `model/endpoints/${id}`,
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
    };
    store.addEndpoint(endpoint);
    secrets.secrets.set(endpoint.secretName, { current: generateSecret() });
    plans.set(endpoint.url, { plan, random: prng(options.seed * 7919 + index * 104729 + 1), endpoint });
  });

  // What was produced, to measure delays and account for every delivery at the end.
  interface Produced {
    readonly deliveryId: string;
    readonly kind: EndpointPlan['kind'];
    readonly createdAtMs: number;
    deliveredAtMs?: number;
  }
  const produced = new Map<string, Produced>();
  const attempts = { healthy: 0, dead: 0, slow: 0, intermittent: 0 };
  const undelivered = new Map<string, number>();
  let eventCounter = 0;
  const produce = (plan: EndpointPlan, endpoint: EndpointRecord) => {
    const createdAtMs = clock.now();
    const eventId = `msg_${encodeTime(createdAtMs)}${counterChars(++eventCounter)}`;
    const body = buildWebhookBody('model.event', createdAtMs, { n: eventCounter });
    const id = deliveryId(eventId, endpoint.id, createdAtMs);
    store.events.set(eventId, {
      id: eventId,
      type: 'model.event',
      createdAtMs,
      endpointIds: [endpoint.id],
      fingerprint: eventId,
      body,
    });
    produced.set(eventId, { deliveryId: id, kind: plan.kind, createdAtMs });
    undelivered.set(endpoint.id, (undelivered.get(endpoint.id) ?? 0) + 1);
    queue.send(
      encodeMessage({
        deliveryId: id,
        eventId,
        endpointId: endpoint.id,
        eventType: 'model.event',
        createdAtMs,
        body,
      }),
      { groupId: endpoint.id },
    );
  };

  for (const [, { plan, endpoint }] of plans) {
    for (let n = 0; n < (plan.preload ?? 0); n++) produce(plan, endpoint);
  }
  let index = 0;
  for (const [, { plan, endpoint }] of plans) {
    const arrivals = prng(options.seed * 31 + ++index);
    if (plan.ratePerSecond > 0) {
      const next = () => {
        const gap = (-Math.log(1 - arrivals()) / plan.ratePerSecond) * 1000;
        clock.after(gap, () => {
          if (clock.now() > endAt) return;
          produce(plan, endpoint);
          next();
        });
      };
      next();
    }
    const saturate = plan.saturate;
    if (saturate) {
      const topUp = () => {
        for (let n = undelivered.get(endpoint.id) ?? 0; n < saturate; n++) produce(plan, endpoint);
      };
      // Queued before the pollers start, so their first batches see every endpoint's traffic.
      topUp();
      clock.every(1000, T0 + 1000, endAt, topUp);
    }
  }

  // Receivers: the answer comes after its virtual duration, so a slow one holds its poller.
  const sender = {
    post: async (url: string, headers: Record<string, string>): Promise<HttpAnswer> => {
      const target = plans.get(url);
      if (!target) throw new Error(`no receiver scripted at ${url}`);
      const scripted = target.plan.answer(clock.now(), target.random);
      attempts[target.plan.kind]++;
      await clock.sleep(scripted.durationMs);
      if (scripted.statusCode >= 200 && scripted.statusCode < 300) {
        const record = produced.get(String(headers['webhook-id']));
        if (record && record.deliveredAtMs === undefined) {
          record.deliveredAtMs = clock.now();
          undelivered.set(target.endpoint.id, (undelivered.get(target.endpoint.id) ?? 1) - 1);
        }
      }
      return { statusCode: scripted.statusCode, excerpt: '', durationMs: scripted.durationMs };
    },
  };

  const workerQueue = {
    defer: async (receiptHandle: string, seconds: number) => queue.changeVisibility(receiptHandle, seconds),
    deadLetter: async (body: string) => {
      deadLetters.push(body);
    },
    release: async (endpointId: string, delaySeconds: number) => {
      releaseMessages++;
      queue.send(encodeRelease(endpointId), { groupId: endpointId, delaySeconds });
    },
    enqueue: async (
      messages: readonly DeliveryMessage[],
      enqueueOptions: { deadlineMs: number; delaySeconds?: (index: number) => number },
    ) => {
      messages.forEach((message, i) => {
        queue.send(encodeMessage(message), {
          groupId: message.endpointId,
          delaySeconds: enqueueOptions.delaySeconds?.(i) ?? 0,
        });
      });
      return [] as string[];
    },
  };

  // The event source mapping: N pollers, each with its own worker (its own caches and limiter).
  let stopped = false;
  let busyPollers = 0;
  const poll = async (poller: number) => {
    const worker = new DeliveryWorker({
      store,
      secrets,
      sender,
      queue: workerQueue,
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/model-deliveries',
      deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/model-dlq',
      policy,
      breaker,
      ...(options.isolation ? { isolation: options.isolation } : {}),
      logger: silent,
      now: clock.now,
      random: prng(options.seed * 65537 + poller),
    });
    while (!stopped) {
      const records = queue.receive(DELIVERY_BATCH_SIZE);
      if (records.length === 0) {
        // At the ceiling SQS answers nothing at once: back off a second, as the mapping does.
        if (queue.atCeiling) await clock.sleep(1000);
        else await queue.waitForMessages();
        continue;
      }
      busyPollers++;
      const result = await worker.processBatch(records);
      busyPollers--;
      const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
      for (const record of records) if (!failed.has(record.messageId)) queue.delete(record.receiptHandle);
    }
  };
  for (let poller = 0; poller < options.pollers; poller++) void poll(poller);
  // Long polls last at most 20 s: every 20 s the ones still waiting return empty and poll again.
  clock.every(20_000, T0 + 20_000, endAt, () => queue.wakeAll());

  // The sweep, every virtual minute.
  const sweepDeps = {
    store,
    enqueue: workerQueue.enqueue,
    release: async (endpointId: string) => {
      releaseMessages++;
      queue.send(encodeRelease(endpointId), { groupId: endpointId });
    },
    now: clock.now,
  };
  clock.every(60_000, T0 + 60_000, endAt, () => {
    void (async () => {
      await sendDueRetries(sweepDeps, { limit: SWEEP_BATCH_DUE, deadlineMs: clock.now() + 45_000 });
      await releaseBacklogs(sweepDeps, 1000);
    })();
  });

  await clock.run(endAt);
  const healthyDeliveredInRun = [...produced.values()].filter(
    (record) =>
      record.kind === 'healthy' && record.deliveredAtMs !== undefined && record.deliveredAtMs <= endAt,
  ).length;
  // Stop receiving; let the batches in hand finish (a slow answer takes seconds).
  stopped = true;
  for (let guard = 0; busyPollers > 0 && guard < 600; guard++) await clock.run(clock.now() + 1000);

  // Account for every delivery: delivered, held, due, still in the queue, or dead-lettered.
  const inQueue = new Set<string>();
  for (const message of queue.all()) inQueue.add(deliveryIdOf(message.body));
  const inDlq = new Set<string>([
    ...deadLetters.map(deliveryIdOf),
    ...queue.redriven.map((message) => deliveryIdOf(message.body)),
  ]);
  const heldIds = new Set<string>();
  for (const { endpoint } of plans.values())
    for (const delivery of store.waiting(heldWaitKey(endpoint.id))) heldIds.add(delivery.id);
  const dueIds = new Set(store.waiting(DUE_WAIT_KEY).map((delivery) => delivery.id));
  const emptyFates = (): Fates => ({
    produced: 0,
    delivered: 0,
    held: 0,
    due: 0,
    queued: 0,
    deadLettered: 0,
    lost: 0,
  });
  const fates = { healthy: emptyFates(), dead: emptyFates(), slow: emptyFates(), intermittent: emptyFates() };
  const delays: number[] = [];
  for (const record of produced.values()) {
    const fate = fates[record.kind];
    fate.produced++;
    const status = store.deliveries.get(record.deliveryId)?.status;
    if (status === 'delivered') fate.delivered++;
    else if (heldIds.has(record.deliveryId)) fate.held++;
    else if (dueIds.has(record.deliveryId)) fate.due++;
    else if (inQueue.has(record.deliveryId)) fate.queued++;
    else if (inDlq.has(record.deliveryId)) fate.deadLettered++;
    else fate.lost++;
    if (record.kind === 'healthy' && record.deliveredAtMs !== undefined)
      delays.push(record.deliveredAtMs - record.createdAtMs);
  }
  delays.sort((a, b) => a - b);
  return {
    healthyDelaysMs: delays,
    healthyP95Ms: percentile(delays, 0.95),
    healthyThroughputPerSecond: healthyDeliveredInRun / (options.durationMs / 1000),
    maxInFlight: queue.maxInFlight,
    receivesAtCeiling: queue.receivesAtCeiling,
    fates,
    attempts,
    sends: queue.sends,
    releaseMessages,
    clockSteps: clock.steps,
  };
}

/** The delivery id in a queued body ('' for a release or other control message). */
function deliveryIdOf(body: string): string {
  const newline = body.indexOf('\n');
  if (newline === -1) return '';
  return String((JSON.parse(body.slice(0, newline)) as { deliveryId?: string }).deliveryId ?? '');
}
