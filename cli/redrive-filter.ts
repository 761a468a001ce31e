/**
 * Which dead-lettered messages a redrive moves, and the per-endpoint, per-type tally it
 * reports. Pure: no AWS imports, so the rules are tested without a queue.
 */
import { createHash } from 'node:crypto';
import { type DeliveryMessage, decodeMessage } from '../lambdas/core/payload.ts';

/** What `webhooks redrive` selects. Every given criterion must match; none given selects all. */
export interface RedriveFilter {
  /** Only messages for these endpoints. */
  readonly endpointIds?: readonly string[];
  /** Only these event types; `invoice.*` matches every type starting with `invoice.`. */
  readonly eventTypes?: readonly string[];
  /** Only events created at or after this time (epoch ms), compared with `createdAtMs`. */
  readonly sinceMs?: number;
}

/** True if the filter selects a subset (so the whole-queue move task cannot be used). */
export function isFiltered(filter: RedriveFilter): boolean {
  return (
    (filter.endpointIds?.length ?? 0) > 0 ||
    (filter.eventTypes?.length ?? 0) > 0 ||
    filter.sinceMs !== undefined
  );
}

/** The delivery a DLQ body carries, or undefined when it is not a delivery message at all. */
export function decodeBody(raw: string | undefined): DeliveryMessage | undefined {
  if (raw === undefined) return undefined;
  try {
    return decodeMessage(raw);
  } catch {
    return undefined;
  }
}

function typeMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/**
 * Whether a message is selected. An unparseable message (`undefined`) never matches a filter,
 * since nothing is known about it, but an unfiltered redrive moves it like any other.
 */
export function matchesFilter(message: DeliveryMessage | undefined, filter: RedriveFilter): boolean {
  if (!isFiltered(filter)) return true;
  if (!message) return false;
  if (filter.endpointIds?.length && !filter.endpointIds.includes(message.endpointId)) return false;
  if (filter.eventTypes?.length && !filter.eventTypes.some((type) => typeMatches(type, message.eventType))) {
    return false;
  }
  if (filter.sinceMs !== undefined && message.createdAtMs < filter.sinceMs) return false;
  return true;
}

/** The filter in words, for summaries: `endpoint ep_1, type invoice.paid, since 2024-05-01T00:00:00.000Z`. */
export function describeFilter(filter: RedriveFilter): string {
  const parts: string[] = [];
  if (filter.endpointIds?.length) parts.push(`endpoint ${filter.endpointIds.join(',')}`);
  if (filter.eventTypes?.length) parts.push(`type ${filter.eventTypes.join(',')}`);
  if (filter.sinceMs !== undefined) parts.push(`since ${new Date(filter.sinceMs).toISOString()}`);
  return parts.length > 0 ? parts.join(', ') : 'all messages';
}

/** Messages counted per endpoint and event type; `null` for an unparseable message. */
export interface GroupCount {
  readonly endpointId: string | null;
  readonly eventType: string | null;
  readonly count: number;
}

function compareNullLast(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Tallies messages per (endpoint, event type). */
export class GroupCounter {
  private readonly counts = new Map<string, GroupCount>();

  add(message: DeliveryMessage | undefined): void {
    const endpointId = message?.endpointId ?? null;
    const eventType = message?.eventType ?? null;
    const key = JSON.stringify([endpointId, eventType]);
    const current = this.counts.get(key);
    this.counts.set(key, { endpointId, eventType, count: (current?.count ?? 0) + 1 });
  }

  /** Largest groups first, then by endpoint and type, unparseable bodies last. */
  list(): GroupCount[] {
    return [...this.counts.values()].sort(
      (a, b) =>
        b.count - a.count ||
        compareNullLast(a.endpointId, b.endpointId) ||
        compareNullLast(a.eventType, b.eventType),
    );
  }
}

/**
 * What makes two DLQ bodies the same for a redrive: the delivery id, or for a body that is not
 * a delivery message, the body itself.
 */
export function redriveKey(body: string | undefined): string {
  const message = decodeBody(body);
  return message
    ? `delivery:${message.deliveryId}`
    : `body:${createHash('sha256')
        .update(body ?? '')
        .digest('base64url')}`;
}
