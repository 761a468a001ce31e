/**
 * Per-endpoint circuit breaker, decided from the endpoint record. Pure.
 *
 * Closed: deliver. After `failureThreshold` consecutive failures the circuit opens until
 * `circuitOpenUntil`: messages are deferred without touching the receiver. When that time
 * passes the circuit is half-open: one worker claims a probe (a conditional write), sends one
 * message, and its outcome closes the circuit or opens it again.
 */
import type { BreakerPolicy } from './config.ts';

export type CircuitState =
  | { readonly state: 'closed' }
  | { readonly state: 'open'; readonly retryInSeconds: number }
  | { readonly state: 'half-open' };

/** What the breaker needs to know of an endpoint. */
export interface CircuitFields {
  readonly failureStreak?: number;
  readonly circuitOpenUntil?: number;
}

export function circuitState(endpoint: CircuitFields, nowMs: number, policy: BreakerPolicy): CircuitState {
  if ((endpoint.failureStreak ?? 0) < policy.failureThreshold) return { state: 'closed' };
  const openUntil = endpoint.circuitOpenUntil ?? 0;
  if (openUntil > nowMs) return { state: 'open', retryInSeconds: Math.ceil((openUntil - nowMs) / 1000) };
  return { state: 'half-open' };
}

/** Whether an endpoint that has failed since `failingSince` has failed long enough to be disabled. */
export function failedTooLong(
  failingSince: string | undefined,
  nowMs: number,
  policy: BreakerPolicy,
): boolean {
  if (!failingSince) return false;
  return nowMs - Date.parse(failingSince) >= policy.disableAfterSeconds * 1000;
}
