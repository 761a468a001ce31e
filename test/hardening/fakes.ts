/**
 * In-memory stand-ins for the delivery worker's store, secrets and queue, recording what the
 * worker asked of them, plus builders for endpoints and SQS records. Used by the hardening
 * tests that drive {@link DeliveryWorker} directly against real sockets on 127.0.0.1.
 */
import type { SQSRecord } from 'aws-lambda';
import type { EndpointSecret } from '../../lambdas/adapters/secrets.ts';
import {
  type AttemptRecord,
  type DeliveryKey,
  type DeliveryRecord,
  DUE_WAIT_KEY,
  dueWaitAt,
  type EndpointRecord,
  type EventRecord,
  heldWaitKey,
} from '../../lambdas/adapters/store.ts';
import type { RetryPolicy } from '../../lambdas/core/config.ts';
import { deliveryId, newEndpointId, newEventId } from '../../lambdas/core/ids.ts';
import { buildWebhookBody, type DeliveryMessage, encodeMessage } from '../../lambdas/core/payload.ts';
import { generateSecret } from '../../lambdas/core/signing.ts';
import { DeliveryWorker, type WorkerDeps, type WorkerLogger } from '../../lambdas/delivery/worker.ts';

/** What `recordOutcome` was given. */
export interface RecordedOutcome {
  readonly endpointId: string;
  readonly id: string;
  readonly status: string;
  readonly attempt: AttemptRecord;
  readonly nextAttemptAt?: string;
  readonly redrive: boolean;
}

/**
 * The store, in memory, with the real store's conditions and removals (a failure never
 * overwrites `delivered`, `dead` and `delivered` drop `nextAttemptAt`, a success clears the
 * whole failure run, only one probe claim wins), so tests check what would be stored, not only
 * what the worker passed. Endpoints and deliveries can be seeded; every write is recorded.
 */
export class FakeStore {
  readonly endpoints = new Map<string, EndpointRecord>();
  readonly deliveries = new Map<string, DeliveryRecord>();
  readonly events = new Map<string, EventRecord>();
  /** Tenant hints the worker gave (one map here: the fake keys endpoints by id alone). */
  readonly tenantHints = new Map<string, string | undefined>();

  noteEndpointTenant = (id: string, tenantId: string | undefined): void => {
    this.tenantHints.set(id, tenantId);
  };
  readonly outcomes: RecordedOutcome[] = [];
  readonly attempts: Array<{ deliveryId: string; attempt: AttemptRecord }> = [];
  readonly endpointUpdates: Array<{ id: string; set: Record<string, unknown> }> = [];
  readonly releasedEvents: string[] = [];
  /** Set to make `getDelivery` throw for one delivery id (an unexpected failure). */
  failGetDeliveryFor: string | undefined;

  addEndpoint(endpoint: EndpointRecord): void {
    this.endpoints.set(endpoint.id, endpoint);
  }

  getEndpoint = async (id: string): Promise<EndpointRecord | undefined> => this.endpoints.get(id);

  getDelivery = async (_endpointId: string, id: string): Promise<DeliveryRecord | undefined> => {
    if (this.failGetDeliveryFor === id) throw new Error('simulated DynamoDB failure');
    return this.deliveries.get(id);
  };

  recordOutcome = async (input: {
    endpointId: string;
    id: string;
    eventId: string;
    eventType: string;
    createdAtMs: number;
    status: DeliveryRecord['status'];
    attempt: AttemptRecord;
    nextAttemptAt?: string;
    dueAtMs?: number;
    scheduleBase?: number;
    redrive: boolean;
  }): Promise<number | undefined> => {
    const previous = this.deliveries.get(input.id);
    // The store's condition: a failure never overwrites `delivered`.
    if (input.status !== 'delivered' && previous?.status === 'delivered') return undefined;
    this.outcomes.push(input);
    const attempts = (previous?.attempts ?? 0) + 1;
    // The store's removals: an outcome ends a hold and any wait outside the queue.
    const {
      nextAttemptAt: _stale,
      deliveredAt: _old,
      waitKey: _waitKey,
      waitAt: _waitAt,
      heldReason: _reason,
      heldAtMs: _heldAt,
      ...kept
    } = previous ?? ({} as Partial<DeliveryRecord>);
    this.deliveries.set(input.id, {
      ...kept,
      endpointId: input.endpointId,
      id: input.id,
      eventId: input.eventId,
      eventType: input.eventType,
      createdAtMs: input.createdAtMs,
      status: input.status,
      attempts,
      lastAttempt: input.attempt,
      ...(input.redrive ? { redrives: (previous?.redrives ?? 0) + 1 } : {}),
      ...(input.status === 'delivered' ? { deliveredAt: input.attempt.at } : {}),
      ...(input.status === 'failed' && input.nextAttemptAt ? { nextAttemptAt: input.nextAttemptAt } : {}),
      ...(input.status === 'failed' && input.dueAtMs !== undefined
        ? { waitKey: DUE_WAIT_KEY, waitAt: dueWaitAt(input.dueAtMs) }
        : {}),
      ...(input.scheduleBase !== undefined ? { scheduleBase: input.scheduleBase } : {}),
    } as DeliveryRecord);
    return attempts;
  };

  /** The store's hold: never over `delivered`; a new record is `pending`; no attempt counted. */
  holdDelivery = async (key: DeliveryKey, reason: string, nowMs: number): Promise<boolean> => {
    const previous = this.deliveries.get(key.id);
    if (previous?.status === 'delivered') return false;
    this.deliveries.set(key.id, {
      attempts: 0,
      status: 'pending',
      ...previous,
      ...key,
      waitKey: heldWaitKey(key.endpointId),
      waitAt: key.id,
      heldReason: reason,
      heldAtMs: nowMs,
    } as DeliveryRecord);
    return true;
  };

  heldDeliveries = async (endpointId: string, limit: number): Promise<DeliveryRecord[]> =>
    [...this.deliveries.values()]
      .filter((delivery) => delivery.waitKey === heldWaitKey(endpointId))
      .sort((a, b) => (String(a.waitAt) < String(b.waitAt) ? -1 : 1))
      .slice(0, limit);

  unholdDelivery = async (_endpointId: string, id: string, heldAtMs: number): Promise<void> => {
    const delivery = this.deliveries.get(id);
    if (delivery?.heldAtMs !== heldAtMs) return;
    const { waitKey: _k, waitAt: _a, heldReason: _r, heldAtMs: _h, ...rest } = delivery;
    this.deliveries.set(id, rest as DeliveryRecord);
  };

  markBacklog = async (id: string): Promise<boolean> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return false;
    const { backlogEmptySinceMs: _since, ...rest } = endpoint;
    this.endpoints.set(id, { ...rest, backlogShard: 'held' });
    return endpoint.backlogShard === undefined || endpoint.backlogEmptySinceMs !== undefined;
  };

  noteBacklogEmpty = async (id: string, nowMs: number): Promise<number> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return nowMs;
    const { releaseLeaseUntil: _lease, ...rest } = endpoint;
    const since = endpoint.backlogEmptySinceMs ?? nowMs;
    this.endpoints.set(id, { ...rest, backlogEmptySinceMs: since });
    return since;
  };

  clearBacklog = async (id: string, emptySinceMs: number): Promise<void> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.backlogEmptySinceMs !== emptySinceMs) return;
    const {
      backlogShard: _shard,
      releaseLeaseUntil: _lease,
      backlogEmptySinceMs: _since,
      ...rest
    } = endpoint;
    this.endpoints.set(id, rest as EndpointRecord);
  };

  claimRelease = async (id: string, nowMs: number, untilMs: number): Promise<boolean> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || (endpoint.releaseLeaseUntil !== undefined && endpoint.releaseLeaseUntil >= nowMs))
      return false;
    this.endpoints.set(id, { ...endpoint, releaseLeaseUntil: untilMs });
    return true;
  };

  bookRelease = async (id: string, bookedUntilMs: number, leaseUntilMs: number): Promise<void> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return;
    const { backlogEmptySinceMs: _since, ...rest } = endpoint;
    this.endpoints.set(id, { ...rest, releasedUntilMs: bookedUntilMs, releaseLeaseUntil: leaseUntilMs });
  };

  endRelease = async (id: string): Promise<void> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return;
    const { releaseLeaseUntil: _lease, ...rest } = endpoint;
    this.endpoints.set(id, rest as EndpointRecord);
  };

  putAttempt = async (deliveryId: string, attempt: AttemptRecord): Promise<void> => {
    this.attempts.push({ deliveryId, attempt });
  };

  addEndpointFailure = async (
    id: string,
    nowIso: string,
  ): Promise<{ failureStreak: number; failingSince: string } | undefined> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return undefined;
    const updated = {
      ...endpoint,
      failureStreak: (endpoint.failureStreak ?? 0) + 1,
      failingSince: endpoint.failingSince ?? nowIso,
    };
    this.endpoints.set(id, updated);
    return { failureStreak: updated.failureStreak, failingSince: updated.failingSince };
  };

  /** The store's condition: skipped when the run is already clear (no streak, no failingSince, no circuit). */
  resetEndpointFailures = async (id: string): Promise<void> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return;
    const clear =
      (endpoint.failureStreak ?? 0) <= 0 &&
      endpoint.failingSince === undefined &&
      endpoint.circuitOpenUntil === undefined;
    if (clear) return;
    const { failingSince: _since, circuitOpenUntil: _until, releaseLeaseUntil: _lease, ...rest } = endpoint;
    this.endpoints.set(id, { ...rest, failureStreak: 0 });
  };

  updateEndpoint = async (
    id: string,
    set: Record<string, unknown>,
    remove: readonly string[] = [],
  ): Promise<EndpointRecord | undefined> => {
    this.endpointUpdates.push({ id, set });
    const endpoint = this.endpoints.get(id);
    if (!endpoint) return undefined;
    const updated: Record<string, unknown> = { ...endpoint };
    for (const [name, value] of Object.entries(set)) if (value !== undefined) updated[name] = value;
    for (const name of remove) delete updated[name];
    this.endpoints.set(id, updated as unknown as EndpointRecord);
    return updated as unknown as EndpointRecord;
  };

  openCircuit = async (id: string, untilMs: number): Promise<void> => {
    await this.updateEndpoint(id, { circuitOpenUntil: untilMs });
  };

  /** The store's condition: the claim moves `circuitOpenUntil` only from the value the caller saw. */
  claimProbe = async (id: string, seenOpenUntil: number | undefined, untilMs: number): Promise<boolean> => {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.circuitOpenUntil !== seenOpenUntil) return false;
    this.endpoints.set(id, { ...endpoint, circuitOpenUntil: untilMs });
    return true;
  };

  getEvent = async (id: string): Promise<EventRecord | undefined> => this.events.get(id);

  releaseEvent = async (id: string, sweepAfterMs: number): Promise<void> => {
    const event = this.events.get(id);
    if (event?.state !== 'accepted') return;
    const { leaseUntilMs: _lease, ...rest } = event;
    this.events.set(id, { ...rest, sweepShard: 'accepted', sweepAfterMs });
    this.releasedEvents.push(id);
  };
}

/** Endpoint secrets, in memory; `unreachable` makes every read fail like an outage. */
export class FakeSecrets {
  readonly secrets = new Map<string, EndpointSecret>();
  unreachable = false;
  reads = 0;

  get = async (name: string): Promise<EndpointSecret> => {
    this.reads++;
    if (this.unreachable) throw new Error('connect ETIMEDOUT secretsmanager.us-east-1.amazonaws.com:443');
    const secret = this.secrets.get(name);
    if (!secret) throw new Error(`ResourceNotFoundException: ${name}`);
    return secret;
  };
}

/** The queue side effects: visibility changes, copies to the dead-letter queue, releases and released messages. */
export class FakeQueue {
  readonly deferred: Array<{ receiptHandle: string; seconds: number }> = [];
  readonly deadLettered: string[] = [];
  readonly releases: Array<{ endpointId: string; delaySeconds: number }> = [];
  readonly sent: Array<{ message: DeliveryMessage; delaySeconds: number }> = [];

  release = async (endpointId: string, delaySeconds: number): Promise<void> => {
    this.releases.push({ endpointId, delaySeconds });
  };

  enqueue = async (
    messages: readonly DeliveryMessage[],
    options: { delaySeconds: (index: number) => number },
  ): Promise<string[]> => {
    messages.forEach((message, index) => {
      this.sent.push({ message, delaySeconds: options.delaySeconds(index) });
    });
    return [];
  };

  defer = async (receiptHandle: string, seconds: number): Promise<void> => {
    this.deferred.push({ receiptHandle, seconds });
  };

  deadLetter = async (body: string): Promise<void> => {
    this.deadLettered.push(body);
  };
}

/** A logger that keeps every line. */
export class MemoryLogger implements WorkerLogger {
  readonly lines: Array<{ level: string; message: string; extra: Record<string, unknown> }> = [];
  debug(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', message, extra });
  }
  info(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, extra });
  }
  warn(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, extra });
  }
  error(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, extra });
  }
}

/** An enabled endpoint at `url` with a fresh secret stored in `secrets`. */
export function seedEndpoint(store: FakeStore, secrets: FakeSecrets, url: string): EndpointRecord {
  const id = newEndpointId();
  const now = new Date().toISOString();
  const endpoint: EndpointRecord = {
    id,
    url,
    enabled: true,
    secretName: `test/endpoints/${id}`,
    createdAt: now,
    updatedAt: now,
  };
  store.addEndpoint(endpoint);
  secrets.secrets.set(endpoint.secretName, { current: generateSecret() });
  return endpoint;
}

/** A delivery message of a new event to `endpoint`. */
export function deliveryMessage(endpoint: EndpointRecord, data: unknown = { n: 1 }): DeliveryMessage {
  const createdAtMs = Date.now();
  const eventId = newEventId(createdAtMs);
  return {
    deliveryId: deliveryId(eventId, endpoint.id, createdAtMs),
    eventId,
    endpointId: endpoint.id,
    eventType: 'hardening.test',
    createdAtMs,
    body: buildWebhookBody('hardening.test', createdAtMs, data),
  };
}

let recordCounter = 0;

/** An SQS record as the event source mapping hands it over. */
export function sqsRecord(
  message: DeliveryMessage | string,
  options: { receiveCount?: number; messageId?: string } = {},
): SQSRecord {
  recordCounter++;
  const messageId = options.messageId ?? `m-${recordCounter}-${Math.random().toString(36).slice(2, 10)}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof message === 'string' ? message : encodeMessage(message),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:hardening',
    awsRegion: 'us-east-1',
  };
}

/** A worker over fresh fakes; `random` is fixed at 0.5 so jitter is neutral (factor 1). */
export function fakeWorker(
  sender: WorkerDeps['sender'],
  options: {
    policy?: RetryPolicy;
    store?: FakeStore;
    secrets?: FakeSecrets;
    /** Further dependencies (an operational event publisher, a metric sink). */
    deps?: Partial<WorkerDeps>;
  } = {},
) {
  const store = options.store ?? new FakeStore();
  const secrets = options.secrets ?? new FakeSecrets();
  const queue = new FakeQueue();
  const logger = new MemoryLogger();
  const worker = new DeliveryWorker({
    store,
    secrets,
    sender,
    queue,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/hardening-deliveries',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/hardening-dlq',
    policy: options.policy ?? { scheduleSeconds: [5, 10, 30], maxAttempts: 4 },
    logger,
    random: () => 0.5,
    ...options.deps,
  });
  return { worker, store, secrets, queue, logger };
}
