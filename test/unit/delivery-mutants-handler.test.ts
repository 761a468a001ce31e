/**
 * The delivery function's Lambda handler (lambdas/delivery/handler.ts), in-process: the worker is
 * replaced by one that keeps the dependencies the handler built and plays a batch, and the
 * EventBridge publisher by one that keeps its options, so what is checked is the handler's own
 * part: the SQS batch response it returns, the EMF metrics it writes after each batch (even one
 * that throws), the unit each worker metric is written in, what a lost operational event logs
 * and counts, and the sender's blocked hosts from the environment.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import type { OperationalEvent } from '../../lambdas/core/operational-events.ts';
import type { WorkerDeps } from '../../lambdas/delivery/worker.ts';

const captured = vi.hoisted(() => ({
  deps: undefined as unknown as WorkerDeps,
  publisher: undefined as unknown as
    | { busName: string; onMiss: (event: OperationalEvent, error: string) => void }
    | undefined,
  batch: (async () => ({ batchItemFailures: [] })) as (
    records: readonly SQSRecord[],
  ) => Promise<SQSBatchResponse>,
}));

vi.mock('../../lambdas/delivery/worker.ts', () => ({
  DeliveryWorker: class {
    constructor(deps: WorkerDeps) {
      captured.deps = deps;
    }
    processBatch(records: readonly SQSRecord[]) {
      return captured.batch(records);
    }
  },
}));

vi.mock('../../lambdas/adapters/event-bus.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lambdas/adapters/event-bus.ts')>();
  return {
    ...real,
    EventBridgePublisher: class {
      constructor(options: NonNullable<typeof captured.publisher>) {
        captured.publisher = options;
      }
      async publish(): Promise<void> {}
    },
  };
});

const ENVIRONMENT: Record<string, string> = {
  ENDPOINT_SECRET_PREFIX: 'test/endpoints',
  DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/deliveries',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq',
  WEBHOOKS_OPERATIONAL_EVENT_BUS: 'ops-bus',
  WEBHOOKS_BLOCKED_HOSTS: ' api.internal.example , ,other.internal.example',
  WEBHOOKS_ALLOW_LOOPBACK: 'false',
  POWERTOOLS_METRICS_DISABLED: 'false',
};

let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
let out: string[];
let err: string[];

beforeAll(async () => {
  for (const [name, value] of Object.entries(ENVIRONMENT)) vi.stubEnv(name, value);
  ({ handler } = await import('../../lambdas/delivery/handler.ts'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The EMF objects written to stdout. */
function emf(): Array<
  Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: unknown[] }> } }
> {
  return out
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
}

const record = (messageId: string): SQSRecord => ({ messageId, body: '{}' }) as unknown as SQSRecord;

it("returns the worker's batch response for the event's records", async () => {
  let seen: readonly SQSRecord[] = [];
  captured.batch = async (records) => {
    seen = records;
    return { batchItemFailures: [{ itemIdentifier: 'b' }] };
  };
  const response = await handler({ Records: [record('a'), record('b')] });
  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }] });
  expect(seen.map((r) => r.messageId)).toEqual(['a', 'b']);
});

it("writes the batch's metrics once, after it, each in its unit: counts as Count, durations as Milliseconds", async () => {
  captured.batch = async () => {
    captured.deps.metric?.('DeliveryDelivered', 'Count', 3);
    captured.deps.metric?.('AttemptDuration', 'Milliseconds', 42);
    expect(emf()).toEqual([]);
    return { batchItemFailures: [] };
  };
  await handler({ Records: [record('a')] });
  const written = emf();
  expect(written).toHaveLength(1);
  expect(written[0]?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
    { Name: 'DeliveryDelivered', Unit: 'Count' },
    { Name: 'AttemptDuration', Unit: 'Milliseconds' },
  ]);
  expect(written[0]).toMatchObject({
    DeliveryDelivered: 3,
    AttemptDuration: 42,
    service: 'webhooks-delivery',
  });
});

it('writes the metrics of a batch that throws, and lets the error through', async () => {
  captured.batch = async () => {
    captured.deps.metric?.('DeliveryAttempts', 'Count', 1);
    throw new Error('batch broke');
  };
  await expect(handler({ Records: [record('a')] })).rejects.toThrow('batch broke');
  expect(emf()).toHaveLength(1);
  expect(emf()[0]).toMatchObject({ DeliveryAttempts: 1 });
});

it('writes nothing (not even the empty-metrics warning) after a batch with no metrics', async () => {
  captured.batch = async () => ({ batchItemFailures: [] });
  await handler({ Records: [] });
  expect(emf()).toEqual([]);
  expect(err.join('')).not.toContain('No application metrics');
});

it('publishes operational events to the named bus; a lost one is counted and logged with its endpoint', async () => {
  expect(captured.publisher?.busName).toBe('ops-bus');
  expect(captured.deps.operationalEvents).toBeDefined();
  captured.batch = async () => {
    captured.publisher?.onMiss(
      {
        detailType: 'endpoint.disabled',
        detail: { endpointId: 'ep_1', tenantId: 't', occurredAt: '2026-12-03T00:00:00.000Z' },
      } as unknown as OperationalEvent,
      'ThrottlingException',
    );
    captured.publisher?.onMiss(
      {
        detailType: 'dlq.redriven',
        detail: { tenantId: 't', occurredAt: '2026-12-03T00:00:00.000Z' },
      } as unknown as OperationalEvent,
      'entry refused',
    );
    return { batchItemFailures: [] };
  };
  await handler({ Records: [] });
  expect(emf()).toHaveLength(1);
  expect(emf()[0]).toMatchObject({ OperationalEventsFailed: [1, 1] });
  expect(emf()[0]?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
    { Name: 'OperationalEventsFailed', Unit: 'Count' },
  ]);
  const warnings = err
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(warnings).toHaveLength(2);
  expect(warnings[0]).toMatchObject({
    level: 'WARN',
    message: 'operational event not published',
    detailType: 'endpoint.disabled',
    endpointId: 'ep_1',
    error: 'ThrottlingException',
  });
  expect(warnings[1]).toMatchObject({ detailType: 'dlq.redriven', error: 'entry refused' });
  expect(warnings[1]).not.toHaveProperty('endpointId');
});

it("refuses to send to the environment's blocked hosts, each name trimmed", async () => {
  for (const host of ['api.internal.example', 'other.internal.example']) {
    await expect(captured.deps.sender.post(`https://${host}/hook`, {}, '{}')).rejects.toMatchObject({
      code: 'blocked_address',
    });
  }
});
