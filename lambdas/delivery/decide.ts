/**
 * The delivery worker's decisions, pure: what becomes of a record, from what is known of it (its
 * endpoint, the circuit, the attempt's outcome, its place in the retry schedule and the clock).
 * The worker (./worker.ts) reads and sends, asks these functions, and applies the decision's
 * effects in one place, as Powertools' batch processor separates the record handler from what
 * happens to the record. No I/O here; randomness (the jitter) is injected.
 */
import type { CircuitState } from '../core/circuit-breaker.ts';
import { classifyResponse } from '../core/classify.ts';
import { type RetryPolicy, SLOW_ANSWER_MS, VISIBILITY_CAP_MARGIN_SECONDS } from '../core/config.ts';
import type { EndpointRecord } from '../core/records.ts';
import { hasAttemptsLeft, retryDelaySeconds, visibilityCeilingSeconds } from '../core/retry-schedule.ts';

/** Why a delivery waits in its endpoint's backlog, out of the queue. */
export type HoldReason = 'circuit_open' | 'rate_limited';

/** Why a delivery is dead (recorded `dead`, its message in the DLQ). */
export type DeadCause = 'endpoint_unavailable' | 'gone' | 'not_retryable' | 'budget_spent';

/**
 * What becomes of the record: `delivered`; `retry` later (in the queue, its message hidden for
 * `seconds`, or out of it, waiting in the `byWait` index until then); `park`ed in the endpoint's
 * backlog (no attempt spent); or `dead`. `error` is the failed attempt's, to record.
 */
export type Decision =
  | { readonly kind: 'delivered'; readonly slow: boolean }
  | { readonly kind: 'retry'; readonly seconds: number; readonly outOfQueue: boolean; readonly error: string }
  | { readonly kind: 'park'; readonly reason: HoldReason }
  | { readonly kind: 'dead'; readonly cause: DeadCause; readonly error: string };

const CIRCUIT_OPEN: Decision = { kind: 'park', reason: 'circuit_open' };

/**
 * Before sending: `send`, `probe` (the circuit is to be tested: send only if this record wins the
 * probe claim, else park it), or a final decision made without sending.
 */
export type Gate = { readonly kind: 'send' } | { readonly kind: 'probe' } | Decision;

export interface GateInput {
  /** The endpoint as last read; undefined when it was deleted. */
  readonly endpoint: EndpointRecord | undefined;
  /** Its circuit (unused when the endpoint is unavailable). */
  readonly circuit: CircuitState;
  /** The delivery comes back after it was dead, or was queued again by hand: a new schedule. */
  readonly redrive: boolean;
  /** The message's reason: `released` and `probe` come from the backlog's releaser. */
  readonly reason: string | undefined;
}

/**
 * An unavailable endpoint (disabled or deleted) makes the delivery dead. An open circuit parks it,
 * unless the circuit is half-open or the delivery is a redrive or manual retry (an operator acting
 * on an endpoint must not wait out its open time): then it is the probe. A rateLimit sends every
 * delivery through the backlog, except those its releaser sends.
 */
export function gate(input: GateInput): Gate {
  const { endpoint } = input;
  if (!endpoint?.enabled) {
    const error = endpoint
      ? `endpoint is disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`
      : 'endpoint was deleted';
    return { kind: 'dead', cause: 'endpoint_unavailable', error: `endpoint_unavailable: ${error}` };
  }
  if (input.circuit.state !== 'closed') {
    return input.circuit.state === 'half-open' || input.redrive ? { kind: 'probe' } : CIRCUIT_OPEN;
  }
  if (endpoint.rateLimit && input.reason !== 'released' && input.reason !== 'probe') {
    return { kind: 'park', reason: 'rate_limited' };
  }
  return { kind: 'send' };
}

/** What a send came to. */
export type AttemptOutcome =
  /** The receiver answered. */
  | {
      readonly kind: 'answered';
      readonly statusCode: number;
      readonly retryAfter?: string | undefined;
      readonly durationMs: number;
      /** The start of the answer's body, kept with a failed attempt. */
      readonly excerpt: string;
    }
  /** Signing or sending failed (a DeliveryError's code and message in `error`). */
  | { readonly kind: 'failed'; readonly retryable: boolean; readonly error: string }
  /** Not sent: the circuit opened while the record waited for one of the endpoint's slots. */
  | { readonly kind: 'circuit_open' };

export interface DecisionContext {
  /** The attempt's place in the current schedule (1 = first try): what the budget counts. */
  readonly position: number;
  readonly policy: RetryPolicy;
  /** Waits longer than this leave the queue. */
  readonly shortWaitMaxSeconds: number;
  readonly nowMs: number;
  /** When the worker got the record (SQS's 12-hour visibility cap counts from before it). */
  readonly receivedAtMs: number;
  /** The retry jitter's source. @default Math.random */
  readonly random?: (() => number) | undefined;
}

/**
 * The record's fate after a send. 2xx: delivered (`slow` above SLOW_ANSWER_MS: it counts against
 * the circuit). 410: dead, and the endpoint is to be disabled. A failure that cannot succeed:
 * dead. Any other failure: retried at the schedule's next delay (or Retry-After, within its
 * bounds) while the budget lasts, dead after.
 */
export function decide(outcome: AttemptOutcome, context: DecisionContext): Decision {
  if (outcome.kind === 'circuit_open') return CIRCUIT_OPEN;
  if (outcome.kind === 'failed') {
    return outcome.retryable
      ? retryOrDead(outcome.error, undefined, context)
      : { kind: 'dead', cause: 'not_retryable', error: outcome.error };
  }
  const verdict = classifyResponse(outcome.statusCode, outcome.retryAfter, context.nowMs);
  if (verdict.kind === 'delivered') return { kind: 'delivered', slow: outcome.durationMs > SLOW_ANSWER_MS };
  if (verdict.kind === 'gone') {
    return { kind: 'dead', cause: 'gone', error: 'receiver answered 410 Gone; endpoint disabled' };
  }
  return retryOrDead(verdict.reason, verdict.retryAfterSeconds, context);
}

function retryOrDead(
  error: string,
  retryAfterSeconds: number | undefined,
  context: DecisionContext,
): Decision {
  if (!hasAttemptsLeft(context.position, context.policy))
    return { kind: 'dead', cause: 'budget_spent', error };
  const wanted = retryDelaySeconds(context.position, context.policy, {
    random: context.random,
    retryAfterSeconds,
  });
  // A long wait leaves the queue: only short waits stay in flight.
  if (wanted > context.shortWaitMaxSeconds)
    return { kind: 'retry', seconds: wanted, outOfQueue: true, error };
  // SQS measures its 12-hour cap from the receive, which came before the worker got the record
  // (the batching window, the invoke): keep minutes of margin rather than one second.
  const elapsedSinceReceiveSeconds =
    (context.nowMs - context.receivedAtMs) / 1000 + VISIBILITY_CAP_MARGIN_SECONDS;
  return {
    kind: 'retry',
    seconds: Math.min(wanted, visibilityCeilingSeconds(elapsedSinceReceiveSeconds)),
    outOfQueue: false,
    error,
  };
}
