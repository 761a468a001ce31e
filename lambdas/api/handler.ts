/**
 * API function: API Gateway HTTP API (payload format 2.0) in, JSON out. Every response
 * carries a `Trackingid` header that also appears on every log line of the request. The open
 * routes (the pages and the API description) are not here: API Gateway sends them to the pages
 * function (lambdas/pages/handler.ts).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ApiKeyStore, PortalKey } from '../adapters/credentials.ts';
import { redriveDeadLetters } from '../adapters/dlq.ts';
import { requireEnv } from '../adapters/env.ts';
import {
  enqueueDeliveries,
  enqueueOne,
  queueDepth,
  sendEventChecks,
  sendOperationalEvent,
  sendRelease,
} from '../adapters/queue.ts';
import { EndpointSecrets } from '../adapters/secrets.ts';
import { endpointTransitionsRepository } from '../adapters/store/endpoint-transitions.ts';
import { operationalEventsRepository } from '../adapters/store/operational-events.ts';
import { tableName } from '../adapters/store/tables.ts';
import { Store } from '../adapters/store.ts';
import { Logger, Metrics, MetricUnit } from '../adapters/telemetry.ts';
import { eventCheckDelayFromEnv } from '../core/config.ts';
import { errorName } from '../core/errors.ts';
import { newOperationalEventId } from '../core/ids.ts';
import { OPERATIONAL_EVENTS_FAILED_METRIC } from '../core/operational-events.ts';
import { DELIVERIES_TABLE, ENDPOINTS_TABLE, ENV } from '../core/schema.ts';
import { ApiApp } from './app.ts';
import { toApiRequest } from './request.ts';
import { toHttpResponse } from './respond.ts';

const logger = new Logger({ serviceName: 'webhooks-api' });
const metrics = new Metrics({ namespace: 'Webhooks', serviceName: 'webhooks-api' });
const queueUrl = requireEnv(ENV.deliveryQueueUrl);
const deadLetterQueueUrl = requireEnv(ENV.deadLetterQueueUrl);
const eventCheckDelaySeconds = eventCheckDelayFromEnv();

const app = new ApiApp({
  store: new Store(),
  secrets: new EndpointSecrets(requireEnv(ENV.endpointSecretPrefix)),
  apiKeys: new ApiKeyStore(requireEnv(ENV.apiKeysSecretId)),
  portalKey: new PortalKey(requireEnv(ENV.portalKeySecretId)),
  queue: {
    enqueue: (messages, options) => enqueueDeliveries(queueUrl, messages, options),
    enqueueOne: (message) => enqueueOne(queueUrl, message),
    release: (endpointId) => sendRelease(queueUrl, endpointId),
    scheduleEventChecks: (eventIds) => sendEventChecks(queueUrl, eventIds, eventCheckDelaySeconds),
    deadLetterDepth: () => queueDepth(deadLetterQueueUrl),
    redriveDeadLetters: () => redriveDeadLetters(deadLetterQueueUrl, queueUrl),
  },
  warn: (message, extra) => logger.warn(message, extra),
  // The API publishes nothing itself: its operational events (dlq.redriven, a manual
  // endpoint.disabled) go to the delivery worker as queue messages, and the worker records and
  // publishes them. A message that cannot be queued is a lost event: counted and logged, never
  // the request's failure.
  endpointTransitions: endpointTransitionsRepository(tableName(undefined, ENDPOINTS_TABLE)),
  operationalEventLog: operationalEventsRepository(tableName(undefined, DELIVERIES_TABLE)),
  operationalEvents: {
    publish: async (event) => {
      try {
        await sendOperationalEvent(queueUrl, newOperationalEventId(), event);
      } catch (error) {
        metrics.addMetric(OPERATIONAL_EVENTS_FAILED_METRIC, MetricUnit.Count, 1);
        logger.warn('operational event not published', {
          detailType: event.detailType,
          error: errorName(error),
        });
      }
    },
  },
  guard: {
    allowLoopback: process.env[ENV.allowLoopback] === 'true',
    blockedHosts: (process.env[ENV.blockedHosts] ?? '').split(',').filter(Boolean),
  },
});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const request = toApiRequest(event);
  const log = logger.createChild({ persistentKeys: { trackingId: request.trackingId } });
  try {
    return await toHttpResponse(app, request, log, (name, value) =>
      metrics.addMetric(name, MetricUnit.Count, value),
    );
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
