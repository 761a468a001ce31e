/**
 * The Endpoints table (ENDPOINTS_TABLE in lambdas/core/schema.ts): consumers' endpoints, one
 * partition per tenant (lambdas/core/tenants.ts), each with its failure run and circuit, its rate
 * limit and its backlog's release bookkeeping (the sparse `byBacklog` index lists those with held
 * deliveries). Operations by endpoint id find the partition through {@link partitionOf}: an
 * endpoint never changes tenant, so what is learnt once is kept for the life of the process.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BACKLOG_SHARD, type EndpointRecord, type Page } from '../../core/records.ts';
import { ENDPOINTS_TABLE } from '../../core/schema.ts';
import { DEFAULT_TENANT, endpointPartition, tenantOfPartition } from '../../core/tenants.ts';
import { documents } from '../clients.ts';
import LRUCache from '../lru-cache.ts';
import { conditionally, conditionalUpdate, decodeCursor, encodeCursor, type TableName } from './tables.ts';

/** The `byEndpointId` index (keys only): an endpoint id to the partition, so its tenant. */
const BY_ENDPOINT_ID = 'byEndpointId';

/** An endpoint item as a record: its partition becomes its `tenantId`. */
export function endpointFromItem(item: Record<string, unknown>): EndpointRecord {
  const { pk, ...rest } = item;
  return {
    ...(rest as unknown as EndpointRecord),
    tenantId: tenantOfPartition(String(pk)) ?? DEFAULT_TENANT,
  };
}

/** Operations on the Endpoints table named by `table`. */
export function endpointsRepository(table: TableName) {
  /** Endpoint id to partition, as learnt by this repository (an endpoint never changes tenant). */
  const partitions = new LRUCache<string, string>(50_000);

  /**
   * Tells the store which tenant an endpoint belongs to, when the caller knows it (a delivery
   * message carries it), so that operations by id need no lookup.
   */
  function noteEndpointTenant(id: string, tenantId: string | undefined): void {
    partitions.set(id, endpointPartition(tenantId ?? DEFAULT_TENANT));
  }

  function toRecord(item: Record<string, unknown>): EndpointRecord {
    partitions.set(String(item.id), String(item.pk));
    return endpointFromItem(item);
  }

  /**
   * The partition of an endpoint: known, else looked up in the `byEndpointId` index (eventually
   * consistent: an endpoint made a moment ago by another process may not be there yet), else the
   * default tenant's (where every endpoint made before tenants lives).
   */
  async function partitionOf(id: string): Promise<string> {
    const known = partitions.get(id);
    if (known) return known;
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: table(),
        IndexName: BY_ENDPOINT_ID,
        KeyConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': id },
      }),
    );
    const found = Items.map((item) => String(item.pk)).find((pk) => tenantOfPartition(pk) !== undefined);
    if (found) partitions.set(id, found);
    return found ?? endpointPartition(DEFAULT_TENANT);
  }

  const keyOf = async (id: string) => ({ pk: await partitionOf(id), id });

  async function putEndpoint(endpoint: EndpointRecord): Promise<void> {
    const pk = endpointPartition(endpoint.tenantId ?? DEFAULT_TENANT);
    const { tenantId: _tenantId, ...stored } = endpoint;
    await documents.send(
      new PutCommand({
        TableName: table(),
        Item: { pk, ...stored },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
    partitions.set(endpoint.id, pk);
  }

  async function getEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({
        TableName: table(),
        Key: await keyOf(id),
        ConsistentRead: true,
      }),
    );
    return Item ? toRecord(Item) : undefined;
  }

  /** A tenant's endpoints, oldest first: one strongly consistent Query of its partition per page. */
  async function listEndpoints(
    tenantId: string,
    limit?: number,
    cursor?: Record<string, unknown>,
  ): Promise<Page<EndpointRecord>> {
    const { Items = [], LastEvaluatedKey } = await documents.send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': endpointPartition(tenantId) },
        Limit: limit,
        ExclusiveStartKey: cursor,
        ConsistentRead: true,
      }),
    );
    const page: Page<EndpointRecord> = { items: Items.map(toRecord) };
    const nextCursor = encodeCursor(LastEvaluatedKey);
    return nextCursor ? { ...page, nextCursor } : page;
  }

  /** All of a tenant's endpoints, following every page (fan-out needs them all). */
  async function tenantEndpoints(tenantId: string): Promise<EndpointRecord[]> {
    const all: EndpointRecord[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await listEndpoints(tenantId, undefined, cursor);
      all.push(...page.items);
      cursor = page.nextCursor ? decodeCursor(page.nextCursor, ['pk', 'id']) : undefined;
    } while (cursor);
    return all;
  }

  /**
   * Applies `set` (undefined values are skipped, null removes the attribute). Returns the
   * updated endpoint, or undefined if it does not exist.
   */
  async function updateEndpoint(
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
    const written = await conditionalUpdate(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (!written) return undefined;
    const { Attributes } = written;
    return Attributes ? toRecord(Attributes) : undefined;
  }

  /** Deletes an endpoint; false if there was none. */
  async function deleteEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const { Attributes } = await documents.send(
      new DeleteCommand({
        TableName: table(),
        Key: await keyOf(id),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? toRecord(Attributes) : undefined;
  }

  /**
   * Adds one to the endpoint's failure streak and notes when the run of failures began
   * (only called after a failed attempt). Undefined if the endpoint is gone.
   */
  async function addEndpointFailure(
    id: string,
    nowIso: string,
  ): Promise<{ failureStreak: number; failingSince: string } | undefined> {
    const written = await conditionalUpdate(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression: 'ADD failureStreak :one SET failingSince = if_not_exists(failingSince, :now)',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':one': 1, ':now': nowIso },
        // ALL_NEW: an if_not_exists that kept the old value is not "updated".
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (!written) return undefined;
    const { Attributes } = written;
    return {
      failureStreak: Number(Attributes?.failureStreak ?? 1),
      failingSince: String(Attributes?.failingSince ?? nowIso),
    };
  }

  /** Opens the endpoint's circuit until `untilMs`. */
  async function openCircuit(id: string, untilMs: number): Promise<void> {
    await updateEndpoint(id, { circuitOpenUntil: untilMs });
  }

  /**
   * Claims the half-open probe: moves `circuitOpenUntil` from the value this worker saw to
   * `untilMs`. Only one worker wins; the others keep deferring.
   */
  async function claimProbe(
    id: string,
    seenOpenUntil: number | undefined,
    untilMs: number,
  ): Promise<boolean> {
    return conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
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
  }

  /**
   * Closes the circuit and clears the failure run (after a success, or when an operator
   * re-enables the endpoint); skipped when already clear, whatever part of it is left.
   */
  async function resetEndpointFailures(id: string): Promise<void> {
    await conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        // The release lease goes too: what the open circuit held is released at once.
        UpdateExpression:
          'SET failureStreak = :zero REMOVE failingSince, circuitOpenUntil, releaseLeaseUntil',
        ConditionExpression:
          'attribute_exists(id) AND (failureStreak > :zero OR attribute_exists(failingSince) OR attribute_exists(circuitOpenUntil))',
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  /**
   * Lists the endpoint in the sparse `byBacklog` index (it has held deliveries), after every hold,
   * and ends any "empty since" mark a release left (so that the release cannot take the endpoint
   * off the index under a hold it did not see). True when a release should be queued now: the
   * endpoint was not listed, or the last release found its backlog empty and queued no other.
   */
  async function markBacklog(id: string): Promise<boolean> {
    const written = await conditionalUpdate(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression: 'SET backlogShard = :shard REMOVE backlogEmptySinceMs',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':shard': BACKLOG_SHARD },
        // ALL_OLD: UPDATED_OLD may leave out an attribute set to the value it had.
        ReturnValues: 'ALL_OLD',
      }),
    );
    if (!written) return false;
    const { Attributes } = written;
    // Listed now, or its release chain had stopped (a release found it empty): queue one.
    return Attributes?.backlogShard === undefined || Attributes?.backlogEmptySinceMs !== undefined;
  }

  /** A release found the backlog empty: when it was first found so (kept from an earlier release). */
  async function noteBacklogEmpty(id: string, nowMs: number): Promise<number> {
    const written = await conditionalUpdate(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression:
          'SET backlogEmptySinceMs = if_not_exists(backlogEmptySinceMs, :now) REMOVE releaseLeaseUntil',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':now': nowMs },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (!written) return nowMs;
    const { Attributes } = written;
    return Number(Attributes?.backlogEmptySinceMs ?? nowMs);
  }

  /**
   * Takes the endpoint off the `byBacklog` index, if nothing was held since a release first found
   * its backlog empty at `emptySinceMs` (a hold removes that mark).
   */
  async function clearBacklog(id: string, emptySinceMs: number): Promise<void> {
    await conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression: 'REMOVE backlogShard, releaseLeaseUntil, backlogEmptySinceMs',
        ConditionExpression: 'backlogEmptySinceMs = :seen',
        ExpressionAttributeValues: { ':seen': emptySinceMs },
      }),
    );
  }

  /** Endpoints with held deliveries (one Query of the sparse `byBacklog` index). */
  async function endpointsWithBacklog(limit: number): Promise<EndpointRecord[]> {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: table(),
        IndexName: ENDPOINTS_TABLE.indexes[0]?.indexName,
        KeyConditionExpression: 'backlogShard = :shard',
        ExpressionAttributeValues: { ':shard': BACKLOG_SHARD },
        Limit: limit,
      }),
    );
    return Items.map(toRecord);
  }

  /**
   * Claims the release of an endpoint's backlog until `untilMs`: one releaser at a time, so the
   * release rate holds across every worker. False while another holds it.
   */
  async function claimRelease(id: string, nowMs: number, untilMs: number): Promise<boolean> {
    return conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression: 'SET releaseLeaseUntil = :until',
        ConditionExpression:
          'attribute_exists(id) AND (attribute_not_exists(releaseLeaseUntil) OR releaseLeaseUntil < :now)',
        ExpressionAttributeValues: { ':until': untilMs, ':now': nowMs },
      }),
    );
  }

  /** Books the endpoint's release slots until `bookedUntilMs`, and holds the release lease until `leaseUntilMs`. */
  async function bookRelease(id: string, bookedUntilMs: number, leaseUntilMs: number): Promise<void> {
    await conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression:
          'SET releasedUntilMs = :booked, releaseLeaseUntil = :lease REMOVE backlogEmptySinceMs',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':booked': bookedUntilMs, ':lease': leaseUntilMs },
      }),
    );
  }

  /** Ends a release lease early (an operator action wants the backlog released now). */
  async function endRelease(id: string): Promise<void> {
    await conditionally(
      new UpdateCommand({
        TableName: table(),
        Key: await keyOf(id),
        UpdateExpression: 'REMOVE releaseLeaseUntil',
        ConditionExpression: 'attribute_exists(id)',
      }),
    );
  }

  return {
    noteEndpointTenant,
    putEndpoint,
    getEndpoint,
    listEndpoints,
    tenantEndpoints,
    updateEndpoint,
    deleteEndpoint,
    addEndpointFailure,
    openCircuit,
    claimProbe,
    resetEndpointFailures,
    markBacklog,
    noteBacklogEmpty,
    clearBacklog,
    endpointsWithBacklog,
    claimRelease,
    bookRelease,
    endRelease,
  };
}

/** The Endpoints table's operations. */
export type EndpointsRepository = ReturnType<typeof endpointsRepository>;
