/**
 * The operator's cross-tenant failure view: failed or dead deliveries of every endpoint of every
 * tenant, newest first, from the sparse `byFailedShard` index of the Deliveries table. A page is
 * one Query per shard (FAILED_SHARDS of them) merged by id, whatever the number of endpoints or
 * tenants; delivery ids start with the event time, so `sinceId` and the cursor are key conditions.
 */
import { type DeliveryRecord, FAILED_SHARDS } from '../../core/records.ts';
import { queryNewestFirst, type TableName } from './tables.ts';

const BY_FAILED_SHARD = 'byFailedShard';

/** Operations on the cross-tenant failure view of the Deliveries table named by `table`. */
export function failureViewRepository(table: TableName) {
  async function queryShard(
    shard: string,
    query: { eventType?: string; sinceId?: string; beforeId?: string; limit: number },
  ): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    const values: Record<string, unknown> = { ':shard': shard };
    let range = '';
    if (query.sinceId && query.beforeId) {
      range = ' AND id BETWEEN :since AND :before';
      values[':since'] = query.sinceId;
      values[':before'] = query.beforeId;
    } else if (query.sinceId) {
      range = ' AND id >= :since';
      values[':since'] = query.sinceId;
    } else if (query.beforeId) {
      range = ' AND id < :before';
      values[':before'] = query.beforeId;
    }
    if (query.eventType) values[':type'] = query.eventType;
    return queryNewestFirst<DeliveryRecord>(
      {
        TableName: table(),
        IndexName: BY_FAILED_SHARD,
        KeyConditionExpression: `failedShard = :shard${range}`,
        ...(query.eventType ? { FilterExpression: 'eventType = :type' } : {}),
        ExpressionAttributeValues: values,
      },
      query.limit,
      query.beforeId,
    );
  }

  /** Failed (or dead) deliveries across every tenant, newest first. */
  async function listFailedDeliveries(query: {
    status: 'failed' | 'dead';
    eventType?: string;
    sinceId?: string;
    beforeId?: string;
    limit: number;
  }): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    const shards = Array.from({ length: FAILED_SHARDS }, (_, index) => `${query.status}#${index}`);
    const perShard = await Promise.all(shards.map((shard) => queryShard(shard, query)));
    const merged = perShard
      .flatMap((result) => result.items)
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const more = merged.length > query.limit || perShard.some((result) => result.more);
    return { items: merged.slice(0, query.limit), more };
  }

  return { listFailedDeliveries };
}

export type FailureViewRepository = ReturnType<typeof failureViewRepository>;
