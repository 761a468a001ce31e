/**
 * The records the store keeps, one kind per DynamoDB table (endpoints, events, deliveries and
 * their attempts), their states and the values of their sparse index keys. Pure data: no AWS
 * imports; the repositories under lambdas/adapters/store/ read and write them.
 */
import type { DeliveryStatus } from './validation.ts';

export type { DeliveryStatus } from './validation.ts';

/** A consumer's endpoint. */
export interface EndpointRecord {
  readonly id: string;
  /** The tenant it belongs to; absent on endpoints made before tenants (they are `default`'s). */
  readonly tenantId?: string;
  readonly url: string;
  readonly eventTypes?: readonly string[];
  readonly description?: string;
  readonly enabled: boolean;
  readonly secretName: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Consecutive failed attempts; reset by a success. */
  readonly failureStreak?: number;
  /** When the current run of failures began (ISO); removed by a success. */
  readonly failingSince?: string;
  /** Epoch ms until which the circuit is open (see lambdas/core/circuit-breaker.ts). */
  readonly circuitOpenUntil?: number;
  readonly disabledReason?: string;
  /** Deliveries per second at most, across every worker (released from its backlog at that rate). */
  readonly rateLimit?: number;
  /** A payload filter on the event (lambdas/core/filter.ts); absent means every event of its types. */
  readonly filter?: unknown;
  /** Names of the custom headers kept with the endpoint's secret (the values are never stored here). */
  readonly headerNames?: readonly string[];
  /** Set while the endpoint has held deliveries (the sparse `byBacklog` index). */
  readonly backlogShard?: string;
  /** Epoch ms until which one worker is releasing the endpoint's backlog. */
  readonly releaseLeaseUntil?: number;
  /** Epoch ms until which release slots are booked: the next release starts there. */
  readonly releasedUntilMs?: number;
  /** When a release first found the backlog empty; a hold removes it. */
  readonly backlogEmptySinceMs?: number;
}

/** The partition of the sparse `byBacklog` index: endpoints with held deliveries. */
export const BACKLOG_SHARD = 'held';

/**
 * Where an event is in its lifecycle: `accepted` (stored, not every delivery message sent yet)
 * or `queued` (every message sent). Events stored before lifecycles existed have no state and
 * were queued.
 */
export type EventState = 'accepted' | 'queued';

/** The partition of the sparse `bySweep` index: events waiting for the sweep. */
export const SWEEP_SHARD = 'accepted';

/** An accepted event. `body` is the signed webhook body, stored compactly. */
export interface EventRecord {
  readonly id: string;
  readonly type: string;
  readonly createdAtMs: number;
  readonly endpointIds: readonly string[];
  readonly fingerprint: string;
  /** Present when the event was sent with an Idempotency-Key. */
  readonly idempotent?: boolean;
  readonly body?: string;
  readonly bodyZ?: Uint8Array;
  /** Absent on events stored before lifecycles: those were queued. */
  readonly state?: EventState;
  /** While `accepted`: epoch ms until which the request that holds it is still queueing it. */
  readonly leaseUntilMs?: number;
  /** While `accepted`, when known: the endpoints whose message is known not to have gone out. */
  readonly unsentEndpointIds?: readonly string[];
  /** Its tenant, when not `default`. */
  readonly tenantId?: string;
  /** The `Trackingid` of the request that accepted it, carried by each of its delivery messages. */
  readonly trackingId?: string;
  /** The send-only key that sent it (such a key reads back only its own events). */
  readonly senderKeyId?: string;
  /** Set only while the event waits for the sweep (the sparse `bySweep` index). */
  readonly sweepShard?: string;
  readonly sweepAfterMs?: number;
}

/** Whether every delivery message of an event went out. */
export const isQueued = (event: EventRecord): boolean => event.state !== 'accepted';

/** One attempt, as listed by GET /deliveries/{id}. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly at: string;
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly responseExcerpt?: string;
}

/** The delivery of one event to one endpoint, with a summary of its attempts. */
export interface DeliveryRecord {
  readonly endpointId: string;
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAtMs: number;
  readonly lastAttempt?: AttemptRecord;
  readonly deliveredAt?: string;
  readonly nextAttemptAt?: string;
  readonly redrives?: number;
  readonly retryQueuedAt?: string;
  /**
   * Attempts made before the current schedule began (it begins again when a dead delivery is
   * redriven or one is retried by hand): the budget counts `attempts - scheduleBase`.
   */
  readonly scheduleBase?: number;
  /** While waiting outside the queue (the sparse `byWait` index): see lambdas/core/schema.ts. */
  readonly waitKey?: string;
  readonly waitAt?: string;
  /** While held in its endpoint's backlog: why (`circuit_open`, `rate_limited`) and since when. */
  readonly heldReason?: string;
  readonly heldAtMs?: number;
  /** The tenant of its endpoint (absent before tenants: `default`). */
  readonly tenantId?: string;
  /** The `Trackingid` of the API request that accepted its event. */
  readonly trackingId?: string;
}

/** Partitions of the sparse `byFailedShard` index per status (see lambdas/core/schema.ts). */
export const FAILED_SHARDS = 8;

/** The `byFailedShard` partition of a delivery in `status`: the status and a shard of its id. */
export function failedShard(deliveryId: string, status: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < deliveryId.length; index++) {
    hash = Math.imul(hash ^ deliveryId.charCodeAt(index), 0x01000193) >>> 0;
  }
  return `${status}#${hash % FAILED_SHARDS}`;
}

/** `byWait` partition of retries waiting for their time. */
export const DUE_WAIT_KEY = 'due';

/** `byWait` partition of an endpoint's backlog. */
export const heldWaitKey = (endpointId: string): string => `held#${endpointId}`;

/** `byWait` sort key of a due time: epoch ms, zero-padded so that text order is time order. */
export const dueWaitAt = (epochMs: number): string =>
  String(Math.max(0, Math.floor(epochMs))).padStart(15, '0');

/** The key fields every delivery write carries (the record may not exist yet). */
export interface DeliveryKey {
  readonly endpointId: string;
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly createdAtMs: number;
}

/** A page of results and the opaque cursor to the next one. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}
