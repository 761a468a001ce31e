/**
 * Delivery function: the SQS event source mapping hands it up to ten delivery messages; it
 * returns the ones to retry as batch item failures (ReportBatchItemFailures).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { requireEnv } from '../adapters/env.ts';
import { EventBridgePublisher, OPERATIONAL_EVENTS_FAILED_METRIC } from '../adapters/event-bus.ts';
import { WebhookSender } from '../adapters/http-sender.ts';
import { enqueueDeliveries } from '../adapters/queue.ts';
import { EndpointSecrets } from '../adapters/secrets.ts';
import { endpointTransitionsRepository } from '../adapters/store/endpoint-transitions.ts';
import { operationalEventsRepository } from '../adapters/store/operational-events.ts';
import { tableName } from '../adapters/store/tables.ts';
import { Store } from '../adapters/store.ts';
import { Logger, Metrics, MetricUnit } from '../adapters/telemetry.ts';
import { breakerPolicyFromEnv, isolationFromEnv, retryPolicyFromEnv } from '../core/config.ts';
import { DELIVERIES_TABLE, ENDPOINTS_TABLE, ENV } from '../core/schema.ts';
import { OperatorCopy } from './operator-copy.ts';
import { DeliveryWorker } from './worker.ts';

const logger = new Logger({ serviceName: 'webhooks-delivery' });
const metrics = new Metrics({ namespace: 'Webhooks', serviceName: 'webhooks-delivery' });

const blockedHosts = (process.env[ENV.blockedHosts] ?? '')
  .split(',')
  .map((host) => host.trim())
  .filter(Boolean);
const allowLoopback = process.env[ENV.allowLoopback] === 'true';

// Operational events, when the stack names a bus: a lost one is counted and logged, never raised.
const eventBus = process.env[ENV.operationalEventBus];
const operationalEvents = eventBus
  ? new EventBridgePublisher({
      busName: eventBus,
      onMiss: (event, error) => {
        metrics.addMetric(OPERATIONAL_EVENTS_FAILED_METRIC, MetricUnit.Count, 1);
        logger.warn('operational event not published', {
          detailType: event.detailType,
          ...('endpointId' in event.detail ? { endpointId: event.detail.endpointId } : {}),
          error,
        });
      },
    })
  : undefined;

const store = new Store();
const queueUrl = requireEnv(ENV.deliveryQueueUrl);

// The operator's webhook copy of each operational event, when the stack names an endpoint.
const operatorEndpointId = process.env[ENV.operatorEndpointId];
const operatorCopy = operatorEndpointId
  ? new OperatorCopy({
      endpointId: operatorEndpointId,
      store,
      enqueue: (messages, options) => enqueueDeliveries(queueUrl, messages, options),
      now: Date.now,
      warn: (message, extra) => logger.warn(message, extra),
      count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
    })
  : undefined;

const worker = new DeliveryWorker({
  store,
  secrets: new EndpointSecrets(requireEnv(ENV.endpointSecretPrefix)),
  sender: new WebhookSender({ guard: { allowLoopback, blockedHosts } }),
  queueUrl,
  deadLetterQueueUrl: requireEnv(ENV.deadLetterQueueUrl),
  policy: retryPolicyFromEnv(),
  breaker: breakerPolicyFromEnv(),
  isolation: isolationFromEnv(),
  ...(operationalEvents ? { operationalEvents } : {}),
  ...(operatorCopy ? { operatorCopy } : {}),
  // Recorded whether or not a bus is named: GET /operational-events reads them back.
  operationalEventLog: operationalEventsRepository(tableName(undefined, DELIVERIES_TABLE)),
  endpointTransitions: endpointTransitionsRepository(tableName(undefined, ENDPOINTS_TABLE)),
  logger,
  metric: (name, unit, value) =>
    metrics.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, value),
});

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  try {
    return await worker.processBatch(event.Records);
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
