/**
 * The Deliveries table (DELIVERIES_TABLE in lambdas/core/schema.ts): one item per event and
 * endpoint, written when an attempt has an outcome, with the sparse `byFailure` index (failed,
 * dead and pending deliveries) and `byWait` index (long retry waits, and each endpoint's backlog).
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DELIVERY_RETENTION_SECONDS } from '../../core/config.ts';
import {
  type AttemptRecord,
  type DeliveryKey,
  type DeliveryRecord,
  type DeliveryStatus,
  DUE_WAIT_KEY,
  dueWaitAt,
  failedShard,
  heldWaitKey,
} from '../../core/records.ts';
import { DELIVERIES_TABLE } from '../../core/schema.ts';
import { documents } from '../clients.ts';
import {
  conditionally,
  conditionalUpdate,
  epochSeconds,
  queryNewestFirst,
  type TableName,
} from './tables.ts';

const WAIT_INDEX = DELIVERIES_TABLE.indexes.find((index) => index.indexName === 'byWait')?.indexName;

/** The summary kept on the delivery: no response body for successes, a short one otherwise. */
function compactAttempt(attempt: AttemptRecord): AttemptRecord {
  const { responseExcerpt, ...rest } = attempt;
  return attempt.error === undefined ? rest : { ...rest, responseExcerpt: responseExcerpt?.slice(0, 256) };
}

/** What ties a delivery to its tenant and to the API request that accepted its event. */
export interface Correlation {
  readonly tenantId?: string;
  readonly trackingId?: string;
}

/** Adds the correlation fields that are given to an update's SET clauses and values. */
function setCorrelation(given: Correlation, sets: string[], values: Record<string, unknown>): void {
  if (given.tenantId !== undefined) {
    sets.push('tenantId = :tenantId');
    values[':tenantId'] = given.tenantId;
  }
  if (given.trackingId !== undefined) {
    sets.push('trackingId = :trackingId');
    values[':trackingId'] = given.trackingId;
  }
}

/** Operations on the Deliveries table named by `table`. */
export function deliveriesRepository(table: TableName) {
  async function getDelivery(
    endpointId: string,
    id: string,
    consistent = false,
  ): Promise<DeliveryRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({
        TableName: table(),
        Key: { endpointId, id },
        ConsistentRead: consistent,
      }),
    );
    return Item as DeliveryRecord | undefined;
  }

  /**
   * Records an attempt's outcome on the delivery (one write). `redrive` counts a delivery
   * that comes back after it was dead or retried by hand. A failure never overwrites
   * `delivered`: that write is conditional, and a copy of the message that loses the race gets
   * `undefined` (a duplicate) instead of an attempt number.
   */
  async function recordOutcome(input: {
    endpointId: string;
    id: string;
    eventId: string;
    eventType: string;
    createdAtMs: number;
    status: DeliveryStatus;
    attempt: AttemptRecord;
    nextAttemptAt?: string;
    /**
     * The retry waits outside the queue until then (a wait over SHORT_WAIT_MAX_SECONDS): the
     * record enters the `byWait` index, where the sweep finds it at its time.
     */
    dueAtMs?: number;
    /** A new schedule begins with this attempt (a redrive or a manual retry): its base. */
    scheduleBase?: number;
    redrive: boolean;
    /** The tenant and the `Trackingid` its message carries, kept on the record when given. */
    tenantId?: string;
    trackingId?: string;
  }): Promise<number | undefined> {
    const values: Record<string, unknown> = {
      ':status': input.status,
      ':eventId': input.eventId,
      ':eventType': input.eventType,
      ':createdAtMs': input.createdAtMs,
      ':last': compactAttempt(input.attempt),
      ':one': 1,
      ':expiresAt': epochSeconds(Date.now()) + DELIVERY_RETENTION_SECONDS,
    };
    const sets = [
      '#status = :status',
      'eventId = :eventId',
      'eventType = :eventType',
      'createdAtMs = :createdAtMs',
      'lastAttempt = :last',
      'expiresAt = :expiresAt',
    ];
    // retryQueuedAt stays: it is the double-click guard for MANUAL_RETRY_COOLDOWN_SECONDS.
    const removes: string[] = ['heldReason', 'heldAtMs'];
    if (input.scheduleBase !== undefined) {
      sets.push('scheduleBase = :base');
      values[':base'] = input.scheduleBase;
    }
    setCorrelation(input, sets, values);
    // An outcome ends any wait outside the queue (the due retry that was sent, a released
    // backlog entry), unless it starts a new long wait.
    if (input.status === 'failed' && input.dueAtMs !== undefined) {
      sets.push('waitKey = :waitKey', 'waitAt = :waitAt');
      values[':waitKey'] = DUE_WAIT_KEY;
      values[':waitAt'] = dueWaitAt(input.dueAtMs);
    } else {
      removes.push('waitKey', 'waitAt');
    }
    if (input.status === 'delivered') {
      sets.push('deliveredAt = :deliveredAt');
      values[':deliveredAt'] = input.attempt.at;
      removes.push('failedKey', 'failedShard', 'nextAttemptAt');
    } else {
      // Only failures enter the sparse byFailure index, and failed or dead ones byFailedShard
      // (the cross-tenant failure view).
      sets.push('failedKey = :failedKey');
      values[':failedKey'] = `${input.endpointId}#${input.status}`;
      if (input.status === 'failed' || input.status === 'dead') {
        sets.push('failedShard = :failedShard');
        values[':failedShard'] = failedShard(input.id, input.status);
      } else {
        removes.push('failedShard');
      }
      if (input.nextAttemptAt) {
        sets.push('nextAttemptAt = :next');
        values[':next'] = input.nextAttemptAt;
      } else {
        removes.push('nextAttemptAt');
      }
    }
    const adds = ['attempts :one'];
    if (input.redrive) adds.push('redrives :one');
    const failure = input.status !== 'delivered';
    if (failure) values[':delivered'] = 'delivered';
    const written = await conditionalUpdate(
      new UpdateCommand({
        TableName: table(),
        Key: { endpointId: input.endpointId, id: input.id },
        UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ...(failure ? { ConditionExpression: 'attribute_not_exists(#status) OR #status <> :delivered' } : {}),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    if (!written) return undefined;
    const { Attributes } = written;
    return Number(Attributes?.attempts ?? 1);
  }

  /**
   * Holds a delivery in its endpoint's backlog (the `byWait` index, oldest first) instead of
   * keeping its message in flight: the circuit is open, or the endpoint is over its rateLimit.
   * No attempt is counted. A delivery with no record yet gets one, `pending`. Never touches a
   * delivered record (false then: a copy delivered it).
   */
  async function holdDelivery(
    key: DeliveryKey & Correlation,
    reason: string,
    nowMs: number,
  ): Promise<boolean> {
    const sets: string[] = [];
    const correlation: Record<string, unknown> = {};
    setCorrelation(key, sets, correlation);
    return conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: { endpointId: key.endpointId, id: key.id },
        UpdateExpression:
          'SET #status = if_not_exists(#status, :pending), failedKey = if_not_exists(failedKey, :pendingKey), ' +
          'eventId = :eventId, eventType = :eventType, createdAtMs = :createdAtMs, ' +
          'waitKey = :waitKey, waitAt = :id, heldReason = :reason, heldAtMs = :now, ' +
          `expiresAt = :expiresAt${sets.map((set) => `, ${set}`).join('')} ADD attempts :zero`,
        ConditionExpression: 'attribute_not_exists(#status) OR #status <> :delivered',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ...correlation,
          ':pending': 'pending',
          ':pendingKey': `${key.endpointId}#pending`,
          ':delivered': 'delivered',
          ':eventId': key.eventId,
          ':eventType': key.eventType,
          ':createdAtMs': key.createdAtMs,
          ':waitKey': heldWaitKey(key.endpointId),
          ':id': key.id,
          ':reason': reason,
          ':now': nowMs,
          ':expiresAt': epochSeconds(nowMs) + DELIVERY_RETENTION_SECONDS,
          ':zero': 0,
        },
      }),
    );
  }

  /** The oldest held deliveries of an endpoint, up to `limit`. */
  async function heldDeliveries(endpointId: string, limit: number): Promise<DeliveryRecord[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: table(),
        IndexName: WAIT_INDEX,
        KeyConditionExpression: 'waitKey = :key',
        ExpressionAttributeValues: { ':key': heldWaitKey(endpointId) },
        Limit: limit,
      }),
    );
    return Items as DeliveryRecord[];
  }

  /**
   * Takes a released delivery out of the backlog, if it is still the hold that was released
   * (`heldAtMs`): its message is already queued, so a newer hold must not be undone.
   */
  async function unholdDelivery(endpointId: string, id: string, heldAtMs: number): Promise<void> {
    await conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: { endpointId, id },
        UpdateExpression: 'REMOVE waitKey, waitAt, heldReason, heldAtMs',
        ConditionExpression: 'heldAtMs = :seen',
        ExpressionAttributeValues: { ':seen': heldAtMs },
      }),
    );
  }

  /**
   * The size of an endpoint's backlog and its oldest entry: a COUNT Query of its `byWait`
   * partition (keys only, so about 4 KB of read per 40 held deliveries), at most `maxPages`
   * pages; `complete` is false when it stopped there.
   */
  async function backlogStats(
    endpointId: string,
    maxPages = 10,
  ): Promise<{ size: number; complete: boolean; oldest?: DeliveryRecord }> {
    const [oldest] = await heldDeliveries(endpointId, 1);
    let size = 0;
    let start: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const { Count = 0, LastEvaluatedKey } = await documents.send(
        new QueryCommand({
          TableName: table(),
          IndexName: WAIT_INDEX,
          KeyConditionExpression: 'waitKey = :key',
          ExpressionAttributeValues: { ':key': heldWaitKey(endpointId) },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      size += Count;
      start = LastEvaluatedKey;
      pages++;
    } while (start && pages < maxPages);
    return { size, complete: start === undefined, ...(oldest ? { oldest } : {}) };
  }

  /** Retries whose long wait is over (one Query of the `byWait` index), soonest first. */
  async function dueDeliveries(nowMs: number, limit: number): Promise<DeliveryRecord[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: table(),
        IndexName: WAIT_INDEX,
        KeyConditionExpression: 'waitKey = :key AND waitAt <= :now',
        ExpressionAttributeValues: { ':key': DUE_WAIT_KEY, ':now': dueWaitAt(nowMs) },
        Limit: limit,
      }),
    );
    return Items as DeliveryRecord[];
  }

  /**
   * Claims a due retry for sending: moves its due time from the one seen to `untilMs` (not out
   * of the index: if its message is lost, it is due again then). False if another sweep took it
   * or its outcome came meanwhile.
   */
  async function claimDue(
    endpointId: string,
    id: string,
    seenWaitAt: string,
    untilMs: number,
  ): Promise<boolean> {
    return conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: { endpointId, id },
        UpdateExpression: 'SET waitAt = :until',
        ConditionExpression: 'waitKey = :due AND waitAt = :seen',
        ExpressionAttributeValues: {
          ':until': dueWaitAt(untilMs),
          ':due': DUE_WAIT_KEY,
          ':seen': seenWaitAt,
        },
      }),
    );
  }

  /**
   * Marks a delivery as queued again by hand, after its message was sent (so a crash between the
   * two leaves a message, never a `pending` record with none). Never overwrites `delivered`
   * (a copy delivered meanwhile wins) and refuses (false) while an earlier manual retry is
   * younger than `cooldownMs`: the callers check that first, this closes the race.
   */
  async function markRetryQueued(
    key: { endpointId: string; id: string; eventId: string; eventType: string; createdAtMs: number },
    nowMs: number,
    cooldownMs: number,
  ): Promise<boolean> {
    return conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: { endpointId: key.endpointId, id: key.id },
        UpdateExpression:
          'SET #status = :pending, failedKey = :failedKey, retryQueuedAt = :now, eventId = :eventId, ' +
          'eventType = :eventType, createdAtMs = :createdAtMs, expiresAt = :expiresAt ' +
          'REMOVE nextAttemptAt, failedShard ADD attempts :zero',
        ConditionExpression:
          '(attribute_not_exists(#status) OR #status <> :delivered) AND ' +
          '(attribute_not_exists(retryQueuedAt) OR retryQueuedAt < :cooldown)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':pending': 'pending',
          ':delivered': 'delivered',
          ':failedKey': `${key.endpointId}#pending`,
          ':now': new Date(nowMs).toISOString(),
          ':cooldown': new Date(nowMs - cooldownMs).toISOString(),
          ':eventId': key.eventId,
          ':eventType': key.eventType,
          ':createdAtMs': key.createdAtMs,
          ':expiresAt': epochSeconds(nowMs) + DELIVERY_RETENTION_SECONDS,
          ':zero': 0,
        },
      }),
    );
  }

  /**
   * Deliveries, newest first, for one endpoint or merged across several: one Query per
   * endpoint (failed, dead and pending ones from the sparse `byFailure` index, the others from
   * the table's own key), never a Scan. Delivery ids start with the event time, so `sinceId`
   * and `beforeId` (the cursor) are key conditions, and the merge is a sort on the id.
   */
  async function listDeliveries(query: {
    endpointIds: readonly string[];
    status?: DeliveryStatus;
    eventType?: string;
    sinceId?: string;
    beforeId?: string;
    limit: number;
  }): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    const perEndpoint = await Promise.all(
      query.endpointIds.map((endpointId) => queryEndpointDeliveries({ ...query, endpointId })),
    );
    const merged = perEndpoint
      .flatMap((result) => result.items)
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const more = merged.length > query.limit || perEndpoint.some((result) => result.more);
    return { items: merged.slice(0, query.limit), more };
  }

  async function queryEndpointDeliveries(query: {
    endpointId: string;
    status?: DeliveryStatus;
    eventType?: string;
    sinceId?: string;
    beforeId?: string;
    limit: number;
  }): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    const byFailure = query.status !== undefined && query.status !== 'delivered';
    const values: Record<string, unknown> = {};
    const names: Record<string, string> = {};
    const range: string[] = [];
    if (query.sinceId) {
      range.push('id >= :since');
      values[':since'] = query.sinceId;
    }
    if (query.beforeId) {
      range.push('id < :before');
      values[':before'] = query.beforeId;
    }
    const filters: string[] = [];
    if (query.status === 'delivered') {
      filters.push('#status = :delivered');
      names['#status'] = 'status';
      values[':delivered'] = 'delivered';
    }
    if (query.eventType) {
      filters.push('eventType = :type');
      values[':type'] = query.eventType;
    }
    const partition = byFailure ? 'failedKey = :pk' : 'endpointId = :pk';
    values[':pk'] = byFailure ? `${query.endpointId}#${query.status}` : query.endpointId;
    // BETWEEN-style ranges need both bounds in one condition.
    const rangeCondition =
      range.length === 2
        ? ' AND id BETWEEN :since AND :beforeInclusive'
        : range.length === 1
          ? ` AND ${range[0]}`
          : '';
    if (range.length === 2) {
      values[':beforeInclusive'] = `${query.beforeId as string}`;
      delete values[':before'];
    }
    return queryNewestFirst<DeliveryRecord>(
      {
        TableName: table(),
        ...(byFailure ? { IndexName: DELIVERIES_TABLE.indexes[0]?.indexName } : {}),
        KeyConditionExpression: `${partition}${rangeCondition}`,
        ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      },
      query.limit,
      query.beforeId,
    );
  }

  return {
    getDelivery,
    recordOutcome,
    holdDelivery,
    heldDeliveries,
    unholdDelivery,
    backlogStats,
    dueDeliveries,
    claimDue,
    markRetryQueued,
    listDeliveries,
  };
}

/** The Deliveries table's operations. */
export type DeliveriesRepository = ReturnType<typeof deliveriesRepository>;
