/**
 * Creates, on the emulator, the resources the stack creates on AWS, from the same
 * definitions: tables from lambdas/core/schema.ts, queues and their redrive policy from
 * lambdas/core/config.ts, and the API key hash secret; and, when asked, a rule sending operational
 * events to a queue. Safe to run twice.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { hashApiKey } from '../lambdas/core/api-keys.ts';
import {
  breakerPolicyEnv,
  DEFAULT_BREAKER_POLICY,
  DELIVERY_QUEUE_RETENTION_SECONDS,
  DELIVERY_QUEUE_VISIBILITY_SECONDS,
  DLQ_RETENTION_SECONDS,
  maxReceiveCountOf,
  type RetryPolicy,
  retryPolicyEnv,
  SQS_MAX_MESSAGE_BYTES,
} from '../lambdas/core/config.ts';
import { OPERATIONAL_EVENT_SOURCE } from '../lambdas/core/operational-events.ts';
import { ENV, TABLES, type TableDefinition } from '../lambdas/core/schema.ts';
import { type EmulatorEndpoints, perService, SERVICE_ENDPOINT_ENV, type ServiceEndpoints } from './moto.ts';

/** Everything a handler, the CLI or a test needs to reach the local resources. */
export interface LocalResources {
  /** The emulator of each service (the same URL for all when one server serves them). */
  readonly endpoints: ServiceEndpoints;
  readonly region: string;
  readonly tables: Record<TableDefinition['id'], string>;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly apiKeysSecretId: string;
  readonly portalKeySecretId: string;
  readonly endpointSecretPrefix: string;
  /**
   * The bus the functions publish operational events to (the emulator's `default`), when
   * provisioned with `operationalEvents`; the emulator is the SQS one (one moto process serves
   * every service, and a rule's SQS target must live in the same process).
   */
  readonly operationalEventBus?: string;
  /** The queue the bus's rule sends every `source: webhooks` event to. */
  readonly operationalEventsQueueUrl?: string;
}

/** The queue local mode's rule sends operational events to. */
export const OPERATIONAL_EVENTS_QUEUE_NAME = 'webhooks-operational-events';

export interface ProvisionOptions {
  /** The emulator: one URL for every service, or one per service. */
  readonly endpoint: EmulatorEndpoints;
  readonly region?: string;
  /** Name prefix of every resource. @default "webhooks-local" */
  readonly prefix?: string;
  readonly policy: RetryPolicy;
  /** The API key to accept; only its hash is stored. */
  readonly apiKey: string;
  /**
   * Publish operational events: a rule on the emulator's default bus sends every
   * `source: webhooks` event to the queue {@link OPERATIONAL_EVENTS_QUEUE_NAME}.
   * @default false
   */
  readonly operationalEvents?: boolean;
}

/** Credentials the emulator accepts; never real ones. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export async function provision(options: ProvisionOptions): Promise<LocalResources> {
  const region = options.region ?? 'us-east-1';
  const prefix = options.prefix ?? 'webhooks-local';
  const endpoints = perService(options.endpoint);
  const config = { region, credentials: EMULATOR_CREDENTIALS };
  const dynamo = new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb });
  const sqs = new SQSClient({ ...config, endpoint: endpoints.sqs });
  const secrets = new SecretsManagerClient({ ...config, endpoint: endpoints.secretsManager });
  try {
    const tables = Object.fromEntries(
      await Promise.all(
        TABLES.map(async (definition) => [
          definition.id,
          await createTable(dynamo, `${prefix}-${definition.id.toLowerCase()}`, definition),
        ]),
      ),
    ) as Record<TableDefinition['id'], string>;

    const deadLetterQueueUrl = await createQueue(sqs, `${prefix}-dlq`, {
      MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
    });
    const dlqArn = await queueArn(sqs, deadLetterQueueUrl);
    const deliveryQueueUrl = await createQueue(sqs, `${prefix}-deliveries`, {
      VisibilityTimeout: String(DELIVERY_QUEUE_VISIBILITY_SECONDS),
      MessageRetentionPeriod: String(DELIVERY_QUEUE_RETENTION_SECONDS),
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
    });
    // Set (not create) the redrive policy, so a reused emulator picks up a changed budget.
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: deliveryQueueUrl,
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn,
            maxReceiveCount: maxReceiveCountOf(options.policy),
          }),
        },
      }),
    );
    const deliveryArn = await queueArn(sqs, deliveryQueueUrl);
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: deadLetterQueueUrl,
        Attributes: {
          RedriveAllowPolicy: JSON.stringify({
            redrivePermission: 'byQueue',
            sourceQueueArns: [deliveryArn],
          }),
        },
      }),
    );

    const apiKeysSecretId = `${prefix}/api-keys`;
    const document = JSON.stringify({
      keys: [{ id: 'key_local', sha256: hashApiKey(options.apiKey), createdAt: new Date().toISOString() }],
    });
    try {
      await secrets.send(new CreateSecretCommand({ Name: apiKeysSecretId, SecretString: document }));
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      await secrets.send(new PutSecretValueCommand({ SecretId: apiKeysSecretId, SecretString: document }));
    }
    // Kept when it exists, so portal links stay valid across restarts of local mode.
    const portalKeySecretId = `${prefix}/portal-signing-key`;
    try {
      await secrets.send(
        new CreateSecretCommand({ Name: portalKeySecretId, SecretString: randomBytes(32).toString('hex') }),
      );
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
    }
    return {
      endpoints,
      region,
      tables,
      deliveryQueueUrl,
      deadLetterQueueUrl,
      apiKeysSecretId,
      portalKeySecretId,
      endpointSecretPrefix: `${prefix}/endpoints`,
      ...(options.operationalEvents ? await provisionOperationalEvents(sqs, config, endpoints, prefix) : {}),
    };
  } finally {
    dynamo.destroy();
    sqs.destroy();
    secrets.destroy();
  }
}

/**
 * The default bus of the SQS emulator, a rule on it for every operational event, and the queue
 * the rule sends them to (moto 5.2.1 runs a bus's rules on PutEvents). Safe to run twice:
 * PutRule and PutTargets overwrite.
 */
async function provisionOperationalEvents(
  sqs: SQSClient,
  config: { region: string; credentials: typeof EMULATOR_CREDENTIALS },
  endpoints: ServiceEndpoints,
  prefix: string,
): Promise<Pick<LocalResources, 'operationalEventBus' | 'operationalEventsQueueUrl'>> {
  const operationalEventsQueueUrl = await createQueue(sqs, OPERATIONAL_EVENTS_QUEUE_NAME, {});
  const targetArn = await queueArn(sqs, operationalEventsQueueUrl);
  const events = new EventBridgeClient({ ...config, endpoint: endpoints.sqs });
  const bus = 'default';
  const rule = `${prefix}-operational-events`;
  try {
    await events.send(
      new PutRuleCommand({
        Name: rule,
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: [OPERATIONAL_EVENT_SOURCE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: rule, EventBusName: bus, Targets: [{ Id: 'queue', Arn: targetArn }] }),
    );
  } finally {
    events.destroy();
  }
  return { operationalEventBus: bus, operationalEventsQueueUrl };
}

async function createTable(
  dynamo: DynamoDBClient,
  name: string,
  definition: TableDefinition,
): Promise<string> {
  const keys = [definition.partitionKey, ...(definition.sortKey ? [definition.sortKey] : [])];
  const indexKeys = definition.indexes.flatMap((index) => [
    index.partitionKey,
    ...(index.sortKey ? [index.sortKey] : []),
  ]);
  const attributes = new Map([...keys, ...indexKeys].map((key) => [key.name, key.type]));
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        KeySchema: [
          { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
          ...(definition.sortKey
            ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' as const }]
            : []),
        ],
        ...(definition.indexes.length
          ? {
              GlobalSecondaryIndexes: definition.indexes.map((index) => ({
                IndexName: index.indexName,
                KeySchema: [
                  { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
                  ...(index.sortKey
                    ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }]
                    : []),
                ],
                Projection: { ProjectionType: index.projection ?? ('ALL' as const) },
              })),
            }
          : {}),
      }),
    );
    if (definition.ttlAttribute) {
      await dynamo.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
        }),
      );
    }
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await dynamo.send(new DescribeTableCommand({ TableName: name }));
  }
  return name;
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`emulator returned no URL for queue ${name}`);
  return QueueUrl;
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`emulator returned no ARN for ${queueUrl}`);
  return Attributes.QueueArn;
}

/**
 * The environment the handlers read, as the stack sets it on AWS, pointing each SDK client at
 * its service's emulator through the SDK's standard service-specific endpoint variables
 * (`AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
 * `AWS_ENDPOINT_URL`, which they override, names the SQS emulator, so that a client of any
 * other service would reach an emulator too, never AWS. With operational events provisioned,
 * the functions get the bus in `WEBHOOKS_OPERATIONAL_EVENT_BUS` and EventBridge's endpoint
 * variable names the SQS emulator, where the bus and its rule are.
 */
export function handlerEnvironment(resources: LocalResources, policy: RetryPolicy): Record<string, string> {
  const tableEnv = Object.fromEntries(
    TABLES.map((definition) => [definition.envVar, resources.tables[definition.id]]),
  ) as Record<string, string>;
  return {
    AWS_ENDPOINT_URL: resources.endpoints.sqs,
    [SERVICE_ENDPOINT_ENV.sqs]: resources.endpoints.sqs,
    [SERVICE_ENDPOINT_ENV.dynamodb]: resources.endpoints.dynamodb,
    [SERVICE_ENDPOINT_ENV.secretsManager]: resources.endpoints.secretsManager,
    AWS_REGION: resources.region,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    ...tableEnv,
    [ENV.deliveryQueueUrl]: resources.deliveryQueueUrl,
    [ENV.deadLetterQueueUrl]: resources.deadLetterQueueUrl,
    [ENV.apiKeysSecretId]: resources.apiKeysSecretId,
    [ENV.portalKeySecretId]: resources.portalKeySecretId,
    [ENV.endpointSecretPrefix]: resources.endpointSecretPrefix,
    [ENV.allowLoopback]: 'true',
    [ENV.blockedHosts]: '',
    ...retryPolicyEnv(policy),
    ...breakerPolicyEnv(DEFAULT_BREAKER_POLICY),
    ...(resources.operationalEventBus
      ? {
          [ENV.operationalEventBus]: resources.operationalEventBus,
          AWS_ENDPOINT_URL_EVENTBRIDGE: resources.endpoints.sqs,
        }
      : {}),
  };
}
