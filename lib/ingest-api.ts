import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  API_FUNCTION_TIMEOUT_SECONDS,
  API_THROTTLE_BURST,
  API_THROTTLE_RATE_PER_SECOND,
  AUTHORIZER_CACHE_SECONDS,
  EVENT_CHECK_DELAY_SECONDS,
  OPEN_ROUTES,
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
  // Query covers the base table (by endpoint), the byFailure index (by endpoint and status) and
  // byFailedShard (the cross-tenant failure view).
  deliveries: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  attempts: ['dynamodb:Query'],
  // Endpoints by tenant partition, tenants, and byEndpointId (an endpoint's tenant from its id).
  endpoints: [
    'dynamodb:PutItem',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
  ],
  // Fan-out, event checks, operational events handed to the worker, POST /deliveries/{id}/retry, recover and the destination of POST /dlq/redrive (its ARN
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
  // Read to check keys in-process; put by POST and DELETE /api-keys.
  apiKeyHashes: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
  // Signs the tokens of POST /tenants/{id}/portal-sessions.
  portalSigningKey: ['secretsmanager:GetSecretValue'],
  // Create on POST /endpoints, put on rotation, delete with the endpoint.
  endpointSecrets: [
    'secretsmanager:CreateSecret',
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:DeleteSecret',
  ],
} as const satisfies Record<string, readonly string[]>;

/** AWS calls the authorizer makes: it reads the key hashes and the portal signing key. */
const AUTHORIZER_ACCESS = {
  apiKeyHashes: ['secretsmanager:GetSecretValue'],
  portalSigningKey: ['secretsmanager:GetSecretValue'],
} as const satisfies Record<string, readonly string[]>;

/** Powertools service name of the API function, and the `service` dimension of its metrics. */
export const API_SERVICE_NAME = 'webhooks-api';
/** The pages function's Powertools service name (lambdas/pages/handler.ts logs under it). */
export const PAGES_SERVICE_NAME = 'webhooks-pages';

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
  /** Hashes of the API keys. */
  readonly apiKeyHashes: secretsmanager.ISecret;
  /** The key that signs portal session tokens. */
  readonly portalSigningKey: secretsmanager.ISecret;
  /** Name prefix of the per-endpoint signing secrets, e.g. `webhooks/<stack>/endpoints`. */
  readonly endpointSecretPrefix: string;
}

/**
 * The public HTTP API: an API Gateway HTTP API in front of the API function, which serves every
 * route but the open ones ({@link OPEN_ROUTES}: the dashboard, the portal page and the API
 * description), and the pages function, which serves those alone. A Lambda authorizer (identity
 * source: the `Authorization` header, answers cached for AUTHORIZER_CACHE_SECONDS) stands before
 * every route but the open ones, so a request without a credential never invokes the API
 * function; the `$default` stage throttles and writes access logs.
 */
export class IngestApi extends Construct {
  /** The HTTP API. */
  public readonly httpApi: HttpApi;
  /** Its `$default` stage. */
  public readonly stage: HttpStage;
  /** The API function: every route but the open ones. */
  public readonly function: WebhookFunction;
  /** The authorizer before every route but the open ones. */
  public readonly authorizerFunction: WebhookFunction;
  /** The function behind the open routes (the pages and the API description). */
  public readonly pagesFunction: WebhookFunction;
  /** Base URL of the API, ending in `/`. */
  public readonly url: string;
  /** Host name of the API's execute-api endpoint. */
  public readonly host: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);

    this.function = new WebhookFunction(this, 'Function', {
      entry: 'lambdas/api/handler.ts',
      serviceName: API_SERVICE_NAME,
      description: 'Webhooks HTTP API: endpoints, events, deliveries, tenants, keys, DLQ',
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
    this.function.bindTable(
      storage.endpoints,
      ENDPOINTS_TABLE.envVar,
      API_ACCESS.endpoints,
      // byEndpointId only: the backlog index is the sweeper's.
      ENDPOINTS_TABLE.indexes
        .filter((index) => index.indexName === 'byEndpointId')
        .map((index) => index.indexName),
    );
    this.function.bindQueue(props.deliveryQueue, ENV.deliveryQueueUrl, API_ACCESS.deliveryQueue);
    this.function.bindQueue(props.deadLetterQueue, ENV.deadLetterQueueUrl, API_ACCESS.deadLetterQueue);
    this.function.bindSecret(props.apiKeyHashes, ENV.apiKeysSecretId, API_ACCESS.apiKeyHashes);
    this.function.bindSecret(props.portalSigningKey, ENV.portalKeySecretId, API_ACCESS.portalSigningKey);
    this.function.bindSecretPrefix(
      props.endpointSecretPrefix,
      ENV.endpointSecretPrefix,
      API_ACCESS.endpointSecrets,
    );
    // No events:PutEvents: the API hands its operational events (dlq.redriven, a manual
    // endpoint.disabled) to the delivery worker through the delivery queue, and the worker
    // publishes them (lambdas/core/payload.ts), so the API's bundle leaves the EventBridge client out.

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Webhooks ingest and management API',
      // The stage is declared below, with throttling and access logs.
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.function, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });

    this.authorizerFunction = new WebhookFunction(this, 'AuthorizerFunction', {
      entry: 'lambdas/authorizer/handler.ts',
      serviceName: 'webhooks-authorizer',
      description: 'Webhooks API authorizer: API keys (admin, send) and portal session tokens',
      timeout: Duration.seconds(5),
    });
    this.authorizerFunction.bindSecret(
      props.apiKeyHashes,
      ENV.apiKeysSecretId,
      AUTHORIZER_ACCESS.apiKeyHashes,
    );
    this.authorizerFunction.bindSecret(
      props.portalSigningKey,
      ENV.portalKeySecretId,
      AUTHORIZER_ACCESS.portalSigningKey,
    );
    const authorizer = new HttpLambdaAuthorizer('Authorizer', this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
    this.httpApi.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration, authorizer });
    // The pages function holds no data and calls no AWS service: its role only writes its logs.
    this.pagesFunction = new WebhookFunction(this, 'PagesFunction', {
      entry: 'lambdas/pages/handler.ts',
      serviceName: PAGES_SERVICE_NAME,
      description: 'Webhooks pages: the dashboard, the portal page and the API description (no data)',
      timeout: Duration.seconds(5),
    });
    const pagesIntegration = new HttpLambdaIntegration('PagesIntegration', this.pagesFunction, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    // More specific than the proxy route, so these are served without the authorizer.
    for (const path of OPEN_ROUTES) {
      this.httpApi.addRoutes({ path, methods: [HttpMethod.GET], integration: pagesIntegration });
    }
    for (const path of OPEN_ROUTES) {
      Validations.of(this.httpApi.node.findChild(`GET${path}`)).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `GET ${path} is a page or the API description: it holds no data, so it needs no credential.`,
      });
    }

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
