/**
 * The Endpoints repository (lambdas/adapters/store/endpoints.ts) against moto's DynamoDB: one
 * partition per tenant and the lookup of an endpoint's partition by id, the conditional writes of
 * the failure run, the circuit's probe, the backlog's index and release lease, paging and the
 * update expression. Written to kill the module's Stryker mutants (docs/mutation-testing.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Endpoints from '../../lambdas/adapters/store/endpoints.ts';
import type { EndpointRecord } from '../../lambdas/core/records.ts';
import { ENDPOINTS_TABLE } from '../../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import {
  type CommandRecorder,
  createTableOf,
  REGION,
  recordCommands,
  uniqueName,
  useMoto,
} from '../support/mutants-aws.ts';

const moto = useMoto();
let module: typeof Endpoints;
let repository: () => Endpoints.EndpointsRepository;
let table: string;
let recorder: CommandRecorder;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  module = await import('../../lambdas/adapters/store/endpoints.ts');
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  const { dynamo } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(dynamo);
  table = await createTableOf(moto.endpoint(), ENDPOINTS_TABLE);
  // A fresh repository has learnt no partition yet.
  repository = () => module.endpointsRepository(tableName(table, ENDPOINTS_TABLE));
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
});

afterEach(() => recorder.reset());
afterAll(() => raw?.destroy());

function endpoint(overrides: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    id: uniqueName('ep'),
    url: 'https://example.com/hook',
    enabled: true,
    secretName: 'webhooks/test/endpoints/x',
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    ...overrides,
  };
}

const rawItem = async (pk: string, id: string) =>
  (await raw.send(new GetCommand({ TableName: table, Key: { pk, id }, ConsistentRead: true }))).Item;

const rawPut = (item: Record<string, unknown>) => raw.send(new PutCommand({ TableName: table, Item: item }));

/** The keys of the Gets and Updates sent, in order. */
const keysSent = () =>
  recorder.sent.filter((command) => command.input.Key !== undefined).map((command) => command.input.Key);

describe('endpointFromItem', () => {
  it('turns the partition into the tenant and leaves the partition key out', () => {
    // Prepare
    const item = { id: 'ep_1', url: 'https://x', enabled: true };

    // Act
    const acme = module.endpointFromItem({ ...item, pk: 'tenant#acme' });
    const before = module.endpointFromItem({ ...item, pk: 'endpoint' });
    const other = module.endpointFromItem({ ...item, pk: 'tenants' });

    // Assess
    expect(acme).toStrictEqual({ ...item, tenantId: 'acme' });
    expect(before).toStrictEqual({ ...item, tenantId: 'default' });
    expect(other).toStrictEqual({ ...item, tenantId: 'default' });
  });
});

describe('where an endpoint lives', () => {
  it("puts a tenant's endpoint in its partition, without a tenantId attribute, and the default tenant's in `endpoint`", async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    const mine = endpoint({ tenantId: 'default' });
    const old = endpoint();

    // Act
    await store.putEndpoint(acme);
    await store.putEndpoint(mine);
    await store.putEndpoint(old);

    // Assess
    const { tenantId: _t, ...stored } = acme;
    expect(await rawItem('tenant#acme', acme.id)).toStrictEqual({ pk: 'tenant#acme', ...stored });
    expect(await rawItem('endpoint', mine.id)).toMatchObject({ id: mine.id });
    expect((await rawItem('endpoint', mine.id))?.tenantId).toBeUndefined();
    expect(await rawItem('endpoint', old.id)).toMatchObject({ id: old.id });
  });

  it('refuses a second put of the same id, and keeps the first', async () => {
    // Prepare
    const store = repository();
    const first = endpoint({ tenantId: 'acme', url: 'https://first.example' });
    await store.putEndpoint(first);

    // Act
    const again = store.putEndpoint({ ...first, url: 'https://second.example' });

    // Assess
    await expect(again).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await rawItem('tenant#acme', first.id))?.url).toBe('https://first.example');
  });

  it('finds an endpoint it has not seen through the byEndpointId index, once, and then by its known partition', async () => {
    // Prepare
    const acme = endpoint({ tenantId: 'acme' });
    await repository().putEndpoint(acme);
    const store = repository();
    recorder.reset();

    // Act
    const first = await store.getEndpoint(acme.id);
    const second = await store.getEndpoint(acme.id);

    // Assess
    expect(first).toStrictEqual(acme);
    expect(second).toStrictEqual(acme);
    expect(recorder.names()).toEqual(['QueryCommand', 'GetItemCommand', 'GetItemCommand']);
    expect(recorder.sent[0]?.input).toMatchObject({
      IndexName: 'byEndpointId',
      KeyConditionExpression: 'id = :id',
    });
    expect(recorder.sent.map((command) => command.input.ConsistentRead)).toEqual([undefined, true, true]);
    expect(keysSent()).toEqual([
      { pk: 'tenant#acme', id: acme.id },
      { pk: 'tenant#acme', id: acme.id },
    ]);
  });

  it('skips a tenant record with the same id as the endpoint (the tenants partition is not an endpoint partition)', async () => {
    // Prepare: the tenant record written before the endpoint, and after it, in two tenants'
    // partitions
    const cases = [
      endpoint({ tenantId: 'acme' }),
      endpoint({ tenantId: 'acme' }),
      endpoint({ tenantId: 'zeta' }),
      endpoint({ tenantId: 'zeta' }),
    ];
    for (const [index, each] of cases.entries()) {
      const tenantRecord = { pk: 'tenants', id: each.id, createdAt: 'x', updatedAt: 'x' };
      if (index % 2 === 0) await rawPut(tenantRecord);
      await repository().putEndpoint(each);
      if (index % 2 === 1) await rawPut(tenantRecord);
    }

    // Act
    const found = [];
    for (const each of cases) found.push(await repository().getEndpoint(each.id));

    // Assess
    expect(found).toStrictEqual(cases);
  });

  it('skips the tenant record when the index answers it first (DynamoDB does not order items of one index key)', async () => {
    // Prepare: moto happens to answer the endpoint's partition first; this answer has the
    // tenant record first
    const acme = endpoint({ tenantId: 'acme' });
    await repository().putEndpoint(acme);
    await rawPut({ pk: 'tenants', id: acme.id, createdAt: 'x', updatedAt: 'x' });
    recorder.intercept = async (command, send) => {
      if (command.input.IndexName !== 'byEndpointId') return send();
      const answer = (await send()) as { output: { Items: { pk: string }[] } };
      const items = answer.output.Items;
      const tenantRecord = (item: { pk: string }) => item.pk === 'tenants';
      answer.output.Items = [...items.filter(tenantRecord), ...items.filter((item) => !tenantRecord(item))];
      expect(answer.output.Items.map((item) => item.pk)).toEqual(['tenants', 'tenant#acme']);
      return answer;
    };

    // Act
    const found = await repository().getEndpoint(acme.id);

    // Assess
    expect(found).toStrictEqual(acme);
    expect(keysSent()).toEqual([{ pk: 'tenant#acme', id: acme.id }]);
  });

  it('falls back to the default partition for an id the index does not know, and asks the index again next time', async () => {
    // Prepare
    const store = repository();
    const later = endpoint({ tenantId: 'acme' });

    // Act
    const missing = await store.getEndpoint(later.id);
    await repository().putEndpoint(later);
    const found = await store.getEndpoint(later.id);

    // Assess
    expect(missing).toBeUndefined();
    expect(found).toStrictEqual(later);
    expect(recorder.names()).toEqual([
      'QueryCommand',
      'GetItemCommand',
      'PutItemCommand',
      'QueryCommand',
      'GetItemCommand',
    ]);
    expect(keysSent()).toEqual([
      { pk: 'endpoint', id: later.id },
      { pk: 'tenant#acme', id: later.id },
    ]);
  });

  it('learns the partition from a put, a listing and a note, and needs no index lookup after', async () => {
    // Prepare
    const listed = endpoint({ tenantId: 'globex' });
    const noted = endpoint({ tenantId: 'umbrella' });
    const notedDefault = endpoint();
    for (const each of [listed, noted, notedDefault]) await repository().putEndpoint(each);
    const store = repository();
    const putter = repository();
    const fresh = endpoint({ tenantId: 'acme' });
    await putter.putEndpoint(fresh);
    await store.listEndpoints('globex');
    recorder.reset();

    // Act
    store.noteEndpointTenant(noted.id, 'umbrella');
    store.noteEndpointTenant(notedDefault.id, undefined);
    const viaPut = await putter.getEndpoint(fresh.id);
    const viaList = await store.getEndpoint(listed.id);
    const viaNote = await store.getEndpoint(noted.id);
    const viaNoteDefault = await store.getEndpoint(notedDefault.id);

    // Assess
    expect([viaPut, viaList, viaNote, viaNoteDefault]).toStrictEqual([
      fresh,
      listed,
      noted,
      { ...notedDefault, tenantId: 'default' },
    ]);
    expect(recorder.names()).toEqual([
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
      'GetItemCommand',
    ]);
  });

  it('learns the partition from what a write answers: a store that found it once by update needs no lookup after', async () => {
    // Prepare
    const initech = endpoint({ tenantId: 'initech' });
    await repository().putEndpoint(initech);
    const viaUpdate = repository();
    const viaDelete = repository();
    const gone = endpoint({ tenantId: 'initech' });
    await repository().putEndpoint(gone);
    await viaUpdate.updateEndpoint(initech.id, { description: 'x' });
    await viaDelete.deleteEndpoint(gone.id);
    await repository().putEndpoint(gone);
    recorder.reset();

    // Act
    await viaUpdate.getEndpoint(initech.id);
    await viaDelete.getEndpoint(gone.id);

    // Assess
    expect(recorder.names()).toEqual(['GetItemCommand', 'GetItemCommand']);
  });

  it('learns the partition from the backlog listing', async () => {
    // Prepare
    const held = endpoint({ tenantId: 'hooli' });
    await repository().putEndpoint(held);
    await repository().markBacklog(held.id);
    const store = repository();
    await store.endpointsWithBacklog(100);
    recorder.reset();

    // Act
    const found = await store.getEndpoint(held.id);

    // Assess
    expect(found?.id).toBe(held.id);
    expect(recorder.names()).toEqual(['GetItemCommand']);
  });
});

describe('listEndpoints and tenantEndpoints', () => {
  it("lists one tenant's endpoints a page at a time, consistently, with a cursor only while more remain", async () => {
    // Prepare
    const tenant = uniqueName('t');
    const store = repository();
    const mine = [
      endpoint({ tenantId: tenant }),
      endpoint({ tenantId: tenant }),
      endpoint({ tenantId: tenant }),
    ];
    for (const each of mine) await store.putEndpoint(each);
    await store.putEndpoint(endpoint({ tenantId: uniqueName('other') }));
    recorder.reset();

    // Act
    const first = await store.listEndpoints(tenant, 2);
    const cursor = first.nextCursor
      ? JSON.parse(Buffer.from(first.nextCursor, 'base64url').toString('utf8'))
      : undefined;
    const second = await store.listEndpoints(tenant, 2, cursor);
    const all = await store.listEndpoints(tenant);

    // Assess
    const sorted = [...mine].sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(first.items).toStrictEqual(sorted.slice(0, 2));
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(second.items).toStrictEqual(sorted.slice(2));
    expect('nextCursor' in second).toBe(false);
    expect(all).toStrictEqual({ items: sorted });
    expect(recorder.sent[0]?.input).toMatchObject({
      KeyConditionExpression: 'pk = :pk',
      Limit: 2,
      ConsistentRead: true,
    });
  });

  it("lists the default tenant's endpoints from the partition they had before tenants", async () => {
    // Prepare
    const old = endpoint();
    await rawPut({ pk: 'endpoint', ...old });

    // Act
    const page = await repository().listEndpoints('default');

    // Assess
    expect(page.items).toContainEqual({ ...old, tenantId: 'default' });
  });

  it("tenantEndpoints follows every page of the tenant's partition", async () => {
    // Prepare
    const tenant = uniqueName('t');
    const store = repository();
    const mine = [
      endpoint({ tenantId: tenant }),
      endpoint({ tenantId: tenant }),
      endpoint({ tenantId: tenant }),
    ];
    for (const each of mine) await store.putEndpoint(each);
    recorder.intercept = (command, send) =>
      command.command === 'QueryCommand' ? send({ ...command.input, Limit: 1 }) : undefined;

    // Act
    const all = await store.tenantEndpoints(tenant);

    // Assess
    expect(all.map((each) => each.id).sort()).toEqual(mine.map((each) => each.id).sort());
    expect(recorder.names().filter((name) => name === 'QueryCommand').length).toBeGreaterThanOrEqual(3);
  });
});

describe('updateEndpoint and deleteEndpoint', () => {
  it('sets what is given, skips undefined values, removes what is named, and returns the whole endpoint', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme', description: 'old', rateLimit: 5 });
    await store.putEndpoint(acme);

    // Act
    const updated = await store.updateEndpoint(
      acme.id,
      { url: 'https://new.example', description: undefined, enabled: false },
      ['rateLimit'],
    );

    // Assess
    const { rateLimit: _r, ...rest } = acme;
    const expected = { ...rest, url: 'https://new.example', enabled: false };
    expect(updated).toStrictEqual(expected);
    expect(await store.getEndpoint(acme.id)).toStrictEqual(expected);
  });

  it('removes attributes with no set at all, and sets with no removal', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme', description: 'old', rateLimit: 5 });
    await store.putEndpoint(acme);

    // Act
    const removed = await store.updateEndpoint(acme.id, {}, ['description', 'rateLimit']);
    const set = await store.updateEndpoint(acme.id, { description: 'new', url: undefined, rateLimit: 7 });

    // Assess
    const { description: _d, rateLimit: _r, ...rest } = acme;
    expect(removed).toStrictEqual(rest);
    expect(set).toStrictEqual({ ...rest, description: 'new', rateLimit: 7 });
    // One clause each, naming only what was given (the skipped value keeps its place's number)
    const updates = recorder.sent.filter((command) => command.command === 'UpdateItemCommand');
    expect(
      updates.map((command) => [command.input.UpdateExpression, command.input.ExpressionAttributeNames]),
    ).toEqual([
      ['REMOVE #r0, #r1', { '#r0': 'description', '#r1': 'rateLimit' }],
      ['SET #s0 = :s0, #s2 = :s2', { '#s0': 'description', '#s2': 'rateLimit' }],
    ]);
    expect(updates[0]?.input.ExpressionAttributeValues).toBeUndefined();
  });

  it('returns undefined for an endpoint that does not exist, and creates nothing', async () => {
    // Prepare
    const store = repository();
    const id = uniqueName('ep');

    // Act
    const updated = await store.updateEndpoint(id, { url: 'https://x.example' });

    // Assess
    expect(updated).toBeUndefined();
    expect(await rawItem('endpoint', id)).toBeUndefined();
  });

  it('throws a write error that is not a failed condition', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);

    // Act
    const bad = store.updateEndpoint(acme.id, { id: 'changed' });

    // Assess: the key cannot be updated
    await expect(bad).rejects.toThrow();
  });

  it('deletes an endpoint and returns it as it was; undefined when there was none', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);

    // Act
    const deleted = await store.deleteEndpoint(acme.id);
    const again = await store.deleteEndpoint(acme.id);

    // Assess
    expect(deleted).toStrictEqual(acme);
    expect(again).toBeUndefined();
    expect(await rawItem('tenant#acme', acme.id)).toBeUndefined();
  });
});

describe('the failure run and the circuit', () => {
  it('addEndpointFailure counts failures and keeps when the run began; undefined for no endpoint', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);
    const missing = uniqueName('ep');

    // Act
    const first = await store.addEndpointFailure(acme.id, '2026-12-01T10:00:00.000Z');
    const second = await store.addEndpointFailure(acme.id, '2026-12-01T11:00:00.000Z');
    const none = await store.addEndpointFailure(missing, '2026-12-01T11:00:00.000Z');

    // Assess
    expect(first).toStrictEqual({ failureStreak: 1, failingSince: '2026-12-01T10:00:00.000Z' });
    expect(second).toStrictEqual({ failureStreak: 2, failingSince: '2026-12-01T10:00:00.000Z' });
    expect(none).toBeUndefined();
    expect(await rawItem('endpoint', missing)).toBeUndefined();
  });

  it('openCircuit sets when the circuit closes', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);

    // Act
    await store.openCircuit(acme.id, 1_700_000_060_000);

    // Assess
    expect((await rawItem('tenant#acme', acme.id))?.circuitOpenUntil).toBe(1_700_000_060_000);
  });

  it('claimProbe: one claim from the value seen, none from a stale one, none on a missing endpoint', async () => {
    // Prepare
    const store = repository();
    const open = endpoint({ tenantId: 'acme', circuitOpenUntil: 1000 });
    const closed = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(open);
    await store.putEndpoint(closed);

    // Act
    const won = await store.claimProbe(open.id, 1000, 5000);
    const lost = await store.claimProbe(open.id, 1000, 6000);
    const fromNone = await store.claimProbe(closed.id, undefined, 7000);
    const againFromNone = await store.claimProbe(closed.id, undefined, 8000);
    const seenNoneButOpen = await store.claimProbe(open.id, undefined, 9000);
    const missing = await store.claimProbe(uniqueName('ep'), undefined, 9000);

    // Assess
    expect([won, lost, fromNone, againFromNone, seenNoneButOpen, missing]).toEqual([
      true,
      false,
      true,
      false,
      false,
      false,
    ]);
    expect((await rawItem('tenant#acme', open.id))?.circuitOpenUntil).toBe(5000);
    expect((await rawItem('tenant#acme', closed.id))?.circuitOpenUntil).toBe(7000);
  });

  it('resetEndpointFailures clears the run, the circuit and the release lease whatever part of the run is left', async () => {
    // Prepare
    const store = repository();
    const cases = [
      endpoint({ tenantId: 'acme', failureStreak: 3, releaseLeaseUntil: 9 }),
      endpoint({ tenantId: 'acme', failureStreak: 0, failingSince: 'x', releaseLeaseUntil: 9 }),
      endpoint({ tenantId: 'acme', failureStreak: 0, circuitOpenUntil: 5, releaseLeaseUntil: 9 }),
      endpoint({ tenantId: 'acme', failureStreak: 2, failingSince: 'x', circuitOpenUntil: 5 }),
    ];
    for (const each of cases) await store.putEndpoint(each);

    // Act
    for (const each of cases) await store.resetEndpointFailures(each.id);

    // Assess
    for (const each of cases) {
      const item = await rawItem('tenant#acme', each.id);
      expect(item?.failureStreak).toBe(0);
      expect(item?.failingSince).toBeUndefined();
      expect(item?.circuitOpenUntil).toBeUndefined();
      expect(item?.releaseLeaseUntil).toBeUndefined();
    }
  });

  it('resetEndpointFailures leaves an endpoint with no failure run as it is, and creates none', async () => {
    // Prepare
    const store = repository();
    const clear = endpoint({ tenantId: 'acme', failureStreak: 0, releaseLeaseUntil: 9 });
    const never = endpoint({ tenantId: 'acme', releaseLeaseUntil: 9 });
    await store.putEndpoint(clear);
    await store.putEndpoint(never);
    const missing = uniqueName('ep');

    // Act
    await store.resetEndpointFailures(clear.id);
    await store.resetEndpointFailures(never.id);
    await store.resetEndpointFailures(missing);

    // Assess: the lease stays (the write was skipped)
    expect((await rawItem('tenant#acme', clear.id))?.releaseLeaseUntil).toBe(9);
    expect(await rawItem('tenant#acme', never.id)).toStrictEqual({ pk: 'tenant#acme', ...omitTenant(never) });
    expect(await rawItem('endpoint', missing)).toBeUndefined();
  });
});

function omitTenant(record: EndpointRecord): Omit<EndpointRecord, 'tenantId'> {
  const { tenantId: _t, ...rest } = record;
  return rest;
}

describe('the backlog', () => {
  it('markBacklog lists the endpoint and says to queue a release only when it was not listed or its chain had stopped', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);

    // Act
    const firstHold = await store.markBacklog(acme.id);
    const secondHold = await store.markBacklog(acme.id);
    const since = await store.noteBacklogEmpty(acme.id, 1234);
    const afterEmpty = await store.markBacklog(acme.id);
    const missing = await store.markBacklog(uniqueName('ep'));

    // Assess
    expect([firstHold, secondHold, since, afterEmpty, missing]).toEqual([true, false, 1234, true, false]);
    const item = await rawItem('tenant#acme', acme.id);
    expect(item?.backlogShard).toBe('held');
    expect(item?.backlogEmptySinceMs).toBeUndefined();
  });

  it('noteBacklogEmpty keeps the first time found empty and ends the lease; an unknown endpoint gets now', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme', releaseLeaseUntil: 50 });
    await store.putEndpoint(acme);
    const missing = uniqueName('ep');

    // Act
    const first = await store.noteBacklogEmpty(acme.id, 1000);
    const second = await store.noteBacklogEmpty(acme.id, 2000);
    const unknown = await store.noteBacklogEmpty(missing, 3000);

    // Assess
    expect([first, second, unknown]).toEqual([1000, 1000, 3000]);
    const item = await rawItem('tenant#acme', acme.id);
    expect(item?.backlogEmptySinceMs).toBe(1000);
    expect(item?.releaseLeaseUntil).toBeUndefined();
    expect(await rawItem('endpoint', missing)).toBeUndefined();
  });

  it('clearBacklog takes the endpoint off the index only if nothing was held since it was found empty', async () => {
    // Prepare
    const store = repository();
    const held = endpoint({ tenantId: 'acme' });
    const cleared = endpoint({ tenantId: 'acme' });
    for (const each of [held, cleared]) {
      await store.putEndpoint(each);
      await store.markBacklog(each.id);
      await store.noteBacklogEmpty(each.id, 1000);
      await store.claimRelease(each.id, 0, 99);
    }
    await store.markBacklog(held.id); // a hold after the release found it empty

    // Act
    await store.clearBacklog(held.id, 1000);
    await store.clearBacklog(cleared.id, 999);
    const stillListed = await rawItem('tenant#acme', cleared.id);
    await store.clearBacklog(cleared.id, 1000);

    // Assess
    expect((await rawItem('tenant#acme', held.id))?.backlogShard).toBe('held');
    expect(stillListed?.backlogShard).toBe('held');
    const item = await rawItem('tenant#acme', cleared.id);
    expect(item?.backlogShard).toBeUndefined();
    expect(item?.releaseLeaseUntil).toBeUndefined();
    expect(item?.backlogEmptySinceMs).toBeUndefined();
  });

  it('endpointsWithBacklog lists the endpoints with held deliveries as records, up to the limit', async () => {
    // Prepare
    const store = repository();
    const a = endpoint({ tenantId: uniqueName('b') });
    const b = endpoint({ tenantId: uniqueName('b') });
    for (const each of [a, b]) {
      await store.putEndpoint(each);
      await store.markBacklog(each.id);
    }
    const notHeld = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(notHeld);

    // Act
    const all = await store.endpointsWithBacklog(1000);
    const one = await store.endpointsWithBacklog(1);

    // Assess
    const ids = all.map((each) => each.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(ids).not.toContain(notHeld.id);
    expect(all.find((each) => each.id === a.id)).toStrictEqual({ ...a, backlogShard: 'held' });
    expect(one).toHaveLength(1);
    expect(recorder.sent.at(-1)?.input).toMatchObject({ IndexName: 'byBacklog', Limit: 1 });
  });

  it('claimRelease: free or lapsed leases only (a lease ending now is still held), none on a missing endpoint', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);

    // Act
    const free = await store.claimRelease(acme.id, 100, 200);
    const held = await store.claimRelease(acme.id, 150, 300);
    const endingNow = await store.claimRelease(acme.id, 200, 300);
    const lapsed = await store.claimRelease(acme.id, 201, 400);
    const missing = await store.claimRelease(uniqueName('ep'), 0, 1);

    // Assess
    expect([free, held, endingNow, lapsed, missing]).toEqual([true, false, false, true, false]);
    expect((await rawItem('tenant#acme', acme.id))?.releaseLeaseUntil).toBe(400);
  });

  it('bookRelease books the slots, holds the lease and ends the empty mark; endRelease ends the lease; neither creates an endpoint', async () => {
    // Prepare
    const store = repository();
    const acme = endpoint({ tenantId: 'acme' });
    await store.putEndpoint(acme);
    await store.noteBacklogEmpty(acme.id, 10);
    const missing = uniqueName('ep');

    // Act
    await store.bookRelease(acme.id, 5000, 6000);
    const booked = await rawItem('tenant#acme', acme.id);
    await store.endRelease(acme.id);
    await store.bookRelease(missing, 1, 2);
    await store.endRelease(missing);

    // Assess
    expect(booked).toMatchObject({ releasedUntilMs: 5000, releaseLeaseUntil: 6000 });
    expect(booked?.backlogEmptySinceMs).toBeUndefined();
    const ended = await rawItem('tenant#acme', acme.id);
    expect(ended?.releaseLeaseUntil).toBeUndefined();
    expect(ended?.releasedUntilMs).toBe(5000);
    expect(await rawItem('endpoint', missing)).toBeUndefined();
  });
});
