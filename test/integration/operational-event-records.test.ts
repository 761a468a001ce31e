/**
 * The record of operational events (lambdas/adapters/store/operational-events.ts) on moto's
 * DynamoDB, and the delivery worker's use of it: each event recorded before it is published, a
 * duplicate of a handed-over event (SQS delivers at least once) recognised by its id and published
 * once, and a record that cannot be written never holding an event back.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../lambdas/adapters/event-bus.ts';
import type * as Records from '../../lambdas/adapters/store/operational-events.ts';
import { DELIVERY_RETENTION_SECONDS } from '../../lambdas/core/config.ts';
import { newOperationalEventId } from '../../lambdas/core/ids.ts';
import {
  OPERATIONAL_EVENTS_UNRECORDED_METRIC,
  type OperationalEvent,
  operationalEvent,
} from '../../lambdas/core/operational-events.ts';
import { encodeOperationalEvent } from '../../lambdas/core/payload.ts';
import { DELIVERIES_TABLE } from '../../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { fakeWorker, sqsRecord } from '../hardening/fakes.ts';
import { createTableOf, REGION, useMoto } from '../support/mutants-aws.ts';

const moto = useMoto();
let repository: Records.OperationalEventsRepository;
let keyOf: typeof Records.operationalEventKey;
let table: string;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  const records = await import('../../lambdas/adapters/store/operational-events.ts');
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  table = await createTableOf(moto.endpoint(), DELIVERIES_TABLE);
  repository = records.operationalEventsRepository(tableName(table, DELIVERIES_TABLE));
  keyOf = records.operationalEventKey;
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
});

afterAll(() => raw?.destroy());

const disabled = (endpointId: string, occurredAt: string): OperationalEvent =>
  operationalEvent('endpoint.disabled', {
    occurredAt,
    endpointId,
    tenantId: 'default',
    reason: 'manual',
    description: 'disabled by an operator',
  });

const redriven = (occurredAt: string): OperationalEvent =>
  operationalEvent('dlq.redriven', { occurredAt, mode: 'move-task', taskHandle: 'task-1' });

const isoAt = (ms: number) => new Date(ms).toISOString();

describe('recordOperationalEvent', () => {
  it('stores an event in its day partition, keyed by time and id, kept as long as a delivery', async () => {
    // Prepare
    const occurredAt = '2026-11-30T23:59:59.123Z';
    const id = newOperationalEventId(Date.parse(occurredAt));
    const event = disabled('ep_stored', occurredAt);

    // Act
    const fresh = await repository.recordOperationalEvent(id, event);

    // Assert
    expect(fresh).toBe(true);
    const { Item } = await raw.send(
      new GetCommand({
        TableName: table,
        Key: { endpointId: 'opevents#2026-11-30', id: `${occurredAt}#${id}` },
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({ eventId: id, detailType: 'endpoint.disabled', occurredAt });
    expect(JSON.parse(Item?.detailJson as string)).toEqual(event.detail);
    expect(Item?.expiresAt).toBe(Math.floor(Date.parse(occurredAt) / 1000) + DELIVERY_RETENTION_SECONDS);
  });

  it('refuses the same id twice (a duplicate), and keeps the first record', async () => {
    // Prepare
    const occurredAt = isoAt(Date.now());
    const id = newOperationalEventId();
    await repository.recordOperationalEvent(id, disabled('ep_first', occurredAt));

    // Act
    const again = await repository.recordOperationalEvent(id, disabled('ep_second', occurredAt));

    // Assert
    expect(again).toBe(false);
    const { Item } = await raw.send(
      new GetCommand({
        TableName: table,
        Key: { endpointId: `opevents#${occurredAt.slice(0, 10)}`, id: keyOf(occurredAt, id) },
        ConsistentRead: true,
      }),
    );
    expect(JSON.parse(Item?.detailJson as string).endpointId).toBe('ep_first');
  });
});

describe('listOperationalEvents', () => {
  // Five events over three days in a window of their own (a fixed past "now"), so other tests'
  // records are outside it.
  const now = Date.parse('2026-10-10T12:00:00.000Z');
  const times = [
    '2026-10-08T08:00:00.000Z',
    '2026-10-09T09:00:00.000Z',
    '2026-10-09T10:00:00.000Z',
    '2026-10-10T07:00:00.000Z',
    '2026-10-10T11:00:00.000Z',
  ];
  const ids = times.map((time) => newOperationalEventId(Date.parse(time)));

  beforeAll(async () => {
    for (const [index, time] of times.entries()) {
      const event = index % 2 === 0 ? disabled(`ep_list_${index}`, time) : redriven(time);
      await repository.recordOperationalEvent(ids[index] ?? '', event);
    }
  });

  const since = Date.parse('2026-10-01T00:00:00.000Z');

  it('lists every event newest first, across day partitions, with its detail', async () => {
    // Act
    const page = await repository.listOperationalEvents({ limit: 10, sinceMs: since, nowMs: now });

    // Assert
    expect(page.items.map((item) => item.id)).toEqual([...ids].reverse());
    expect(page.items[0]).toEqual({
      id: ids[4],
      detailType: 'endpoint.disabled',
      occurredAt: times[4],
      detail: disabled('ep_list_4', times[4] ?? '').detail,
    });
    expect(page.nextKey).toBeUndefined();
  });

  it('pages with the last key shown, never repeating or skipping an event', async () => {
    // Act
    const first = await repository.listOperationalEvents({ limit: 2, sinceMs: since, nowMs: now });
    const second = await repository.listOperationalEvents({
      limit: 2,
      sinceMs: since,
      nowMs: now,
      ...(first.nextKey ? { beforeKey: first.nextKey } : {}),
    });
    const third = await repository.listOperationalEvents({
      limit: 2,
      sinceMs: since,
      nowMs: now,
      ...(second.nextKey ? { beforeKey: second.nextKey } : {}),
    });

    // Assert
    expect(first.nextKey).toBe(keyOf(times[3] ?? '', ids[3] ?? ''));
    expect([...first.items, ...second.items, ...third.items].map((item) => item.id)).toEqual(
      [...ids].reverse(),
    );
    expect(third.nextKey).toBeUndefined();
  });

  it('keeps to one detail-type, and to events at or after since', async () => {
    // Act
    const redrives = await repository.listOperationalEvents({
      limit: 10,
      sinceMs: since,
      nowMs: now,
      detailType: 'dlq.redriven',
    });
    const recent = await repository.listOperationalEvents({
      limit: 10,
      sinceMs: Date.parse(times[2] ?? ''),
      nowMs: now,
    });

    // Assert
    expect(redrives.items.map((item) => item.id)).toEqual([ids[3], ids[1]]);
    expect(recent.items.map((item) => item.id)).toEqual([ids[4], ids[3], ids[2]]);
  });

  it('shows nothing that occurred after now', async () => {
    // Act
    const page = await repository.listOperationalEvents({
      limit: 10,
      sinceMs: since,
      nowMs: Date.parse('2026-10-09T09:30:00.000Z'),
    });

    // Assert
    expect(page.items.map((item) => item.id)).toEqual([ids[1], ids[0]]);
  });
});

describe('the delivery worker records each event before it publishes it', () => {
  it('publishes a handed-over event once when SQS delivers its message twice', async () => {
    // Prepare
    const bus = new MemoryPublisher();
    const recording = fakeWorkerWith(bus, repository);
    const id = newOperationalEventId();
    const event = disabled('ep_twice', isoAt(Date.now()));
    const body = encodeOperationalEvent(id, event);

    // Act
    await recording.worker.processBatch([sqsRecord(body)]);
    await recording.worker.processBatch([sqsRecord(body)]);

    // Assert
    expect(bus.events).toEqual([event]);
    expect(recording.logger.lines.map((line) => line.message)).toContain(
      'operational event already recorded; not published again',
    );
    const listed = await repository.listOperationalEvents({
      limit: 100,
      sinceMs: Date.now() - 60_000,
      nowMs: Date.now(),
      detailType: 'endpoint.disabled',
    });
    expect(listed.items.filter((item) => item.id === id)).toHaveLength(1);
  });

  it('still publishes, and counts the miss, when the record cannot be written', async () => {
    // Prepare
    const bus = new MemoryPublisher();
    const broken = {
      recordOperationalEvent: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
    };
    const recording = fakeWorkerWith(bus, broken);
    const event = disabled('ep_unrecorded', isoAt(Date.now()));

    // Act
    await recording.worker.processBatch([sqsRecord(encodeOperationalEvent(newOperationalEventId(), event))]);

    // Assert
    expect(bus.events).toEqual([event]);
    expect(recording.metrics).toEqual([[OPERATIONAL_EVENTS_UNRECORDED_METRIC, 'Count', 1]]);
    expect(recording.logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'operational event not recorded',
        extra: expect.objectContaining({ error: 'ProvisionedThroughputExceededException' }),
      }),
    );
  });
});

/** A worker over the fakes, with a bus and a record of operational events, and its metrics. */
function fakeWorkerWith(
  bus: MemoryPublisher,
  log: { recordOperationalEvent(id: string, event: OperationalEvent): Promise<boolean> },
) {
  const metrics: Array<[string, string, number]> = [];
  const { worker, logger } = fakeWorker(notSent, {
    deps: {
      operationalEvents: bus,
      operationalEventLog: log,
      metric: (name, unit, value) => metrics.push([name, unit, value]),
    },
  });
  return { worker, logger, metrics };
}

const notSent = {
  post: async (): Promise<never> => {
    throw new Error('the sender is not used by these tests');
  },
};
