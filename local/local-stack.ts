/**
 * The whole product on one machine: resources on the emulator, the API, authorizer and pages
 * functions behind a local HTTP server (routed by ./gateway.ts), and the delivery function fed by
 * a poller. `npm run local` and the
 * integration tests both start it through {@link startLocalStack}.
 */
import type { Server } from 'node:http';
import { type RetryPolicy, SWEEP_INTERVAL_MINUTES } from '../lambdas/core/config.ts';
import type { SweepReport } from '../lambdas/sweeper/sweep.ts';
import { startApiServer } from './api-server.ts';
import { httpApiGateway } from './gateway.ts';
import type { EmulatorEndpoints } from './moto.ts';
import {
  type DeliveredOperationalEvent,
  type OperationalEventLog,
  startOperationalEventLog,
} from './operational-event-log.ts';
import { handlerEnvironment, type LocalResources, provision } from './provision.ts';
import { type Poller, startPoller } from './queue-poller.ts';

/** Pollers running while the delivery queue is quiet. */
const MIN_POLLERS = 2;

/** The functions local mode runs, as the stack deploys them. */
export type LocalFunction = 'api' | 'pages' | 'delivery' | 'sweeper';

export interface LocalStackOptions {
  /** The emulator: one URL for every service, or one per service (local/moto.ts). */
  readonly endpoint: EmulatorEndpoints;
  readonly apiKey: string;
  readonly policy: RetryPolicy;
  /** API port; 0 picks a free one. */
  readonly port: number;
  readonly prefix?: string;
  /**
   * The most queue pollers, each with its own copy of the delivery function. Two poll while the
   * queue is quiet; more start while receives come back full, as the event source mapping scales.
   * @default 2
   */
  readonly pollers?: number;
  /** Extra environment for the handlers (tests compress timings with it). */
  readonly env?: Record<string, string>;
  readonly onPollError?: (error: Error) => void;
  /**
   * Publish operational events to the emulator's EventBridge (local/provision.ts): its default
   * bus, a rule for `source: webhooks`, and the queue `webhooks-operational-events`.
   * @default false
   */
  readonly operationalEvents?: boolean;
  /**
   * Called with each operational event as it reaches that queue (a poller reads and deletes
   * them); without it the queue is left to whoever reads it.
   */
  readonly onOperationalEvent?: (event: DeliveredOperationalEvent) => void;
  /**
   * How often the sweep of events left accepted runs, as the stack's schedule runs it.
   * @default SWEEP_INTERVAL_MINUTES of lambdas/core/config.ts
   */
  readonly sweepIntervalMs?: number;
  /**
   * Runs each handler import and invocation inside `run` (tests use it to attribute AWS SDK
   * calls and environment reads to the function that made them).
   */
  readonly instrument?: <T>(fn: LocalFunction, run: () => T) => T;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly resources: LocalResources;
  readonly poller: Poller;
  /** Runs the sweep once now (the timer runs it too), as the schedule would invoke it. */
  sweep(): Promise<SweepReport>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const resources = await provision({
    endpoint: options.endpoint,
    policy: options.policy,
    apiKey: options.apiKey,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.operationalEvents ? { operationalEvents: true } : {}),
  });
  // The handlers read their configuration at import, as a Lambda does at cold start.
  Object.assign(process.env, handlerEnvironment(resources, options.policy), options.env ?? {});
  const within = options.instrument ?? (<T>(_fn: LocalFunction, run: () => T): T => run());
  const api = await within('api', () => import('../lambdas/api/handler.ts'));
  // Counted as the API's: it reads only the two secret ids the API function is given too.
  const authorizer = await within('api', () => import('../lambdas/authorizer/handler.ts'));
  const pages = await within('pages', () => import('../lambdas/pages/handler.ts'));
  // One copy of the delivery function per poller: on AWS each concurrent batch runs in an
  // execution environment of its own, with its own worker (and its limit of requests in flight
  // per endpoint, its secret cache and its connections); one module shared by every poller
  // would be one environment handling several batches at once, which Lambda never does.
  const pollers = options.pollers ?? 2;
  const deliveries: DeliveryModule[] = [];
  for (let copy = 0; copy < pollers; copy++) {
    deliveries.push(await within('delivery', () => importDeliveryCopy(copy)));
  }
  const sweeper = await within('sweeper', () => import('../lambdas/sweeper/handler.ts'));
  const sweep = () => within('sweeper', () => sweeper.handler());
  const sweepTimer = setInterval(
    () => void sweep().catch((error: Error) => options.onPollError?.(error)),
    options.sweepIntervalMs ?? SWEEP_INTERVAL_MINUTES * 60_000,
  );
  sweepTimer.unref();
  const apiHandler = httpApiGateway({
    pages: (event) => within('pages', () => pages.handler(event)),
    api: (event) => within('api', () => api.handler(event)),
    authorizer: (event) => within('api', () => authorizer.handler(event)),
  });
  const deliveryHandlers = deliveries.map(
    (delivery): DeliveryModule['handler'] =>
      (event) =>
        within('delivery', () => delivery.handler(event)),
  );
  const { server, url } = await startApiServer(apiHandler, options.port);
  const poller = startPoller(deliveryHandlers, {
    endpoint: resources.endpoints.sqs,
    region: resources.region,
    queueUrl: resources.deliveryQueueUrl,
    concurrency: pollers,
    // Two while the queue is quiet, more (up to `pollers`) while receives come back full.
    minConcurrency: Math.min(MIN_POLLERS, pollers),
    ...(options.onPollError ? { onError: options.onPollError } : {}),
  });
  const { onOperationalEvent } = options;
  const eventLog: OperationalEventLog | undefined =
    onOperationalEvent && resources.operationalEventsQueueUrl
      ? startOperationalEventLog({
          endpoint: resources.endpoints.sqs,
          region: resources.region,
          queueUrl: resources.operationalEventsQueueUrl,
          onEvent: onOperationalEvent,
          ...(options.onPollError ? { onError: options.onPollError } : {}),
        })
      : undefined;
  return {
    apiUrl: url,
    resources,
    poller,
    sweep,
    stop: async () => {
      clearInterval(sweepTimer);
      await poller.stop();
      // After the delivery poller: the last batches' events are printed before it stops.
      await eventLog?.stop();
      await closeServer(server);
    },
  };
}

type DeliveryModule = typeof import('../lambdas/delivery/handler.ts');

/**
 * A fresh instance of the delivery function's module (copy 0 is the one a plain import gets):
 * a module URL with its own query is a module of its own to Node, with its own module-scope
 * worker. What it imports (the SDK clients, the configuration) stays shared: one process's
 * connections to the emulators serve every copy.
 */
async function importDeliveryCopy(copy: number): Promise<DeliveryModule> {
  if (copy === 0) return import('../lambdas/delivery/handler.ts');
  const url = new URL('../lambdas/delivery/handler.ts', import.meta.url);
  url.searchParams.set('copy', String(copy));
  return (await import(url.href)) as DeliveryModule;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
