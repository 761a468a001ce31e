/**
 * The delivery worker: one SQS record in, one signed POST out, the outcome recorded, and the
 * record's fate decided (delivered, retried later, parked in its endpoint's backlog, or dead in
 * the DLQ). What becomes of a record is decided by the pure functions of ./decide.ts; this file
 * reads and sends, and applies each decision's effects in one place ({@link DeliveryWorker}'s
 * `apply`). The Lambda handler and the local poller both call {@link DeliveryWorker.processBatch};
 * dependencies are injected so tests and the benchmark can swap them.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { HttpAnswer } from '../adapters/http-sender.ts';
import { deferMessage, enqueueDeliveries, sendRelease, sendToDeadLetter } from '../adapters/queue.ts';
import type { EndpointSecrets } from '../adapters/secrets.ts';
import { signingSecrets } from '../adapters/secrets.ts';
import type { EndpointRef, EndpointTransitions } from '../adapters/store/endpoint-transitions.ts';
import type { Store } from '../adapters/store.ts';
import { type CircuitState, circuitState, failedTooLong } from '../core/circuit-breaker.ts';
import {
  type BreakerPolicy,
  DEFAULT_BREAKER_POLICY,
  DEFAULT_ISOLATION,
  ENDPOINT_CACHE_TTL_MS,
  type IsolationSettings,
  MAX_IN_FLIGHT_PER_ENDPOINT,
  RESPONSE_EXCERPT_BYTES,
  type RetryPolicy,
} from '../core/config.ts';
import { withCustomHeaders } from '../core/custom-headers.ts';
import { DeliveryError, errorName } from '../core/errors.ts';
import { newOperationalEventId } from '../core/ids.ts';
import { KeyedLimiter } from '../core/keyed-limiter.ts';
import {
  DEFAULT_TENANT_ID,
  type DisableReason,
  OPERATIONAL_EVENTS_UNRECORDED_METRIC,
  type OperationalEvent,
  type OperationalEventPublisher,
  operationalEvent,
} from '../core/operational-events.ts';
import {
  type DeliveryMessage,
  decodeEventCheck,
  decodeMessage,
  decodeOperationalEvent,
  decodeRelease,
} from '../core/payload.ts';
import { type AttemptRecord, type EndpointRecord, isQueued } from '../core/records.ts';
import { webhookHeaders } from '../core/signing.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import type { DeliveryStatus } from '../core/validation.ts';
import { type BacklogDeps, releaseBacklog } from './backlog.ts';
import {
  type AttemptOutcome,
  type DeadCause,
  type Decision,
  decide,
  gate,
  type HoldReason,
} from './decide.ts';

/** Structured logging, as Powertools' Logger provides it. */
export interface WorkerLogger {
  debug(message: string, extra: Record<string, unknown>): void;
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** Metric sink: `name` and a value in `unit` (Count or Milliseconds). */
export type MetricSink = (name: string, unit: 'Count' | 'Milliseconds', value: number) => void;

/** The side effects of a worker, injected. */
export interface WorkerDeps {
  readonly store: Pick<
    Store,
    | 'noteEndpointTenant'
    | 'getEndpoint'
    | 'getDelivery'
    | 'recordOutcome'
    | 'putAttempt'
    | 'addEndpointFailure'
    | 'resetEndpointFailures'
    | 'updateEndpoint'
    | 'openCircuit'
    | 'claimProbe'
    | 'getEvent'
    | 'releaseEvent'
    | 'holdDelivery'
    | 'markBacklog'
  > &
    BacklogDeps['store'];
  readonly secrets: Pick<EndpointSecrets, 'get'>;
  readonly sender: { post(url: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> };
  readonly queue?: {
    defer(receiptHandle: string, seconds: number): Promise<void>;
    deadLetter(body: string): Promise<void>;
    /** Queues the release of an endpoint's backlog after `delaySeconds`. */
    release(endpointId: string, delaySeconds: number): Promise<void>;
    /** Sends released deliveries, each after its delay; resolves to the ids that did not go out. */
    enqueue: BacklogDeps['enqueue'];
  };
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly policy: RetryPolicy;
  /** @default DEFAULT_BREAKER_POLICY */
  readonly breaker?: BreakerPolicy;
  readonly logger: WorkerLogger;
  readonly metric?: MetricSink;
  readonly now?: () => number;
  readonly random?: () => number;
  /** The backlog release rate and the short-wait window. @default DEFAULT_ISOLATION */
  readonly isolation?: Partial<IsolationSettings>;
  /**
   * Where operational events go: `endpoint.disabled`, `endpoint.circuit_opened`,
   * `endpoint.recovered` and `delivery.dead`, each published by the one worker whose store write
   * made it happen. Never awaited by a delivery: a batch waits for its events only once every
   * record's fate is settled. @default none published
   */
  readonly operationalEvents?: OperationalEventPublisher;
  /**
   * Where each operational event is recorded before it is published
   * (lambdas/adapters/store/operational-events.ts), for `GET /operational-events`: a put
   * conditional on the event's id, so a duplicate of a handed-over event is published once. A
   * failed record is counted ({@link OPERATIONAL_EVENTS_UNRECORDED_METRIC}) and the event still
   * published. @default none recorded
   */
  readonly operationalEventLog?: {
    recordOperationalEvent(id: string, event: OperationalEvent): Promise<boolean>;
  };
  /**
   * The operator's signed webhook copy of each operational event recorded as new
   * (./operator-copy.ts). @default none copied
   */
  readonly operatorCopy?: { copy(id: string, event: OperationalEvent): Promise<unknown> };
  /**
   * The endpoint changes those events report, as conditional writes: of workers disabling an
   * endpoint (or ending its failure run) at once, one is told it did.
   * @default the store's own writes, after a read: exact within one process only (the tests' fakes)
   */
  readonly endpointTransitions?: EndpointTransitions;
}

/** An unexpected failure (not the receiver's) is retried after this, not the queue's whole visibility timeout. */
const UNEXPECTED_FAILURE_RETRY_SECONDS = 10;

/** What became of one record. */
type RecordFate = 'done' | 'retry';

/** How many times a refused ChangeMessageVisibility is tried again, each with half the delay. */
const VISIBILITY_RETRIES = 3;

/** One record being worked on. */
interface Job {
  readonly record: SQSRecord;
  readonly message: DeliveryMessage;
  readonly receiveCount: number;
  readonly receivedAt: number;
  readonly redrive: boolean;
  /** This attempt's number over the delivery's life (attempts recorded + 1). */
  readonly attemptNumber: number;
  /** This attempt's place in the current schedule (1 = first try): what the budget counts. */
  readonly position: number;
  /** Set when this attempt begins a new schedule (a redrive or a manual retry): its base. */
  readonly newScheduleBase?: number;
  /**
   * The delivery's logger: every line carries its ids and, when its message has them, the
   * `trackingId` of the API request that accepted the event and the `tenantId`.
   */
  readonly logger: WorkerLogger;
  /** Adds one to a per-batch counter metric. */
  readonly count: (metric: string) => void;
  /** Records and publishes an operational event before the batch ends (never throws, never delays the record). */
  readonly emit: (event: OperationalEvent) => void;
}

/** Processes SQS batches of delivery messages. */
export class DeliveryWorker {
  private readonly limiter = new KeyedLimiter(MAX_IN_FLIGHT_PER_ENDPOINT);
  private readonly endpoints: TtlCache<EndpointRecord | undefined>;
  private readonly now: () => number;
  private readonly queue: NonNullable<WorkerDeps['queue']>;
  private readonly metric: MetricSink;
  private readonly breaker: BreakerPolicy;
  private readonly isolation: IsolationSettings;
  private readonly transitions: EndpointTransitions;
  private readonly events: OperationalEventPublisher | undefined;

  constructor(private readonly deps: WorkerDeps) {
    this.transitions = deps.endpointTransitions ?? storeTransitions(deps.store);
    this.events = deps.operationalEvents;
    this.isolation = { ...DEFAULT_ISOLATION, ...deps.isolation };
    this.now = deps.now ?? Date.now;
    this.endpoints = new TtlCache(ENDPOINT_CACHE_TTL_MS, this.now);
    this.metric = deps.metric ?? (() => {});
    this.breaker = deps.breaker ?? DEFAULT_BREAKER_POLICY;
    this.queue = deps.queue ?? {
      defer: (receiptHandle, seconds) => deferMessage(deps.queueUrl, receiptHandle, seconds),
      deadLetter: (body) => sendToDeadLetter(deps.deadLetterQueueUrl, body),
      release: (endpointId, delaySeconds) => sendRelease(deps.queueUrl, endpointId, delaySeconds),
      enqueue: (messages, options) => enqueueDeliveries(deps.queueUrl, messages, options),
    };
  }

  /**
   * Delivers every record concurrently (at most {@link MAX_IN_FLIGHT_PER_ENDPOINT} per
   * endpoint) and reports the ones to retry as batch item failures, by their own messageId.
   */
  async processBatch(records: readonly SQSRecord[]): Promise<SQSBatchResponse> {
    const counts = new Map<string, number>();
    const published: Promise<void>[] = [];
    const emit = (event: OperationalEvent, id?: string) => {
      // A publisher never rejects; the catch is for one that breaks that promise.
      published.push(this.recordAndPublish(event, id).catch(() => undefined));
    };
    const fates = await Promise.all(records.map((record) => this.processRecordSafely(record, counts, emit)));
    // Every record's fate is settled: the events go out before the batch answers (Lambda may
    // freeze the instance after), without having held any delivery up.
    await Promise.all(published);
    // Counters go out once per batch: one EMF entry per metric instead of one per record.
    for (const [name, value] of counts) this.metric(name, 'Count', value);
    return {
      batchItemFailures: records
        .filter((record, index) => fates[index] === 'retry' && record.messageId)
        .map((record) => ({ itemIdentifier: record.messageId })),
    };
  }

  /**
   * Records an event (under `id` when the API chose one, else a new id), then publishes it
   * (and copies it to the operator endpoint) unless the record shows it was seen before. A record that cannot be written does not hold
   * the event back: it is published, and the miss counted.
   */
  private async recordAndPublish(
    event: OperationalEvent,
    id = newOperationalEventId(this.now()),
  ): Promise<void> {
    const log = this.deps.operationalEventLog;
    if (log) {
      let fresh = true;
      try {
        fresh = await log.recordOperationalEvent(id, event);
      } catch (error) {
        this.metric(OPERATIONAL_EVENTS_UNRECORDED_METRIC, 'Count', 1);
        this.deps.logger.warn('operational event not recorded', {
          operationalEventId: id,
          detailType: event.detailType,
          error: errorName(error),
        });
      }
      if (!fresh) {
        this.deps.logger.info('operational event already recorded; not published again', {
          operationalEventId: id,
          detailType: event.detailType,
        });
        return;
      }
    }
    await Promise.all([this.events?.publish(event), this.deps.operatorCopy?.copy(id, event)]);
  }

  private async processRecordSafely(
    record: SQSRecord,
    counts: Map<string, number>,
    emit: (event: OperationalEvent) => void,
  ): Promise<RecordFate> {
    // Filled in once the record is read as a delivery, so that even this line carries its ids.
    const seen: { keys?: Record<string, unknown> } = {};
    try {
      const count = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
      return await this.processRecord(record, count, emit, seen);
    } catch (error) {
      // Anything unexpected (a DynamoDB throttle or timeout, a bug): keep the message, and bring
      // it back soon rather than after the queue's whole visibility timeout. A delivery already
      // made is not repeated.
      this.deps.logger.error('record failed unexpectedly; it will be retried', {
        messageId: record.messageId,
        ...seen.keys,
        error: errorName(error),
        retryInSeconds: UNEXPECTED_FAILURE_RETRY_SECONDS,
      });
      await this.queue.defer(record.receiptHandle, UNEXPECTED_FAILURE_RETRY_SECONDS).catch(() => undefined);
      return 'retry';
    }
  }

  private async processRecord(
    record: SQSRecord,
    count: (name: string) => void,
    emit: (event: OperationalEvent, id?: string) => void,
    seen: { keys?: Record<string, unknown> },
  ): Promise<RecordFate> {
    const receivedAt = this.now();
    const check = decodeEventCheck(record.body);
    if (check) return this.checkEvent(record, check.eventId, count);
    const release = decodeRelease(record.body);
    if (release) return this.release(release.endpointId, count);
    const handedOver = decodeOperationalEvent(record.body);
    if (handedOver) {
      // An event the API handed over (it carries no EventBridge client): published from here.
      emit(handedOver.event, handedOver.id);
      return 'done';
    }
    let message: DeliveryMessage;
    try {
      message = decodeMessage(record.body);
      // The message names the endpoint's tenant: the store finds the endpoint without a lookup.
      this.deps.store.noteEndpointTenant(message.endpointId, message.tenantId);
    } catch (error) {
      // A poisoned record can never succeed: park it where an operator sees it.
      this.deps.logger.error('poisoned message moved to the dead-letter queue', {
        messageId: record.messageId,
        error: error instanceof DeliveryError ? error.message : errorName(error),
      });
      await this.queue.deadLetter(record.body);
      count('DeliveryDead');
      return 'done';
    }
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const keys = {
      eventId: message.eventId,
      deliveryId: message.deliveryId,
      endpointId: message.endpointId,
      messageId: record.messageId,
      receiveCount,
      ...(message.trackingId !== undefined ? { trackingId: message.trackingId } : {}),
      ...(message.tenantId !== undefined ? { tenantId: message.tenantId } : {}),
    };
    seen.keys = keys;
    const logger = withPersistentKeys(this.deps.logger, keys);

    const load = () => this.deps.store.getEndpoint(message.endpointId);
    let endpoint = await this.endpoints.get(message.endpointId, load);
    if (!endpoint?.enabled) {
      // Never park on a cached "disabled": an operator may have just enabled it again (and
      // retried). Parking is rare, so the fresh read costs little.
      this.endpoints.delete(message.endpointId);
      endpoint = await this.endpoints.get(message.endpointId, load);
    }
    const existing = await this.deps.store.getDelivery(message.endpointId, message.deliveryId);
    if (existing?.status === 'delivered') {
      logger.info('already delivered; duplicate message dropped', {});
      count('DuplicateSuppressed');
      return 'done';
    }
    const attempts = existing?.attempts ?? 0;
    // Back after being dead, or queued again by hand: a new schedule, while the attempt counter
    // keeps counting. The budget counts attempts sent in the current schedule, not receives.
    const redrive =
      existing !== undefined && attempts > 0 && (existing.status === 'dead' || existing.status === 'pending');
    const base = redrive ? attempts : (existing?.scheduleBase ?? 0);
    const job: Job = {
      record,
      message,
      receiveCount,
      receivedAt,
      redrive,
      attemptNumber: attempts + 1,
      position: attempts - base + 1,
      ...(redrive ? { newScheduleBase: base } : {}),
      logger,
      count,
      emit,
    };

    // The gate: what can be decided before sending (from the endpoint's current circuit).
    const view = endpoint?.enabled ? await this.currentCircuit(endpoint) : undefined;
    endpoint = view?.endpoint ?? endpoint;
    const before = gate({
      endpoint,
      circuit: view?.circuit ?? CLOSED,
      redrive: job.redrive,
      reason: message.reason,
    });
    if (before.kind !== 'send' && before.kind !== 'probe') {
      return this.apply(job, endpoint, before, this.notSent(before));
    }
    // A half-open circuit lets one delivery through (the one that claims the probe: usually the
    // backlog's oldest, which the release sends as the probe); the others are held.
    if (before.kind === 'probe' && !(await this.claimProbe(endpoint as EndpointRecord, job.logger))) {
      return this.hold(job, 'circuit_open');
    }
    // Sending (or probing) needs an enabled endpoint: the gate saw one.
    const target = endpoint as EndpointRecord;

    const attemptAt = new Date(this.now()).toISOString();
    // A record sent through a closed circuit may wait for one of the endpoint's slots while the
    // others fail and open it: once it has the slot, it looks again, and is held if it opened.
    const outcome = await this.send(job, target, before.kind === 'send');
    if (outcome.kind === 'answered') this.metric('AttemptDuration', 'Milliseconds', outcome.durationMs);
    const decision = decide(outcome, {
      position: job.position,
      policy: this.deps.policy,
      shortWaitMaxSeconds: this.isolation.shortWaitMaxSeconds,
      nowMs: this.now(),
      receivedAtMs: job.receivedAt,
      random: this.deps.random,
    });
    const attempt: AttemptRecord = {
      attempt: job.attemptNumber,
      at: attemptAt,
      ...(outcome.kind === 'answered'
        ? { statusCode: outcome.statusCode, durationMs: outcome.durationMs }
        : { durationMs: this.now() - Date.parse(attemptAt) }),
      // A failure keeps its error, and the start of the receiver's answer.
      ...('error' in decision
        ? {
            error: decision.error,
            ...(outcome.kind === 'answered'
              ? { responseExcerpt: outcome.excerpt.slice(0, RESPONSE_EXCERPT_BYTES) }
              : {}),
          }
        : {}),
    };
    return this.apply(job, target, decision, attempt);
  }

  /**
   * Applies a decision: the store's writes, the message's fate (deleted, hidden until its retry,
   * copied to the DLQ, or its delivery held in the backlog), the endpoint's failure run, metrics
   * and logs, all here. `attempt` is the attempt to record (a not-sent one when none was made).
   */
  private async apply(
    job: Job,
    endpoint: EndpointRecord | undefined,
    decision: Decision,
    attempt: AttemptRecord,
  ): Promise<RecordFate> {
    switch (decision.kind) {
      case 'park':
        return this.hold(job, decision.reason);
      case 'delivered':
        // Only decided after a send: the endpoint was read.
        return this.delivered(job, endpoint as EndpointRecord, attempt, decision.slow);
      case 'retry':
        return this.retryLater(job, endpoint, attempt, decision);
      case 'dead': {
        if (decision.cause === 'gone') {
          await this.disableEndpoint(job, endpoint, 'gone', 'receiver answered 410 Gone');
        }
        const recorded = await this.deadLetter(job, attempt);
        if (recorded === undefined && decision.cause !== 'endpoint_unavailable') return 'done';
        if (recorded !== undefined) {
          // Only the copy whose dead outcome was recorded reports it.
          job.emit(
            operationalEvent('delivery.dead', {
              ...this.eventKeys(job, endpoint),
              deliveryId: job.message.deliveryId,
              eventId: job.message.eventId,
              eventType: job.message.eventType,
              cause: decision.cause,
              attempts: recorded,
              ...(attempt.statusCode !== undefined ? { lastStatusCode: attempt.statusCode } : {}),
              ...(attempt.error !== undefined ? { lastError: attempt.error } : {}),
              ...(job.message.trackingId !== undefined ? { trackingId: job.message.trackingId } : {}),
            }),
          );
        }
        if (decision.cause === 'budget_spent') {
          await this.noteEndpointFailure(job, endpoint, attempt);
          job.count('DeliveryFailed');
        }
        job.logger.warn(DEAD_LOG[decision.cause], {
          ...(decision.cause === 'gone' ? {} : { statusCode: attempt.statusCode, error: attempt.error }),
        });
        return 'done';
      }
    }
  }

  /** A 2xx: recorded; a slow one counts against the circuit, a quick one ends any failure run. */
  private async delivered(
    job: Job,
    endpoint: EndpointRecord,
    attempt: AttemptRecord,
    slow: boolean,
  ): Promise<RecordFate> {
    const { message } = job;
    await this.deps.store.recordOutcome({
      ...this.keyOf(message),
      status: 'delivered',
      attempt,
      redrive: job.redrive,
    });
    if (slow) {
      // Delivered, but slowly enough to hold a worker's slot for seconds: it counts against
      // the circuit like a failure, so one slow receiver cannot slow every other's deliveries.
      job.count('SlowAnswers');
      await this.noteEndpointFailure(job, endpoint, attempt);
    } else if ((endpoint.failureStreak ?? 0) > 0 || endpoint.failingSince || endpoint.circuitOpenUntil) {
      // Any trace of a failure run (a streak, its start, an open circuit) ends with a success.
      const ended = await this.transitions.endFailureRun(endpoint);
      this.endpoints.delete(endpoint.id);
      // Recovered: the run this success ended had opened the circuit (a run too short to open
      // it is a retry that worked, not an outage). Reported by the worker whose write ended it.
      if (ended && this.circuitOpened(ended)) {
        job.emit(
          operationalEvent('endpoint.recovered', {
            ...this.eventKeys(job, ended),
            failureStreak: ended.failureStreak ?? 0,
            ...(ended.failingSince
              ? {
                  failingSince: ended.failingSince,
                  downSeconds: Math.max(0, Math.floor((this.now() - Date.parse(ended.failingSince)) / 1000)),
                }
              : {}),
            deliveryId: message.deliveryId,
          }),
        );
      }
      // The endpoint takes deliveries again: what its open circuit held goes out now, at the release rate.
      if (endpoint.circuitOpenUntil || endpoint.backlogShard) await this.queue.release(endpoint.id, 0);
    }
    job.count('DeliveryDelivered');
    this.metric('DeliveryLatency', 'Milliseconds', this.now() - message.createdAtMs);
    // DEBUG: the delivery record already says so, and a line per success costs CPU and CloudWatch ingestion.
    job.logger.debug('delivered', {
      statusCode: attempt.statusCode,
      durationMs: attempt.durationMs,
    });
    return 'done';
  }

  /**
   * Signs and sends the delivery in one of the endpoint's slots. `recheck`: look at the circuit
   * again once the slot is ours, and send nothing if it opened while this record waited. A
   * failure to sign or send is the attempt's outcome; one to read the endpoint is not (it throws).
   */
  private async send(job: Job, endpoint: EndpointRecord, recheck: boolean): Promise<AttemptOutcome> {
    const { message } = job;
    let headers: Record<string, string>;
    try {
      const secret = await this.loadSecret(endpoint.secretName);
      const signed = webhookHeaders(
        signingSecrets(secret, this.now()),
        message.eventId,
        Math.floor(this.now() / 1000),
        message.body,
      );
      // The endpoint's custom headers go under the signature: never logged, never overriding it.
      headers = withCustomHeaders(signed, secret.headers);
    } catch (error) {
      return failedSend(error);
    }
    return this.limiter.run(endpoint.id, async (): Promise<AttemptOutcome> => {
      if (recheck && (await this.currentCircuit(endpoint)).circuit.state !== 'closed') {
        return { kind: 'circuit_open' };
      }
      job.count('DeliveryAttempts');
      try {
        return { kind: 'answered', ...(await this.deps.sender.post(endpoint.url, headers, message.body)) };
      } catch (error) {
        return failedSend(error);
      }
    });
  }

  /**
   * Holds the delivery in its endpoint's backlog and lets the message go: no attempt is made or
   * counted, and nothing stays in flight. The endpoint is listed as having a backlog (the sweep
   * then releases it every minute); when this hold lists it first, its release is queued now.
   */
  private async hold(job: Job, reason: HoldReason): Promise<RecordFate> {
    const endpointId = job.message.endpointId;
    if (!(await this.deps.store.holdDelivery(this.keyOf(job.message), reason, this.now()))) {
      job.logger.info('delivered by another copy meanwhile; not held', {});
      job.count('DuplicateSuppressed');
      return 'done';
    }
    job.count(reason === 'circuit_open' ? 'HeldCircuitOpen' : 'HeldRateLimited');
    // After every hold, not from a cached record: a release may be about to take the endpoint off
    // the byBacklog index, and this write is what stops it (see ./backlog.ts).
    if (await this.deps.store.markBacklog(endpointId)) {
      // Listed just now, or no release is coming: queue one (an open circuit's waits for it to turn half-open).
      await this.queue.release(endpointId, 0);
    }
    job.logger.debug('held in the endpoint backlog', { reason });
    return 'done';
  }

  /**
   * The endpoint's circuit, from the worker's view of the endpoint (its cached record). Never a
   * cached open circuit: an operator may have just closed it (re-enabled the endpoint), or a
   * probe on another instance succeeded; an open one is read afresh (rare, and the read is cheap).
   */
  private async currentCircuit(
    seen: EndpointRecord,
  ): Promise<{ endpoint: EndpointRecord; circuit: CircuitState }> {
    const load = () => this.deps.store.getEndpoint(seen.id);
    let endpoint = (await this.endpoints.get(seen.id, load)) ?? seen;
    let circuit = circuitState(endpoint, this.now(), this.breaker);
    if (circuit.state !== 'closed') {
      this.endpoints.delete(seen.id);
      endpoint = (await this.endpoints.get(seen.id, load)) ?? endpoint;
      circuit = circuitState(endpoint, this.now(), this.breaker);
    }
    return { endpoint, circuit };
  }

  /** A release message: sends on part of an endpoint's backlog (see ./backlog.ts). */
  private async release(endpointId: string, count: (name: string) => void): Promise<RecordFate> {
    const report = await releaseBacklog(
      {
        store: this.deps.store,
        enqueue: this.queue.enqueue,
        requeueRelease: this.queue.release,
        breaker: this.breaker,
        releasePerSecond: this.isolation.releasePerSecond,
        now: this.now,
        random: this.deps.random ?? Math.random,
      },
      endpointId,
    );
    for (let i = 0; i < report.released; i++) count('BacklogReleased');
    if (report.released > 0) this.deps.logger.info('backlog released', { ...report });
    return 'done';
  }

  /** The attempt recorded when none was made (only a dead one is recorded: its reason). */
  private notSent(decision: Decision): AttemptRecord {
    return {
      attempt: 0,
      at: new Date(this.now()).toISOString(),
      durationMs: 0,
      ...('error' in decision ? { error: decision.error } : {}),
    };
  }

  private async claimProbe(endpoint: EndpointRecord, logger: WorkerLogger): Promise<boolean> {
    const claimed = await this.deps.store.claimProbe(
      endpoint.id,
      endpoint.circuitOpenUntil,
      this.now() + this.breaker.openSeconds * 1000,
    );
    // Winner or not, the circuit's state changed: read it afresh next time.
    this.endpoints.delete(endpoint.id);
    if (claimed) logger.info('circuit half-open: sending one probe', { endpointId: endpoint.id });
    return claimed;
  }

  /**
   * Disables the endpoint, if it is still enabled; the worker whose write disabled it publishes
   * `endpoint.disabled` (others, at the same moment, find it disabled already).
   */
  private async disableEndpoint(
    job: Job,
    endpoint: EndpointRecord | undefined,
    reason: DisableReason,
    description: string,
  ): Promise<void> {
    const ref = this.refOf(job, endpoint);
    const before = await this.transitions.disableIfEnabled(
      ref,
      description,
      new Date(this.now()).toISOString(),
    );
    this.endpoints.delete(ref.id);
    if (!before) return;
    job.emit(
      operationalEvent('endpoint.disabled', {
        ...this.eventKeys(job, before),
        reason,
        description,
        ...(before.failureStreak !== undefined ? { failureStreak: before.failureStreak } : {}),
        ...(before.failingSince !== undefined ? { failingSince: before.failingSince } : {}),
        ...(reason === 'gone' ? { deliveryId: job.message.deliveryId } : {}),
      }),
    );
  }

  /** The endpoint as read, or what the message says of it. */
  private refOf(job: Job, endpoint: EndpointRecord | undefined): EndpointRef {
    return endpoint ?? { id: job.message.endpointId, tenantId: job.message.tenantId };
  }

  /** What every endpoint event carries: when, which endpoint, whose. */
  private eventKeys(job: Job, endpoint: EndpointRecord | undefined) {
    return {
      occurredAt: new Date(this.now()).toISOString(),
      endpointId: job.message.endpointId,
      tenantId: endpoint?.tenantId ?? job.message.tenantId ?? DEFAULT_TENANT_ID,
    };
  }

  /** Whether a failure run had opened the endpoint's circuit. */
  private circuitOpened(endpoint: EndpointRecord): boolean {
    return (
      (endpoint.failureStreak ?? 0) >= this.breaker.failureThreshold ||
      endpoint.circuitOpenUntil !== undefined
    );
  }

  /**
   * A retry: out of the queue (the message is deleted and the record waits in the byWait index,
   * where the sweep finds it at its time), or in it (the message hidden until its next attempt);
   * the failure is recorded with the time actually set, and counted against the endpoint.
   */
  private async retryLater(
    job: Job,
    endpoint: EndpointRecord | undefined,
    attempt: AttemptRecord,
    decision: Extract<Decision, { kind: 'retry' }>,
  ): Promise<RecordFate> {
    const { outOfQueue } = decision;
    const seconds = outOfQueue ? decision.seconds : await this.hide(job, decision.seconds);
    const atMs = this.now() + seconds * 1000;
    const recorded = await this.recordFailure(
      job,
      'failed',
      attempt,
      new Date(atMs).toISOString(),
      outOfQueue ? atMs : undefined,
    );
    if (recorded === undefined) return 'done';
    await this.noteEndpointFailure(job, endpoint, attempt);
    job.count('DeliveryFailed');
    if (outOfQueue) job.count('RetriesOutOfQueue');
    job.logger.warn(
      outOfQueue ? 'attempt failed; retry scheduled out of the queue' : 'attempt failed; retry scheduled',
      { statusCode: attempt.statusCode, error: attempt.error, retryInSeconds: seconds },
    );
    // Out of the queue, the message is deleted; in it, it comes back when its visibility ends.
    return outOfQueue ? 'done' : 'retry';
  }

  /**
   * Hides the message for `seconds`; if SQS refuses the value (its cap counts from a receive we
   * cannot see exactly), tries again with half of it. Returns the delay that was set.
   */
  private async hide(job: Job, seconds: number): Promise<number> {
    let delay = Math.floor(seconds);
    for (let retry = 0; ; retry++) {
      try {
        await this.queue.defer(job.record.receiptHandle, delay);
        return delay;
      } catch (error) {
        if (retry >= VISIBILITY_RETRIES || delay <= 1 || errorName(error) !== 'InvalidParameterValue')
          throw error;
        job.logger.warn('visibility timeout refused; trying a shorter one', {
          refusedSeconds: delay,
        });
        delay = Math.floor(delay / 2);
      }
    }
  }

  /** Counts a failure against the endpoint: opens its circuit, or disables it after days of failing. */
  private async noteEndpointFailure(
    job: Job,
    endpoint: EndpointRecord | undefined,
    attempt: AttemptRecord,
  ): Promise<void> {
    const { endpointId } = job.message;
    const now = this.now();
    const run = await this.deps.store.addEndpointFailure(endpointId, new Date(now).toISOString());
    this.endpoints.delete(endpointId);
    if (!run) return;
    if (failedTooLong(run.failingSince, now, this.breaker)) {
      const reason = `failing without a success since ${run.failingSince}`;
      await this.disableEndpoint(job, endpoint, 'failing_too_long', reason);
      job.logger.warn('endpoint disabled: failing for too long', { endpointId, reason });
      return;
    }
    if (run.failureStreak >= this.breaker.failureThreshold) {
      const openUntil = now + this.breaker.openSeconds * 1000;
      await this.deps.store.openCircuit(endpointId, openUntil);
      // The streak is an atomic counter: exactly one failure takes it to the threshold, and that
      // one opened the circuit. The failures after it (in flight meanwhile, a failed probe) only
      // keep it open.
      if (run.failureStreak === this.breaker.failureThreshold) {
        job.emit(
          operationalEvent('endpoint.circuit_opened', {
            ...this.eventKeys(job, endpoint),
            failureStreak: run.failureStreak,
            failingSince: run.failingSince,
            openUntil: new Date(openUntil).toISOString(),
            openSeconds: this.breaker.openSeconds,
            ...(attempt.statusCode !== undefined ? { lastStatusCode: attempt.statusCode } : {}),
            ...(attempt.error !== undefined ? { lastError: attempt.error } : {}),
          }),
        );
      }
      job.logger.warn("circuit opened: deferring this endpoint's messages", {
        endpointId,
        failureStreak: run.failureStreak,
        openSeconds: this.breaker.openSeconds,
      });
    }
  }

  /**
   * A dead delivery: mark it dead and copy the message to the DLQ now (the queue's
   * maxReceiveCount is only a backstop above the budget, for receives the worker never saw).
   * Its attempts so far, or undefined when another copy of the message delivered it meanwhile
   * (then nothing is copied).
   */
  private async deadLetter(job: Job, attempt: AttemptRecord): Promise<number | undefined> {
    const attempts = await this.recordFailure(
      job,
      'dead',
      { ...attempt, attempt: job.attemptNumber },
      undefined,
    );
    if (attempts === undefined) return undefined;
    await this.queue.deadLetter(job.record.body);
    job.count('DeliveryDead');
    return attempts;
  }

  /**
   * Records a failed or dead outcome and its attempt: the delivery's attempt count after it.
   * Undefined when the delivery was delivered meanwhile by another copy of the message: a failure
   * never overwrites `delivered`, and the losing copy ends as a counted duplicate.
   */
  private async recordFailure(
    job: Job,
    status: DeliveryStatus,
    attempt: AttemptRecord,
    nextAttemptAt: string | undefined,
    dueAtMs?: number,
  ): Promise<number | undefined> {
    const number = await this.deps.store.recordOutcome({
      ...this.keyOf(job.message),
      status,
      attempt,
      redrive: job.redrive,
      ...(nextAttemptAt ? { nextAttemptAt } : {}),
      ...(dueAtMs !== undefined ? { dueAtMs } : {}),
      ...(job.newScheduleBase !== undefined ? { scheduleBase: job.newScheduleBase } : {}),
    });
    if (number === undefined) {
      job.logger.info('delivered by another copy meanwhile; this failure is not recorded', {});
      job.count('DuplicateSuppressed');
      return undefined;
    }
    await this.deps.store.putAttempt(job.message.deliveryId, { ...attempt, attempt: number });
    return number;
  }

  /**
   * An event check (see lambdas/core/payload.ts): an event with a key that is still not queued
   * once its lease is over is handed to the sweep; one still leased is looked at again then.
   */
  private async checkEvent(
    record: SQSRecord,
    eventId: string,
    count: (name: string) => void,
  ): Promise<RecordFate> {
    const event = await this.deps.store.getEvent(eventId);
    if (!event || isQueued(event)) return 'done';
    const now = this.now();
    if (event.leaseUntilMs !== undefined && event.leaseUntilMs > now) {
      await this.queue.defer(record.receiptHandle, Math.ceil((event.leaseUntilMs - now) / 1000) + 1);
      return 'retry';
    }
    await this.deps.store.releaseEvent(eventId, now);
    count('EventsHandedToSweep');
    this.deps.logger.warn('event found accepted but not queued; handed to the sweep', { eventId });
    return 'done';
  }

  /** The delivery's key fields, and its correlation fields when its message has them. */
  private keyOf(message: DeliveryMessage) {
    return {
      endpointId: message.endpointId,
      id: message.deliveryId,
      eventId: message.eventId,
      eventType: message.eventType,
      createdAtMs: message.createdAtMs,
      ...(message.tenantId !== undefined ? { tenantId: message.tenantId } : {}),
      ...(message.trackingId !== undefined ? { trackingId: message.trackingId } : {}),
    };
  }

  private async loadSecret(name: string) {
    try {
      return await this.deps.secrets.get(name);
    } catch (error) {
      // Fail closed: never send unsigned; the message is retried. The error's message is not
      // kept: a parse error quotes the secret it failed on.
      throw new DeliveryError('secret_unavailable', `signing secret unreadable (${errorName(error)})`, true);
    }
  }
}

/** A failure to sign or send, as the attempt's outcome: anything unexpected is an internal error, retried. */
function failedSend(error: unknown): AttemptOutcome {
  const failure =
    error instanceof DeliveryError
      ? error
      : new DeliveryError('internal_error', `unexpected error while sending (${errorName(error)})`, true);
  return { kind: 'failed', retryable: failure.retryable, error: `${failure.code}: ${failure.message}` };
}

const CLOSED: CircuitState = { state: 'closed' };

/**
 * The endpoint transitions made of the store's own writes, each after a read of the endpoint:
 * right within one process (the tests' in-memory stores), not across concurrent workers, which
 * is why the delivery function is given the conditional ones (lambdas/adapters/store/endpoint-transitions.ts).
 */
function storeTransitions(store: WorkerDeps['store']): EndpointTransitions {
  return {
    async disableIfEnabled(endpoint, reason, nowIso) {
      const before = await store.getEndpoint(endpoint.id);
      await store.updateEndpoint(endpoint.id, { enabled: false, disabledReason: reason, updatedAt: nowIso });
      return before?.enabled ? before : undefined;
    },
    async endFailureRun(endpoint) {
      const before = await store.getEndpoint(endpoint.id);
      await store.resetEndpointFailures(endpoint.id);
      const hadRun =
        (before?.failureStreak ?? 0) > 0 ||
        before?.failingSince !== undefined ||
        before?.circuitOpenUntil !== undefined;
      return hadRun ? before : undefined;
    },
  };
}

/** A logger whose every line also carries `keys`, as a Powertools child logger's persistent keys do. */
function withPersistentKeys(logger: WorkerLogger, keys: Record<string, unknown>): WorkerLogger {
  return {
    debug: (message, extra) => logger.debug(message, { ...keys, ...extra }),
    info: (message, extra) => logger.info(message, { ...keys, ...extra }),
    warn: (message, extra) => logger.warn(message, { ...keys, ...extra }),
    error: (message, extra) => logger.error(message, { ...keys, ...extra }),
  };
}

/** The warning logged for each way a delivery ends dead. */
const DEAD_LOG: Record<DeadCause, string> = {
  endpoint_unavailable: 'not sent: endpoint unavailable; parked in the dead-letter queue',
  gone: 'receiver answered 410 Gone: endpoint disabled, message parked',
  not_retryable: 'not retryable; parked in the dead-letter queue',
  budget_spent: 'attempt budget spent; dead, parked in the dead-letter queue',
};
