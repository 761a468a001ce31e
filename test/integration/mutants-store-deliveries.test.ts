/**
 * The Deliveries repository (lambdas/adapters/store/deliveries.ts) against moto's DynamoDB:
 * what each outcome sets and removes, the conditions that keep `delivered` final and that guard
 * holds, claims and manual retries, the sparse `byFailure` and `byWait` indexes, and the listing
 * across endpoints, statuses, time ranges and pages. Written to kill the module's Stryker
 * mutants (docs/mutation-testing.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Deliveries from '../../lambdas/adapters/store/deliveries.ts';
import { DELIVERY_RETENTION_SECONDS } from '../../lambdas/core/config.ts';
import type { AttemptRecord, DeliveryKey } from '../../lambdas/core/records.ts';
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
let store: Deliveries.DeliveriesRepository;
let table: string;
let recorder: CommandRecorder;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  const { deliveriesRepository } = await import('../../lambdas/adapters/store/deliveries.ts');
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  const { dynamo } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(dynamo);
  table = await createTableOf(moto.endpoint(), DELIVERIES_TABLE);
  store = deliveriesRepository(tableName(table, DELIVERIES_TABLE));
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
});

afterEach(() => recorder.reset());
afterAll(() => raw?.destroy());

/** Endpoint ids unique to each test, so tests never read each other's partitions. */
let endpointSequence = 0;
const newEndpoint = () => `ep_${Date.now()}_${endpointSequence++}`;

/** Delivery ids sort by their number, as real ones sort by event time. */
const deliveryId = (n: number) => `dl_${String(n).padStart(6, '0')}`;

function key(endpointId: string, n: number): DeliveryKey {
  return {
    endpointId,
    id: deliveryId(n),
    eventId: `ev_${n}`,
    eventType: n % 2 ? 'order.paid' : 'order.created',
    createdAtMs: 1_700_000_000_000 + n,
  };
}

const failedAttempt = (attempt: number, excerpt = 'server error'): AttemptRecord => ({
  attempt,
  at: new Date(1_700_000_100_000 + attempt).toISOString(),
  statusCode: 500,
  durationMs: 12,
  error: 'http_500',
  responseExcerpt: excerpt,
});
const okAttempt = (attempt: number): AttemptRecord => ({
  attempt,
  at: new Date(1_700_000_200_000 + attempt).toISOString(),
  statusCode: 200,
  durationMs: 7,
  responseExcerpt: 'thanks',
});

const rawDelivery = async (endpointId: string, id: string) =>
  (await raw.send(new GetCommand({ TableName: table, Key: { endpointId, id }, ConsistentRead: true }))).Item;

type Outcome = Parameters<Deliveries.DeliveriesRepository['recordOutcome']>[0];
const outcome = (
  k: DeliveryKey,
  fields: Partial<Outcome> & Pick<Outcome, 'status' | 'attempt'>,
): Outcome => ({
  ...k,
  redrive: false,
  ...fields,
});

describe('getDelivery', () => {
  it('reads one delivery, eventually consistent unless asked, and undefined for none', async () => {
    const endpointId = newEndpoint();
    await store.recordOutcome(outcome(key(endpointId, 1), { status: 'delivered', attempt: okAttempt(1) }));
    recorder.reset();
    expect(await store.getDelivery(endpointId, deliveryId(1))).toMatchObject({ status: 'delivered' });
    expect(await store.getDelivery(endpointId, deliveryId(1), true)).toMatchObject({ status: 'delivered' });
    expect(await store.getDelivery(endpointId, deliveryId(2))).toBeUndefined();
    expect(recorder.sent.map((command) => command.input.ConsistentRead)).toEqual([false, true, false]);
  });
});

describe('recordOutcome', () => {
  it('a success: delivered, its time, the attempt without its body, off every index, and the attempt count', async () => {
    // Prepare: held, then failed with a long wait, then delivered.
    const endpointId = newEndpoint();
    const k = key(endpointId, 1);
    await store.holdDelivery(k, 'circuit_open', 1_000);
    await store.recordOutcome(
      outcome(k, { status: 'failed', attempt: failedAttempt(1), nextAttemptAt: 'soon', dueAtMs: 5_000 }),
    );
    const before = Math.floor(Date.now() / 1000);

    // Act
    const attempts = await store.recordOutcome(outcome(k, { status: 'delivered', attempt: okAttempt(2) }));

    // Assess
    const after = Math.floor(Date.now() / 1000);
    expect(attempts).toBe(2);
    const item = await rawDelivery(endpointId, k.id);
    const { responseExcerpt: _body, ...summary } = okAttempt(2);
    expect(item).toEqual({
      endpointId,
      id: k.id,
      status: 'delivered',
      eventId: k.eventId,
      eventType: k.eventType,
      createdAtMs: k.createdAtMs,
      lastAttempt: summary,
      deliveredAt: okAttempt(2).at,
      attempts: 2,
      expiresAt: item?.expiresAt,
    });
    expect(item?.expiresAt).toBeGreaterThanOrEqual(before + DELIVERY_RETENTION_SECONDS);
    expect(item?.expiresAt).toBeLessThanOrEqual(after + DELIVERY_RETENTION_SECONDS);
  });

  it('a failure: in the byFailure index, its excerpt cut to 256 characters, its next attempt time, and no overwrite of delivered', async () => {
    // Prepare
    const endpointId = newEndpoint();
    const k = key(endpointId, 1);

    // Act
    const first = await store.recordOutcome(
      outcome(k, {
        status: 'failed',
        attempt: failedAttempt(1, 'x'.repeat(300)),
        nextAttemptAt: '2030-01-01T00:00:00.000Z',
      }),
    );
    const afterFirst = await rawDelivery(endpointId, k.id);
    const second = await store.recordOutcome(outcome(k, { status: 'failed', attempt: failedAttempt(2) }));
    const afterSecond = await rawDelivery(endpointId, k.id);
    await store.recordOutcome(outcome(k, { status: 'delivered', attempt: okAttempt(3) }));
    const late = await store.recordOutcome(outcome(k, { status: 'dead', attempt: failedAttempt(4) }));
    const again = await store.recordOutcome(outcome(k, { status: 'delivered', attempt: okAttempt(5) }));

    // Assess
    expect([first, second, late, again]).toEqual([1, 2, undefined, 4]);
    expect(afterFirst).toMatchObject({
      status: 'failed',
      failedKey: `${endpointId}#failed`,
      nextAttemptAt: '2030-01-01T00:00:00.000Z',
      lastAttempt: { ...failedAttempt(1), responseExcerpt: 'x'.repeat(256) },
    });
    expect(afterFirst).not.toHaveProperty('waitKey');
    expect(afterSecond).toMatchObject({ lastAttempt: failedAttempt(2), attempts: 2 });
    expect(afterSecond).not.toHaveProperty('nextAttemptAt');
    expect(await rawDelivery(endpointId, k.id)).toMatchObject({ status: 'delivered', attempts: 4 });
  });

  it('a failure without an excerpt keeps none; a dead delivery is indexed as dead', async () => {
    const endpointId = newEndpoint();
    const k = key(endpointId, 1);
    const { responseExcerpt: _e, ...bare } = failedAttempt(1);
    await store.recordOutcome(outcome(k, { status: 'dead', attempt: bare }));
    const item = await rawDelivery(endpointId, k.id);
    expect(item).toMatchObject({ status: 'dead', failedKey: `${endpointId}#dead`, lastAttempt: bare });
    expect(item?.lastAttempt).not.toHaveProperty('responseExcerpt');
  });

  it('a long wait: a failed delivery enters byWait as due at its time; any other outcome leaves it', async () => {
    // Prepare
    const endpointId = newEndpoint();
    const [waits, dies] = [key(endpointId, 1), key(endpointId, 2)];

    // Act
    await store.recordOutcome(
      outcome(waits, { status: 'failed', attempt: failedAttempt(1), dueAtMs: 1_234_567 }),
    );
    await store.recordOutcome(
      outcome(dies, { status: 'failed', attempt: failedAttempt(1), dueAtMs: 1_234_567 }),
    );
    await store.recordOutcome(
      outcome(dies, { status: 'dead', attempt: failedAttempt(2), dueAtMs: 9_999_999 }),
    );

    // Assess
    expect(await rawDelivery(endpointId, waits.id)).toMatchObject({
      waitKey: 'due',
      waitAt: '000000001234567',
    });
    const dead = await rawDelivery(endpointId, dies.id);
    expect(dead).not.toHaveProperty('waitKey');
    expect(dead).not.toHaveProperty('waitAt');
  });

  it('a new schedule and a redrive are counted', async () => {
    const endpointId = newEndpoint();
    const k = key(endpointId, 1);
    await store.recordOutcome(outcome(k, { status: 'dead', attempt: failedAttempt(1) }));
    await store.recordOutcome(
      outcome(k, { status: 'failed', attempt: failedAttempt(2), scheduleBase: 1, redrive: true }),
    );
    await store.recordOutcome(outcome(k, { status: 'failed', attempt: failedAttempt(3) }));
    expect(await rawDelivery(endpointId, k.id)).toMatchObject({ scheduleBase: 1, redrives: 1, attempts: 3 });
    const plain = key(endpointId, 2);
    await store.recordOutcome(outcome(plain, { status: 'failed', attempt: failedAttempt(1) }));
    const item = await rawDelivery(endpointId, plain.id);
    expect(item).not.toHaveProperty('redrives');
    expect(item).not.toHaveProperty('scheduleBase');
  });

  it('an outcome takes a held delivery out of its backlog', async () => {
    const endpointId = newEndpoint();
    const k = key(endpointId, 1);
    await store.holdDelivery(k, 'rate_limited', 1_000);
    await store.recordOutcome(outcome(k, { status: 'failed', attempt: failedAttempt(1) }));
    const item = await rawDelivery(endpointId, k.id);
    for (const attribute of ['heldReason', 'heldAtMs', 'waitKey', 'waitAt'])
      expect(item).not.toHaveProperty(attribute);
    expect(await store.heldDeliveries(endpointId, 10)).toEqual([]);
  });
});

describe('correlation', () => {
  it('keeps the tenant and tracking id on the record when an outcome or a hold gives them, and leaves them out otherwise', async () => {
    // Prepare
    const endpointId = newEndpoint();
    const [recorded, held, plain] = [key(endpointId, 1), key(endpointId, 2), key(endpointId, 3)];

    // Act
    await store.recordOutcome(
      outcome(recorded, {
        status: 'failed',
        attempt: failedAttempt(1),
        tenantId: 'acme',
        trackingId: 'trk_1',
      }),
    );
    await store.holdDelivery({ ...held, tenantId: 'acme', trackingId: 'trk_2' }, 'circuit_open', 1);
    await store.holdDelivery({ ...key(endpointId, 4), trackingId: 'trk_4' }, 'circuit_open', 1);
    await store.recordOutcome(outcome(plain, { status: 'failed', attempt: failedAttempt(1) }));

    // Assess
    expect(await rawDelivery(endpointId, recorded.id)).toMatchObject({
      tenantId: 'acme',
      trackingId: 'trk_1',
    });
    expect(await rawDelivery(endpointId, held.id)).toMatchObject({ tenantId: 'acme', trackingId: 'trk_2' });
    const trackedOnly = await rawDelivery(endpointId, deliveryId(4));
    expect(trackedOnly).toMatchObject({ trackingId: 'trk_4', status: 'pending' });
    expect(trackedOnly).not.toHaveProperty('tenantId');
    const none = await rawDelivery(endpointId, plain.id);
    expect(none).not.toHaveProperty('tenantId');
    expect(none).not.toHaveProperty('trackingId');
  });
});

describe('the backlog', () => {
  it('holdDelivery creates a pending record in the backlog, keeps a known status, never touches delivered', async () => {
    // Prepare
    const endpointId = newEndpoint();
    const [fresh, failed, delivered] = [key(endpointId, 1), key(endpointId, 2), key(endpointId, 3)];
    await store.recordOutcome(outcome(failed, { status: 'failed', attempt: failedAttempt(1) }));
    await store.recordOutcome(outcome(delivered, { status: 'delivered', attempt: okAttempt(1) }));
    const deliveredBefore = await rawDelivery(endpointId, delivered.id);

    // Act
    const held = [
      await store.holdDelivery(fresh, 'circuit_open', 5_000_000),
      await store.holdDelivery(failed, 'rate_limited', 6_000_000),
      await store.holdDelivery(delivered, 'circuit_open', 7_000_000),
    ];

    // Assess
    expect(held).toEqual([true, true, false]);
    expect(await rawDelivery(endpointId, fresh.id)).toEqual({
      ...fresh,
      status: 'pending',
      failedKey: `${endpointId}#pending`,
      waitKey: `held#${endpointId}`,
      waitAt: fresh.id,
      heldReason: 'circuit_open',
      heldAtMs: 5_000_000,
      expiresAt: 5_000 + DELIVERY_RETENTION_SECONDS,
      attempts: 0,
    });
    expect(await rawDelivery(endpointId, failed.id)).toMatchObject({
      status: 'failed',
      failedKey: `${endpointId}#failed`,
      heldReason: 'rate_limited',
      attempts: 1,
    });
    expect(await rawDelivery(endpointId, delivered.id)).toEqual(deliveredBefore);
  });

  it('heldDeliveries lists the oldest first, up to the limit; unholdDelivery removes only the hold it released', async () => {
    // Prepare
    const endpointId = newEndpoint();
    for (const n of [3, 1, 2]) await store.holdDelivery(key(endpointId, n), 'circuit_open', 1_000 + n);
    await store.holdDelivery(key(newEndpoint(), 1), 'circuit_open', 1);
    recorder.reset();

    // Act
    const oldestTwo = await store.heldDeliveries(endpointId, 2);
    await store.unholdDelivery(endpointId, deliveryId(1), 1_001);
    await store.unholdDelivery(endpointId, deliveryId(2), 9_999);

    // Assess
    expect(oldestTwo.map((delivery) => delivery.id)).toEqual([deliveryId(1), deliveryId(2)]);
    expect(recorder.sent[0]?.input).toMatchObject({ IndexName: 'byWait', Limit: 2 });
    expect((await store.heldDeliveries(endpointId, 10)).map((delivery) => delivery.id)).toEqual([
      deliveryId(2),
      deliveryId(3),
    ]);
    const unheld = await rawDelivery(endpointId, deliveryId(1));
    for (const attribute of ['heldReason', 'heldAtMs', 'waitKey', 'waitAt'])
      expect(unheld).not.toHaveProperty(attribute);
    expect(unheld).toMatchObject({ status: 'pending' });
  });

  it('backlogStats counts every page up to maxPages, says whether it stopped early, and names the oldest', async () => {
    // Prepare: five held; Queries of two per page.
    const endpointId = newEndpoint();
    for (const n of [5, 4, 3, 2, 1]) await store.holdDelivery(key(endpointId, n), 'circuit_open', 1_000);
    recorder.intercept = (command, send) =>
      command.command === 'QueryCommand' && command.input.Select === 'COUNT'
        ? send({ ...command.input, Limit: 2 })
        : undefined;

    // Act
    const full = await store.backlogStats(endpointId);
    const capped = await store.backlogStats(endpointId, 2);
    const none = await store.backlogStats(newEndpoint());

    // Assess
    expect(full).toMatchObject({ size: 5, complete: true, oldest: { id: deliveryId(1) } });
    expect(capped).toMatchObject({ size: 4, complete: false, oldest: { id: deliveryId(1) } });
    expect(none).toEqual({ size: 0, complete: true });
    const counts = recorder.sent.filter((command) => command.input.Select === 'COUNT');
    expect(counts.length).toBe(3 + 2 + 1);
    expect(counts[0]?.input).toMatchObject({ IndexName: 'byWait' });
  });
});

describe('long waits', () => {
  it('dueDeliveries lists failed deliveries whose time has come, soonest first; claimDue takes one once', async () => {
    // Prepare: due times far in the future, apart from other tests' waits.
    const endpointId = newEndpoint();
    const base = 8_000_000_000_000 + endpointSequence * 1_000_000;
    const [soon, sooner, later] = [key(endpointId, 1), key(endpointId, 2), key(endpointId, 3)];
    await store.recordOutcome(
      outcome(soon, { status: 'failed', attempt: failedAttempt(1), dueAtMs: base + 20 }),
    );
    await store.recordOutcome(
      outcome(sooner, { status: 'failed', attempt: failedAttempt(1), dueAtMs: base + 10 }),
    );
    await store.recordOutcome(
      outcome(later, { status: 'failed', attempt: failedAttempt(1), dueAtMs: base + 31 }),
    );

    // Act
    const due = (await store.dueDeliveries(base + 30, 100)).filter((d) => d.endpointId === endpointId);
    const claimed = await store.claimDue(
      endpointId,
      soon.id,
      String(base + 20).padStart(15, '0'),
      base + 500,
    );
    const twice = await store.claimDue(endpointId, soon.id, String(base + 20).padStart(15, '0'), base + 600);
    const notDue = await store.claimDue(
      endpointId,
      deliveryId(9),
      String(base + 20).padStart(15, '0'),
      base + 600,
    );

    // Assess
    expect(due.map((delivery) => delivery.id)).toEqual([sooner.id, soon.id]);
    expect([claimed, twice, notDue]).toEqual([true, false, false]);
    expect(await rawDelivery(endpointId, soon.id)).toMatchObject({
      waitKey: 'due',
      waitAt: String(base + 500).padStart(15, '0'),
    });
    const limited = await store.dueDeliveries(base + 30, 1);
    expect(limited).toHaveLength(1);
  });

  it('claimDue refuses a held delivery (not due) even at the same wait value', async () => {
    const endpointId = newEndpoint();
    const k = key(endpointId, 1);
    await store.holdDelivery(k, 'circuit_open', 1);
    expect(await store.claimDue(endpointId, k.id, k.id, 5)).toBe(false);
  });
});

describe('markRetryQueued', () => {
  it('queues a delivery again by hand, unless delivered or retried by hand within the cooldown', async () => {
    // Prepare
    const endpointId = newEndpoint();
    const [dead, delivered, fresh] = [key(endpointId, 1), key(endpointId, 2), key(endpointId, 3)];
    await store.recordOutcome(
      outcome(dead, { status: 'dead', attempt: failedAttempt(3), nextAttemptAt: '2030-01-01T00:00:00.000Z' }),
    );
    await store.recordOutcome(outcome(delivered, { status: 'delivered', attempt: okAttempt(1) }));
    const now = 1_800_000_000_000;

    // Act
    const results = [
      await store.markRetryQueued(dead, now, 60_000),
      await store.markRetryQueued(dead, now + 59_999, 60_000),
      await store.markRetryQueued(dead, now + 60_000, 60_000),
      await store.markRetryQueued(delivered, now, 60_000),
      await store.markRetryQueued(fresh, now, 60_000),
    ];

    // Assess
    expect(results).toEqual([true, false, false, false, true]);
    const item = await rawDelivery(endpointId, dead.id);
    expect(item).toMatchObject({
      status: 'pending',
      failedKey: `${endpointId}#pending`,
      retryQueuedAt: new Date(now).toISOString(),
      eventId: dead.eventId,
      eventType: dead.eventType,
      createdAtMs: dead.createdAtMs,
      expiresAt: Math.floor(now / 1000) + DELIVERY_RETENTION_SECONDS,
      attempts: 1,
    });
    expect(item).not.toHaveProperty('nextAttemptAt');
    expect(await rawDelivery(endpointId, fresh.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await rawDelivery(endpointId, delivered.id)).toMatchObject({ status: 'delivered' });
    expect(await store.markRetryQueued(dead, now + 60_001, 60_000)).toBe(true);
  });
});

describe('listDeliveries', () => {
  /** Six deliveries of one endpoint: 1, 2 delivered; 3, 4 failed; 5 dead; 6 pending (held). */
  async function seed(endpointId: string): Promise<void> {
    for (const n of [1, 2])
      await store.recordOutcome(outcome(key(endpointId, n), { status: 'delivered', attempt: okAttempt(1) }));
    for (const n of [3, 4])
      await store.recordOutcome(outcome(key(endpointId, n), { status: 'failed', attempt: failedAttempt(1) }));
    await store.recordOutcome(outcome(key(endpointId, 5), { status: 'dead', attempt: failedAttempt(1) }));
    await store.holdDelivery(key(endpointId, 6), 'circuit_open', 1);
  }
  const ids = (result: { items: Array<{ id: string }> }) => result.items.map((item) => item.id.slice(3));

  it('lists one endpoint newest first, by status, by event type, and says whether more exist', async () => {
    // Prepare
    const endpointId = newEndpoint();
    await seed(endpointId);
    const list = (query: Partial<Parameters<Deliveries.DeliveriesRepository['listDeliveries']>[0]>) =>
      store.listDeliveries({ endpointIds: [endpointId], limit: 10, ...query });

    // Act / Assess
    expect(await list({})).toMatchObject({ more: false });
    expect(ids(await list({}))).toEqual(['000006', '000005', '000004', '000003', '000002', '000001']);
    expect(ids(await list({ status: 'delivered' }))).toEqual(['000002', '000001']);
    expect(ids(await list({ status: 'failed' }))).toEqual(['000004', '000003']);
    expect(ids(await list({ status: 'dead' }))).toEqual(['000005']);
    expect(ids(await list({ status: 'pending' }))).toEqual(['000006']);
    expect(ids(await list({ eventType: 'order.paid' }))).toEqual(['000005', '000003', '000001']);
    expect(ids(await list({ status: 'failed', eventType: 'order.paid' }))).toEqual(['000003']);
    expect(ids(await list({ status: 'delivered', eventType: 'order.created' }))).toEqual(['000002']);
    const page = await list({ limit: 4 });
    expect(ids(page)).toEqual(['000006', '000005', '000004', '000003']);
    expect(page.more).toBe(true);
    expect(await list({ limit: 6 })).toMatchObject({ more: false });
  });

  it('since (inclusive) and before (exclusive, the cursor) bound the ids, alone or together', async () => {
    const endpointId = newEndpoint();
    await seed(endpointId);
    const list = (query: Partial<Parameters<Deliveries.DeliveriesRepository['listDeliveries']>[0]>) =>
      store.listDeliveries({ endpointIds: [endpointId], limit: 10, ...query });
    expect(ids(await list({ sinceId: deliveryId(4) }))).toEqual(['000006', '000005', '000004']);
    expect(ids(await list({ beforeId: deliveryId(3) }))).toEqual(['000002', '000001']);
    expect(ids(await list({ sinceId: deliveryId(2), beforeId: deliveryId(5) }))).toEqual([
      '000004',
      '000003',
      '000002',
    ]);
    expect(ids(await list({ status: 'failed', sinceId: deliveryId(4), beforeId: deliveryId(5) }))).toEqual([
      '000004',
    ]);
    const bounded = await list({ sinceId: deliveryId(2), beforeId: deliveryId(5), limit: 2 });
    expect(ids(bounded)).toEqual(['000004', '000003']);
    expect(bounded.more).toBe(true);
  });

  it('merges several endpoints by id, newest first, and cuts at the limit', async () => {
    const [a, b] = [newEndpoint(), newEndpoint()];
    for (const n of [1, 4])
      await store.recordOutcome(outcome(key(a, n), { status: 'failed', attempt: failedAttempt(1) }));
    for (const n of [2, 3, 5])
      await store.recordOutcome(outcome(key(b, n), { status: 'failed', attempt: failedAttempt(1) }));
    const all = await store.listDeliveries({ endpointIds: [a, b], limit: 10 });
    expect(ids(all)).toEqual(['000005', '000004', '000003', '000002', '000001']);
    expect(all.items.map((item) => item.endpointId)).toEqual([b, a, b, b, a]);
    expect(all.more).toBe(false);
    const three = await store.listDeliveries({ endpointIds: [b, a], status: 'failed', limit: 3 });
    expect(ids(three)).toEqual(['000005', '000004', '000003']);
    expect(three.more).toBe(true);
    expect(await store.listDeliveries({ endpointIds: [], limit: 3 })).toEqual({ items: [], more: false });
  });

  it('reads further pages until it has one more than the limit, whatever DynamoDB puts on a page', async () => {
    // Prepare: pages of two items.
    const endpointId = newEndpoint();
    await seed(endpointId);
    recorder.intercept = (command, send) =>
      command.command === 'QueryCommand' ? send({ ...command.input, Limit: 2 }) : undefined;
    recorder.sent.length = 0;

    // Act
    const page = await store.listDeliveries({ endpointIds: [endpointId], limit: 3 });
    const queries = recorder.sent.length;
    const all = await store.listDeliveries({ endpointIds: [endpointId], limit: 10 });
    const delivered = await store.listDeliveries({
      endpointIds: [endpointId],
      limit: 10,
      status: 'delivered',
    });

    // Assess
    expect(ids(page)).toEqual(['000006', '000005', '000004']);
    expect(page.more).toBe(true);
    expect(queries).toBe(2);
    expect(ids(all)).toEqual(['000006', '000005', '000004', '000003', '000002', '000001']);
    expect(all.more).toBe(false);
    expect(ids(delivered)).toEqual(['000002', '000001']);
  });

  it('queries the byFailure index only for the failure statuses', async () => {
    const endpointId = newEndpoint();
    await store.listDeliveries({ endpointIds: [endpointId], limit: 1, status: 'dead' });
    await store.listDeliveries({ endpointIds: [endpointId], limit: 1, status: 'delivered' });
    await store.listDeliveries({ endpointIds: [endpointId], limit: 1 });
    expect(recorder.sent.map((command) => command.input.IndexName)).toEqual([
      'byFailure',
      undefined,
      undefined,
    ]);
    expect(recorder.sent.map((command) => command.input.Limit)).toEqual([2, 2, 2]);
    expect(recorder.sent.map((command) => command.input.KeyConditionExpression)).toEqual([
      'failedKey = :pk',
      'endpointId = :pk',
      'endpointId = :pk',
    ]);
  });

  it('sends only the values its key condition uses when both bounds are given', async () => {
    await store.listDeliveries({
      endpointIds: [newEndpoint()],
      limit: 1,
      sinceId: deliveryId(1),
      beforeId: deliveryId(5),
    });
    expect(recorder.sent[0]?.input.KeyConditionExpression).toBe(
      'endpointId = :pk AND id BETWEEN :since AND :beforeInclusive',
    );
    expect(Object.keys(recorder.sent[0]?.input.ExpressionAttributeValues as object).sort()).toEqual([
      ':beforeInclusive',
      ':pk',
      ':since',
    ]);
  });

  it('asks for the next page when a full page may hide more, and says there is none when it is empty', async () => {
    // Prepare: exactly as many deliveries as the limit, on pages of that size.
    const endpointId = newEndpoint();
    for (const n of [1, 2])
      await store.recordOutcome(outcome(key(endpointId, n), { status: 'delivered', attempt: okAttempt(1) }));
    recorder.intercept = (command, send) =>
      command.command === 'QueryCommand' ? send({ ...command.input, Limit: 2 }) : undefined;

    // Act
    const page = await store.listDeliveries({ endpointIds: [endpointId], limit: 2 });

    // Assess
    expect(ids(page)).toEqual(['000002', '000001']);
    expect(page.more).toBe(false);
  });
});
