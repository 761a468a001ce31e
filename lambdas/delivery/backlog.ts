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
 *   goes out oldest first, spread over the window by SQS per-message delays with jitter, and the
 *   next release is queued for when the window is over. A disabled or deleted endpoint's backlog
 *   drains this way too, into the dead-letter queue, so nothing held is lost.
 */
import type { DeliveryRecord, EndpointRecord, EventRecord, Store } from '../adapters/store.ts';
import { circuitState } from '../core/circuit-breaker.ts';
import { BACKLOG_RELEASE_WINDOW_SECONDS, type BreakerPolicy } from '../core/config.ts';
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
    | 'endRelease'
    | 'clearBacklog'
    | 'markBacklog'
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
  /** `busy`: another worker holds the release; `open`: the circuit is open, nothing sent. */
  readonly outcome: 'busy' | 'open' | 'probe' | 'released' | 'drained' | 'empty';
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

  if (circuit.state === 'open') {
    await deps.store.endRelease(endpointId);
    await deps.requeueRelease(endpointId, circuit.retryInSeconds);
    return { endpointId, outcome: 'open', released: 0 };
  }
  if (circuit.state === 'half-open') {
    const [probe] = await deps.store.heldDeliveries(endpointId, 1);
    if (!probe) return drained(deps, endpointId);
    const sent = await send(deps, [probe], 'probe', () => 0);
    await deps.store.endRelease(endpointId);
    // If the probe fails the circuit opens again, and this release waits for it to turn half-open.
    await deps.requeueRelease(endpointId, deps.breaker.openSeconds);
    return { endpointId, outcome: 'probe', released: sent };
  }

  const rate = releaseRateOf(endpoint, deps.releasePerSecond);
  const batch = Math.max(1, Math.floor(rate * BACKLOG_RELEASE_WINDOW_SECONDS));
  const held = await deps.store.heldDeliveries(endpointId, batch);
  if (held.length === 0) return drained(deps, endpointId);
  // Oldest first, spread over the window: the i-th at about i / rate seconds, jittered within its slot.
  const sent = await send(deps, held, 'released', (index) => (index + deps.random()) / rate);
  if (held.length < batch) {
    const report = await drained(deps, endpointId);
    return { ...report, released: sent };
  }
  await deps.requeueRelease(endpointId, BACKLOG_RELEASE_WINDOW_SECONDS);
  return { endpointId, outcome: 'released', released: sent };
}

/**
 * The backlog is empty: the endpoint leaves the `byBacklog` index. A delivery held in between
 * (after the Query that found none) lists it again, so no hold is left unlisted.
 */
async function drained(deps: BacklogDeps, endpointId: string): Promise<ReleaseReport> {
  await deps.store.clearBacklog(endpointId);
  const [late] = await deps.store.heldDeliveries(endpointId, 1);
  if (late && (await deps.store.markBacklog(endpointId))) await deps.requeueRelease(endpointId, 1);
  return { endpointId, outcome: late ? 'released' : 'drained', released: 0 };
}

/**
 * Sends held deliveries (rebuilt from their events), then takes the ones that went out off the
 * backlog: send first, so a crash in between sends one again (the worker drops a copy of what
 * was delivered) rather than losing it. Resolves to how many went out.
 */
async function send(
  deps: BacklogDeps,
  held: readonly DeliveryRecord[],
  reason: 'probe' | 'released',
  delaySeconds: (index: number) => number,
): Promise<number> {
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
    });
  }
  const unsent = new Set(
    messages.length > 0
      ? await deps.enqueue(messages, { deadlineMs: deps.now() + 10_000, delaySeconds })
      : [],
  );
  const out = held.filter((delivery) => !sendable.includes(delivery) || !unsent.has(delivery.id));
  await Promise.all(
    out.map((delivery) =>
      deps.store.unholdDelivery(delivery.endpointId, delivery.id, delivery.heldAtMs ?? 0),
    ),
  );
  return out.length;
}
