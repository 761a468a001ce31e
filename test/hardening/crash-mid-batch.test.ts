/**
 * A delivery function instance dies in the middle of a batch (a Lambda timeout or crash): the
 * webhooks of that batch may have reached their receivers, but nothing was recorded and no
 * message was deleted. SQS must bring the batch back after the visibility timeout, a fresh
 * instance must deliver every message, and the records must agree with the queue: nothing
 * lost, duplicates only where a request was in flight when the instance died.
 *
 * The dying instance is a child process (./crash-child.ts: the real handler and poller) that
 * the test SIGKILLs while the slow receivers still hold its requests. Each test brings its own
 * endpoints, child and fresh poller, and stops them, so neither depends on the other.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
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
  // The harness's own poller would deliver everything at once; each test brings its own.
  await harness.stack.poller.stop();
  await harness.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: harness.stack.resources.deliveryQueueUrl,
      Attributes: { VisibilityTimeout: String(VISIBILITY_SECONDS) },
    }),
  );
});

afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await freshPoller?.stop();
  freshPoller = undefined;
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await harness?.stop();
  tripwire?.uninstall();
});

async function startFreshPoller(): Promise<Poller> {
  const { resources } = harness.stack;
  const { handler } = await import('../../lambdas/delivery/handler.ts');
  return startPoller(handler, {
    endpoint: resources.endpoints.sqs,
    region: resources.region,
    queueUrl: resources.deliveryQueueUrl,
    concurrency: 2,
  });
}

async function createEndpoint(url: string): Promise<string> {
  const created = await harness.api<{ id: string }>('POST', '/endpoints', { url });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function deliveredStatus(id: string): Promise<{ status: string; attemptCount: number }> {
  const { body } = await harness.api<{ status: string; attemptCount: number }>('GET', `/deliveries/${id}`);
  return body;
}

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
  const slow = [await slowReceiver(), await slowReceiver()];
  receivers.push(...slow);
  const endpoints: string[] = [];
  for (const target of slow) endpoints.push(await createEndpoint(target.url));
  const deliveries: Array<{ id: string; endpointId: string; eventId: string }> = [];
  for (let n = 0; n < EVENTS; n++) {
    const sent = await harness.api<{ id: string; deliveries: Array<{ id: string; endpointId: string }> }>(
      'POST',
      '/events',
      { type: 'crash.test', data: { n }, endpointIds: endpoints },
    );
    expect(sent.status).toBe(202);
    deliveries.push(...sent.body.deliveries.map((d) => ({ ...d, eventId: sent.body.id })));
  }
  expect(deliveries).toHaveLength(EVENTS * endpoints.length);
  const received = () => slow.reduce((sum, target) => sum + target.received.length, 0);

  // Act 1: an instance takes a batch; it dies while the receivers still hold its requests.
  child = startChild();
  const exited = new Promise((resolve) => child?.once('exit', resolve));
  await eventually(async () => (received() >= 3 ? true : undefined), 30_000, 'requests in flight');
  child.kill('SIGKILL');
  const inFlightAtKill = received();
  await exited;
  const afterCrash = await harness.queueCounts(resources.deliveryQueueUrl);

  // Act 2: a fresh instance takes over once the batch's visibility timeout runs out.
  freshPoller = await startFreshPoller();
  for (const delivery of deliveries) {
    await eventually(
      async () => ((await deliveredStatus(delivery.id)).status === 'delivered' ? true : undefined),
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
  slow.forEach((target, index) => {
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

it('does not send again what was recorded delivered before the crash, though its message comes back', async () => {
  // Prepare: one receiver answers at once, the other holds every request until the instance
  // dies, so the batch never finishes: the fast deliveries are recorded delivered, but no
  // message of the batch is deleted.
  const { resources } = harness.stack;
  const fast = await startReceiver();
  const hanging = await startReceiver(() => () => {});
  receivers.push(fast, hanging);
  const fastId = await createEndpoint(fast.url);
  const hangingId = await createEndpoint(hanging.url);
  const deliveries: Array<{ id: string; endpointId: string }> = [];
  for (let n = 0; n < 4; n++) {
    const sent = await harness.api<{ deliveries: Array<{ id: string; endpointId: string }> }>(
      'POST',
      '/events',
      {
        type: 'crash.dedupe',
        data: { n },
        endpointIds: [fastId, hangingId],
      },
    );
    expect(sent.status).toBe(202);
    deliveries.push(...sent.body.deliveries);
  }
  const toFast = deliveries.filter((d) => d.endpointId === fastId);

  // Act 1: the instance delivers to the fast receiver and records it, then dies with the
  // hanging requests open.
  child = startChild();
  const exited = new Promise((resolve) => child?.once('exit', resolve));
  await fast.waitFor(1);
  const recordedBeforeCrash = await eventually(
    async () => {
      await hanging.waitFor(1);
      const statuses = await Promise.all(
        toFast.map(async (d) => ({ ...d, ...(await deliveredStatus(d.id)) })),
      );
      const delivered = statuses.filter((d) => d.status === 'delivered');
      // Every request the fast receiver got has its outcome recorded.
      return delivered.length > 0 && delivered.length === fast.received.length ? delivered : undefined;
    },
    30_000,
    'fast deliveries recorded',
  );
  child.kill('SIGKILL');
  await exited;
  const afterCrash = await harness.queueCounts(resources.deliveryQueueUrl);
  hanging.behave(() => ({ status: 200, body: 'ok' }));

  // Act 2: a fresh instance takes the batch back after the visibility timeout.
  freshPoller = await startFreshPoller();
  for (const delivery of deliveries) {
    await eventually(
      async () => ((await deliveredStatus(delivery.id)).status === 'delivered' ? true : undefined),
      45_000,
      `${delivery.id} delivered`,
    );
  }
  await eventually(
    async () => {
      const counts = await harness.queueCounts(resources.deliveryQueueUrl);
      return counts.visible + counts.inFlight === 0 ? true : undefined;
    },
    20_000,
    'queue drained',
  );

  // Assess: no message was deleted by the dead instance, so the recorded ones came back; the
  // duplicate check dropped them: one request each, one attempt each.
  expect(afterCrash.visible + afterCrash.inFlight).toBe(deliveries.length);
  const arrivals = new Map<string, number>();
  for (const webhook of fast.received) {
    const id = String(webhook.headers['webhook-id']);
    arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
  }
  for (const delivery of recordedBeforeCrash) {
    const after = await deliveredStatus(delivery.id);
    expect(after).toMatchObject({ status: 'delivered', attemptCount: 1 });
  }
  expect([...arrivals.values()]).toEqual(toFast.map(() => 1));
  expect(fast.received).toHaveLength(toFast.length);
  expect(tripwire.stopped).toEqual([]);
});
