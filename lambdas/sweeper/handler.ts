/**
 * Sweep function: run every minute by an EventBridge schedule (and by local mode's timer), it
 * queues the events left accepted, sends the retries whose long wait is over, and queues the
 * release of every endpoint backlog. See ./sweep.ts.
 */
import { requireEnv } from '../adapters/env.ts';
import { enqueueDeliveries, sendRelease } from '../adapters/queue.ts';
import { Store } from '../adapters/store.ts';
import { Logger, Metrics, MetricUnit } from '../adapters/telemetry.ts';
import { SWEEP_BATCH_DUE, SWEEP_BATCH_EVENTS, SWEEP_FUNCTION_TIMEOUT_SECONDS } from '../core/config.ts';
import { ENV } from '../core/schema.ts';
import {
  type DueReport,
  releaseBacklogs,
  type SweepReport,
  sendDueRetries,
  sweepAcceptedEvents,
} from './sweep.ts';

const logger = new Logger({ serviceName: 'webhooks-sweeper' });
const metrics = new Metrics({ namespace: 'Webhooks', serviceName: 'webhooks-sweeper' });
const queueUrl = requireEnv(ENV.deliveryQueueUrl);
const store = new Store();

export const handler = async (): Promise<SweepReport & { due: DueReport; backlogs: number }> => {
  const startedAt = Date.now();
  // Stop starting new work well before the function's own timeout.
  const deadlineMs = startedAt + (SWEEP_FUNCTION_TIMEOUT_SECONDS - 15) * 1000;
  const deps = {
    store,
    enqueue: enqueueDeliveries.bind(undefined, queueUrl),
    release: (endpointId: string) => sendRelease(queueUrl, endpointId),
    now: Date.now,
    warn: (message: string, extra: Record<string, unknown>) => logger.warn(message, extra),
  };
  try {
    const report = await sweepAcceptedEvents(deps, { limit: SWEEP_BATCH_EVENTS, deadlineMs });
    if (report.found > 0) logger.warn('sweep queued events left accepted', { ...report });
    const due = await sendDueRetries(deps, { limit: SWEEP_BATCH_DUE, deadlineMs });
    const backlogs = await releaseBacklogs(deps, 1000);
    if (due.found > 0 || backlogs > 0)
      logger.info('sweep sent due retries and released backlogs', { ...due, backlogs });
    metrics.addMetric('EventsSwept', MetricUnit.Count, report.queued);
    metrics.addMetric('EventsLeftUnsent', MetricUnit.Count, report.unsent);
    metrics.addMetric('DueRetriesSent', MetricUnit.Count, due.sent);
    metrics.addMetric('BacklogsReleased', MetricUnit.Count, backlogs);
    return { ...report, due, backlogs };
  } finally {
    metrics.publishStoredMetrics();
  }
};
