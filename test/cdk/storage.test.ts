import { beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../lambdas/core/schema.ts';
import { logicalId, type Synthesized, synthesize } from './stack-fixture.ts';

interface TableResource {
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

describe('storage', () => {
  let synth: Synthesized;
  let tables: Record<string, TableResource>;

  // Prepare and Act: the default stack, synthesized once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize({ bundle: false });
    tables = synth.template.findResources('AWS::DynamoDB::Table') as typeof tables;
  });

  function tableOf(id: string): TableResource {
    const construct = synth.stack.storage.node.findChild(id);
    const table = tables[logicalId(construct)];
    if (!table) throw new Error(`no table ${id}`);
    return table;
  }

  it('creates one table per schema definition and no other', () => {
    expect(Object.keys(tables).sort()).toEqual(
      TABLES.map((definition) => logicalId(synth.stack.storage.node.findChild(definition.id))).sort(),
    );
  });

  it.each(TABLES.map((definition) => [definition.id, definition] as const))(
    'builds %s from its key schema',
    (id, definition) => {
      const keys = [
        { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
        ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
      ];

      expect(tableOf(id).Properties.KeySchema).toEqual(keys);
    },
  );

  it.each(TABLES.map((definition) => [definition.id] as const))(
    'bills %s on demand, encrypted, with point-in-time recovery',
    (id) => {
      expect(tableOf(id).Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    },
  );

  it.each(TABLES.map((definition) => [definition.id, definition.ttlAttribute] as const))(
    'expires %s items on their TTL attribute',
    (id, ttlAttribute) => {
      const expected = ttlAttribute ? { AttributeName: ttlAttribute, Enabled: true } : undefined;

      expect(tableOf(id).Properties.TimeToLiveSpecification).toEqual(expected);
    },
  );

  it('indexes failed deliveries by endpoint and status and across tenants by shard, and waiting ones by wait, projecting every attribute', () => {
    expect(tableOf('Deliveries').Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byFailure',
        KeySchema: [
          { AttributeName: 'failedKey', KeyType: 'HASH' },
          { AttributeName: 'id', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byWait',
        KeySchema: [
          { AttributeName: 'waitKey', KeyType: 'HASH' },
          { AttributeName: 'waitAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byFailedShard',
        KeySchema: [
          { AttributeName: 'failedShard', KeyType: 'HASH' },
          { AttributeName: 'id', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('indexes endpoints with a backlog, and every endpoint by id, keys only (one new index per table: CloudFormation adds one per update)', () => {
    expect(tableOf('Endpoints').Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byBacklog',
        KeySchema: [
          { AttributeName: 'backlogShard', KeyType: 'HASH' },
          { AttributeName: 'id', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byEndpointId',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
  });

  it.each(TABLES.map((definition) => [definition.id] as const))('retains %s when the stack goes', (id) => {
    expect(tableOf(id)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});
