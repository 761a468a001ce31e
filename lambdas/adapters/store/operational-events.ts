/**
 * The record of every operational event (lambdas/core/operational-events.ts), kept in the
 * Deliveries table beside the deliveries: one partition per UTC day (`endpointId` =
 * `opevents#YYYY-MM-DD`, which no endpoint id can be), sorted by `occurredAt#id`, kept as long as
 * a delivery ({@link DELIVERY_RETENTION_SECONDS}). The delivery worker writes it before it
 * publishes: the put is conditional on the id being new, so a duplicate of a handed-over event
 * (SQS delivers a message at least once) is recognised and published once. `GET
 * /operational-events`, the CLI and the dashboard read it back, newest first.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DELIVERY_RETENTION_SECONDS } from '../../core/config.ts';
import type { OperationalEvent, OperationalEventType } from '../../core/operational-events.ts';
import { documents } from '../clients.ts';
import { epochSeconds, isConditionFailure, queryNewestFirst, type TableName } from './tables.ts';

/** The partition of a day's operational events. */
export const OPERATIONAL_EVENTS_PARTITION_PREFIX = 'opevents#';

/** How far back a listing may reach: the records' retention. */
export const OPERATIONAL_EVENTS_MAX_DAYS = DELIVERY_RETENTION_SECONDS / 86_400;

const DAY_MS = 86_400_000;

/** One recorded operational event, as the API shows it. */
export interface OperationalEventRecord {
  readonly id: string;
  readonly detailType: OperationalEventType;
  readonly occurredAt: string;
  readonly detail: Record<string, unknown>;
}

/** A stored item: keys, then the record's fields (the detail as its JSON, as it was published). */
interface Item {
  readonly endpointId: string;
  readonly id: string;
  readonly eventId: string;
  readonly detailType: string;
  readonly occurredAt: string;
  readonly detailJson: string;
  readonly expiresAt: number;
}

const dayOf = (iso: string): string => iso.slice(0, 10);
const partitionOf = (day: string): string => `${OPERATIONAL_EVENTS_PARTITION_PREFIX}${day}`;
/** The sort key: the time first, so a day's partition reads newest first. */
export const operationalEventKey = (occurredAt: string, id: string): string => `${occurredAt}#${id}`;

/** What a listing asks for. */
export interface OperationalEventQuery {
  readonly limit: number;
  /** Only events at or after this time. */
  readonly sinceMs: number;
  /** Only events before this sort key (the cursor: the last key of the previous page). */
  readonly beforeKey?: string;
  readonly detailType?: OperationalEventType;
  readonly nowMs: number;
}

/** Records and lists operational events; `table` is the Deliveries table. */
export function operationalEventsRepository(table: TableName) {
  /**
   * Records an event under `id`: true when it is new, false when that id was recorded already
   * (a duplicate: do not publish it again). Other errors throw.
   */
  async function recordOperationalEvent(id: string, event: OperationalEvent): Promise<boolean> {
    const occurredAt = event.detail.occurredAt;
    const item: Item = {
      endpointId: partitionOf(dayOf(occurredAt)),
      id: operationalEventKey(occurredAt, id),
      eventId: id,
      detailType: event.detailType,
      occurredAt,
      detailJson: JSON.stringify(event.detail),
      expiresAt: epochSeconds(Date.parse(occurredAt)) + DELIVERY_RETENTION_SECONDS,
    };
    try {
      await documents.send(
        new PutCommand({ TableName: table(), Item: item, ConditionExpression: 'attribute_not_exists(id)' }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Events newest first, one Query per day from the cursor's (or today's) back to `sinceMs`'s,
   * until a page is full. `nextKey` is the last key shown when more may follow.
   */
  async function listOperationalEvents(
    query: OperationalEventQuery,
  ): Promise<{ items: OperationalEventRecord[]; nextKey?: string }> {
    const since = new Date(query.sinceMs).toISOString();
    const top = query.beforeKey ?? new Date(query.nowMs + 1).toISOString();
    const items: OperationalEventRecord[] = [];
    for (let dayMs = Date.parse(dayOf(top)); dayMs >= Date.parse(dayOf(since)); dayMs -= DAY_MS) {
      const day = new Date(dayMs).toISOString().slice(0, 10);
      const values: Record<string, unknown> = { ':pk': partitionOf(day), ':since': since, ':before': top };
      if (query.detailType) values[':type'] = query.detailType;
      const page = await queryNewestFirst<Item>(
        {
          TableName: table(),
          KeyConditionExpression: 'endpointId = :pk AND id BETWEEN :since AND :before',
          ...(query.detailType ? { FilterExpression: 'detailType = :type' } : {}),
          ExpressionAttributeValues: values,
        },
        query.limit - items.length,
        query.beforeKey,
      );
      items.push(...page.items.slice(0, query.limit - items.length).map(toRecord));
      if (items.length === query.limit) break;
    }
    // A full page names where the next begins (which may turn out empty); a short one is the end.
    const last = items.at(-1);
    return items.length === query.limit && last
      ? { items, nextKey: operationalEventKey(last.occurredAt, last.id) }
      : { items };
  }

  return { recordOperationalEvent, listOperationalEvents };
}

export type OperationalEventsRepository = ReturnType<typeof operationalEventsRepository>;

function toRecord(item: Item): OperationalEventRecord {
  return {
    id: item.eventId,
    detailType: item.detailType as OperationalEventType,
    occurredAt: item.occurredAt,
    detail: JSON.parse(item.detailJson) as Record<string, unknown>,
  };
}
