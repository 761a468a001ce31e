/**
 * The delivery function's Lambda handler (lambdas/delivery/handler.ts) with an operator endpoint
 * named (`WEBHOOKS_OPERATOR_ENDPOINT_ID`): the worker is given the operator copy, and the copy's
 * warnings and counts reach the function's log and EMF metrics. The worker and the copy are
 * replaced by ones that keep what the handler gave them (as in delivery-mutants-handler.test.ts).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { OperatorCopyDeps } from '../../lambdas/delivery/operator-copy.ts';
import type { WorkerDeps } from '../../lambdas/delivery/worker.ts';

const captured = vi.hoisted(() => ({
  deps: undefined as unknown as WorkerDeps,
  copy: undefined as unknown as OperatorCopyDeps,
  copier: undefined as unknown,
}));

vi.mock('../../lambdas/delivery/worker.ts', () => ({
  DeliveryWorker: class {
    constructor(deps: WorkerDeps) {
      captured.deps = deps;
    }
    async processBatch() {
      captured.copy.warn('operator endpoint not found; operational event not copied', {
        operatorEndpointId: 'ep_op',
      });
      captured.copy.count('OperatorCopiesFailed');
      return { batchItemFailures: [] };
    }
  },
}));

vi.mock('../../lambdas/delivery/operator-copy.ts', () => ({
  OperatorCopy: class {
    constructor(deps: OperatorCopyDeps) {
      captured.copy = deps;
      captured.copier = this;
    }
  },
}));

let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  for (const [name, value] of Object.entries({
    ENDPOINT_SECRET_PREFIX: 'test/endpoints',
    DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/deliveries',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq',
    WEBHOOKS_OPERATOR_ENDPOINT_ID: 'ep_op',
    POWERTOOLS_METRICS_DISABLED: 'false',
  })) {
    vi.stubEnv(name, value);
  }
  // Imported in beforeAll, as in delivery-mutants-handler.test.ts: Stryker then counts what the
  // module builds at load as static, not as this test's coverage (see docs/mutation-testing.md).
  ({ handler } = await import('../../lambdas/delivery/handler.ts'));
});

afterAll(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

it("gives the worker the operator copy; the copy's warnings are logged and its counts written as metrics", async () => {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);

  expect(captured.copy.endpointId).toBe('ep_op');
  expect(captured.deps.operatorCopy).toBe(captured.copier);
  await handler({ Records: [] });

  const lines = [...out, ...err]
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'WARN',
      message: 'operator endpoint not found; operational event not copied',
      operatorEndpointId: 'ep_op',
    }),
  );
  expect(lines).toContainEqual(expect.objectContaining({ OperatorCopiesFailed: 1 }));
});
