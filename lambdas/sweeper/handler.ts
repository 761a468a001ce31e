/**
 * Sweep function: run every minute by an EventBridge schedule (and by local mode's timer), it
 * queues the events left accepted. See {@link sweepAcceptedEvents}.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { requireEnv } from '../adapters/env.ts';
import { enqueueDeliveries } from '../adapters/queue.ts';
import { Store } from '../adapters/store.ts';
import { SWEEP_BATCH_EVENTS, SWEEP_FUNCTION_TIMEOUT_SECONDS } from '../core/config.ts';
import { ENV } from '../core/schema.ts';
import { type SweepReport, sweepAcceptedEvents } from './sweep.ts';

const logger = new Logger({ serviceName: 'webhooks-sweeper' });
const metrics = new Metrics({ namespace: 'Webhooks', serviceName: 'webhooks-sweeper' });
const queueUrl = requireEnv(ENV.deliveryQueueUrl);
const store = new Store();

export const handler = async (): Promise<SweepReport> => {
  const startedAt = Date.now();
  try {
    const report = await sweepAcceptedEvents(
      {
        store,
        enqueue: (messages, options) => enqueueDeliveries(queueUrl, messages, options),
        now: Date.now,
        warn: (message, extra) => logger.warn(message, extra),
      },
      // Stop starting new work well before the function's own timeout.
      { limit: SWEEP_BATCH_EVENTS, deadlineMs: startedAt + (SWEEP_FUNCTION_TIMEOUT_SECONDS - 15) * 1000 },
    );
    if (report.found > 0) logger.warn('sweep queued events left accepted', { ...report });
    metrics.addMetric('EventsSwept', MetricUnit.Count, report.queued);
    metrics.addMetric('EventsLeftUnsent', MetricUnit.Count, report.unsent);
    return report;
  } finally {
    metrics.publishStoredMetrics();
  }
};
