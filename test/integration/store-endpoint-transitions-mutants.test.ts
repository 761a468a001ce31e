/**
 * The endpoint transitions (lambdas/adapters/store/endpoint-transitions.ts) against moto's
 * DynamoDB: each conditional write succeeds once, returns the endpoint as it was, and finds the
 * item from the endpoint's id and tenant. Written to kill the module's Stryker mutants
 * (docs/mutation-testing.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Transitions from '../../lambdas/adapters/store/endpoint-transitions.ts';
import { ENDPOINTS_TABLE } from '../../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { createTableOf, REGION, uniqueName, useMoto } from '../support/mutants-aws.ts';

const moto = useMoto();
let transitions: Transitions.EndpointTransitions;
let table: string;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  const { endpointTransitionsRepository } = await import(
    '../../lambdas/adapters/store/endpoint-transitions.ts'
  );
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  table = await createTableOf(moto.endpoint(), ENDPOINTS_TABLE);
  transitions = endpointTransitionsRepository(tableName(table, ENDPOINTS_TABLE));
  raw = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS }),
  );
});

afterAll(() => raw?.destroy());

const rawItem = async (pk: string, id: string) =>
  (await raw.send(new GetCommand({ TableName: table, Key: { pk, id }, ConsistentRead: true }))).Item;

async function stored(pk: string, attributes: Record<string, unknown> = {}) {
  const item = {
    pk,
    id: uniqueName('ep'),
    url: 'https://example.com/hook',
    enabled: true,
    secretName: 's',
    createdAt: 'c',
    updatedAt: 'u',
    ...attributes,
  };
  await raw.send(new PutCommand({ TableName: table, Item: item }));
  return item;
}

describe('disableIfEnabled', () => {
  it("disables a tenant's enabled endpoint once and returns it as it was", async () => {
    // Prepare
    const { pk: _pk, ...item } = await stored('tenant#acme');

    // Act
    const first = await transitions.disableIfEnabled(
      { id: item.id, tenantId: 'acme' },
      'too many failures',
      'now1',
    );
    const second = await transitions.disableIfEnabled({ id: item.id, tenantId: 'acme' }, 'other', 'now2');

    // Assess
    expect(first).toStrictEqual({ ...item, tenantId: 'acme' });
    expect(second).toBeUndefined();
    expect(await rawItem('tenant#acme', item.id)).toStrictEqual({
      pk: 'tenant#acme',
      ...item,
      enabled: false,
      disabledReason: 'too many failures',
      updatedAt: 'now1',
    });
  });

  it("finds an endpoint without a tenant in the default tenant's partition", async () => {
    // Prepare
    const { pk: _pk, ...item } = await stored('endpoint');

    // Act
    const was = await transitions.disableIfEnabled({ id: item.id }, 'r', 'n');

    // Assess
    expect(was).toStrictEqual({ ...item, tenantId: 'default' });
    expect((await rawItem('endpoint', item.id))?.enabled).toBe(false);
  });

  it('leaves a disabled endpoint as it is and creates none for an unknown id', async () => {
    // Prepare
    const { pk: _pk, ...item } = await stored('tenant#acme', { enabled: false, disabledReason: 'operator' });
    const missing = uniqueName('ep');

    // Act
    const disabled = await transitions.disableIfEnabled({ id: item.id, tenantId: 'acme' }, 'r', 'n');
    const unknown = await transitions.disableIfEnabled({ id: missing, tenantId: 'acme' }, 'r', 'n');

    // Assess
    expect([disabled, unknown]).toEqual([undefined, undefined]);
    expect(await rawItem('tenant#acme', item.id)).toStrictEqual({ pk: 'tenant#acme', ...item });
    expect(await rawItem('tenant#acme', missing)).toBeUndefined();
  });
});

describe('endFailureRun', () => {
  it('ends a run whatever part of it is left, once, and returns the endpoint as it was', async () => {
    // Prepare
    const items = [
      await stored('tenant#acme', { failureStreak: 2, releaseLeaseUntil: 9 }),
      await stored('tenant#acme', { failureStreak: 0, failingSince: 'x' }),
      await stored('tenant#acme', { circuitOpenUntil: 5 }),
    ];

    // Act
    const first = [];
    const second = [];
    for (const item of items) first.push(await transitions.endFailureRun({ id: item.id, tenantId: 'acme' }));
    for (const item of items) second.push(await transitions.endFailureRun({ id: item.id, tenantId: 'acme' }));

    // Assess
    expect(first).toStrictEqual(items.map(({ pk: _pk, ...item }) => ({ ...item, tenantId: 'acme' })));
    expect(second).toEqual([undefined, undefined, undefined]);
    for (const item of items) {
      const after = await rawItem('tenant#acme', item.id);
      expect(after?.failureStreak).toBe(0);
      expect(after?.failingSince).toBeUndefined();
      expect(after?.circuitOpenUntil).toBeUndefined();
      expect(after?.releaseLeaseUntil).toBeUndefined();
    }
  });

  it('does nothing to an endpoint with no run, and creates none for an unknown id', async () => {
    // Prepare
    const { pk: _pk, ...item } = await stored('endpoint', { failureStreak: 0, releaseLeaseUntil: 9 });
    const missing = uniqueName('ep');

    // Act
    const none = await transitions.endFailureRun({ id: item.id });
    const unknown = await transitions.endFailureRun({ id: missing });

    // Assess
    expect([none, unknown]).toEqual([undefined, undefined]);
    expect(await rawItem('endpoint', item.id)).toStrictEqual({ pk: 'endpoint', ...item });
    expect(await rawItem('endpoint', missing)).toBeUndefined();
  });
});
