/**
 * The tenant records (lambdas/adapters/store/tenants.ts) against moto's DynamoDB: kept in the
 * Endpoints table's `tenants` partition, `createdAt` kept when a record is replaced, listed by id
 * a page at a time. Written to kill the module's Stryker mutants (docs/mutation-testing.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Tenants from '../../lambdas/adapters/store/tenants.ts';
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
let store: Tenants.TenantsRepository;
let table: string;
let recorder: CommandRecorder;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  const { tenantsRepository } = await import('../../lambdas/adapters/store/tenants.ts');
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  const { dynamo } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(dynamo);
  table = await createTableOf(moto.endpoint(), ENDPOINTS_TABLE);
  store = tenantsRepository(tableName(table, ENDPOINTS_TABLE));
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
});

afterEach(() => recorder.reset());
afterAll(() => raw?.destroy());

const rawItem = async (pk: string, id: string) =>
  (await raw.send(new GetCommand({ TableName: table, Key: { pk, id }, ConsistentRead: true }))).Item;

describe('putTenant and getTenant', () => {
  it('stores a new tenant in the tenants partition, created when first put', async () => {
    // Prepare
    const id = uniqueName('acme');

    // Act
    const put = await store.putTenant({
      id,
      name: 'Acme',
      metadata: { plan: 'gold' },
      updatedAt: '2026-12-01T00:00:00.000Z',
    });

    // Assess
    const tenant = {
      id,
      name: 'Acme',
      metadata: { plan: 'gold' },
      updatedAt: '2026-12-01T00:00:00.000Z',
      createdAt: '2026-12-01T00:00:00.000Z',
    };
    expect(put).toStrictEqual({ tenant, created: true });
    expect(await rawItem('tenants', id)).toStrictEqual({ pk: 'tenants', ...tenant });
    expect(await store.getTenant(id)).toStrictEqual(tenant);
  });

  it('replaces a tenant whole but keeps when it was created, and says it is not new', async () => {
    // Prepare
    const id = uniqueName('acme');
    await store.putTenant({
      id,
      name: 'Acme',
      metadata: { plan: 'gold' },
      updatedAt: '2026-12-01T00:00:00.000Z',
    });

    // Act
    const put = await store.putTenant({
      id,
      updatedAt: '2026-12-02T00:00:00.000Z',
      createdAt: '1999-01-01T00:00:00.000Z',
    });

    // Assess
    const tenant = { id, updatedAt: '2026-12-02T00:00:00.000Z', createdAt: '2026-12-01T00:00:00.000Z' };
    expect(put).toStrictEqual({ tenant, created: false });
    expect(await store.getTenant(id)).toStrictEqual(tenant);
  });

  it('reads consistently, and answers undefined for an unknown tenant or an endpoint with that id', async () => {
    // Prepare
    const id = uniqueName('ep');
    await raw.send(new PutCommand({ TableName: table, Item: { pk: 'endpoint', id, url: 'https://x' } }));
    recorder.reset();

    // Act
    const found = await store.getTenant(id);

    // Assess
    expect(found).toBeUndefined();
    expect(recorder.sent[0]?.input).toMatchObject({ Key: { pk: 'tenants', id }, ConsistentRead: true });
  });
});

describe('listTenants and deleteTenant', () => {
  it('lists tenants by id a page at a time, with a cursor only while more remain, and no endpoints', async () => {
    // Prepare: a table of its own, so that the listing holds only these
    const own = await createTableOf(moto.endpoint(), ENDPOINTS_TABLE);
    const { tenantsRepository } = await import('../../lambdas/adapters/store/tenants.ts');
    const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
    const tenants = tenantsRepository(tableName(own, ENDPOINTS_TABLE));
    await raw.send(
      new PutCommand({ TableName: own, Item: { pk: 'endpoint', id: 'ep_1', url: 'https://x' } }),
    );
    for (const id of ['c', 'a', 'b']) await tenants.putTenant({ id, updatedAt: 't' });

    // Act
    const first = await tenants.listTenants(2);
    const key = JSON.parse(Buffer.from(first.nextCursor ?? '', 'base64url').toString('utf8'));
    const second = await tenants.listTenants(2, key);
    const all = await tenants.listTenants(10);

    // Assess
    const record = (id: string) => ({ id, updatedAt: 't', createdAt: 't' });
    expect(first.items).toStrictEqual([record('a'), record('b')]);
    expect(key).toStrictEqual({ pk: 'tenants', id: 'b' });
    expect(second).toStrictEqual({ items: [record('c')] });
    expect(all).toStrictEqual({ items: [record('a'), record('b'), record('c')] });
  });

  it('deletes a tenant record, and deleting an unknown one is no error', async () => {
    // Prepare
    const id = uniqueName('acme');
    await store.putTenant({ id, updatedAt: 't' });

    // Act
    await store.deleteTenant(id);
    await store.deleteTenant(id);

    // Assess
    expect(await rawItem('tenants', id)).toBeUndefined();
  });
});
