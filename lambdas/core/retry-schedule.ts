/**
 * The backoff between delivery attempts, derived from the SQS receive count.
 *
 * A failed delivery sets its message's visibility to {@link retryDelaySeconds} and reports a
 * batch item failure; SQS hands the message back after that delay with the receive count one
 * higher. Because the step is the receive count, a message redriven from the DLQ starts a
 * fresh, fast schedule. Pure: the delivery function, the local runner and the tests share it.
 */

import { JITTER_RATIO, type RetryPolicy, SQS_MAX_VISIBILITY_SECONDS } from './config.ts';

/** Options of {@link retryDelaySeconds}. */
export interface RetryDelayOptions {
  /** Source of uniform randomness in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
  /**
   * The receiver's `Retry-After`, in seconds. It can lengthen the delay up to the schedule's
   * largest value, never shorten it.
   */
  readonly retryAfterSeconds?: number;
  /**
   * Seconds since SQS delivered this receive of the message. SQS refuses a visibility timeout
   * that ends more than 12 hours after the receive, so time already spent counts against it.
   * @default 0
   */
  readonly elapsedSinceReceiveSeconds?: number;
}

function scheduledDelay(step: number, policy: RetryPolicy): number {
  const schedule = policy.scheduleSeconds;
  if (schedule.length === 0) {
    return 0;
  }
  return schedule[Math.min(step - 1, schedule.length - 1)] ?? 0;
}

function nonNegativeOrZero(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Seconds to wait before the next attempt, after attempt `attempt` of the current schedule
 * failed (the worker counts attempts actually sent, from the delivery record: waiting on an open
 * circuit is not an attempt, and neither is a receive the worker never saw).
 *
 * The delay is `policy.scheduleSeconds[attempt - 1]` (the last entry repeats), times a
 * random factor in [1 - {@link JITTER_RATIO}, 1 + {@link JITTER_RATIO}], rounded to whole
 * seconds because SQS takes integers. A `Retry-After` raises it to at most the schedule's
 * largest value. The result is never negative and never reaches past the 12-hour visibility
 * limit SQS counts from the receive (waits over SHORT_WAIT_MAX_SECONDS leave the queue anyway).
 * An entry of 0 stays 0: retry at once.
 *
 * @param receiveCount - the attempt's place in the current schedule; 1 is the first attempt
 * @throws RangeError if `receiveCount` is not a positive integer
 */
export function retryDelaySeconds(
  receiveCount: number,
  policy: RetryPolicy,
  options: RetryDelayOptions = {},
): number {
  if (!Number.isSafeInteger(receiveCount) || receiveCount < 1) {
    throw new RangeError(`receiveCount must be a positive integer, got ${receiveCount}`);
  }
  const random = options.random ?? Math.random;
  const jitter = 1 - JITTER_RATIO + 2 * JITTER_RATIO * random();
  let delay = Math.round(scheduledDelay(receiveCount, policy) * jitter);

  if (options.retryAfterSeconds !== undefined) {
    const largest = Math.max(0, ...policy.scheduleSeconds);
    const requested = Math.ceil(nonNegativeOrZero(options.retryAfterSeconds));
    delay = Math.max(delay, Math.min(requested, largest));
  }

  return Math.max(0, Math.min(delay, visibilityCeilingSeconds(options.elapsedSinceReceiveSeconds ?? 0)));
}

/**
 * The longest visibility timeout SQS accepts `elapsedSinceReceiveSeconds` after a receive: its
 * 12-hour cap counts from the receive. One second of slack: the ChangeMessageVisibility call
 * itself takes time.
 */
export function visibilityCeilingSeconds(elapsedSinceReceiveSeconds: number): number {
  const elapsed = Math.ceil(nonNegativeOrZero(elapsedSinceReceiveSeconds));
  return Math.max(0, SQS_MAX_VISIBILITY_SECONDS - elapsed - 1);
}

/**
 * Whether a delivery whose attempt `receiveCount` of the current schedule failed gets another,
 * i.e. the attempt budget is not spent. When it is spent the worker records the delivery dead
 * and parks the message in the DLQ itself (the queue's maxReceiveCount is only a backstop above
 * it, for receives the worker never saw).
 */
export function hasAttemptsLeft(receiveCount: number, policy: RetryPolicy): boolean {
  return receiveCount < policy.maxAttempts;
}

/**
 * How long the whole schedule spans without jitter: the sum of the delays of the
 * `maxAttempts - 1` retries. Delivery time itself is not included.
 */
export function nominalScheduleSeconds(policy: RetryPolicy): number {
  let total = 0;
  for (let step = 1; step < policy.maxAttempts; step++) {
    total += scheduledDelay(step, policy);
  }
  return total;
}
