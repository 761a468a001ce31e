/**
 * The Events and Attempts repositories and what every repository shares (lambdas/adapters/store/
 * events.ts, attempts.ts, tables.ts) against moto's DynamoDB: conditional writes refused or
 * made, attributes set and removed, the sparse sweep index, paging, TTLs and cursors. Written to
 * kill the modules' Stryker mutants (docs/mutation-testing.md).
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Attempts from '../../lambdas/adapters/store/attempts.ts';
import type * as Events from '../../lambdas/adapters/store/events.ts';
import type * as Tables from '../../lambdas/adapters/store/tables.ts';
import { DELIVERY_RETENTION_SECONDS, EVENT_RETENTION_SECONDS } from '../../lambdas/core/config.ts';
import type { EventRecord } from '../../lambdas/core/records.ts';
import { ATTEMPTS_TABLE, EVENTS_TABLE } from '../../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import {
  type CommandRecorder,
  createTableOf,
  REGION,
  recordCommands,
  useMoto,
} from '../support/mutants-aws.ts';

const moto = useMoto();
let tables: typeof Tables;
let events: Events.EventsRepository;
let attempts: Attempts.AttemptsRepository;
let eventsTable: string;
let attemptsTable: string;
let recorder: CommandRecorder;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  tables = await import('../../lambdas/adapters/store/tables.ts');
  const { eventsRepository } = await import('../../lambdas/adapters/store/events.ts');
  const { attemptsRepository } = await import('../../lambdas/adapters/store/attempts.ts');
  const { dynamo } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(dynamo);
  [eventsTable, attemptsTable] = await Promise.all([
    createTableOf(moto.endpoint(), EVENTS_TABLE),
    createTableOf(moto.endpoint(), ATTEMPTS_TABLE),
  ]);
  events = eventsRepository(tables.tableName(eventsTable, EVENTS_TABLE));
  attempts = attemptsRepository(tables.tableName(attemptsTable, ATTEMPTS_TABLE));
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
});

afterEach(() => {
  recorder.reset();
  vi.unstubAllEnvs();
});
afterAll(() => raw?.destroy());

let sequence = 0;
function event(overrides: Partial<EventRecord> = {}): EventRecord {
  sequence += 1;
  return {
    id: `ev_${Date.now()}_${sequence}`,
    type: 'order.created',
    createdAtMs: 1_700_000_000_500 + sequence,
    endpointIds: ['ep_a', 'ep_b'],
    fingerprint: `fp${sequence}`,
    body: '{"n":1}',
    state: 'accepted',
    ...overrides,
  };
}

const rawEvent = async (id: string) =>
  (await raw.send(new GetCommand({ TableName: eventsTable, Key: { id }, ConsistentRead: true }))).Item;

describe('tableName', () => {
  it('uses the configured name, else reads the environment variable at each use, else fails naming it', () => {
    // Prepare
    const fromEnv = tables.tableName(undefined, EVENTS_TABLE);

    // Act / Assess
    vi.stubEnv('EVENTS_TABLE', 'events-one');
    expect(fromEnv()).toBe('events-one');
    vi.stubEnv('EVENTS_TABLE', 'events-two');
    expect(fromEnv()).toBe('events-two');
    expect(tables.tableName('configured', EVENTS_TABLE)()).toBe('configured');
    vi.stubEnv('EVENTS_TABLE', '');
    expect(() => fromEnv()).toThrow(new Error('environment variable EVENTS_TABLE is not set'));
    expect(() => tables.tableName(undefined, ATTEMPTS_TABLE)()).toThrow(
      /^environment variable ATTEMPTS_TABLE is not set$/,
    );
  });
});

describe('what the repositories share', () => {
  it('epochSeconds rounds down', () => {
    expect(tables.epochSeconds(1_999)).toBe(1);
    expect(tables.epochSeconds(2_000)).toBe(2);
    expect(tables.epochSeconds(0)).toBe(0);
  });

  it('isConditionFailure knows the SDK error and one that only carries its name, nothing else', () => {
    const sdkError = new ConditionalCheckFailedException({ message: 'refused', $metadata: {} });
    expect(tables.isConditionFailure(sdkError)).toBe(true);
    expect(tables.isConditionFailure({ name: 'ConditionalCheckFailedException' })).toBe(true);
    expect(tables.isConditionFailure(new Error('ConditionalCheckFailedException'))).toBe(false);
    expect(tables.isConditionFailure({ name: 'TransactionCanceledException' })).toBe(false);
    expect(tables.isConditionFailure(undefined)).toBe(false);
  });

  it('conditionalUpdate returns the output of a write made, undefined for a refused one, and throws other errors', async () => {
    // Prepare
    const id = event().id;
    await raw.send(new PutCommand({ TableName: eventsTable, Item: { id, n: 1 } }));
    const update = (expected: number, table = eventsTable) =>
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression: 'SET n = :next',
        ConditionExpression: 'n = :expected',
        ExpressionAttributeValues: { ':next': expected + 1, ':expected': expected },
        ReturnValues: 'UPDATED_NEW',
      });

    // Act
    const made = await tables.conditionalUpdate(update(1));
    const refused = await tables.conditionalUpdate(update(1));
    const missing = await tables.conditionalUpdate(update(1, 'no-such-table')).catch((error: Error) => error);

    // Assess
    expect(made?.Attributes).toEqual({ n: 2 });
    expect(refused).toBeUndefined();
    expect((missing as Error).name).toBe('ResourceNotFoundException');
    expect(await tables.conditionally(update(2))).toBe(true);
    expect(await tables.conditionally(update(2))).toBe(false);
  });

  it('cursors: what encodeCursor writes decodes with the same keys, and nothing else does', () => {
    const key = { endpointId: 'ep_a', id: 'dl_1', n: 3 };
    const cursor = tables.encodeCursor(key) as string;
    expect(cursor).toBe(Buffer.from(JSON.stringify(key)).toString('base64url'));
    expect(tables.encodeCursor(undefined)).toBeUndefined();
    expect(tables.decodeCursor(cursor, ['endpointId', 'id', 'n'])).toEqual(key);
    expect(tables.decodeCursor(cursor, ['id', 'n', 'endpointId'])).toEqual(key);

    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(tables.decodeCursor(cursor, ['endpointId', 'id'])).toBeUndefined();
    expect(tables.decodeCursor(cursor, ['endpointId', 'id', 'n', 'extra'])).toBeUndefined();
    expect(tables.decodeCursor(cursor, ['endpointId', 'id', 'other'])).toBeUndefined();
    expect(tables.decodeCursor(encode({ id: true }), ['id'])).toBeUndefined();
    expect(tables.decodeCursor(encode({ id: { nested: 1 } }), ['id'])).toBeUndefined();
    expect(tables.decodeCursor(encode({ id: null }), ['id'])).toBeUndefined();
    expect(tables.decodeCursor(encode(['id']), ['0'])).toBeUndefined();
    expect(tables.decodeCursor(encode(null), [])).toBeUndefined();
    expect(tables.decodeCursor(encode('id'), [])).toBeUndefined();
    expect(tables.decodeCursor(encode(7), [])).toBeUndefined();
    expect(tables.decodeCursor(Buffer.from('{not json').toString('base64url'), ['id'])).toBeUndefined();
    expect(tables.decodeCursor(encode({}), [])).toEqual({});
    expect(tables.decodeCursor(encode({ id: 'x' }), ['id'])).toEqual({ id: 'x' });
  });
});

describe('the Events repository', () => {
  it('putEventIfAbsent stores a new event with its TTL, and for a known id returns the stored one', async () => {
    // Prepare
    const first = event();
    const replay = { ...first, fingerprint: 'different' };

    // Act
    const created = await events.putEventIfAbsent(first);
    const again = await events.putEventIfAbsent(replay);

    // Assess
    const expiresAt = Math.floor(first.createdAtMs / 1000) + EVENT_RETENTION_SECONDS;
    expect(created).toEqual({ created: true });
    expect(again).toEqual({ created: false, existing: { ...first, expiresAt } });
    expect(await rawEvent(first.id)).toEqual({ ...first, expiresAt });
  });

  it('putEventIfAbsent throws what is not a refused condition', async () => {
    recorder.intercept = (command) => {
      if (command.command === 'PutItemCommand')
        throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
      return undefined;
    };
    const failure = await events.putEventIfAbsent(event()).catch((error: Error) => error);
    expect((failure as Error).name).toBe('ThrottlingException');
  });

  it('getEvent reads consistently, and answers undefined for an unknown id', async () => {
    const stored = event();
    await events.putEventIfAbsent(stored);
    recorder.reset();
    expect(await events.getEvent(stored.id)).toMatchObject(stored);
    expect(recorder.sent[0]?.input).toMatchObject({ TableName: eventsTable, ConsistentRead: true });
    expect(await events.getEvent('ev_unknown')).toBeUndefined();
  });

  it('claimEvent takes an accepted event once: from no lease, or from the lease seen, never from a queued one', async () => {
    // Prepare
    const free = event();
    const leased = event({ leaseUntilMs: 1_000 });
    const queued = event({ state: 'queued' });
    for (const item of [free, leased, queued]) await events.putEventIfAbsent(item);

    // Act / Assess
    expect(await events.claimEvent(free.id, undefined, 5_000)).toBe(true);
    expect(await events.claimEvent(free.id, undefined, 6_000)).toBe(false);
    expect((await rawEvent(free.id))?.leaseUntilMs).toBe(5_000);
    expect(await events.claimEvent(leased.id, undefined, 5_000)).toBe(false);
    expect(await events.claimEvent(leased.id, 999, 5_000)).toBe(false);
    expect(await events.claimEvent(leased.id, 1_000, 7_000)).toBe(true);
    expect(await events.claimEvent(leased.id, 1_000, 8_000)).toBe(false);
    expect((await rawEvent(leased.id))?.leaseUntilMs).toBe(7_000);
    expect(await events.claimEvent(queued.id, undefined, 5_000)).toBe(false);
    expect(await rawEvent(queued.id)).not.toHaveProperty('leaseUntilMs');
  });

  it('markEventQueued marks it queued and takes it off the sweep, and refuses an unknown id', async () => {
    // Prepare
    const stored = event({
      leaseUntilMs: 9,
      unsentEndpointIds: ['ep_a'],
      sweepShard: 'accepted',
      sweepAfterMs: 1,
    });
    await events.putEventIfAbsent(stored);

    // Act
    await events.markEventQueued(stored.id);
    const unknown = await events.markEventQueued('ev_never').catch((error: Error) => error);

    // Assess
    const { leaseUntilMs: _l, unsentEndpointIds: _u, sweepShard: _s, sweepAfterMs: _a, ...rest } = stored;
    expect(await rawEvent(stored.id)).toEqual({
      ...rest,
      state: 'queued',
      expiresAt: Math.floor(stored.createdAtMs / 1000) + EVENT_RETENTION_SECONDS,
    });
    expect((unknown as Error).name).toBe('ConditionalCheckFailedException');
    expect(await rawEvent('ev_never')).toBeUndefined();
  });

  it('releaseEvent hands an accepted event to the sweep (lease released, unsent endpoints kept) and leaves a queued one', async () => {
    // Prepare
    const withUnsent = event({ leaseUntilMs: 5 });
    const without = event({ leaseUntilMs: 5, unsentEndpointIds: ['ep_old'] });
    const queued = event({ state: 'queued' });
    for (const item of [withUnsent, without, queued]) await events.putEventIfAbsent(item);

    // Act
    await events.releaseEvent(withUnsent.id, 1_234, ['ep_b']);
    await events.releaseEvent(without.id, 2_345);
    await events.releaseEvent(queued.id, 3_456, ['ep_a']);

    // Assess
    const released = await rawEvent(withUnsent.id);
    expect(released).toMatchObject({
      sweepShard: 'accepted',
      sweepAfterMs: 1_234,
      unsentEndpointIds: ['ep_b'],
    });
    expect(released).not.toHaveProperty('leaseUntilMs');
    const kept = await rawEvent(without.id);
    expect(kept).toMatchObject({
      sweepShard: 'accepted',
      sweepAfterMs: 2_345,
      unsentEndpointIds: ['ep_old'],
    });
    expect(kept).not.toHaveProperty('leaseUntilMs');
    const untouched = await rawEvent(queued.id);
    expect(untouched).not.toHaveProperty('sweepShard');
    expect(untouched).not.toHaveProperty('unsentEndpointIds');
  });

  it('sweepableEvents lists the events whose sweep time has come, oldest first, up to the limit', async () => {
    // Prepare: a time far from other tests' sweep times.
    const base = 9_000_000_000_000 + sequence * 1_000_000;
    const due = [event(), event(), event()];
    const later = event();
    const queuedMeanwhile = event();
    for (const item of [...due, later, queuedMeanwhile]) await events.putEventIfAbsent(item);
    await events.releaseEvent(due[1]?.id as string, base + 10);
    await events.releaseEvent(due[0]?.id as string, base + 20);
    await events.releaseEvent(due[2]?.id as string, base + 30);
    await events.releaseEvent(later.id, base + 31);
    await events.releaseEvent(queuedMeanwhile.id, base + 5);
    await events.markEventQueued(queuedMeanwhile.id);

    // Act
    const all = await events.sweepableEvents(base + 30, 10);
    const two = await events.sweepableEvents(base + 30, 2);

    // Assess: other tests' released events are older; this test's are the last ones.
    expect(all.slice(-3)).toEqual([due[1]?.id, due[0]?.id, due[2]?.id]);
    expect(all).not.toContain(later.id);
    expect(all).not.toContain(queuedMeanwhile.id);
    expect(two).toHaveLength(2);
    expect(recorder.sent.at(-1)?.input).toMatchObject({ IndexName: 'bySweep', Limit: 2 });
  });
});

describe('the Attempts repository', () => {
  it('stores failed attempts with a TTL and lists them, every page, without its keys', async () => {
    // Prepare
    const deliveryId = `dl_${Date.now()}_${sequence++}`;
    const stored = [1, 2, 3, 4, 5].map((attempt) => ({
      attempt,
      at: new Date(1_700_000_000_000 + attempt).toISOString(),
      statusCode: 500,
      durationMs: attempt * 10,
      error: 'http_500',
      responseExcerpt: `nope ${attempt}`,
    }));
    const before = Math.floor(Date.now() / 1000);
    for (const attempt of stored) await attempts.putAttempt(deliveryId, attempt);
    const after = Math.floor(Date.now() / 1000);
    // Pages of two, so listing takes three Queries.
    recorder.reset();
    recorder.intercept = (command, send) =>
      command.command === 'QueryCommand' ? send({ ...command.input, Limit: 2 }) : undefined;

    // Act
    const listed = await attempts.listAttempts(deliveryId);

    // Assess
    expect(listed).toEqual(stored);
    expect(recorder.names().filter((name) => name === 'QueryCommand').length).toBeGreaterThanOrEqual(3);
    const item = (
      await raw.send(new GetCommand({ TableName: attemptsTable, Key: { deliveryId, attempt: 3 } }))
    ).Item;
    expect(item?.expiresAt).toBeGreaterThanOrEqual(before + DELIVERY_RETENTION_SECONDS);
    expect(item?.expiresAt).toBeLessThanOrEqual(after + DELIVERY_RETENTION_SECONDS);
    expect(await attempts.listAttempts('dl_none')).toEqual([]);
  });
});
