/**
 * The sweep: queues every event left `accepted` (its queueing failed, or the request that
 * stored it died), with the same delivery ids, creation time and body, so no event stays
 * pending forever. It reads the sparse `bySweep` index, which holds only such events.
 */
import type { Store } from '../adapters/store.ts';
import { type QueueingDeps, resumeEvent } from '../api/event-queueing.ts';

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
