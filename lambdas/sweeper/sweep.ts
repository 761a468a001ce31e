/**
 * The sweep, every minute:
 * - queues every event left `accepted` (its queueing failed, or the request that stored it
 *   died), with the same delivery ids, creation time and body, so no event stays pending
 *   forever (the sparse `bySweep` index holds only such events);
 * - sends the retries whose long wait is over (the `due` partition of the deliveries' `byWait`
 *   index: waits over SHORT_WAIT_MAX_SECONDS leave the queue);
 * - queues a release for every endpoint with a backlog (the sparse `byBacklog` index), which
 *   the delivery worker carries out at the endpoint's release rate (lambdas/delivery/backlog.ts).
 */
import type { DeliveryRecord, EventRecord, Store } from '../adapters/store.ts';
import { type QueueingDeps, resumeEvent } from '../api/event-queueing.ts';
import { DUE_CLAIM_SECONDS } from '../core/config.ts';
import { type DeliveryMessage, unpackBody } from '../core/payload.ts';

export interface SweepDeps extends QueueingDeps {
  readonly store: QueueingDeps['store'] & Pick<Store, 'sweepableEvents'>;
}

/** What one sweep did. */
export interface SweepReport {
  /** Events found waiting. */
  readonly found: number;
  /** Now queued (every message sent, or found queued by someone else). */
  readonly queued: number;
  /** Held by a request still queueing them: left for the next sweep. */
  readonly busy: number;
  /** Still not every message sent: listed again for the next sweep. */
  readonly unsent: number;
}

/** Events taken on at once. */
const PARALLEL = 10;

export async function sweepAcceptedEvents(
  deps: SweepDeps,
  options: { limit: number; deadlineMs: number },
): Promise<SweepReport> {
  const ids = await deps.store.sweepableEvents(deps.now(), options.limit);
  const counts = { found: ids.length, queued: 0, busy: 0, unsent: 0 };
  for (let offset = 0; offset < ids.length && deps.now() < options.deadlineMs; offset += PARALLEL) {
    await Promise.all(
      ids.slice(offset, offset + PARALLEL).map(async (id) => {
        const event = await deps.store.getEvent(id);
        if (!event) return;
        const outcome = await resumeEvent(deps, event, options.deadlineMs);
        counts[outcome.kind]++;
      }),
    );
  }
  return counts;
}

/** What the sweep needs for due retries and backlogs. */
export interface WaitSweepDeps {
  readonly store: Pick<Store, 'dueDeliveries' | 'claimDue' | 'getEvent' | 'endpointsWithBacklog'>;
  readonly enqueue: QueueingDeps['enqueue'];
  readonly release: (endpointId: string) => Promise<void>;
  readonly now: () => number;
  readonly warn?: QueueingDeps['warn'];
}

/** What one sweep of due retries did. */
export interface DueReport {
  /** Retries found due. */
  readonly found: number;
  /** Claimed and sent. */
  readonly sent: number;
  /** Claimed but not sent: due again after DUE_CLAIM_SECONDS. */
  readonly unsent: number;
}

/**
 * Sends the retries whose wait is over. Each is claimed first (its due time moved
 * DUE_CLAIM_SECONDS ahead), then sent: a claim whose message is lost is simply due again then,
 * and the retry's outcome takes it out of the index.
 */
export async function sendDueRetries(
  deps: WaitSweepDeps,
  options: { limit: number; deadlineMs: number },
): Promise<DueReport> {
  const now = deps.now();
  const due = await deps.store.dueDeliveries(now, options.limit);
  const claimed: DeliveryRecord[] = [];
  for (let offset = 0; offset < due.length && deps.now() < options.deadlineMs; offset += PARALLEL * 5) {
    const page = due.slice(offset, offset + PARALLEL * 5);
    const wins = await Promise.all(
      page.map((delivery) =>
        deps.store.claimDue(
          delivery.endpointId,
          delivery.id,
          delivery.waitAt ?? '',
          now + DUE_CLAIM_SECONDS * 1000,
        ),
      ),
    );
    claimed.push(...page.filter((_, index) => wins[index]));
  }
  const events = new Map<string, Promise<EventRecord | undefined>>();
  const messages: DeliveryMessage[] = [];
  for (const delivery of claimed) {
    let event = events.get(delivery.eventId);
    if (!event) {
      event = deps.store.getEvent(delivery.eventId);
      events.set(delivery.eventId, event);
    }
    const record = await event;
    if (!record) {
      deps.warn?.('due retry has no event left to send; it expires with its record', {
        deliveryId: delivery.id,
      });
      continue;
    }
    messages.push({
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      endpointId: delivery.endpointId,
      eventType: delivery.eventType,
      createdAtMs: delivery.createdAtMs,
      body: unpackBody(record),
      reason: 'due',
      // Correlation and the tenant travel with it, as in the message ingest sent.
      ...(record.tenantId ? { tenantId: record.tenantId } : {}),
      ...(record.trackingId ? { trackingId: record.trackingId } : {}),
    });
  }
  const unsent = messages.length > 0 ? await deps.enqueue(messages, { deadlineMs: options.deadlineMs }) : [];
  return {
    found: due.length,
    sent: messages.length - unsent.length,
    unsent: claimed.length - messages.length + unsent.length,
  };
}

/** Queues a release for every endpoint with a backlog; resolves to how many. */
export async function releaseBacklogs(deps: WaitSweepDeps, limit: number): Promise<number> {
  const endpoints = await deps.store.endpointsWithBacklog(limit);
  await Promise.all(endpoints.map((endpoint) => deps.release(endpoint.id)));
  return endpoints.length;
}
