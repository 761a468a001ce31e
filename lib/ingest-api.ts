import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  API_FUNCTION_TIMEOUT_SECONDS,
  API_THROTTLE_BURST,
  API_THROTTLE_RATE_PER_SECOND,
  EVENT_CHECK_DELAY_SECONDS,
  type RetryPolicy,
  retryPolicyEnv,
} from '../lambdas/core/config.ts';
import {
  ATTEMPTS_TABLE,
  DELIVERIES_TABLE,
  ENDPOINTS_TABLE,
  ENV,
  EVENTS_TABLE,
} from '../lambdas/core/schema.ts';
import type { Storage } from './storage.ts';
import { WebhookFunction } from './webhook-function.ts';

/**
 * AWS calls the API handler makes, per resource. A test compares these to the calls
 * `lambdas/api` really makes: change both together.
 */
const API_ACCESS = {
  // The conditional put is the idempotency check: the event item is its own idempotency record.
  // UpdateItem moves an event through its lifecycle (lease, queued, handed to the sweep).
  events: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Query covers the base table (by endpoint) and the byFailure index (by status).
  deliveries: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  attempts: ['dynamodb:Query'],
  endpoints: [
    'dynamodb:PutItem',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
  ],
  // Fan-out, event checks, POST /deliveries/{id}/retry, recover and the destination of POST /dlq/redrive (its ARN
  // is looked up once: message move tasks name queues by ARN).
  deliveryQueue: ['sqs:SendMessage', 'sqs:GetQueueAttributes'],
  // DLQ depth for the dashboard, and the source of POST /dlq/redrive: StartMessageMoveTask
  // needs receive, delete and attributes on the source besides its own action, and the copy
  // fallback (emulators) receives and deletes itself.
  deadLetterQueue: [
    'sqs:GetQueueAttributes',
    'sqs:StartMessageMoveTask',
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
  ],
  apiKeyHashes: ['secretsmanager:GetSecretValue'],
  // Create on POST /endpoints, put on rotation, delete with the endpoint.
  endpointSecrets: [
    'secretsmanager:CreateSecret',
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:DeleteSecret',
  ],
} as const satisfies Record<string, readonly string[]>;

/** Powertools service name of the API function, and the `service` dimension of its metrics. */
export const API_SERVICE_NAME = 'webhooks-api';

/** Props of {@link IngestApi}. */
export interface IngestApiProps {
  /** Retry policy, passed to the function so `POST /deliveries/{id}/retry` and the worker agree. */
  readonly retryPolicy: RetryPolicy;
  /** Tables the API function reads and writes. */
  readonly storage: Storage;
  /** Where accepted events are fanned out to, one message per (event, endpoint). */
  readonly deliveryQueue: sqs.IQueue;
  /** The delivery DLQ, whose depth the dashboard shows and which `POST /dlq/redrive` moves back. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Hashes of the API keys accepted in `x-api-key`. */
  readonly apiKeyHashes: secretsmanager.ISecret;
  /** Name prefix of the per-endpoint signing secrets, e.g. `webhooks/<stack>/endpoints`. */
  readonly endpointSecretPrefix: string;
}

/**
 * The public HTTP API: an API Gateway HTTP API in front of one function that serves every
 * route. The function checks `x-api-key` against the stored hashes itself (only the dashboard
 * page and the API description are open), so there is no API Gateway authorizer; the
 * `$default` stage throttles and writes access logs.
 */
export class IngestApi extends Construct {
  /** The HTTP API. */
  public readonly httpApi: HttpApi;
  /** Its `$default` stage. */
  public readonly stage: HttpStage;
  /** The function behind every route. */
  public readonly function: WebhookFunction;
  /** Base URL of the API, ending in `/`. */
  public readonly url: string;
  /** Host name of the API's execute-api endpoint. */
  public readonly host: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);

    this.function = new WebhookFunction(this, 'Function', {
      entry: 'lambdas/api/handler.ts',
      serviceName: API_SERVICE_NAME,
      description: 'Webhooks HTTP API: endpoints, events, deliveries, dashboard',
      timeout: Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS),
      environment: {
        ...retryPolicyEnv(props.retryPolicy),
        WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: String(EVENT_CHECK_DELAY_SECONDS),
      },
    });
    const { storage } = props;
    this.function.bindTable(storage.events, EVENTS_TABLE.envVar, API_ACCESS.events);
    this.function.bindTable(
      storage.deliveries,
      DELIVERIES_TABLE.envVar,
      API_ACCESS.deliveries,
      DELIVERIES_TABLE.indexes.map((index) => index.indexName),
    );
    this.function.bindTable(storage.attempts, ATTEMPTS_TABLE.envVar, API_ACCESS.attempts);
    this.function.bindTable(storage.endpoints, ENDPOINTS_TABLE.envVar, API_ACCESS.endpoints);
    this.function.bindQueue(props.deliveryQueue, ENV.deliveryQueueUrl, API_ACCESS.deliveryQueue);
    this.function.bindQueue(props.deadLetterQueue, ENV.deadLetterQueueUrl, API_ACCESS.deadLetterQueue);
    this.function.bindSecret(props.apiKeyHashes, ENV.apiKeysSecretId, API_ACCESS.apiKeyHashes);
    this.function.bindSecretPrefix(
      props.endpointSecretPrefix,
      ENV.endpointSecretPrefix,
      API_ACCESS.endpointSecrets,
    );

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Webhooks ingest and management API',
      // The stage is declared below, with throttling and access logs.
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.function, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    this.httpApi.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration });
    // Covered by the proxy route too; declared so the routes open without a key are visible here.
    this.httpApi.addRoutes({ path: '/dashboard', methods: [HttpMethod.GET], integration });
    this.httpApi.addRoutes({ path: '/openapi.json', methods: [HttpMethod.GET], integration });
    // Covers every route, each a child of the API.
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The API function authorises every request itself: it compares the x-api-key header in constant ' +
        'time with the SHA-256 hashes in Secrets Manager; only GET /dashboard (a static page) and ' +
        'GET /openapi.json (the API description) are open.',
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      // Protects the function, the tables and the queue from a runaway producer.
      throttle: { rateLimit: API_THROTTLE_RATE_PER_SECOND, burstLimit: API_THROTTLE_BURST },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });

    this.url = this.stage.url;
    this.host = `${this.httpApi.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
    // Endpoint URLs pointing back at this API are refused when created. No cycle: the function
    // refers to the Api resource, which refers to nothing; only the integration refers to the function.
    this.function.addEnvironment(ENV.blockedHosts, this.host);
  }
}
