/**
 * The delivery worker: one SQS record in, one signed POST out, the outcome recorded, and the
 * record's fate decided (delete, retry later, or dead-letter). The Lambda handler and the
 * local poller both call {@link DeliveryWorker.processBatch}; dependencies are injected so
 * tests and the benchmark can swap them.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { HttpAnswer } from '../adapters/http-sender.ts';
import { deferMessage, sendToDeadLetter } from '../adapters/queue.ts';
import type { EndpointSecrets } from '../adapters/secrets.ts';
import { signingSecrets } from '../adapters/secrets.ts';
import type { AttemptRecord, EndpointRecord, Store } from '../adapters/store.ts';
import { classifyResponse } from '../core/classify.ts';
import {
  ENDPOINT_CACHE_TTL_MS,
  MAX_IN_FLIGHT_PER_ENDPOINT,
  RESPONSE_EXCERPT_BYTES,
  type RetryPolicy,
} from '../core/config.ts';
import { DeliveryError } from '../core/errors.ts';
import { KeyedLimiter } from '../core/keyed-limiter.ts';
import { type DeliveryMessage, decodeMessage } from '../core/payload.ts';
import { hasAttemptsLeft, retryDelaySeconds } from '../core/retry-schedule.ts';
import { webhookHeaders } from '../core/signing.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import type { DeliveryStatus } from '../core/validation.ts';

/** Structured logging, as Powertools' Logger provides it. */
export interface WorkerLogger {
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
    | 'getEndpoint'
    | 'getDelivery'
    | 'recordOutcome'
    | 'putAttempt'
    | 'addEndpointFailure'
    | 'resetEndpointFailures'
    | 'updateEndpoint'
  >;
  readonly secrets: Pick<EndpointSecrets, 'get'>;
  readonly sender: { post(url: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> };
  readonly queue?: {
    defer(receiptHandle: string, seconds: number): Promise<void>;
    deadLetter(body: string): Promise<void>;
  };
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly policy: RetryPolicy;
  readonly logger: WorkerLogger;
  readonly metric?: MetricSink;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** What became of one record. */
type RecordFate = 'done' | 'retry';

/** Processes SQS batches of delivery messages. */
export class DeliveryWorker {
  private readonly limiter = new KeyedLimiter(MAX_IN_FLIGHT_PER_ENDPOINT);
  private readonly endpoints: TtlCache<EndpointRecord | undefined>;
  private readonly now: () => number;
  private readonly queue: NonNullable<WorkerDeps['queue']>;
  private readonly metric: MetricSink;

  constructor(private readonly deps: WorkerDeps) {
    this.now = deps.now ?? Date.now;
    this.endpoints = new TtlCache(ENDPOINT_CACHE_TTL_MS, this.now);
    this.metric = deps.metric ?? (() => {});
    this.queue = deps.queue ?? {
      defer: (receiptHandle, seconds) => deferMessage(deps.queueUrl, receiptHandle, seconds),
      deadLetter: (body) => sendToDeadLetter(deps.deadLetterQueueUrl, body),
    };
  }

  /**
   * Delivers every record concurrently (at most {@link MAX_IN_FLIGHT_PER_ENDPOINT} per
   * endpoint) and reports the ones to retry as batch item failures, by their own messageId.
   */
  async processBatch(records: readonly SQSRecord[]): Promise<SQSBatchResponse> {
    const fates = await Promise.all(records.map((record) => this.processRecordSafely(record)));
    return {
      batchItemFailures: records
        .filter((record, index) => fates[index] === 'retry' && record.messageId)
        .map((record) => ({ itemIdentifier: record.messageId })),
    };
  }

  private async processRecordSafely(record: SQSRecord): Promise<RecordFate> {
    try {
      return await this.processRecord(record);
    } catch (error) {
      // Anything unexpected (DynamoDB down, a bug): keep the message; it comes back after the
      // queue's visibility timeout, and a delivery already made is not repeated.
      this.deps.logger.error('record failed unexpectedly; it will be retried', {
        messageId: record.messageId,
        error: (error as Error).message,
      });
      return 'retry';
    }
  }

  private async processRecord(record: SQSRecord): Promise<RecordFate> {
    const receivedAt = this.now();
    let message: DeliveryMessage;
    try {
      message = decodeMessage(record.body);
    } catch (error) {
      // A poisoned record can never succeed: park it where an operator sees it.
      this.deps.logger.error('poisoned message moved to the dead-letter queue', {
        messageId: record.messageId,
        error: (error as Error).message,
      });
      await this.queue.deadLetter(record.body);
      this.metric('DeliveryDead', 'Count', 1);
      return 'done';
    }
    const context = {
      eventId: message.eventId,
      deliveryId: message.deliveryId,
      endpointId: message.endpointId,
      messageId: record.messageId,
    };
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;

    const endpoint = await this.endpoints.get(message.endpointId, () =>
      this.deps.store.getEndpoint(message.endpointId),
    );
    const existing = await this.deps.store.getDelivery(message.endpointId, message.deliveryId);
    if (existing?.status === 'delivered') {
      this.deps.logger.info('already delivered; duplicate message dropped', context);
      this.metric('DuplicateSuppressed', 'Count', 1);
      return 'done';
    }
    // Back after being dead or retried by hand: SQS restarted its receive count, we keep ours.
    const redrive = receiveCount === 1 && (existing?.attempts ?? 0) > 0;
    const attemptNumber = (existing?.attempts ?? 0) + 1;

    if (!endpoint?.enabled) {
      const reason = endpoint
        ? `endpoint is disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`
        : 'endpoint was deleted';
      await this.park(record, message, attemptNumber, redrive, {
        at: receivedAt,
        error: reason,
        code: 'endpoint_unavailable',
      });
      this.deps.logger.warn('not sent: endpoint unavailable; parked in the dead-letter queue', {
        ...context,
        reason,
      });
      return 'done';
    }

    const attemptAt = new Date(this.now()).toISOString();
    let answer: HttpAnswer;
    try {
      const secrets = signingSecrets(await this.loadSecret(endpoint.secretName), this.now());
      const headers = webhookHeaders(secrets, message.eventId, Math.floor(this.now() / 1000), message.body);
      this.metric('DeliveryAttempts', 'Count', 1);
      answer = await this.limiter.run(endpoint.id, () =>
        this.deps.sender.post(endpoint.url, headers, message.body),
      );
    } catch (error) {
      const failure =
        error instanceof DeliveryError
          ? error
          : new DeliveryError('internal_error', (error as Error).message, true);
      const attempt: AttemptRecord = {
        attempt: attemptNumber,
        at: attemptAt,
        durationMs: this.now() - Date.parse(attemptAt),
        error: `${failure.code}: ${failure.message}`,
      };
      if (!failure.retryable) {
        await this.park(
          record,
          message,
          attemptNumber,
          redrive,
          { at: receivedAt, error: attempt.error ?? failure.code, code: failure.code },
          attempt,
        );
        this.deps.logger.warn('not retryable; parked in the dead-letter queue', {
          ...context,
          error: attempt.error,
        });
        return 'done';
      }
      return this.retryLater(
        record,
        message,
        endpoint,
        attempt,
        receiveCount,
        receivedAt,
        redrive,
        undefined,
      );
    }

    const verdict = classifyResponse(answer.statusCode, answer.retryAfter, this.now());
    const attempt: AttemptRecord = {
      attempt: attemptNumber,
      at: attemptAt,
      statusCode: answer.statusCode,
      durationMs: answer.durationMs,
    };
    this.metric('AttemptDuration', 'Milliseconds', answer.durationMs);
    if (verdict.kind === 'delivered') {
      await this.deps.store.recordOutcome({ ...this.keyOf(message), status: 'delivered', attempt, redrive });
      if ((endpoint.failureStreak ?? 0) > 0) {
        await this.deps.store.resetEndpointFailures(endpoint.id);
        this.endpoints.delete(endpoint.id);
      }
      this.metric('DeliveryDelivered', 'Count', 1);
      this.metric('DeliveryLatency', 'Milliseconds', this.now() - message.createdAtMs);
      this.deps.logger.info('delivered', {
        ...context,
        statusCode: answer.statusCode,
        durationMs: answer.durationMs,
      });
      return 'done';
    }
    const failed: AttemptRecord = {
      ...attempt,
      error: verdict.kind === 'gone' ? 'receiver answered 410 Gone; endpoint disabled' : verdict.reason,
      responseExcerpt: answer.excerpt.slice(0, RESPONSE_EXCERPT_BYTES),
    };
    if (verdict.kind === 'gone') {
      await this.deps.store.updateEndpoint(endpoint.id, {
        enabled: false,
        disabledReason: 'receiver answered 410 Gone',
        updatedAt: new Date(this.now()).toISOString(),
      });
      this.endpoints.delete(endpoint.id);
      await this.park(
        record,
        message,
        attemptNumber,
        redrive,
        { at: receivedAt, error: failed.error ?? 'gone', code: 'gone' },
        failed,
      );
      this.deps.logger.warn('receiver answered 410 Gone: endpoint disabled, message parked', context);
      return 'done';
    }
    return this.retryLater(
      record,
      message,
      endpoint,
      failed,
      receiveCount,
      receivedAt,
      redrive,
      verdict.retryAfterSeconds,
    );
  }

  /**
   * A retryable failure: record it, then either hide the message until its next attempt, or,
   * when the budget is spent, mark the delivery dead and let SQS move the message to the DLQ
   * (maxReceiveCount is the attempt budget, so its next receive is the move).
   */
  private async retryLater(
    record: SQSRecord,
    message: DeliveryMessage,
    endpoint: EndpointRecord,
    attempt: AttemptRecord,
    receiveCount: number,
    receivedAt: number,
    redrive: boolean,
    retryAfterSeconds: number | undefined,
  ): Promise<RecordFate> {
    const attemptsLeft = hasAttemptsLeft(receiveCount, this.deps.policy);
    const delay = attemptsLeft
      ? retryDelaySeconds(receiveCount, this.deps.policy, {
          random: this.deps.random,
          retryAfterSeconds,
          elapsedSinceReceiveSeconds: (this.now() - receivedAt) / 1000,
        })
      : 0;
    const status: DeliveryStatus = attemptsLeft ? 'failed' : 'dead';
    const nextAttemptAt = attemptsLeft ? new Date(this.now() + delay * 1000).toISOString() : undefined;
    await this.recordFailure(message, status, attempt, redrive, nextAttemptAt);
    await this.deps.store.addEndpointFailure(endpoint.id);
    this.endpoints.delete(endpoint.id);
    await this.queue.defer(record.receiptHandle, delay);
    this.metric('DeliveryFailed', 'Count', 1);
    if (!attemptsLeft) this.metric('DeliveryDead', 'Count', 1);
    this.deps.logger.warn(attemptsLeft ? 'attempt failed; retry scheduled' : 'attempt budget spent; dead', {
      eventId: message.eventId,
      deliveryId: message.deliveryId,
      endpointId: message.endpointId,
      receiveCount,
      statusCode: attempt.statusCode,
      error: attempt.error,
      retryInSeconds: attemptsLeft ? delay : undefined,
    });
    return 'retry';
  }

  /** A permanent failure: mark the delivery dead and copy the message to the DLQ now. */
  private async park(
    record: SQSRecord,
    message: DeliveryMessage,
    attemptNumber: number,
    redrive: boolean,
    reason: { at: number; error: string; code: string },
    attempt?: AttemptRecord,
  ): Promise<void> {
    const recorded: AttemptRecord = attempt ?? {
      attempt: attemptNumber,
      at: new Date(reason.at).toISOString(),
      durationMs: 0,
      error: `${reason.code}: ${reason.error}`,
    };
    await this.recordFailure(message, 'dead', recorded, redrive, undefined);
    await this.queue.deadLetter(record.body);
    this.metric('DeliveryDead', 'Count', 1);
  }

  private async recordFailure(
    message: DeliveryMessage,
    status: DeliveryStatus,
    attempt: AttemptRecord,
    redrive: boolean,
    nextAttemptAt: string | undefined,
  ): Promise<void> {
    const number = await this.deps.store.recordOutcome({
      ...this.keyOf(message),
      status,
      attempt,
      redrive,
      ...(nextAttemptAt ? { nextAttemptAt } : {}),
    });
    await this.deps.store.putAttempt(message.deliveryId, { ...attempt, attempt: number });
  }

  private keyOf(message: DeliveryMessage) {
    return {
      endpointId: message.endpointId,
      id: message.deliveryId,
      eventId: message.eventId,
      eventType: message.eventType,
      createdAtMs: message.createdAtMs,
    };
  }

  private async loadSecret(name: string) {
    try {
      return await this.deps.secrets.get(name);
    } catch (error) {
      // Fail closed: never send unsigned; the message is retried.
      throw new DeliveryError(
        'secret_unavailable',
        `signing secret unreadable: ${(error as Error).message}`,
        true,
      );
    }
  }
}
