/**
 * A delivery function instance dies in the middle of a batch (a Lambda timeout or crash): the
 * webhooks of that batch may have reached their receivers, but nothing was recorded and no
 * message was deleted. SQS must bring the batch back after the visibility timeout, a fresh
 * instance must deliver every message, and the records must agree with the queue: nothing
 * lost, duplicates only where a request was in flight when the instance died.
 *
 * The dying instance is a child process (./crash-child.ts: the real handler and poller) that
 * the test SIGKILLs while the slow receivers still hold its requests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Poller, startPoller } from '../../local/queue-poller.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 5 };
/** Short, so the dead instance's batch comes back quickly; above two 1.5 s waves per endpoint. */
const VISIBILITY_SECONDS = 6;
const SLOW_ANSWER_MS = 1500;
const EVENTS = 8;
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

let tripwire: Tripwire;
let harness: Harness;
let child: ChildProcess | undefined;
let freshPoller: Poller | undefined;
const receivers: TestReceiver[] = [];

beforeAll(async () => {
  tripwire = installLoopbackTripwire();
  harness = await startHarness({ policy: POLICY });
  // The harness's own poller would deliver everything at once; this test brings its own.
  await harness.stack.poller.stop();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await freshPoller?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await harness?.stop();
  tripwire?.uninstall();
});

function slowReceiver(): Promise<TestReceiver> {
  return startReceiver(() => (response) => {
    setTimeout(() => {
      if (response.destroyed) return;
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    }, SLOW_ANSWER_MS);
  });
}

function startChild(): ChildProcess {
  const started = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.stdout?.resume();
  started.stderr?.resume();
  return started;
}

it('loses nothing when the instance dies mid-batch: every delivery ends delivered, the queue empty', async () => {
  // Prepare
  const { resources } = harness.stack;
  await harness.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: resources.deliveryQueueUrl,
      Attributes: { VisibilityTimeout: String(VISIBILITY_SECONDS) },
    }),
  );
  receivers.push(await slowReceiver(), await slowReceiver());
  const endpoints: string[] = [];
  for (const target of receivers) {
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    expect(created.status).toBe(201);
    endpoints.push(created.body.id);
  }
  const deliveries: Array<{ id: string; endpointId: string; eventId: string }> = [];
  for (let n = 0; n < EVENTS; n++) {
    const sent = await harness.api<{ id: string; deliveries: Array<{ id: string; endpointId: string }> }>(
      'POST',
      '/events',
      { type: 'crash.test', data: { n } },
    );
    expect(sent.status).toBe(202);
    deliveries.push(...sent.body.deliveries.map((d) => ({ ...d, eventId: sent.body.id })));
  }
  expect(deliveries).toHaveLength(EVENTS * endpoints.length);
  const received = () => receivers.reduce((sum, target) => sum + target.received.length, 0);

  // Act 1: an instance takes a batch; it dies while the receivers still hold its requests.
  child = startChild();
  const exited = new Promise((resolve) => child?.once('exit', resolve));
  await eventually(async () => (received() >= 3 ? true : undefined), 30_000, 'requests in flight');
  child.kill('SIGKILL');
  const inFlightAtKill = received();
  await exited;
  const afterCrash = await harness.queueCounts(resources.deliveryQueueUrl);

  // Act 2: a fresh instance takes over once the batch's visibility timeout runs out.
  const { handler } = await import('../../lambdas/delivery/handler.ts');
  freshPoller = startPoller(handler, {
    endpoint: resources.endpoint,
    region: resources.region,
    queueUrl: resources.deliveryQueueUrl,
    concurrency: 2,
  });
  for (const delivery of deliveries) {
    await eventually(
      async () => {
        const { body } = await harness.api<{ status: string }>('GET', `/deliveries/${delivery.id}`);
        return body.status === 'delivered' ? true : undefined;
      },
      45_000,
      `${delivery.id} delivered`,
    );
  }
  const queue = await eventually(async () => {
    const counts = await harness.queueCounts(resources.deliveryQueueUrl);
    return counts.visible + counts.inFlight === 0 ? counts : undefined;
  }, 20_000);
  const dlq = await harness.queueCounts(resources.deadLetterQueueUrl);

  // Assess: the crash left its batch hidden, not deleted; now all agree and nothing is lost.
  expect(afterCrash.inFlight).toBeGreaterThanOrEqual(1);
  expect(queue).toEqual({ visible: 0, inFlight: 0 });
  expect(dlq).toEqual({ visible: 0, inFlight: 0 });
  const arrivals = new Map<string, number>();
  receivers.forEach((target, index) => {
    for (const webhook of target.received) {
      const key = `${endpoints[index]}|${webhook.headers['webhook-id']}`;
      arrivals.set(key, (arrivals.get(key) ?? 0) + 1);
    }
  });
  for (const delivery of deliveries) {
    expect(arrivals.get(`${delivery.endpointId}|${delivery.eventId}`) ?? 0).toBeGreaterThanOrEqual(1);
  }
  const total = [...arrivals.values()].reduce((sum, count) => sum + count, 0);
  const duplicates = total - arrivals.size;
  console.info(
    `crash-mid-batch: ${deliveries.length} deliveries, ${inFlightAtKill} requests in flight at the kill, ` +
      `${total} requests received, ${duplicates} duplicates`,
  );
  // What was in flight when the instance died is sent again (at-least-once); the receivers
  // dedupe on webhook-id.
  expect(duplicates).toBeGreaterThanOrEqual(inFlightAtKill);
  expect(tripwire.stopped).toEqual([]);
});
