import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type KeyAttribute, TABLES, type TableDefinition } from '../lambdas/core/schema.ts';

/** Props of {@link Storage}. */
export interface StorageProps {
  /**
   * What happens to the tables (and their data) when they leave the stack.
   * @default RemovalPolicy.RETAIN - events, deliveries and endpoints outlive a mistaken `cdk destroy`
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The four DynamoDB tables, built from the key schemas in `lambdas/core/schema.ts` (the same
 * definitions local mode creates its tables from): on-demand, encrypted, point-in-time recovery,
 * TTL where the definition names one, and each secondary index projected as it says (ALL unless KEYS_ONLY).
 */
export class Storage extends Construct {
  /** Events; each item doubles as its idempotency record. */
  public readonly events: dynamodb.Table;
  /** Deliveries, one per (event, endpoint), with the sparse `byFailure` index. */
  public readonly deliveries: dynamodb.Table;
  /** Failed attempts. */
  public readonly attempts: dynamodb.Table;
  /** Endpoints. */
  public readonly endpoints: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const tables = new Map(
      TABLES.map((definition) => [definition.id, this.table(definition, removalPolicy)]),
    );
    this.events = tables.get('Events')!;
    this.deliveries = tables.get('Deliveries')!;
    this.attempts = tables.get('Attempts')!;
    this.endpoints = tables.get('Endpoints')!;
  }

  private table(definition: TableDefinition, removalPolicy: RemovalPolicy): dynamodb.Table {
    const table = new dynamodb.Table(this, definition.id, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey && attribute(definition.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: definition.ttlAttribute,
      removalPolicy,
    });
    for (const index of definition.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType:
          index.projection === 'KEYS_ONLY' ? dynamodb.ProjectionType.KEYS_ONLY : dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
  };
}
