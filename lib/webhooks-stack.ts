import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  DEFAULT_ISOLATION,
  DELIVERY_MAX_CONCURRENCY,
  type IsolationSettings,
  type RetryPolicy,
  retryPolicyFromEnv,
} from '../lambdas/core/config.ts';
import { ApiKeys } from './api-keys.ts';
import { DELIVERY_SERVICE_NAME, DeliveryPipeline } from './delivery-pipeline.ts';
import { OperationalEventBus, type OperationalEventBusMode, operationalEventBusMode } from './event-bus.ts';
import { Heartbeat, heartbeatEnabled } from './heartbeat.ts';
import { API_SERVICE_NAME, IngestApi } from './ingest-api.ts';
import { Monitoring } from './monitoring.ts';
import { Storage } from './storage.ts';
import { Sweeper } from './sweeper.ts';

/** Props of {@link WebhooksStack}. */
export interface WebhooksStackProps extends StackProps {
  /**
   * Retry schedule and attempt budget, written into both functions' environment; the delivery
   * queue's maxReceiveCount is the budget plus a headroom (a backstop, see lambdas/core/config.ts).
   * @default the defaults of `lambdas/core/config.ts`
   */
  readonly retryPolicy?: RetryPolicy;
  /**
   * Most delivery function instances the event source mapping runs at once (2 to 1000): bounds
   * the whole fleet, and with it the load any one receiver sees.
   * @default DELIVERY_MAX_CONCURRENCY (10)
   */
  readonly deliveryMaxConcurrency?: number;
  /**
   * Backlog release rate per endpoint and the short-wait window (see lambdas/core/config.ts).
   * @default DEFAULT_ISOLATION (25 per second; waits over 15 minutes leave the queue)
   */
  readonly isolation?: Partial<IsolationSettings>;
  /**
   * The synthetic delivery check (lib/heartbeat.ts): a heartbeat through the public API every
   * minute, an alarm when none arrives verified for 5 minutes. `-c heartbeat=false` also turns it off.
   * @default true
   */
  readonly heartbeat?: boolean;
  /**
   * Where operational events go (lib/event-bus.ts): the account's `default` bus or one the
   * `stack` creates. `-c operationalEventBus=stack` sets it too.
   * @default 'default'
   */
  readonly operationalEventBus?: OperationalEventBusMode;
  /**
   * The endpoint that gets a signed webhook copy of every operational event (not of those about
   * itself). `-c operatorEndpointId=ep_...` sets it too. @default none
   */
  readonly operatorEndpointId?: string;
}

/**
 * Webhook delivery: producer → HTTP API (authorizer; the pages function for the open routes) →
 * api function → delivery queue → delivery function → consumer endpoint, with a DLQ, DynamoDB
 * records of every delivery, and alarms.
 */
export class WebhooksStack extends Stack {
  /** Events, deliveries, attempts and endpoints tables. */
  public readonly storage: Storage;
  /** API key hashes, the first key, and the custom resource that creates it. */
  public readonly apiKeys: ApiKeys;
  /** Delivery queue, DLQ and delivery function. */
  public readonly delivery: DeliveryPipeline;
  /** HTTP API and its API, authorizer and pages functions. */
  public readonly api: IngestApi;
  /** The scheduled sweep of events left accepted. */
  public readonly sweeper: Sweeper;
  /** Alarm topic, alarms and dashboard. */
  public readonly monitoring: Monitoring;
  /** The bus operational events are published to. */
  public readonly operationalEvents: OperationalEventBus;
  /** The synthetic delivery check, when on. */
  public readonly heartbeat?: Heartbeat;

  constructor(scope: Construct, id: string, props: WebhooksStackProps = {}) {
    super(scope, id, props);
    const retryPolicy = props.retryPolicy ?? retryPolicyFromEnv({});
    // Endpoint signing secrets are created at run time under this prefix, one per endpoint.
    const endpointSecretPrefix = `webhooks/${this.stackName}/endpoints`;

    this.storage = new Storage(this, 'Storage');

    this.apiKeys = new ApiKeys(this, 'ApiKeys');

    this.operationalEvents = new OperationalEventBus(this, 'OperationalEvents', {
      mode:
        props.operationalEventBus ?? operationalEventBusMode(this.node.tryGetContext('operationalEventBus')),
    });

    this.delivery = new DeliveryPipeline(this, 'Delivery', {
      retryPolicy,
      maxConcurrency: props.deliveryMaxConcurrency ?? DELIVERY_MAX_CONCURRENCY,
      isolation: { ...DEFAULT_ISOLATION, ...props.isolation },
      storage: this.storage,
      endpointSecretPrefix,
      operationalEvents: this.operationalEvents,
      ...operatorEndpointOf(props.operatorEndpointId ?? this.node.tryGetContext('operatorEndpointId')),
    });

    this.api = new IngestApi(this, 'Api', {
      retryPolicy,
      storage: this.storage,
      deliveryQueue: this.delivery.queue,
      deadLetterQueue: this.delivery.deadLetterQueue,
      apiKeyHashes: this.apiKeys.apiKeyHashes,
      portalSigningKey: this.apiKeys.portalSigningKey,
      endpointSecretPrefix,
    });
    // An endpoint URL pointing at our own API would make every delivery a new event.
    this.delivery.blockHost(this.api.host);

    this.sweeper = new Sweeper(this, 'Sweeper', {
      events: this.storage.events,
      deliveries: this.storage.deliveries,
      endpoints: this.storage.endpoints,
      deliveryQueue: this.delivery.queue,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      deliveryQueue: this.delivery.queue,
      deadLetterQueue: this.delivery.deadLetterQueue,
      deliveryFunction: this.delivery.function,
      apiFunction: this.api.function,
      pagesFunction: this.api.pagesFunction,
      httpApi: this.api.httpApi,
      deliveryServiceName: DELIVERY_SERVICE_NAME,
      apiServiceName: API_SERVICE_NAME,
    });

    if (heartbeatEnabled(this, props.heartbeat)) {
      this.heartbeat = new Heartbeat(this, 'Heartbeat', {
        apiUrl: this.api.url,
        apiKeyHashes: this.apiKeys.apiKeyHashes,
        apiKeysWriter: this.apiKeys,
        endpoints: this.storage.endpoints,
        endpointSecretPrefix,
        alarmTopic: this.monitoring.alarmTopic,
      });
    }

    this.outputs();
  }

  /** Stack outputs; the CLI finds the deployed resources through these names. */
  private outputs(): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    const secretName = this.apiKeys.initialApiKeySecretName;
    output('ApiUrl', this.api.url, 'Base URL of the webhooks API (send Authorization: Bearer <key>)');
    output(
      'ApiKeySecretName',
      secretName,
      `Secret holding the first API key. Read it with: aws secretsmanager get-secret-value --secret-id ${secretName} --query SecretString --output text`,
    );
    output('DeliveryQueueUrl', this.delivery.queue.queueUrl, 'Delivery queue URL');
    output('DeliveryQueueArn', this.delivery.queue.queueArn, 'Delivery queue ARN');
    output(
      'DeadLetterQueueUrl',
      this.delivery.deadLetterQueue.queueUrl,
      'Dead-letter queue URL (redrive source)',
    );
    output('DeadLetterQueueArn', this.delivery.deadLetterQueue.queueArn, 'Dead-letter queue ARN');
    output('EventsTableName', this.storage.events.tableName, 'Events table');
    output('DeliveriesTableName', this.storage.deliveries.tableName, 'Deliveries table');
    output('AttemptsTableName', this.storage.attempts.tableName, 'Failed attempts table');
    output('EndpointsTableName', this.storage.endpoints.tableName, 'Endpoints table');
    output('AlarmTopicArn', this.monitoring.alarmTopic.topicArn, 'SNS topic every alarm notifies');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}

/** The operator endpoint setting, when given (a context value arrives as a string). */
function operatorEndpointOf(value: unknown): { operatorEndpointId?: string } {
  if (value === undefined || value === null || value === '') return {};
  return { operatorEndpointId: String(value) };
}
