/**
 * DynamoDB access: endpoints, events (which double as idempotency records), deliveries and
 * failed attempts. The key design (see lambdas/core/schema.ts and the README) keeps the happy
 * path of one event to one endpoint at two write units: the event put, and the delivery's
 * outcome. Attempt items and the sparse failure index are written only when something failed.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DELIVERY_RETENTION_SECONDS, EVENT_RETENTION_SECONDS } from '../core/config.ts';
import { ATTEMPTS_TABLE, DELIVERIES_TABLE, ENDPOINTS_TABLE, EVENTS_TABLE } from '../core/schema.ts';

const WAIT_INDEX = DELIVERIES_TABLE.indexes.find((index) => index.indexName === 'byWait')?.indexName;

import type { DeliveryStatus } from '../core/validation.ts';
import { documents } from './clients.ts';

const ENDPOINT_PARTITION = 'endpoint';

/** Table names, read once from the environment the stack (or local mode) set. */
export interface TableNames {
  readonly events: string;
  readonly deliveries: string;
  readonly attempts: string;
  readonly endpoints: string;
}

function table(name: string | undefined, envVar: string): string {
  if (!name) throw new Error(`environment variable ${envVar} is not set`);
  return name;
}

const epochSeconds = (ms: number): number => Math.floor(ms / 1000);

/** A consumer's endpoint. */
export interface EndpointRecord {
  readonly id: string;
  readonly url: string;
  readonly eventTypes?: readonly string[];
  readonly description?: string;
  readonly enabled: boolean;
  readonly secretName: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Consecutive failed attempts; reset by a success. */
  readonly failureStreak?: number;
  /** When the current run of failures began (ISO); removed by a success. */
  readonly failingSince?: string;
  /** Epoch ms until which the circuit is open (see lambdas/core/circuit-breaker.ts). */
  readonly circuitOpenUntil?: number;
  readonly disabledReason?: string;
  /** Deliveries per second at most, across every worker (released from its backlog at that rate). */
  readonly rateLimit?: number;
  /** Set while the endpoint has held deliveries (the sparse `byBacklog` index). */
  readonly backlogShard?: string;
  /** Epoch ms until which one worker is releasing the endpoint's backlog. */
  readonly releaseLeaseUntil?: number;
  /** Epoch ms until which release slots are booked: the next release starts there. */
  readonly releasedUntilMs?: number;
  /** When a release first found the backlog empty; a hold removes it. */
  readonly backlogEmptySinceMs?: number;
}

/** The partition of the sparse `byBacklog` index: endpoints with held deliveries. */
export const BACKLOG_SHARD = 'held';

/**
 * Where an event is in its lifecycle: `accepted` (stored, not every delivery message sent yet)
 * or `queued` (every message sent). Events stored before lifecycles existed have no state and
 * were queued.
 */
export type EventState = 'accepted' | 'queued';

/** The partition of the sparse `bySweep` index: events waiting for the sweep. */
export const SWEEP_SHARD = 'accepted';

/** An accepted event. `body` is the signed webhook body, stored compactly. */
export interface EventRecord {
  readonly id: string;
  readonly type: string;
  readonly createdAtMs: number;
  readonly endpointIds: readonly string[];
  readonly fingerprint: string;
  /** Present when the event was sent with an Idempotency-Key. */
  readonly idempotent?: boolean;
  readonly body?: string;
  readonly bodyZ?: Uint8Array;
  /** Absent on events stored before lifecycles: those were queued. */
  readonly state?: EventState;
  /** While `accepted`: epoch ms until which the request that holds it is still queueing it. */
  readonly leaseUntilMs?: number;
  /** While `accepted`, when known: the endpoints whose message is known not to have gone out. */
  readonly unsentEndpointIds?: readonly string[];
  /** Set only while the event waits for the sweep (the sparse `bySweep` index). */
  readonly sweepShard?: string;
  readonly sweepAfterMs?: number;
}

/** Whether every delivery message of an event went out. */
export const isQueued = (event: EventRecord): boolean => event.state !== 'accepted';

/** One attempt, as listed by GET /deliveries/{id}. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly at: string;
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly responseExcerpt?: string;
}

/** The delivery of one event to one endpoint, with a summary of its attempts. */
export interface DeliveryRecord {
  readonly endpointId: string;
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAtMs: number;
  readonly lastAttempt?: AttemptRecord;
  readonly deliveredAt?: string;
  readonly nextAttemptAt?: string;
  readonly redrives?: number;
  readonly retryQueuedAt?: string;
  /**
   * Attempts made before the current schedule began (it begins again when a dead delivery is
   * redriven or one is retried by hand): the budget counts `attempts - scheduleBase`.
   */
  readonly scheduleBase?: number;
  /** While waiting outside the queue (the sparse `byWait` index): see lambdas/core/schema.ts. */
  readonly waitKey?: string;
  readonly waitAt?: string;
  /** While held in its endpoint's backlog: why (`circuit_open`, `rate_limited`) and since when. */
  readonly heldReason?: string;
  readonly heldAtMs?: number;
}

/** `byWait` partition of retries waiting for their time. */
export const DUE_WAIT_KEY = 'due';

/** `byWait` partition of an endpoint's backlog. */
export const heldWaitKey = (endpointId: string): string => `held#${endpointId}`;

/** `byWait` sort key of a due time: epoch ms, zero-padded so that text order is time order. */
export const dueWaitAt = (epochMs: number): string =>
  String(Math.max(0, Math.floor(epochMs))).padStart(15, '0');

/** The key fields every delivery write carries (the record may not exist yet). */
export interface DeliveryKey {
  readonly endpointId: string;
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly createdAtMs: number;
}

/** A page of results and the opaque cursor to the next one. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;

/** Decodes a cursor this API issued; anything else is undefined (the caller answers 400). */
export function decodeCursor(
  cursor: string,
  expectedKeys: readonly string[],
): Record<string, unknown> | undefined {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (!key || typeof key !== 'object' || Array.isArray(key)) return undefined;
    const entries = Object.entries(key);
    const valid =
      entries.length === expectedKeys.length &&
      entries.every(
        ([name, value]) => expectedKeys.includes(name) && ['string', 'number'].includes(typeof value),
      );
    return valid ? (key as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * DynamoDB operations, bound to table names. A name is looked up when first used, so each
 * function needs (and is given) only the tables it touches.
 */
export class Store {
  constructor(private readonly configured: Partial<TableNames> = {}) {}

  private tableName(which: keyof TableNames): string {
    const envVar = {
      events: EVENTS_TABLE,
      deliveries: DELIVERIES_TABLE,
      attempts: ATTEMPTS_TABLE,
      endpoints: ENDPOINTS_TABLE,
    }[which].envVar;
    return table(this.configured[which] ?? process.env[envVar], envVar);
  }

  // --- endpoints -------------------------------------------------------------------------

  async putEndpoint(endpoint: EndpointRecord): Promise<void> {
    await documents.send(
      new PutCommand({
        TableName: this.tableName('endpoints'),
        Item: { pk: ENDPOINT_PARTITION, ...endpoint },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  async getEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({
        TableName: this.tableName('endpoints'),
        Key: { pk: ENDPOINT_PARTITION, id },
        ConsistentRead: true,
      }),
    );
    return Item ? stripKey(Item) : undefined;
  }

  /** Every endpoint, oldest first, one Query per page of up to 1 MB. */
  async listEndpoints(limit?: number, cursor?: Record<string, unknown>): Promise<Page<EndpointRecord>> {
    const { Items = [], LastEvaluatedKey } = await documents.send(
      new QueryCommand({
        TableName: this.tableName('endpoints'),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': ENDPOINT_PARTITION },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    const page: Page<EndpointRecord> = { items: Items.map((item) => stripKey<EndpointRecord>(item)) };
    const nextCursor = encodeCursor(LastEvaluatedKey);
    return nextCursor ? { ...page, nextCursor } : page;
  }

  /** All endpoints, following every page (fan-out needs them all). */
  async allEndpoints(): Promise<EndpointRecord[]> {
    const all: EndpointRecord[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.listEndpoints(undefined, cursor);
      all.push(...page.items);
      cursor = page.nextCursor ? decodeCursor(page.nextCursor, ['pk', 'id']) : undefined;
    } while (cursor);
    return all;
  }

  /**
   * Applies `set` (undefined values are skipped, null removes the attribute). Returns the
   * updated endpoint, or undefined if it does not exist.
   */
  async updateEndpoint(
    id: string,
    set: Record<string, unknown>,
    remove: readonly string[] = [],
  ): Promise<EndpointRecord | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    Object.entries(set).forEach(([name, value], index) => {
      if (value === undefined) return;
      names[`#s${index}`] = name;
      values[`:s${index}`] = value;
      sets.push(`#s${index} = :s${index}`);
    });
    const removes = remove.map((name, index) => {
      names[`#r${index}`] = name;
      return `#r${index}`;
    });
    const expression = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    try {
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? stripKey(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Deletes an endpoint; false if there was none. */
  async deleteEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const { Attributes } = await documents.send(
      new DeleteCommand({
        TableName: this.tableName('endpoints'),
        Key: { pk: ENDPOINT_PARTITION, id },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? stripKey(Attributes) : undefined;
  }

  /**
   * Adds one to the endpoint's failure streak and notes when the run of failures began
   * (only called after a failed attempt). Undefined if the endpoint is gone.
   */
  async addEndpointFailure(
    id: string,
    nowIso: string,
  ): Promise<{ failureStreak: number; failingSince: string } | undefined> {
    try {
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: 'ADD failureStreak :one SET failingSince = if_not_exists(failingSince, :now)',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':one': 1, ':now': nowIso },
          // ALL_NEW: an if_not_exists that kept the old value is not "updated".
          ReturnValues: 'ALL_NEW',
        }),
      );
      return {
        failureStreak: Number(Attributes?.failureStreak ?? 1),
        failingSince: String(Attributes?.failingSince ?? nowIso),
      };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Opens the endpoint's circuit until `untilMs`. */
  async openCircuit(id: string, untilMs: number): Promise<void> {
    await this.updateEndpoint(id, { circuitOpenUntil: untilMs });
  }

  /**
   * Claims the half-open probe: moves `circuitOpenUntil` from the value this worker saw to
   * `untilMs`. Only one worker wins; the others keep deferring.
   */
  async claimProbe(id: string, seenOpenUntil: number | undefined, untilMs: number): Promise<boolean> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: 'SET circuitOpenUntil = :until',
          ConditionExpression:
            seenOpenUntil === undefined
              ? 'attribute_exists(id) AND attribute_not_exists(circuitOpenUntil)'
              : 'attribute_exists(id) AND circuitOpenUntil = :seen',
          ExpressionAttributeValues: {
            ':until': untilMs,
            ...(seenOpenUntil === undefined ? {} : { ':seen': seenOpenUntil }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Closes the circuit and clears the failure run (after a success, or when an operator
   * re-enables the endpoint); skipped when already clear, whatever part of it is left.
   */
  async resetEndpointFailures(id: string): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          // The release lease goes too: what the open circuit held is released at once.
          UpdateExpression:
            'SET failureStreak = :zero REMOVE failingSince, circuitOpenUntil, releaseLeaseUntil',
          ConditionExpression:
            'attribute_exists(id) AND (failureStreak > :zero OR attribute_exists(failingSince) OR attribute_exists(circuitOpenUntil))',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Lists the endpoint in the sparse `byBacklog` index (it has held deliveries), after every hold,
   * and ends any "empty since" mark a release left (so that the release cannot take the endpoint
   * off the index under a hold it did not see). True when a release should be queued now: the
   * endpoint was not listed, or the last release found its backlog empty and queued no other.
   */
  async markBacklog(id: string): Promise<boolean> {
    try {
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: 'SET backlogShard = :shard REMOVE backlogEmptySinceMs',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':shard': BACKLOG_SHARD },
          // ALL_OLD: UPDATED_OLD may leave out an attribute set to the value it had.
          ReturnValues: 'ALL_OLD',
        }),
      );
      // Listed now, or its release chain had stopped (a release found it empty): queue one.
      return Attributes?.backlogShard === undefined || Attributes?.backlogEmptySinceMs !== undefined;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A release found the backlog empty: when it was first found so (kept from an earlier release). */
  async noteBacklogEmpty(id: string, nowMs: number): Promise<number> {
    try {
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression:
            'SET backlogEmptySinceMs = if_not_exists(backlogEmptySinceMs, :now) REMOVE releaseLeaseUntil',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(Attributes?.backlogEmptySinceMs ?? nowMs);
    } catch (error) {
      if (isConditionFailure(error)) return nowMs;
      throw error;
    }
  }

  /**
   * Takes the endpoint off the `byBacklog` index, if nothing was held since a release first found
   * its backlog empty at `emptySinceMs` (a hold removes that mark).
   */
  async clearBacklog(id: string, emptySinceMs: number): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: 'REMOVE backlogShard, releaseLeaseUntil, backlogEmptySinceMs',
          ConditionExpression: 'backlogEmptySinceMs = :seen',
          ExpressionAttributeValues: { ':seen': emptySinceMs },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Endpoints with held deliveries (one Query of the sparse `byBacklog` index). */
  async endpointsWithBacklog(limit: number): Promise<EndpointRecord[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: this.tableName('endpoints'),
        IndexName: ENDPOINTS_TABLE.indexes[0]?.indexName,
        KeyConditionExpression: 'backlogShard = :shard',
        ExpressionAttributeValues: { ':shard': BACKLOG_SHARD },
        Limit: limit,
      }),
    );
    return Items as EndpointRecord[];
  }

  /**
   * Claims the release of an endpoint's backlog until `untilMs`: one releaser at a time, so the
   * release rate holds across every worker. False while another holds it.
   */
  async claimRelease(id: string, nowMs: number, untilMs: number): Promise<boolean> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: 'SET releaseLeaseUntil = :until',
          ConditionExpression:
            'attribute_exists(id) AND (attribute_not_exists(releaseLeaseUntil) OR releaseLeaseUntil < :now)',
          ExpressionAttributeValues: { ':until': untilMs, ':now': nowMs },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Books the endpoint's release slots until `bookedUntilMs`, and holds the release lease until `leaseUntilMs`. */
  async bookRelease(id: string, bookedUntilMs: number, leaseUntilMs: number): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression:
            'SET releasedUntilMs = :booked, releaseLeaseUntil = :lease REMOVE backlogEmptySinceMs',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: { ':booked': bookedUntilMs, ':lease': leaseUntilMs },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Ends a release lease early (an operator action wants the backlog released now). */
  async endRelease(id: string): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('endpoints'),
          Key: { pk: ENDPOINT_PARTITION, id },
          UpdateExpression: 'REMOVE releaseLeaseUntil',
          ConditionExpression: 'attribute_exists(id)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  // --- events ----------------------------------------------------------------------------

  /**
   * Stores an event unless one with its id exists. For events sent with an Idempotency-Key
   * this conditional put is the idempotency check; the existing record is returned instead.
   */
  async putEventIfAbsent(
    event: EventRecord,
  ): Promise<{ created: true } | { created: false; existing: EventRecord | undefined }> {
    try {
      await documents.send(
        new PutCommand({
          TableName: this.tableName('events'),
          Item: { ...event, expiresAt: epochSeconds(event.createdAtMs) + EVENT_RETENTION_SECONDS },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Only replays and conflicts get here, so the extra read costs nothing on the happy path.
      return { created: false, existing: await this.getEvent(event.id) };
    }
  }

  async getEvent(id: string): Promise<EventRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({ TableName: this.tableName('events'), Key: { id }, ConsistentRead: true }),
    );
    return Item as EventRecord | undefined;
  }

  /**
   * Takes over an accepted event whose lease ran out (its request died or gave up): moves the
   * lease from the value seen to `leaseUntilMs`. Only one caller wins; false for the others.
   */
  async claimEvent(id: string, seenLeaseUntilMs: number | undefined, leaseUntilMs: number): Promise<boolean> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('events'),
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
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Every message of the event went out: `queued`, and off the sweep's list. */
  async markEventQueued(id: string): Promise<void> {
    await documents.send(
      new UpdateCommand({
        TableName: this.tableName('events'),
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
  async releaseEvent(id: string, sweepAfterMs: number, unsent?: readonly string[]): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('events'),
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
    } catch (error) {
      // Queued meanwhile (a retry finished it): nothing to hand over.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Events waiting for the sweep whose time has come, oldest first (one Query of the sparse index). */
  async sweepableEvents(nowMs: number, limit: number): Promise<string[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: this.tableName('events'),
        IndexName: EVENTS_TABLE.indexes[0]?.indexName,
        KeyConditionExpression: 'sweepShard = :shard AND sweepAfterMs <= :now',
        ExpressionAttributeValues: { ':shard': SWEEP_SHARD, ':now': nowMs },
        Limit: limit,
      }),
    );
    return Items.map((item) => String(item.id));
  }

  // --- deliveries ------------------------------------------------------------------------

  async getDelivery(endpointId: string, id: string, consistent = false): Promise<DeliveryRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({
        TableName: this.tableName('deliveries'),
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
  async recordOutcome(input: {
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
      removes.push('failedKey', 'nextAttemptAt');
    } else {
      // Only failures enter the sparse byFailure index.
      sets.push('failedKey = :failedKey');
      values[':failedKey'] = `${input.endpointId}#${input.status}`;
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
    try {
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: this.tableName('deliveries'),
          Key: { endpointId: input.endpointId, id: input.id },
          UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ...(failure
            ? { ConditionExpression: 'attribute_not_exists(#status) OR #status <> :delivered' }
            : {}),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.attempts ?? 1);
    } catch (error) {
      if (failure && isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * Holds a delivery in its endpoint's backlog (the `byWait` index, oldest first) instead of
   * keeping its message in flight: the circuit is open, or the endpoint is over its rateLimit.
   * No attempt is counted. A delivery with no record yet gets one, `pending`. Never touches a
   * delivered record (false then: a copy delivered it).
   */
  async holdDelivery(key: DeliveryKey, reason: string, nowMs: number): Promise<boolean> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('deliveries'),
          Key: { endpointId: key.endpointId, id: key.id },
          UpdateExpression:
            'SET #status = if_not_exists(#status, :pending), failedKey = if_not_exists(failedKey, :pendingKey), ' +
            'eventId = :eventId, eventType = :eventType, createdAtMs = :createdAtMs, ' +
            'waitKey = :waitKey, waitAt = :id, heldReason = :reason, heldAtMs = :now, ' +
            'expiresAt = :expiresAt ADD attempts :zero',
          ConditionExpression: 'attribute_not_exists(#status) OR #status <> :delivered',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
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
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The oldest held deliveries of an endpoint, up to `limit`. */
  async heldDeliveries(endpointId: string, limit: number): Promise<DeliveryRecord[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: this.tableName('deliveries'),
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
  async unholdDelivery(endpointId: string, id: string, heldAtMs: number): Promise<void> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('deliveries'),
          Key: { endpointId, id },
          UpdateExpression: 'REMOVE waitKey, waitAt, heldReason, heldAtMs',
          ConditionExpression: 'heldAtMs = :seen',
          ExpressionAttributeValues: { ':seen': heldAtMs },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * The size of an endpoint's backlog and its oldest entry: a COUNT Query of its `byWait`
   * partition (keys only, so about 4 KB of read per 40 held deliveries), at most `maxPages`
   * pages; `complete` is false when it stopped there.
   */
  async backlogStats(
    endpointId: string,
    maxPages = 10,
  ): Promise<{ size: number; complete: boolean; oldest?: DeliveryRecord }> {
    const [oldest] = await this.heldDeliveries(endpointId, 1);
    let size = 0;
    let start: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const { Count = 0, LastEvaluatedKey } = await documents.send(
        new QueryCommand({
          TableName: this.tableName('deliveries'),
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
  async dueDeliveries(nowMs: number, limit: number): Promise<DeliveryRecord[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: this.tableName('deliveries'),
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
  async claimDue(endpointId: string, id: string, seenWaitAt: string, untilMs: number): Promise<boolean> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('deliveries'),
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
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Stores a failed attempt with the receiver's response excerpt. */
  async putAttempt(deliveryId: string, attempt: AttemptRecord): Promise<void> {
    await documents.send(
      new PutCommand({
        TableName: this.tableName('attempts'),
        Item: { deliveryId, ...attempt, expiresAt: epochSeconds(Date.now()) + DELIVERY_RETENTION_SECONDS },
      }),
    );
  }

  async listAttempts(deliveryId: string): Promise<AttemptRecord[]> {
    const items: AttemptRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await documents.send(
        new QueryCommand({
          TableName: this.tableName('attempts'),
          KeyConditionExpression: 'deliveryId = :id',
          ExpressionAttributeValues: { ':id': deliveryId },
          ExclusiveStartKey: start,
        }),
      );
      for (const { deliveryId: _id, expiresAt: _ttl, ...attempt } of Items)
        items.push(attempt as AttemptRecord);
      start = LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Marks a delivery as queued again by hand, after its message was sent (so a crash between the
   * two leaves a message, never a `pending` record with none). Never overwrites `delivered`
   * (a copy delivered meanwhile wins) and refuses (false) while an earlier manual retry is
   * younger than `cooldownMs`: the callers check that first, this closes the race.
   */
  async markRetryQueued(
    key: { endpointId: string; id: string; eventId: string; eventType: string; createdAtMs: number },
    nowMs: number,
    cooldownMs: number,
  ): Promise<boolean> {
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.tableName('deliveries'),
          Key: { endpointId: key.endpointId, id: key.id },
          UpdateExpression:
            'SET #status = :pending, failedKey = :failedKey, retryQueuedAt = :now, eventId = :eventId, ' +
            'eventType = :eventType, createdAtMs = :createdAtMs, expiresAt = :expiresAt ' +
            'REMOVE nextAttemptAt ADD attempts :zero',
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
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Deliveries, newest first, for one endpoint or merged across several: one Query per
   * endpoint (failed, dead and pending ones from the sparse `byFailure` index, the others from
   * the table's own key), never a Scan. Delivery ids start with the event time, so `sinceId`
   * and `beforeId` (the cursor) are key conditions, and the merge is a sort on the id.
   */
  async listDeliveries(query: {
    endpointIds: readonly string[];
    status?: DeliveryStatus;
    eventType?: string;
    sinceId?: string;
    beforeId?: string;
    limit: number;
  }): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    const perEndpoint = await Promise.all(
      query.endpointIds.map((endpointId) => this.queryEndpointDeliveries({ ...query, endpointId })),
    );
    const merged = perEndpoint
      .flatMap((result) => result.items)
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const more = merged.length > query.limit || perEndpoint.some((result) => result.more);
    return { items: merged.slice(0, query.limit), more };
  }

  private async queryEndpointDeliveries(query: {
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
    const items: DeliveryRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName('deliveries'),
        ...(byFailure ? { IndexName: DELIVERIES_TABLE.indexes[0]?.indexName } : {}),
        KeyConditionExpression: `${partition}${rangeCondition}`,
        ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        // One more than asked, to know whether another page exists.
        Limit: query.limit + 1,
        ExclusiveStartKey: start,
      };
      const { Items = [], LastEvaluatedKey } = await documents.send(new QueryCommand(input));
      // BETWEEN includes the upper bound; the cursor's own item was on the previous page.
      items.push(...(Items as DeliveryRecord[]).filter((item) => item.id !== query.beforeId));
      start = LastEvaluatedKey;
    } while (start && items.length <= query.limit);
    return {
      items: items.slice(0, query.limit + 1),
      more: items.length > query.limit || start !== undefined,
    };
  }
}

/** The summary kept on the delivery: no response body for successes, a short one otherwise. */
function compactAttempt(attempt: AttemptRecord): AttemptRecord {
  const { responseExcerpt, ...rest } = attempt;
  return attempt.error === undefined ? rest : { ...rest, responseExcerpt: responseExcerpt?.slice(0, 256) };
}

function stripKey<T>(item: Record<string, unknown>): T {
  const { pk: _pk, ...rest } = item;
  return rest as T;
}
