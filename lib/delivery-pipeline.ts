import { Duration, Stack, Token } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type BreakerPolicy,
  breakerPolicyEnv,
  DEFAULT_BREAKER_POLICY,
  DEFAULT_ISOLATION,
  DELIVERY_BATCH_SIZE,
  DELIVERY_FUNCTION_TIMEOUT_SECONDS,
  DELIVERY_MAX_CONCURRENCY,
  DELIVERY_QUEUE_RETENTION_SECONDS,
  DELIVERY_QUEUE_VISIBILITY_SECONDS,
  DLQ_RETENTION_SECONDS,
  type IsolationSettings,
  isolationEnv,
  JITTER_RATIO,
  maxReceiveCountOf,
  type RetryPolicy,
  retryPolicyEnv,
  SQS_MAX_MESSAGE_BYTES,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../lambdas/core/config.ts';
import { isEndpointId } from '../lambdas/core/ids.ts';
import {
  ATTEMPTS_TABLE,
  DELIVERIES_TABLE,
  ENDPOINTS_TABLE,
  ENV,
  EVENTS_TABLE,
} from '../lambdas/core/schema.ts';
import type { OperationalEventBus } from './event-bus.ts';
import type { Storage } from './storage.ts';
import { WebhookFunction } from './webhook-function.ts';

/**
 * AWS calls the delivery handler makes, per resource. A test compares these to the calls
 * `lambdas/delivery` really makes: change both together.
 */
const DELIVERY_ACCESS = {
  // PutItem: the record of each operational event (lambdas/adapters/store/operational-events.ts).
  deliveries: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  attempts: ['dynamodb:PutItem'],
  endpoints: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Event checks: an event with a key still not queued when its check comes back is handed to the sweep.
  events: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Backoff: a failed record's visibility is set to the next delay. SendMessage: releasing an
  // endpoint's backlog (its deliveries, and the next release). The event source mapping adds
  // what it needs to poll (ReceiveMessage, DeleteMessage, ...) through grantConsumeMessages.
  deliveryQueue: ['sqs:ChangeMessageVisibility', 'sqs:SendMessage'],
  // Permanent failures (e.g. 410 Gone) are parked without waiting for the receive budget.
  deadLetterQueue: ['sqs:SendMessage'],
  endpointSecrets: ['secretsmanager:GetSecretValue'],
} as const satisfies Record<string, readonly string[]>;

/** Powertools service name of the delivery function, and the `service` dimension of its metrics. */
export const DELIVERY_SERVICE_NAME = 'webhooks-delivery';

/** Props of {@link DeliveryPipeline}. */
export interface DeliveryPipelineProps {
  /** Retry schedule and attempt budget; the redrive policy's maxReceiveCount is `maxAttempts` plus a headroom. */
  readonly retryPolicy: RetryPolicy;
  /**
   * Circuit breaker and auto-disable policy, written into the delivery function's environment.
   * @default DEFAULT_BREAKER_POLICY (10 failures open the circuit for 60 s; 5 days of failing disables)
   */
  readonly breakerPolicy?: BreakerPolicy;
  /** Tables the delivery function reads and writes. */
  readonly storage: Storage;
  /** Most function instances the event source mapping runs at once (2 to 1000). @default DELIVERY_MAX_CONCURRENCY */
  readonly maxConcurrency?: number;
  /** Backlog release rate and short-wait window, written into the function's environment. @default DEFAULT_ISOLATION */
  readonly isolation?: IsolationSettings;
  /** Name prefix of the per-endpoint signing secrets, e.g. `webhooks/<stack>/endpoints`. */
  readonly endpointSecretPrefix: string;
  /**
   * Name of the delivery queue. It is named (not generated) because the DLQ's redrive-allow
   * policy must name its source queue while that queue's redrive policy names the DLQ; an
   * ARN built from a known name breaks the cycle.
   * @default `<stackName>-delivery`
   */
  readonly deliveryQueueName?: string;
  /**
   * Where the worker publishes operational events (events:PutEvents on that bus only).
   * @default none published
   */
  readonly operationalEvents?: OperationalEventBus;
  /**
   * The endpoint (`ep_...`) that gets a signed webhook copy of every operational event
   * (lambdas/delivery/operator-copy.ts): the worker then also stores the copies' events
   * (PutItem on the Events table). @default none copied
   */
  readonly operatorEndpointId?: string;
}

/**
 * The delivery queue, its dead-letter queue and the delivery function that drains it.
 *
 * Retries are visibility-timeout backoff: a failed record gets ChangeMessageVisibility(next
 * delay) and is reported as a batch item failure, so SQS hands it back after the delay. When the
 * attempt budget is spent the worker records the delivery dead and parks it in the DLQ itself;
 * SQS's own move (maxReceiveCount = budget + headroom) only catches receives the worker never saw.
 */
export class DeliveryPipeline extends Construct {
  /** Messages to deliver, one per (event, endpoint). */
  public readonly queue: sqs.Queue;
  /** Where messages go once their attempt budget is spent (redrive from the console or the CLI). */
  public readonly deadLetterQueue: sqs.Queue;
  /** The delivery worker. */
  public readonly function: WebhookFunction;

  constructor(scope: Construct, id: string, props: DeliveryPipelineProps) {
    super(scope, id);
    assertScheduleFitsQueue(props.retryPolicy);
    const maxConcurrency = props.maxConcurrency ?? DELIVERY_MAX_CONCURRENCY;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(
        `deliveryMaxConcurrency must be a whole number from 2 to 1000 (SQS event source mapping), got ${maxConcurrency}`,
      );
    }
    const deliveryQueueName = props.deliveryQueueName ?? `${Stack.of(this).stackName}-delivery`;
    if (!Token.isUnresolved(deliveryQueueName) && deliveryQueueName.length > 80) {
      throw new Error(
        `SQS queue names are at most 80 characters: "${deliveryQueueName}" (shorten the stack name)`,
      );
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(DLQ_RETENTION_SECONDS),
      // Set explicitly: what the delivery queue holds, its DLQ must hold too.
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      // Console "Start DLQ redrive" moves messages back only to a source queue this names.
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [
          sqs.Queue.fromQueueArn(
            this,
            'DeliveryQueueRef',
            Stack.of(this).formatArn({ service: 'sqs', resource: deliveryQueueName }),
          ),
        ],
      },
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: deliveryQueueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(DELIVERY_QUEUE_RETENTION_SECONDS),
      // At least 6 x the function timeout, so a slow batch is not handed out twice.
      visibilityTimeout: Duration.seconds(DELIVERY_QUEUE_VISIBILITY_SECONDS),
      // Set explicitly (1 MiB): queues made with the older default refuse messages over 256 KiB.
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      // A backstop above the attempt budget: the worker parks spent deliveries itself.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: maxReceiveCountOf(props.retryPolicy) },
    });

    this.function = new WebhookFunction(this, 'Function', {
      entry: 'lambdas/delivery/handler.ts',
      serviceName: DELIVERY_SERVICE_NAME,
      description: 'Signs and POSTs each queued delivery, records the attempt, backs off on failure',
      timeout: Duration.seconds(DELIVERY_FUNCTION_TIMEOUT_SECONDS),
      environment: {
        ...retryPolicyEnv(props.retryPolicy),
        ...breakerPolicyEnv(props.breakerPolicy ?? DEFAULT_BREAKER_POLICY),
        ...isolationEnv(props.isolation ?? DEFAULT_ISOLATION),
      },
    });
    const { storage } = props;
    this.function.bindTable(storage.deliveries, DELIVERIES_TABLE.envVar, DELIVERY_ACCESS.deliveries);
    // The backlog release reads an endpoint's held deliveries, oldest first, from the byWait index.
    this.function.grantIndexQuery(storage.deliveries, ['byWait']);
    this.function.bindTable(storage.attempts, ATTEMPTS_TABLE.envVar, DELIVERY_ACCESS.attempts);
    this.function.bindTable(storage.endpoints, ENDPOINTS_TABLE.envVar, DELIVERY_ACCESS.endpoints);
    // A backlog release names only its endpoint: its tenant's partition is found in byEndpointId.
    this.function.grantIndexQuery(storage.endpoints, ['byEndpointId']);
    this.function.bindTable(
      storage.events,
      EVENTS_TABLE.envVar,
      props.operatorEndpointId ? [...DELIVERY_ACCESS.events, 'dynamodb:PutItem'] : DELIVERY_ACCESS.events,
    );
    if (props.operatorEndpointId) {
      if (!isEndpointId(props.operatorEndpointId)) {
        throw new Error(
          `operatorEndpointId must be an endpoint id (ep_...), got ${JSON.stringify(props.operatorEndpointId)}`,
        );
      }
    }
    // Always named, empty when there is none: the handler reads it at every cold start.
    this.function.addEnvironment(ENV.operatorEndpointId, props.operatorEndpointId ?? '');
    this.function.bindQueue(this.queue, ENV.deliveryQueueUrl, DELIVERY_ACCESS.deliveryQueue);
    this.function.bindQueue(this.deadLetterQueue, ENV.deadLetterQueueUrl, DELIVERY_ACCESS.deadLetterQueue);
    this.function.bindSecretPrefix(
      props.endpointSecretPrefix,
      ENV.endpointSecretPrefix,
      DELIVERY_ACCESS.endpointSecrets,
    );
    // endpoint.disabled, circuit_opened, recovered and delivery.dead (lambdas/core/operational-events.ts).
    props.operationalEvents?.bindPublisher(this.function);

    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: DELIVERY_BATCH_SIZE,
        // Bounds the whole fleet, and with it the load any one receiver sees.
        maxConcurrency,
        // One failed record must not send its whole batch back.
        reportBatchItemFailures: true,
        // No batching window: a delivery starts as soon as its message is queued.
      }),
    );
  }

  /** Adds a host the delivery function refuses to POST to (e.g. the ingest API, so events cannot loop). */
  public blockHost(host: string): void {
    this.function.addEnvironment(ENV.blockedHosts, host);
  }
}

/**
 * Throws if a message could expire from the delivery queue before its attempt budget is
 * spent, or if a delay exceeds what one ChangeMessageVisibility call may set.
 */
function assertScheduleFitsQueue(policy: RetryPolicy): void {
  const { scheduleSeconds, maxAttempts } = policy;
  if (scheduleSeconds.length === 0) throw new Error('The retry schedule needs at least one delay');
  if (scheduleSeconds.some((delay) => delay > SQS_MAX_VISIBILITY_SECONDS)) {
    throw new Error(`A retry delay exceeds the SQS visibility limit of ${SQS_MAX_VISIBILITY_SECONDS} s`);
  }
  let spanSeconds = 0;
  for (let retry = 0; retry < maxAttempts - 1; retry++) {
    spanSeconds += scheduleSeconds[Math.min(retry, scheduleSeconds.length - 1)] ?? 0;
  }
  const worstCaseSeconds = spanSeconds * (1 + JITTER_RATIO);
  if (worstCaseSeconds >= DELIVERY_QUEUE_RETENTION_SECONDS) {
    throw new Error(
      `${maxAttempts} attempts span up to ${Math.ceil(worstCaseSeconds)} s with jitter, beyond the delivery ` +
        `queue's retention of ${DELIVERY_QUEUE_RETENTION_SECONDS} s: messages would expire before their last attempt`,
    );
  }
}
