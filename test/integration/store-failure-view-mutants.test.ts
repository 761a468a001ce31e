/**
 * The cross-tenant failure view (lambdas/adapters/store/failure-view.ts) against moto's
 * DynamoDB: failed or dead deliveries of every shard of the sparse `byFailedShard` index, merged
 * newest first, cut at the limit with `more`, narrowed by event type and by the `sinceId`
 * (inclusive) and `beforeId` (exclusive) bounds. Written to kill the module's Stryker mutants
 * (docs/mutation-testing.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as FailureView from '../../lambdas/adapters/store/failure-view.ts';
import { failedShard } from '../../lambdas/core/records.ts';
import { DELIVERIES_TABLE } from '../../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import {
  type CommandRecorder,
  createTableOf,
  REGION,
  recordCommands,
  useMoto,
} from '../support/mutants-aws.ts';

const moto = useMoto();
let view: FailureView.FailureViewRepository;
let raw: DynamoDBDocumentClient;
let recorder: CommandRecorder;

/** Ids in time order (delivery ids start with the event time), with their status and type. */
const deliveries = Array.from({ length: 24 }, (_, index) => ({
  id: `dl_${String(1_700_000_000_000 + index * 1000)}_${index.toString(36)}`,
  status: index % 3 === 2 ? 'dead' : 'failed',
  eventType: index % 2 === 0 ? 'order.created' : 'invoice.paid',
}));
const failed = deliveries.filter((delivery) => delivery.status === 'failed');
const newestFirst = (list: typeof deliveries) => list.map((delivery) => delivery.id).reverse();

beforeAll(async () => {
  const { failureViewRepository } = await import('../../lambdas/adapters/store/failure-view.ts');
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  const { dynamo } = await import('../../lambdas/adapters/clients.ts');
  // As sent: after the document client's marshalling, which drops undefined values.
  recorder = recordCommands(dynamo, 'build');
  const table = await createTableOf(moto.endpoint(), DELIVERIES_TABLE);
  view = failureViewRepository(tableName(table, DELIVERIES_TABLE));
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
  for (const [index, delivery] of deliveries.entries()) {
    await raw.send(
      new PutCommand({
        TableName: table,
        Item: {
          endpointId: `ep_${index % 5}`,
          ...delivery,
          failedShard: failedShard(delivery.id, delivery.status),
        },
      }),
    );
  }
  // A delivery that is neither failed nor dead is not in the index.
  await raw.send(
    new PutCommand({
      TableName: table,
      Item: { endpointId: 'ep_0', id: 'dl_1700000005500_z', status: 'delivered', eventType: 'order.created' },
    }),
  );
});

afterEach(() => recorder.reset());
afterAll(() => raw?.destroy());

describe('listFailedDeliveries', () => {
  it('the test data spans several shards', () => {
    expect(new Set(failed.map((delivery) => failedShard(delivery.id, 'failed'))).size).toBeGreaterThan(3);
  });

  it('lists every failed delivery of every shard newest first, and the dead ones apart', async () => {
    // Act
    const all = await view.listFailedDeliveries({ status: 'failed', limit: 100 });
    const dead = await view.listFailedDeliveries({ status: 'dead', limit: 100 });

    // Assess
    expect(all.items.map((item) => item.id)).toEqual(newestFirst(failed));
    expect(all.more).toBe(false);
    expect(dead.items.map((item) => item.id)).toEqual(
      newestFirst(deliveries.filter((delivery) => delivery.status === 'dead')),
    );
    expect(all.items[0]).toMatchObject({ status: 'failed', endpointId: expect.any(String) });
  });

  it('cuts at the limit and says there is more; exactly the limit has no more', async () => {
    // Act
    const five = await view.listFailedDeliveries({ status: 'failed', limit: 5 });
    const exact = await view.listFailedDeliveries({ status: 'failed', limit: failed.length });

    // Assess
    expect(five.items.map((item) => item.id)).toEqual(newestFirst(failed).slice(0, 5));
    expect(five.more).toBe(true);
    expect(exact.items).toHaveLength(failed.length);
    expect(exact.more).toBe(false);
  });

  it('keeps one event type', async () => {
    // Act
    const paid = await view.listFailedDeliveries({ status: 'failed', eventType: 'invoice.paid', limit: 100 });

    // Assess
    expect(paid.items.map((item) => item.id)).toEqual(
      newestFirst(failed.filter((delivery) => delivery.eventType === 'invoice.paid')),
    );
  });

  it('an empty event type filters nothing, and sends no value that no expression uses (DynamoDB refuses one)', async () => {
    // Act
    const all = await view.listFailedDeliveries({ status: 'failed', eventType: '', limit: 100 });

    // Assess
    expect(all.items.map((item) => item.id)).toEqual(newestFirst(failed));
    const queries = recorder.sent.filter((command) => command.command === 'QueryCommand');
    expect(queries.length).toBeGreaterThan(3);
    for (const query of queries) {
      expect(query.input.FilterExpression).toBeUndefined();
      expect(Object.keys(query.input.ExpressionAttributeValues as object)).toEqual([':shard']);
    }
  });

  it('sinceId is inclusive, beforeId exclusive, alone or together', async () => {
    // Prepare
    const ids = failed.map((delivery) => delivery.id);
    const since = ids[3] ?? '';
    const before = ids[10] ?? '';

    // Act
    const fromSince = await view.listFailedDeliveries({ status: 'failed', sinceId: since, limit: 100 });
    const toBefore = await view.listFailedDeliveries({ status: 'failed', beforeId: before, limit: 100 });
    const between = await view.listFailedDeliveries({
      status: 'failed',
      sinceId: since,
      beforeId: before,
      limit: 100,
    });
    const betweenTyped = await view.listFailedDeliveries({
      status: 'failed',
      eventType: 'order.created',
      sinceId: since,
      beforeId: before,
      limit: 100,
    });

    // Assess
    expect(fromSince.items.map((item) => item.id)).toEqual([...ids.slice(3)].reverse());
    expect(toBefore.items.map((item) => item.id)).toEqual([...ids.slice(0, 10)].reverse());
    expect(between.items.map((item) => item.id)).toEqual([...ids.slice(3, 10)].reverse());
    expect(betweenTyped.items.map((item) => item.id)).toEqual(
      newestFirst(failed.slice(3, 10).filter((delivery) => delivery.eventType === 'order.created')),
    );
  });

  it('pages with beforeId: the next page starts after the last item of the one before', async () => {
    // Act
    const first = await view.listFailedDeliveries({ status: 'failed', limit: 6 });
    const last = first.items.at(-1)?.id;
    const second = await view.listFailedDeliveries({ status: 'failed', beforeId: last, limit: 6 });
    const third = await view.listFailedDeliveries({
      status: 'failed',
      beforeId: second.items.at(-1)?.id,
      limit: 6,
    });

    // Assess
    expect([...first.items, ...second.items, ...third.items].map((item) => item.id)).toEqual(
      newestFirst(failed),
    );
    expect([first.more, second.more, third.more]).toEqual([true, true, false]);
  });
});
