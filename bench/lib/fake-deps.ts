/**
 * In-process stand-ins for the delivery worker's store, secrets and queue: the same method
 * shapes as lambdas/adapters (Store, EndpointSecrets, the queue helpers), answering from
 * memory with no AWS call. Only the happy path is expected; the failure-path methods count
 * what they are asked so the benchmark can check nothing failed.
 */

import type { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import type { EndpointSecret } from '../../lambdas/adapters/secrets.ts';
import type { EndpointRecord } from '../../lambdas/adapters/store.ts';
import { retryPolicyFromEnv } from '../../lambdas/core/config.ts';
import { DeliveryWorker, type WorkerDeps } from '../../lambdas/delivery/worker.ts';

export interface FakeCounters {
  delivered: number;
  failed: number;
  deferred: number;
  deadLettered: number;
}

export interface FakeDeps {
  readonly store: WorkerDeps['store'];
  readonly secrets: WorkerDeps['secrets'];
  readonly queue: NonNullable<WorkerDeps['queue']>;
  readonly counters: FakeCounters;
}

export function fakeDeps(
  endpoints: readonly EndpointRecord[],
  secrets: ReadonlyMap<string, EndpointSecret>,
): FakeDeps {
  const byId = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]));
  const counters: FakeCounters = { delivered: 0, failed: 0, deferred: 0, deadLettered: 0 };
  const store = {
    getEndpoint: async (id: string) => byId.get(id),
    // The worker passes each message's tenant before its first read (lambdas/adapters/store.ts).
    noteEndpointTenant: () => {},
    getDelivery: async () => undefined,
    recordOutcome: async (input: { status: string }) => {
      if (input.status === 'delivered') counters.delivered++;
      else counters.failed++;
      return 1;
    },
    putAttempt: async () => {},
    addEndpointFailure: async () => undefined,
    resetEndpointFailures: async () => {},
    updateEndpoint: async () => undefined,
  };
  return {
    // The Store's signatures are being extended elsewhere; the worker only calls these shapes.
    store: store as unknown as WorkerDeps['store'],
    secrets: {
      get: async (name: string) => {
        const secret = secrets.get(name);
        if (!secret) throw new Error(`no secret ${name}`);
        return secret;
      },
    },
    queue: {
      defer: async () => {
        counters.deferred++;
      },
      deadLetter: async () => {
        counters.deadLettered++;
      },
      release: async () => {},
      enqueue: async () => [],
    },
    counters,
  };
}

/** The delivery worker on the fakes, as the throughput bench runs it (default retry policy). */
export function benchWorker(
  deps: FakeDeps,
  sender: WebhookSender,
  logger: WorkerDeps['logger'],
  metric?: WorkerDeps['metric'],
): DeliveryWorker {
  return new DeliveryWorker({
    store: deps.store,
    secrets: deps.secrets,
    queue: deps.queue,
    sender,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-deliveries',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-dlq',
    policy: retryPolicyFromEnv({}),
    logger,
    ...(metric ? { metric } : {}),
  });
}
