/**
 * The operator's copy of each operational event: a signed webhook to an endpoint the operator
 * chose (`WEBHOOKS_OPERATOR_ENDPOINT_ID`, stack setting `-c operatorEndpointId=ep_...`), sent
 * through the same pipeline as a customer's event: an event record (type `webhooks.<detail-type>`,
 * data the detail), a delivery message, the worker's signing, retries, DLQ and attempt log.
 *
 * Never about itself: an event whose endpoint is the operator endpoint (its own deliveries dying,
 * its circuit opening, its being disabled) is published to the bus but not copied, so a failing
 * operator endpoint cannot feed itself. The copy's event id comes from the operational event's
 * id (`oev_X` → `msg_X`) and its record is a conditional put, so copying one event twice sends one
 * webhook (the worker drops a delivered duplicate). Like the bus, a copy never holds a delivery
 * up and never throws: one that could not be stored is counted and logged; one stored but not
 * queued is left to the sweep, as ingest leaves it.
 */
import type { Store } from '../adapters/store.ts';
import { type QueueingDeps, resumeEvent, sendAndMark } from '../api/event-queueing.ts';
import { EVENT_LEASE_SECONDS } from '../core/config.ts';
import { errorName } from '../core/errors.ts';
import { EVENT_PREFIX, OPERATIONAL_EVENT_PREFIX } from '../core/ids.ts';
import type { OperationalEvent } from '../core/operational-events.ts';
import { buildWebhookBody, packBody, requestFingerprint } from '../core/payload.ts';
import type { EventRecord } from '../core/records.ts';
import { DEFAULT_TENANT } from '../core/tenants.ts';

/** The event type of a copy: `webhooks.` and the detail-type (`webhooks.delivery.dead`). */
export const operatorEventType = (detailType: string): string => `webhooks.${detailType}`;

/** The metric a copy that could not be stored adds one to. */
export const OPERATOR_COPIES_FAILED_METRIC = 'OperatorCopiesFailed';

/** How long queueing a copy may take: the batch waits for it. */
const COPY_DEADLINE_MS = 5_000;

/** What became of a copy. */
export type CopyOutcome = 'queued' | 'unsent' | 'busy' | 'about-itself' | 'no-endpoint' | 'failed';

export interface OperatorCopyDeps {
  /** The operator endpoint. */
  readonly endpointId: string;
  readonly store: Pick<Store, 'getEndpoint' | 'putEventIfAbsent'> & QueueingDeps['store'];
  readonly enqueue: QueueingDeps['enqueue'];
  readonly now: () => number;
  readonly warn: (message: string, extra: Record<string, unknown>) => void;
  readonly count: (metric: string) => void;
}

/** Copies operational events to the operator endpoint; `copy` never throws. */
export class OperatorCopy {
  constructor(private readonly deps: OperatorCopyDeps) {}

  async copy(id: string, event: OperationalEvent): Promise<CopyOutcome> {
    const { endpointId } = this.deps;
    if ('endpointId' in event.detail && event.detail.endpointId === endpointId) return 'about-itself';
    try {
      const endpoint = await this.deps.store.getEndpoint(endpointId);
      if (!endpoint) {
        this.deps.warn('operator endpoint not found; operational event not copied', {
          operatorEndpointId: endpointId,
          operationalEventId: id,
        });
        this.deps.count(OPERATOR_COPIES_FAILED_METRIC);
        return 'no-endpoint';
      }
      const record = copyRecord(id, event, endpointId, endpoint.tenantId, this.deps.now());
      const queueing: QueueingDeps = {
        store: this.deps.store,
        enqueue: this.deps.enqueue,
        now: this.deps.now,
      };
      const put = await this.deps.store.putEventIfAbsent(record);
      const outcome = put.created
        ? await sendAndMark(queueing, record, [endpointId], this.deps.now() + COPY_DEADLINE_MS)
        : put.existing
          ? await resumeEvent(queueing, put.existing, this.deps.now() + COPY_DEADLINE_MS)
          : undefined;
      return outcome?.kind ?? 'busy';
    } catch (error) {
      this.deps.warn('operational event not copied to the operator endpoint', {
        operatorEndpointId: endpointId,
        operationalEventId: id,
        detailType: event.detailType,
        error: errorName(error),
      });
      this.deps.count(OPERATOR_COPIES_FAILED_METRIC);
      return 'failed';
    }
  }
}

/** The event record of a copy: held (`accepted`, leased) until its one message went out. */
export function copyRecord(
  id: string,
  event: OperationalEvent,
  endpointId: string,
  tenantId: string | undefined,
  nowMs: number,
): EventRecord {
  const type = operatorEventType(event.detailType);
  const createdAtMs = Date.parse(event.detail.occurredAt);
  return {
    id: EVENT_PREFIX + id.slice(OPERATIONAL_EVENT_PREFIX.length),
    type,
    createdAtMs,
    endpointIds: [endpointId],
    fingerprint: requestFingerprint([type, event.detail]),
    state: 'accepted',
    leaseUntilMs: nowMs + EVENT_LEASE_SECONDS * 1000,
    ...(tenantId && tenantId !== DEFAULT_TENANT ? { tenantId } : {}),
    ...packBody(buildWebhookBody(type, createdAtMs, event.detail)),
  };
}
