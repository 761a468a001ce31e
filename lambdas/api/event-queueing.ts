/**
 * Queueing an event's delivery messages, for the API (first request and replays with the same
 * Idempotency-Key) and the sweep alike. An event is `accepted` until every one of its messages
 * went out, then `queued`; a request holds an accepted event through a lease no longer than the
 * API function's timeout, and whoever finds the lease run out may take the event over and send
 * what is missing, with the same delivery ids, creation time and body.
 */
import type { EventRecord, Store } from '../adapters/store.ts';
import { isQueued } from '../adapters/store.ts';
import { EVENT_LEASE_SECONDS } from '../core/config.ts';
import { deliveryId } from '../core/ids.ts';
import { type DeliveryMessage, unpackBody } from '../core/payload.ts';

/** What queueing needs. */
export interface QueueingDeps {
  readonly store: Pick<Store, 'claimEvent' | 'markEventQueued' | 'releaseEvent' | 'getEvent'>;
  /** Sends messages; resolves to the delivery ids that did not go out. */
  readonly enqueue: (
    messages: readonly DeliveryMessage[],
    options: { deadlineMs: number },
  ) => Promise<string[]>;
  readonly now: () => number;
  /** Told of failures that leave an event to the sweep (never of an event's content). */
  readonly warn?: (message: string, extra: Record<string, unknown>) => void;
}

/** Where an event stands after an attempt to queue it. */
export type QueueOutcome =
  | { readonly kind: 'queued'; readonly event: EventRecord }
  /** Another request holds the event and may still be queueing it. */
  | { readonly kind: 'busy'; readonly retryAfterSeconds: number }
  /** Some messages did not go out; the event is left to the sweep (or the next retry). */
  | { readonly kind: 'unsent'; readonly event: EventRecord; readonly unsent: readonly string[] };

/** What sending an event's messages can end in. */
export type SendOutcome = Exclude<QueueOutcome, { readonly kind: 'busy' }>;

/**
 * The delivery messages of an event, to every endpoint or only to `endpointIds`. Pass `body`
 * when the caller has it at hand, so the stored (deflated) copy is not inflated again.
 */
export function deliveryMessagesOf(
  event: EventRecord,
  endpointIds: readonly string[] = event.endpointIds,
  body: string = unpackBody(event),
): DeliveryMessage[] {
  return endpointIds.map((endpointId) => ({
    deliveryId: deliveryId(event.id, endpointId, event.createdAtMs),
    eventId: event.id,
    endpointId,
    eventType: event.type,
    createdAtMs: event.createdAtMs,
    body,
    ...(event.tenantId ? { tenantId: event.tenantId } : {}),
    ...(event.trackingId ? { trackingId: event.trackingId } : {}),
  }));
}

/** Sends the messages of an event to `endpointIds`; resolves to the endpoints not reached. */
export async function sendMessages(
  deps: Pick<QueueingDeps, 'enqueue'>,
  event: EventRecord,
  endpointIds: readonly string[],
  deadlineMs: number,
  body?: string,
): Promise<string[]> {
  const messages = deliveryMessagesOf(event, endpointIds, body);
  if (messages.length === 0) return [];
  const unsent = new Set(await deps.enqueue(messages, { deadlineMs }));
  return messages.filter((message) => unsent.has(message.deliveryId)).map((message) => message.endpointId);
}

/**
 * Sends the messages of a stored event the caller holds (it stored it, or claimed it) and marks
 * it queued; when some do not go out, releases it to the sweep, naming the endpoints still unsent.
 */
export async function sendAndMark(
  deps: QueueingDeps,
  event: EventRecord,
  endpointIds: readonly string[],
  deadlineMs: number,
  body?: string,
): Promise<SendOutcome> {
  return markSent(deps, event, await sendMessages(deps, event, endpointIds, deadlineMs, body));
}

/**
 * Records what sending a held event's messages came to (batch ingest sends many events'
 * messages together, then marks each): queued when `unsent` is empty, else released to the sweep.
 */
export async function markSent(
  deps: QueueingDeps,
  event: EventRecord,
  unsent: readonly string[],
): Promise<SendOutcome> {
  if (unsent.length > 0) {
    await deps.store.releaseEvent(event.id, deps.now(), unsent).catch(() => {
      // The lease then runs out by itself, and a retry or the event check takes the event over.
      deps.warn?.('event not handed to the sweep; its lease will run out instead', { eventId: event.id });
    });
    return { kind: 'unsent', event, unsent };
  }
  try {
    await deps.store.markEventQueued(event.id);
  } catch {
    // Every message went out; only the mark is missing. The event check (or a retry) finds the
    // event accepted and sends its messages again under the same ids: the worker drops copies
    // of what was delivered.
    deps.warn?.('event queued but not marked so; it may be queued again', { eventId: event.id });
  }
  return { kind: 'queued', event: { ...event, state: 'queued' } };
}

/**
 * Queues an accepted event whose lease ran out (its request died or gave up): takes it over,
 * sends what is missing (every message when nobody knows), and marks it queued. A queued event
 * is returned as it is; one still leased is `busy`.
 */
export async function resumeEvent(
  deps: QueueingDeps,
  event: EventRecord,
  deadlineMs: number,
): Promise<QueueOutcome> {
  let current = event;
  // A few rounds: the lease may move under us (the event check releasing it, another retry).
  for (let round = 0; round < 3; round++) {
    if (isQueued(current)) return { kind: 'queued', event: current };
    const now = deps.now();
    if (current.leaseUntilMs !== undefined && current.leaseUntilMs > now) {
      return { kind: 'busy', retryAfterSeconds: Math.max(1, Math.ceil((current.leaseUntilMs - now) / 1000)) };
    }
    if (await deps.store.claimEvent(current.id, current.leaseUntilMs, now + EVENT_LEASE_SECONDS * 1000)) {
      return sendAndMark(deps, current, current.unsentEndpointIds ?? current.endpointIds, deadlineMs);
    }
    const fresh = await deps.store.getEvent(current.id);
    if (!fresh) break;
    current = fresh;
  }
  return { kind: 'busy', retryAfterSeconds: 1 };
}
