/**
 * The metrics the README names, as the functions really publish them: the handlers' Powertools
 * Metrics write embedded-metric-format lines to stdout, which this file captures (metrics are on
 * here; the other integration files turn them off). Each test causes one failure of the
 * README's failure-mode table on moto and checks that the metric it names was published, by the
 * function that sees it, since the test began. A first test checks that every metric the README
 * names (failure-mode table and the Operate list) has a test here that causes it.
 */
import { readFileSync } from 'node:fs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, type RecordedCall, startHarness } from '../support/harness.ts';
import { receiverPool } from '../support/receiver.ts';

/** One metric value as a function published it. */
interface Published {
  readonly service: string;
  readonly namespace: string;
  readonly name: string;
  readonly value: number;
}

const published: Published[] = [];
const receivers = receiverPool();
let harness: Harness;
let restoreStdout: () => void;

/** Keeps the EMF lines written to stdout (and only those out of the test output). */
function captureMetrics(): () => void {
  const original = process.stdout.write;
  process.stdout.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    const lines = text.split('\n').filter(Boolean);
    const emf = lines.filter((line) => line.startsWith('{"_aws"'));
    for (const line of emf) {
      const document = JSON.parse(line) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: Array<{ Namespace: string; Metrics: Array<{ Name: string }> }> };
      };
      for (const directive of document._aws.CloudWatchMetrics) {
        for (const { Name } of directive.Metrics) {
          const raw = document[Name];
          for (const value of Array.isArray(raw) ? raw : [raw]) {
            published.push({
              service: String(document.service),
              namespace: directive.Namespace,
              name: Name,
              value: Number(value),
            });
          }
        }
      }
    }
    if (emf.length === lines.length && lines.length > 0) return true;
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
}

beforeAll(async () => {
  restoreStdout = captureMetrics();
  harness = await startHarness({
    // Every retry waits 2 s, over the 1 s kept in the queue: each failure's retry leaves the
    // queue for the byWait index and comes back through the sweep.
    policy: { scheduleSeconds: [2, 2], maxAttempts: 3 },
    record: true,
    // The tests run the sweep themselves; the timer must not run it between their steps.
    sweepIntervalMs: 3_600_000,
    env: {
      POWERTOOLS_METRICS_DISABLED: 'false',
      WEBHOOKS_SHORT_WAIT_MAX_SECONDS: '1',
      WEBHOOKS_BREAKER_THRESHOLD: '3',
      WEBHOOKS_BREAKER_OPEN_SECONDS: '600',
    },
  });
});

afterEach(() => {
  harness.interceptors.length = 0;
});

afterAll(async () => {
  await receivers.closeAll();
  await harness?.stop();
  restoreStdout?.();
});

const receiver = receivers.start;

async function endpointAt(url: string): Promise<string> {
  const created = await harness.api<{ id: string }>('POST', '/endpoints', { url });
  expect(created.status).toBe(201);
  return created.body.id;
}

type Accepted = { id: string; deliveries: Array<{ id: string; endpointId: string }> };

async function send(endpointId: string, data: unknown = {}, headers: Record<string, string> = {}) {
  return harness.api<Accepted>(
    'POST',
    '/events',
    { type: 'metrics.test', data, endpointIds: [endpointId] },
    headers,
  );
}

const statusOf = async (id: string) =>
  (await harness.api<{ status: string }>('GET', `/deliveries/${id}`)).body.status;

/** The sum of what `service` published of `name` from `mark` (an index into `published`) on. */
function total(name: string, service: string, mark: number): number {
  return published
    .slice(mark)
    .filter((entry) => entry.name === name && entry.service === service && entry.namespace === 'Webhooks')
    .reduce((sum, entry) => sum + entry.value, 0);
}

/** Waits until `service` published at least `atLeast` of `name` since `mark`. */
const whenPublished = (name: string, service: string, mark: number, atLeast = 1) =>
  eventually(
    async () => (total(name, service, mark) >= atLeast ? true : undefined),
    30_000,
    `${name} from ${service}`,
  );

/** Runs the sweep, as its schedule would but every 300 ms, until `done` holds. */
const sweepUntil = (done: () => Promise<boolean>, what: string) =>
  eventually(
    async () => {
      await harness.stack.sweep();
      if (await done()) return true;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return undefined;
    },
    // Long enough for a loaded machine's moto; a quiet one is done in a few seconds.
    60_000,
    what,
  );

const DELIVERY = 'webhooks-delivery';
const API = 'webhooks-api';
const SWEEPER = 'webhooks-sweeper';

/** Each metric the README names, and the test below that makes its function publish it. */
const COVERED: Record<string, string> = {
  EventsAccepted: 'a retried delivery',
  DeliveriesQueued: 'a retried delivery',
  DeliveryAttempts: 'a retried delivery',
  DeliveryDelivered: 'a retried delivery',
  DeliveryFailed: 'a retried delivery',
  DeliveryLatency: 'a retried delivery',
  AttemptDuration: 'a retried delivery',
  RetriesOutOfQueue: 'a retried delivery',
  DueRetriesSent: 'a retried delivery',
  DeliveryDead: 'a dead delivery',
  HeldCircuitOpen: 'an endpoint that keeps failing',
  BacklogReleased: 'an endpoint that keeps failing',
  SlowAnswers: 'a slow answer',
  DuplicateSuppressed: 'a second copy of a delivered message',
  EventsHandedToSweep: 'an event whose request died',
  EventsLeftUnsent: 'an event whose request died',
  EventsSwept: 'an event whose request died',
};

describe('the README', () => {
  it('names no metric that no test here makes the functions publish', () => {
    // Prepare
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Failure modes'), readme.indexOf('### Delivery guarantees'));
    const operate = readme.slice(readme.indexOf('embedded metric format)'), readme.indexOf('- **Alarms**'));

    // Act: a metric is a PascalCase name in backticks (fields are camelCase, headers hyphenated).
    const names = (text: string) => [...text.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((match) => match[1]);
    const inTable = names(
      table
        .split('\n')
        .filter((line) => line.startsWith('|'))
        .map((row) => row.split('|')[3] ?? '')
        .join('\n'),
    );
    const inOperate = names(operate);

    // Assess
    expect(inTable.length).toBeGreaterThan(0);
    expect(inOperate.length).toBeGreaterThan(0);
    expect([...new Set([...inTable, ...inOperate])].filter((name) => !(name! in COVERED))).toEqual([]);
  });
});

describe('the metrics of each failure', () => {
  it('a retried delivery: the failure, its wait outside the queue, the sweep sending it, then the delivery', async () => {
    // Prepare: the receiver fails the first request only.
    const mark = published.length;
    const target = await receiver((_request, index) =>
      index === 0 ? { status: 500, body: 'once' } : { status: 200 },
    );
    const endpointId = await endpointAt(target.url);

    // Act
    const sent = await send(endpointId);
    const id = sent.body.deliveries[0]!.id;
    await eventually(async () => ((await statusOf(id)) === 'failed' ? true : undefined), 30_000, 'failed');
    await sweepUntil(async () => (await statusOf(id)) === 'delivered', 'the due retry delivered');
    await whenPublished('DeliveryDelivered', DELIVERY, mark);

    // Assess
    expect(sent.status).toBe(202);
    expect(total('EventsAccepted', API, mark)).toBe(1);
    expect(total('DeliveriesQueued', API, mark)).toBe(1);
    expect(total('DeliveryFailed', DELIVERY, mark)).toBe(1);
    expect(total('RetriesOutOfQueue', DELIVERY, mark)).toBe(1);
    expect(total('DueRetriesSent', SWEEPER, mark)).toBe(1);
    expect(total('DeliveryAttempts', DELIVERY, mark)).toBe(2);
    expect(total('DeliveryDelivered', DELIVERY, mark)).toBe(1);
    expect(published.slice(mark).filter((entry) => entry.name === 'AttemptDuration')).toHaveLength(2);
    expect(published.slice(mark).filter((entry) => entry.name === 'DeliveryLatency')).toHaveLength(1);
    expect(total('DeliveryDead', DELIVERY, mark)).toBe(0);
  }, 60_000);

  it('a dead delivery: its budget spent', async () => {
    // Prepare
    const mark = published.length;
    const target = await receiver(() => ({ status: 500, body: 'down' }));
    const endpointId = await endpointAt(target.url);

    // Act: three attempts, the two retries each sent by the sweep (the breaker opens only at
    // the third failure, so the last attempt is made).
    const id = (await send(endpointId)).body.deliveries[0]!.id;
    await sweepUntil(async () => (await statusOf(id)) === 'dead', 'dead');
    await whenPublished('DeliveryDead', DELIVERY, mark);

    // Assess
    // Every failed attempt counts as failed, the last one too; that one is also dead.
    expect(total('DeliveryFailed', DELIVERY, mark)).toBe(3);
    expect(total('DeliveryDead', DELIVERY, mark)).toBe(1);
    expect(total('DeliveryDelivered', DELIVERY, mark)).toBe(0);
  }, 60_000);

  it('an endpoint that keeps failing: its deliveries held while its circuit is open, its backlog released when it is re-enabled', async () => {
    // Prepare: three failures open the circuit (threshold 3, open for 10 minutes).
    const mark = published.length;
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 500, body: 'down' }));
    const endpointId = await endpointAt(target.url);
    const first = [
      await send(endpointId, { n: 0 }),
      await send(endpointId, { n: 1 }),
      await send(endpointId, { n: 2 }),
    ];
    await eventually(
      async () => {
        const { body } = await harness.api<{ circuitOpenUntil: string | null }>(
          'GET',
          `/endpoints/${endpointId}`,
        );
        return body.circuitOpenUntil ? true : undefined;
      },
      30_000,
      'the circuit open',
    );
    const heldBefore = total('HeldCircuitOpen', DELIVERY, mark);

    // Act 1: more events while it is open.
    const later = [await send(endpointId, { n: 3 }), await send(endpointId, { n: 4 })];
    await whenPublished('HeldCircuitOpen', DELIVERY, mark, heldBefore + 2);

    // Act 2: the receiver heals and the operator re-enables the endpoint.
    healthy = true;
    const releasedBefore = total('BacklogReleased', DELIVERY, mark);
    expect((await harness.api('PATCH', `/endpoints/${endpointId}`, { enabled: true })).status).toBe(200);
    const ids = [...first, ...later].map((sent) => sent.body.deliveries[0]!.id);
    let statuses: unknown[] = [];
    await sweepUntil(async () => {
      statuses = await Promise.all(ids.map(statusOf));
      return statuses.every((status) => status === 'delivered');
    }, 'every delivery delivered').catch((error: Error) => {
      throw new Error(`${error.message}; statuses at the end: ${JSON.stringify(statuses)}`);
    });

    // Assess
    expect(heldBefore).toBe(0);
    expect(total('HeldCircuitOpen', DELIVERY, mark)).toBeGreaterThanOrEqual(2);
    expect(releasedBefore).toBe(0);
    expect(total('BacklogReleased', DELIVERY, mark)).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('a slow answer: delivered, and counted as slow', async () => {
    // Prepare: a 200 after 7.7 s (slow is over half the 15 s request timeout).
    const mark = published.length;
    const target = await receiver(() => (response) => {
      setTimeout(() => {
        response.writeHead(200);
        response.end('slow');
      }, 7_700);
    });
    const endpointId = await endpointAt(target.url);

    // Act
    const id = (await send(endpointId)).body.deliveries[0]!.id;
    await eventually(
      async () => ((await statusOf(id)) === 'delivered' ? true : undefined),
      30_000,
      'delivered',
    );
    await whenPublished('DeliveryDelivered', DELIVERY, mark);

    // Assess
    expect(total('SlowAnswers', DELIVERY, mark)).toBe(1);
    expect(total('DeliveryFailed', DELIVERY, mark)).toBe(0);
  }, 60_000);

  it('a second copy of a delivered message: dropped, and counted as a suppressed duplicate', async () => {
    // Prepare: one delivered event, and the message the API sent for it.
    const mark = published.length;
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    const before = harness.calls.length;
    const id = (await send(endpointId)).body.deliveries[0]!.id;
    await eventually(
      async () => ((await statusOf(id)) === 'delivered' ? true : undefined),
      30_000,
      'delivered',
    );
    type Entry = { MessageBody: string; MessageGroupId?: string };
    const entries = harness.calls
      .slice(before)
      .filter((call: RecordedCall) => call.fn === 'api' && /^SendMessage(Batch)?Command$/.test(call.command))
      .flatMap((call) => (call.input.Entries as Entry[] | undefined) ?? [call.input as unknown as Entry])
      .filter((entry) => entry.MessageBody.includes(id));
    expect(entries).toHaveLength(1);

    // Act: SQS hands the same message over again.
    await harness.sqs.send(
      new SendMessageCommand({
        QueueUrl: harness.stack.resources.deliveryQueueUrl,
        MessageBody: entries[0]!.MessageBody,
        ...(entries[0]!.MessageGroupId ? { MessageGroupId: entries[0]!.MessageGroupId } : {}),
      }),
    );
    await whenPublished('DuplicateSuppressed', DELIVERY, mark);

    // Assess
    expect(total('DuplicateSuppressed', DELIVERY, mark)).toBe(1);
    expect(total('DeliveryAttempts', DELIVERY, mark)).toBe(1);
    expect(target.received).toHaveLength(1);
  }, 60_000);

  it('an event whose request died after the store: handed to the sweep by its check, left unsent once, then swept', async () => {
    // Prepare: the API "dies" after its event put (no message, no mark), and the sweep's first
    // sends fail too.
    const mark = published.length;
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    let sweepFails = true;
    harness.interceptors.push((call: RecordedCall) => {
      if (call.fn === 'api' && call.command === 'SendMessageBatchCommand') throw new Error('function died');
      if (
        call.fn === 'api' &&
        call.command === 'UpdateItemCommand' &&
        String(call.input.TableName).endsWith('-events')
      ) {
        throw new Error('function died');
      }
      if (sweepFails && call.fn === 'sweeper' && call.command === 'SendMessageBatchCommand') {
        throw new Error('injected SQS outage');
      }
    });
    const first = await send(endpointId, {}, { 'idempotency-key': `metrics-died-${Date.now()}` });
    expect(first.status).toBe(503);

    // Act 1: the event check (2 s here) waits out the lease (10 s), then hands the event over.
    await whenPublished('EventsHandedToSweep', DELIVERY, mark);
    const left = await harness.stack.sweep();

    // Act 2: SQS takes messages again.
    sweepFails = false;
    await sweepUntil(async () => target.received.length === 1, 'the swept event delivered');

    // Assess
    expect(total('EventsHandedToSweep', DELIVERY, mark)).toBe(1);
    expect(left).toMatchObject({ queued: 0, unsent: 1 });
    expect(total('EventsLeftUnsent', SWEEPER, mark)).toBe(1);
    expect(total('EventsSwept', SWEEPER, mark)).toBe(1);
  }, 60_000);
});
