/**
 * The Events table (EVENTS_TABLE in lambdas/core/schema.ts): accepted events, which double as
 * idempotency records, with their lifecycle (`accepted`, then `queued`) and the sparse `bySweep`
 * index of events handed to the sweep.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EVENT_RETENTION_SECONDS } from '../../core/config.ts';
import { type EventRecord, SWEEP_SHARD } from '../../core/records.ts';
import { EVENTS_TABLE } from '../../core/schema.ts';
import { documents } from '../clients.ts';
import { conditionally, epochSeconds, isConditionFailure, type TableName } from './tables.ts';

/** Operations on the Events table named by `table`. */
export function eventsRepository(table: TableName) {
  /**
   * Stores an event unless one with its id exists. For events sent with an Idempotency-Key
   * this conditional put is the idempotency check; the existing record is returned instead.
   */
  async function putEventIfAbsent(
    event: EventRecord,
  ): Promise<{ created: true } | { created: false; existing: EventRecord | undefined }> {
    try {
      await documents.send(
        new PutCommand({
          TableName: table(),
          Item: { ...event, expiresAt: epochSeconds(event.createdAtMs) + EVENT_RETENTION_SECONDS },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Only replays and conflicts get here, so the extra read costs nothing on the happy path.
      return { created: false, existing: await getEvent(event.id) };
    }
  }

  /**
   * Stores an event whatever is stored under its id. Only for an unkeyed event's own request,
   * the one writer of its record until it is listed for the sweep: its sweep state must land
   * whether the first put of the event did, did not, or is not known to have.
   */
  async function putEvent(event: EventRecord): Promise<void> {
    await documents.send(
      new PutCommand({
        TableName: table(),
        Item: { ...event, expiresAt: epochSeconds(event.createdAtMs) + EVENT_RETENTION_SECONDS },
      }),
    );
  }

  async function getEvent(id: string): Promise<EventRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({ TableName: table(), Key: { id }, ConsistentRead: true }),
    );
    return Item as EventRecord | undefined;
  }

  /**
   * Takes over an accepted event whose lease ran out (its request died or gave up): moves the
   * lease from the value seen to `leaseUntilMs`. Only one caller wins; false for the others.
   */
  async function claimEvent(
    id: string,
    seenLeaseUntilMs: number | undefined,
    leaseUntilMs: number,
  ): Promise<boolean> {
    return conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: { id },
        UpdateExpression: 'SET leaseUntilMs = :lease',
        ConditionExpression:
          seenLeaseUntilMs === undefined
            ? '#state = :accepted AND attribute_not_exists(leaseUntilMs)'
            : '#state = :accepted AND leaseUntilMs = :seen',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':lease': leaseUntilMs,
          ':accepted': 'accepted',
          ...(seenLeaseUntilMs === undefined ? {} : { ':seen': seenLeaseUntilMs }),
        },
      }),
    );
  }

  /** Every message of the event went out: `queued`, and off the sweep's list. */
  async function markEventQueued(id: string): Promise<void> {
    await documents.send(
      new UpdateCommand({
        TableName: table(),
        Key: { id },
        UpdateExpression:
          'SET #state = :queued REMOVE leaseUntilMs, unsentEndpointIds, sweepShard, sweepAfterMs',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':queued': 'queued' },
      }),
    );
  }

  /**
   * Hands an accepted event to the sweep: releases its lease (a retry with the same key may take
   * it over at once) and lists it in the sparse `bySweep` index from `sweepAfterMs`. `unsent`
   * names the endpoints whose message did not go out, when the caller knows.
   */
  async function releaseEvent(id: string, sweepAfterMs: number, unsent?: readonly string[]): Promise<void> {
    // Queued meanwhile (a retry finished it): nothing to hand over.
    await conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: { id },
        UpdateExpression: `SET sweepShard = :shard, sweepAfterMs = :after${unsent ? ', unsentEndpointIds = :unsent' : ''} REMOVE leaseUntilMs`,
        ConditionExpression: '#state = :accepted',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':shard': SWEEP_SHARD,
          ':after': sweepAfterMs,
          ':accepted': 'accepted',
          ...(unsent ? { ':unsent': [...unsent] } : {}),
        },
      }),
    );
  }

  /** Events waiting for the sweep whose time has come, oldest first (one Query of the sparse index). */
  async function sweepableEvents(nowMs: number, limit: number): Promise<string[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: table(),
        IndexName: EVENTS_TABLE.indexes[0]?.indexName,
        KeyConditionExpression: 'sweepShard = :shard AND sweepAfterMs <= :now',
        ExpressionAttributeValues: { ':shard': SWEEP_SHARD, ':now': nowMs },
        Limit: limit,
      }),
    );
    return Items.map((item) => String(item.id));
  }

  return { putEventIfAbsent, putEvent, getEvent, claimEvent, markEventQueued, releaseEvent, sweepableEvents };
}

/** The Events table's operations. */
export type EventsRepository = ReturnType<typeof eventsRepository>;
