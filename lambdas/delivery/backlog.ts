/**
 * An endpoint's backlog: deliveries held out of the queue while its circuit is open, or while
 * it is over its `rateLimit`, in the `byWait` index oldest first (see lambdas/core/schema.ts).
 * Holding deletes the message, so a dead endpoint's traffic never stays in flight.
 *
 * {@link releaseBacklog} runs in the delivery worker, on a release message (queued when a probe
 * succeeds, when an operator re-enables the endpoint, and by the sweep every minute for every
 * endpoint listed in the `byBacklog` index). One releaser at a time per endpoint (a lease on the
 * endpoint record), so the rate holds across every worker:
 *
 * - circuit open: nothing is sent; the release comes back when the circuit turns half-open;
 * - half-open: the oldest held delivery goes out as the probe (the worker claims the probe as it
 *   would for any message); its success closes the circuit and queues the next release;
 * - closed, disabled or deleted: up to a window's worth (rate x {@link BACKLOG_RELEASE_WINDOW_SECONDS})
 *   goes out oldest first, at most `rate` to each second by SQS per-message delays, from the
 *   endpoint's first free second (jittered by up to a second when a release starts afresh); the
 *   seconds are booked on the endpoint (`releasedUntilMs`), so releases never overlap, and the
 *   next release is queued for when they are over. A disabled or deleted endpoint's backlog
 *   drains this way too, into the dead-letter queue, so nothing held is lost.
 */
import type { DeliveryRecord, EndpointRecord, EventRecord, Store } from '../adapters/store.ts';
import { circuitState } from '../core/circuit-breaker.ts';
import {
  BACKLOG_EMPTY_GRACE_MS,
  BACKLOG_RELEASE_WINDOW_SECONDS,
  type BreakerPolicy,
} from '../core/config.ts';
import type { DeliveryMessage } from '../core/payload.ts';
import { unpackBody } from '../core/payload.ts';

export interface BacklogDeps {
  readonly store: Pick<
    Store,
    | 'getEndpoint'
    | 'getEvent'
    | 'heldDeliveries'
    | 'unholdDelivery'
    | 'claimRelease'
    | 'clearBacklog'
    | 'noteBacklogEmpty'
    | 'bookRelease'
  >;
  /** Sends messages with per-message delays; resolves to the delivery ids that did not go out. */
  readonly enqueue: (
    messages: readonly DeliveryMessage[],
    options: { deadlineMs: number; delaySeconds: (index: number) => number },
  ) => Promise<string[]>;
  /** Queues the next release of the endpoint's backlog after `delaySeconds`. */
  readonly requeueRelease: (endpointId: string, delaySeconds: number) => Promise<void>;
  readonly breaker: BreakerPolicy;
  /** Deliveries per second released per endpoint (an endpoint's own `rateLimit` wins). */
  readonly releasePerSecond: number;
  readonly now: () => number;
  readonly random: () => number;
}

/** What one release did. */
export interface ReleaseReport {
  readonly endpointId: string;
  /**
   * `busy`: another worker holds the release; `open`: the circuit is open, nothing sent;
   * `booked`: the release slots are booked further ahead than one window, nothing sent yet.
   */
  readonly outcome: 'busy' | 'open' | 'booked' | 'probe' | 'released' | 'drained';
  readonly released: number;
}

/** The rate an endpoint's backlog is released at. */
export function releaseRateOf(endpoint: EndpointRecord | undefined, defaultPerSecond: number): number {
  return endpoint?.rateLimit && endpoint.rateLimit > 0 ? endpoint.rateLimit : defaultPerSecond;
}

export async function releaseBacklog(deps: BacklogDeps, endpointId: string): Promise<ReleaseReport> {
  const now = deps.now();
  const windowMs = BACKLOG_RELEASE_WINDOW_SECONDS * 1000;
  // The lease ends just before the next release (queued for the window's end) arrives.
  if (!(await deps.store.claimRelease(endpointId, now, now + windowMs - 1000))) {
    return { endpointId, outcome: 'busy', released: 0 };
  }
  const endpoint = await deps.store.getEndpoint(endpointId);
  const taking = endpoint?.enabled === true;
  const circuit = taking ? circuitState(endpoint, now, deps.breaker) : ({ state: 'closed' } as const);
  const bookedUntilMs = endpoint?.releasedUntilMs ?? 0;

  // Sends nothing more now: queues this release again `seconds` from now and keeps the lease
  // until just before it arrives (the booked seconds unchanged), so a second release message
  // (another hold, the sweep) ends there instead of starting a second chain. Closing the circuit
  // (a probe's success, re-enabling) removes the lease.
  const comeBackIn = async (seconds: number) => {
    await deps.store.bookRelease(endpointId, bookedUntilMs, now + seconds * 1000 - 500);
    await deps.requeueRelease(endpointId, seconds);
  };

  if (circuit.state === 'open') {
    await comeBackIn(circuit.retryInSeconds);
    return { endpointId, outcome: 'open', released: 0 };
  }
  if (circuit.state === 'half-open') {
    const [probe] = await deps.store.heldDeliveries(endpointId, 1);
    if (!probe) return drained(deps, endpointId);
    const { sent } = await send(deps, [probe], 'probe', () => now);
    // If the probe fails the circuit opens again, and this release waits for it to turn half-open.
    await comeBackIn(deps.breaker.openSeconds);
    return { endpointId, outcome: 'probe', released: sent };
  }

  // Slots are booked on the endpoint (releasedUntilMs), so that one release never overlaps the
  // previous one, even when the backlog emptied and filled again in between.
  const rate = releaseRateOf(endpoint, deps.releasePerSecond);
  const start = Math.max(now, bookedUntilMs);
  if (start - now >= windowMs) {
    await comeBackIn(Math.ceil((start - now) / 1000) - BACKLOG_RELEASE_WINDOW_SECONDS + 1);
    return { endpointId, outcome: 'booked', released: 0 };
  }
  const batch = Math.max(1, Math.floor(rate * BACKLOG_RELEASE_WINDOW_SECONDS));
  const held = await deps.store.heldDeliveries(endpointId, batch);
  if (held.length === 0) return drained(deps, endpointId);
  // Oldest first, `rate` to each second, from the first free second (booked absolute times, so
  // that a slow release does not slide into the next one's seconds); a release that starts afresh
  // starts up to a second later at random, so endpoints coming back together do not all fire on
  // the same second boundaries.
  const firstSlotMs = start + (start === now ? Math.floor(deps.random() * 1000) : 0);
  const slotOf = (index: number) => firstSlotMs + Math.floor(index / rate) * 1000;
  const { sent, lateMs } = await send(deps, held, 'released', slotOf);
  const bookedUntil = slotOf(held.length - 1) + 1000 + lateMs;
  await deps.store.bookRelease(endpointId, bookedUntil, bookedUntil - 1000);
  if (held.length < batch) {
    const report = await drained(deps, endpointId);
    return { ...report, released: sent };
  }
  await deps.requeueRelease(endpointId, Math.ceil((bookedUntil - now) / 1000));
  return { endpointId, outcome: 'released', released: sent };
}

/**
 * The backlog is empty. The endpoint stays listed in the `byBacklog` index (the sweep keeps
 * queueing its release every minute) until a release finds it empty {@link BACKLOG_EMPTY_GRACE_MS}
 * after the first one did with no hold in between (every hold removes the mark): a hold the index
 * Query did not show yet is never left unlisted.
 */
async function drained(deps: BacklogDeps, endpointId: string): Promise<ReleaseReport> {
  const now = deps.now();
  const emptySince = await deps.store.noteBacklogEmpty(endpointId, now);
  // A hold that came after this release's Query, but whose mark came before the note above, saw
  // no reason to queue a release: look once more, now that any later hold will queue one itself.
  const [late] = await deps.store.heldDeliveries(endpointId, 1);
  if (late) {
    await deps.requeueRelease(endpointId, 1);
    return { endpointId, outcome: 'drained', released: 0 };
  }
  if (now - emptySince >= BACKLOG_EMPTY_GRACE_MS) await deps.store.clearBacklog(endpointId, emptySince);
  return { endpointId, outcome: 'drained', released: 0 };
}

/**
 * Sends messages to become visible at (or up to a second after) their times: SQS delays are whole
 * seconds counted from the send, so they are worked out at the send, not before. A release that
 * reaches the send after its first time (a slow Query on a loaded table) moves every time by as
 * much, rather than sending the seconds it missed at once; `lateMs` says by how much.
 */
async function enqueueAt(
  deps: BacklogDeps,
  messages: readonly DeliveryMessage[],
  visibleAtMs: (index: number) => number,
): Promise<{ unsent: string[]; lateMs: number }> {
  const sentAt = deps.now();
  const lateMs = Math.max(0, sentAt - visibleAtMs(0));
  const unsent = await deps.enqueue(messages, {
    deadlineMs: sentAt + 10_000,
    delaySeconds: (index) => Math.max(0, Math.ceil((visibleAtMs(index) + lateMs - sentAt) / 1000)),
  });
  return { unsent, lateMs };
}

/**
 * Sends held deliveries (rebuilt from their events), then takes the ones that went out off the
 * backlog: send first, so a crash in between sends one again (the worker drops a copy of what
 * was delivered) rather than losing it. Resolves to how many went out, and how late the send was.
 */
async function send(
  deps: BacklogDeps,
  held: readonly DeliveryRecord[],
  reason: 'probe' | 'released',
  visibleAtMs: (index: number) => number,
): Promise<{ sent: number; lateMs: number }> {
  const events = new Map<string, Promise<EventRecord | undefined>>();
  const eventOf = (id: string) => {
    let found = events.get(id);
    if (!found) {
      found = deps.store.getEvent(id);
      events.set(id, found);
    }
    return found;
  };
  const messages: DeliveryMessage[] = [];
  const sendable: DeliveryRecord[] = [];
  for (const delivery of held) {
    const event = await eventOf(delivery.eventId);
    if (!event) continue; // Expired with its event (30 days): nothing left to send.
    sendable.push(delivery);
    messages.push({
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      endpointId: delivery.endpointId,
      eventType: delivery.eventType,
      createdAtMs: delivery.createdAtMs,
      body: unpackBody(event),
      reason,
      // Correlation and the tenant travel with it, as in the message ingest sent.
      ...(event.tenantId ? { tenantId: event.tenantId } : {}),
      ...(event.trackingId ? { trackingId: event.trackingId } : {}),
    });
  }
  const enqueued =
    messages.length > 0 ? await enqueueAt(deps, messages, visibleAtMs) : { unsent: [], lateMs: 0 };
  const unsent = new Set(enqueued.unsent);
  const out = held.filter((delivery) => !sendable.includes(delivery) || !unsent.has(delivery.id));
  await Promise.all(
    out.map((delivery) =>
      deps.store.unholdDelivery(delivery.endpointId, delivery.id, delivery.heldAtMs ?? 0),
    ),
  );
  return { sent: out.length, lateMs: enqueued.lateMs };
}
