/**
 * DynamoDB key schemas and the environment variables that name each resource.
 *
 * The CDK storage construct and the local runner both build their tables from these
 * definitions, so local mode and the tests exercise the keys that get deployed.
 * Pure data: no AWS imports.
 */

/** A key attribute: DynamoDB scalar type S (string) or N (number). */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A global secondary index, projected ALL unless it says KEYS_ONLY. */
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projection?: 'ALL' | 'KEYS_ONLY';
}

/** One table: keys, indexes and the TTL attribute. */
export interface TableDefinition {
  /** Construct id in the stack and suffix of the local table name. */
  readonly id: 'Events' | 'Deliveries' | 'Attempts' | 'Endpoints';
  /** Environment variable through which handlers learn the table's name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly indexes: readonly IndexDefinition[];
  /** Epoch-seconds attribute after which DynamoDB deletes the item. */
  readonly ttlAttribute?: string;
}

/**
 * Events: `id` is the event id. The item is also the idempotency record: an event sent with
 * an Idempotency-Key gets an id derived from the key, and the conditional put on `id` is the
 * idempotency check. Its `state` is `accepted` (stored, not every message sent) or `queued`.
 * `sweepShard` is set only on an event handed to the sweep (its queueing failed, or its API
 * request died), so the `bySweep` index is sparse: the happy path writes no index entry.
 */
export const EVENTS_TABLE: TableDefinition = {
  id: 'Events',
  envVar: 'EVENTS_TABLE',
  partitionKey: { name: 'id', type: 'S' },
  indexes: [
    {
      indexName: 'bySweep',
      partitionKey: { name: 'sweepShard', type: 'S' },
      sortKey: { name: 'sweepAfterMs', type: 'N' },
    },
  ],
  ttlAttribute: 'expiresAt',
};

/**
 * Deliveries: one item per (event, endpoint), written when an attempt has an outcome.
 * Partition = endpoint id, sort = delivery id, which starts with the event's creation time,
 * so "deliveries of an endpoint, newest first, since T" is a Query on the base table.
 * `failedKey` (= `endpointId#status`) is set only while a delivery is failed, dead or queued
 * by hand, so the `byFailure` index is sparse: the happy path writes no index entry.
 * `failedShard` (= `status#n`, n = 0..7 from the delivery id) is set at the same times: the
 * sparse `byFailedShard` index is the operator's cross-tenant failure view, eight Queries merged
 * whatever the number of endpoints or tenants (eight partitions, so that an outage's failures
 * are not all written to one index partition).
 * `waitKey`/`waitAt` are set only while a delivery waits outside the queue (the sparse `byWait`
 * index): `due` with the zero-padded epoch ms of a long retry wait, which the sweep sends at its
 * time; or `held#<endpointId>` with the delivery id, its endpoint's backlog, oldest first.
 * The record of operational events lives here too, one partition per day (`endpointId` =
 * `opevents#YYYY-MM-DD`, never an endpoint's id), see lambdas/adapters/store/operational-events.ts.
 */
export const DELIVERIES_TABLE: TableDefinition = {
  id: 'Deliveries',
  envVar: 'DELIVERIES_TABLE',
  partitionKey: { name: 'endpointId', type: 'S' },
  sortKey: { name: 'id', type: 'S' },
  indexes: [
    {
      indexName: 'byFailure',
      partitionKey: { name: 'failedKey', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
    },
    {
      indexName: 'byWait',
      partitionKey: { name: 'waitKey', type: 'S' },
      sortKey: { name: 'waitAt', type: 'S' },
    },
    {
      indexName: 'byFailedShard',
      partitionKey: { name: 'failedShard', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
    },
  ],
  ttlAttribute: 'expiresAt',
};

/** Attempts: written only for failed attempts (successes are summarised on the delivery). */
export const ATTEMPTS_TABLE: TableDefinition = {
  id: 'Attempts',
  envVar: 'ATTEMPTS_TABLE',
  partitionKey: { name: 'deliveryId', type: 'S' },
  sortKey: { name: 'attempt', type: 'N' },
  indexes: [],
  ttlAttribute: 'expiresAt',
};

/**
 * Endpoints: one partition per tenant (`pk` = "endpoint" for the default tenant, where every
 * endpoint made before tenants lives, `tenant#<id>` for the others; see lambdas/core/tenants.ts),
 * so a tenant's endpoints are one Query, sorted by id. The tenant records themselves are the
 * `tenants` partition. `byEndpointId` (keys only, written once per endpoint: its keys never change)
 * finds an endpoint's partition from its id. `backlogShard` is set only on an endpoint with held
 * deliveries (the sparse `byBacklog` index), so the sweep finds the backlogs to release without
 * reading every endpoint.
 */
export const ENDPOINTS_TABLE: TableDefinition = {
  id: 'Endpoints',
  envVar: 'ENDPOINTS_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'id', type: 'S' },
  indexes: [
    {
      indexName: 'byBacklog',
      partitionKey: { name: 'backlogShard', type: 'S' },
      sortKey: { name: 'id', type: 'S' },
    },
    {
      indexName: 'byEndpointId',
      partitionKey: { name: 'id', type: 'S' },
      projection: 'KEYS_ONLY',
    },
  ],
};

export const TABLES: readonly TableDefinition[] = [
  EVENTS_TABLE,
  DELIVERIES_TABLE,
  ATTEMPTS_TABLE,
  ENDPOINTS_TABLE,
];

/** Environment variables naming the non-table resources. */
export const ENV = {
  /** URL of the delivery queue. */
  deliveryQueueUrl: 'DELIVERY_QUEUE_URL',
  /** URL of the dead-letter queue (permanent failures go straight there). */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Secrets Manager secret holding the API key hashes. */
  apiKeysSecretId: 'API_KEYS_SECRET_ID',
  /** Secrets Manager secret holding the key that signs portal session tokens. */
  portalKeySecretId: 'PORTAL_KEY_SECRET_ID',
  /** Name prefix of the per-endpoint signing secrets (`<prefix>/<endpointId>`). */
  endpointSecretPrefix: 'ENDPOINT_SECRET_PREFIX',
  /** "true" only in local mode: loopback receivers are allowed. */
  allowLoopback: 'WEBHOOKS_ALLOW_LOOPBACK',
  /** Comma-separated host names deliveries must never reach (the stack's own API). */
  blockedHosts: 'WEBHOOKS_BLOCKED_HOSTS',
  /**
   * Name of the EventBridge bus operational events go to (`default`: the account's default bus);
   * unset, none are published (lambdas/adapters/event-bus.ts).
   */
  operationalEventBus: 'WEBHOOKS_OPERATIONAL_EVENT_BUS',
  /**
   * The endpoint (`ep_...`) that gets a signed webhook copy of every operational event, through
   * the delivery pipeline (lambdas/delivery/operator-copy.ts); unset, none is copied.
   */
  operatorEndpointId: 'WEBHOOKS_OPERATOR_ENDPOINT_ID',
} as const;
