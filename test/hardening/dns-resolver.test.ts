/**
 * The delivery function's DNS (lambdas/adapters/dns-resolver.ts) against a real c-ares channel:
 * every resolver here asks only a tiny DNS server on 127.0.0.1 (test/support/dns-server.ts),
 * so no query leaves the machine. It shows that A and AAAA are merged, that one missing family
 * is no error, that literals and localhost are never asked, that a name whose server never
 * answers fails at the lookup deadline with a retryable `dns_error`, and that such hung lookups
 * occupy no thread of libuv's threadpool: other names resolve and crypto work runs meanwhile.
 * Last, the worker: a batch where one endpoint's name hangs delivers the other endpoint's
 * message and records the hung one as a retryable failure.
 */
import { pbkdf2 } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSystemResolver,
  DnsLookupError,
  SECOND_FAMILY_GRACE_MS,
} from '../../lambdas/adapters/dns-resolver.ts';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import { DNS_LOOKUP_TIMEOUT_MS } from '../../lambdas/core/config.ts';
import { DeliveryError } from '../../lambdas/core/errors.ts';
import type { Resolver } from '../../lambdas/core/ssrf.ts';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { deliveryMessage, FakeSecrets, FakeStore, fakeWorker, seedEndpoint, sqsRecord } from './fakes.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

/**
 * Node starts a timer from the event loop's cached clock, which can be some milliseconds behind
 * performance.now() when the timer is set, so a deadline may seem to fire that much early.
 */
const TIMER_SLACK_MS = 50;

let dns: TestDnsServer;
let tripwire: Tripwire;
let receiver: TestReceiver;
const senders: WebhookSender[] = [];

beforeAll(async () => {
  tripwire = installLoopbackTripwire();
  dns = await startDnsServer({
    'both.test': { a: ['192.0.2.10', '192.0.2.11'], aaaa: ['2001:db8::10'] },
    'four.test': { a: ['192.0.2.20'] },
    'six.test': { aaaa: ['2001:db8::30'] },
    'receiver.test': { a: ['127.0.0.1'] },
    'hang.test': 'hang',
    'half.test': { a: ['192.0.2.40'], aaaa: 'hang' },
    'gone.test': 'nxdomain',
  });
  receiver = await startReceiver();
});

afterEach(() => {
  dns.questions.length = 0;
  receiver.received.length = 0;
  expect(tripwire.stopped).toEqual([]);
});

afterAll(async () => {
  await Promise.all(senders.map((sender) => sender.close()));
  await receiver?.close();
  await dns?.close();
  tripwire?.uninstall();
});

/** A resolver asking only the test server (never the system's). */
function testResolver(options: { deadlineMs?: number; queryTimeoutMs?: number; queryTries?: number } = {}) {
  return createSystemResolver({ ...options, servers: [dns.address] });
}

async function lookupError(resolver: Resolver, name: string): Promise<DnsLookupError> {
  const outcome = await resolver(name).then(
    (answers) => answers,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DnsLookupError))
    throw new Error(`expected a DnsLookupError, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Settles with how long `promise` took and whether it was still pending when `pending` was read. */
function timed<T>(promise: Promise<T>, started: number) {
  const state = { settled: false, ms: -1 };
  const done = promise.then(
    (value) => {
      state.settled = true;
      state.ms = performance.now() - started;
      return value;
    },
    (error: unknown) => {
      state.settled = true;
      state.ms = performance.now() - started;
      throw error;
    },
  );
  return { state, done };
}

describe('answers', () => {
  it('asks A and AAAA and merges them, IPv4 first', async () => {
    // Act
    const answers = await testResolver()('both.test');

    // Assess
    expect(answers).toEqual([
      { address: '192.0.2.10', family: 4 },
      { address: '192.0.2.11', family: 4 },
      { address: '2001:db8::10', family: 6 },
    ]);
    expect([...dns.questions].sort()).toEqual(['both.test/A', 'both.test/AAAA']);
  });

  it.each([
    ['four.test', [{ address: '192.0.2.20', family: 4 }]],
    ['six.test', [{ address: '2001:db8::30', family: 6 }]],
  ])('resolves %s, which has one family only (the other is NODATA)', async (name, expected) => {
    // Act
    const answers = await testResolver()(name);

    // Assess
    expect(answers).toEqual(expected);
    expect(dns.questions).toHaveLength(2);
  });

  it('fails a name that does not exist with ENOTFOUND, which the sender records as a retryable dns_error', async () => {
    // Prepare
    const sender = new WebhookSender({
      guard: { allowLoopback: true },
      resolver: testResolver(),
      timeoutMs: 2000,
    });
    senders.push(sender);

    // Act
    const error = await lookupError(testResolver(), 'gone.test');
    const delivery = await sender
      .post('http://gone.test/hook', {}, '{}')
      .catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ code: 'ENOTFOUND', hostname: 'gone.test' });
    expect(error.message).toBe('gone.test has no A or AAAA record (ENOTFOUND)');
    expect(delivery).toBeInstanceOf(DeliveryError);
    expect(delivery).toMatchObject({ code: 'dns_error', retryable: true, message: error.message });
  });

  it('answers with the A records when the AAAA query never comes back, after a short grace', async () => {
    // Prepare
    const started = performance.now();

    // Act
    const answers = await testResolver()('half.test');
    const elapsed = performance.now() - started;

    // Assess: it waited for the AAAA about the grace, not the deadline.
    expect(answers).toEqual([{ address: '192.0.2.40', family: 4 }]);
    expect(elapsed).toBeGreaterThanOrEqual(SECOND_FAMILY_GRACE_MS - TIMER_SLACK_MS);
    expect(elapsed).toBeLessThan(DNS_LOOKUP_TIMEOUT_MS);
  });

  it.each([
    ['127.0.0.1', [{ address: '127.0.0.1', family: 4 }]],
    ['2001:db8::1', [{ address: '2001:db8::1', family: 6 }]],
    [
      'localhost',
      [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    ],
    [
      'hooks.LOCALHOST.',
      [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    ],
  ])('answers %s itself, without a query (c-ares reads no /etc/hosts)', async (name, expected) => {
    // Act
    const answers = await testResolver()(name);

    // Assess
    expect(answers).toEqual(expected);
    expect(dns.questions).toEqual([]);
  });

  it('keeps localhost refused when loopback is not allowed, as /etc/hosts answering it did', async () => {
    // Prepare
    const sender = new WebhookSender({
      guard: { allowLoopback: false },
      resolver: testResolver(),
      timeoutMs: 2000,
    });
    senders.push(sender);
    const port = new URL(receiver.url).port;

    // Act
    const error = await sender
      .post(`http://localhost:${port}/hook`, {}, '{}')
      .catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(receiver.received).toEqual([]);
    expect(dns.questions).toEqual([]);
  });
});

describe('a name whose server never answers', () => {
  it(`fails at the ${DNS_LOOKUP_TIMEOUT_MS} ms deadline with ETIMEOUT, without waiting for c-ares`, async () => {
    // Prepare: c-ares alone would keep asking for about 10 s.
    const resolver = testResolver({ queryTimeoutMs: 5_000, queryTries: 2 });
    const started = performance.now();

    // Act
    const error = await lookupError(resolver, 'hang.test');
    const elapsed = performance.now() - started;

    // Assess
    expect(error).toMatchObject({ code: 'ETIMEOUT', hostname: 'hang.test' });
    expect(error.message).toBe(`DNS lookup of hang.test got no answer within ${DNS_LOOKUP_TIMEOUT_MS} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(DNS_LOOKUP_TIMEOUT_MS - TIMER_SLACK_MS);
    expect(elapsed).toBeLessThan(DNS_LOOKUP_TIMEOUT_MS + 1_000);
    expect(dns.questions).toEqual(expect.arrayContaining(['hang.test/A', 'hang.test/AAAA']));
  });

  it('holds no threadpool thread: with 8 hung lookups pending, another name resolves and crypto and fs work run', async () => {
    // Prepare: twice the threadpool's default 4 threads' worth of hung lookups, on one resolver.
    const resolver = testResolver();
    const started = performance.now();
    const hung = Array.from({ length: 8 }, (_, index) =>
      timed(lookupError(resolver, index % 2 === 0 ? 'hang.test' : 'HANG.test.'), started),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Act: each of these needs what 8 hung getaddrinfo calls would have taken.
    const lookupStarted = performance.now();
    const answers = await resolver('receiver.test');
    const lookupMs = performance.now() - lookupStarted;
    const cryptoStarted = performance.now();
    await new Promise<void>((resolve, reject) =>
      pbkdf2('secret', 'salt', 1_000, 32, 'sha256', (error) => (error ? reject(error) : resolve())),
    );
    const cryptoMs = performance.now() - cryptoStarted;
    await readFile(new URL(import.meta.url));
    const stillPending = hung.filter((lookup) => !lookup.state.settled).length;
    const errors = await Promise.all(hung.map((lookup) => lookup.done));

    // Assess: the prompt work finished while every hung lookup was still pending, and each of
    // those then failed at the deadline.
    console.info(
      `prompt lookup ${lookupMs.toFixed(1)} ms and pbkdf2 ${cryptoMs.toFixed(1)} ms with 8 hung lookups pending; ` +
        `hung lookups failed after ${Math.min(...hung.map((lookup) => lookup.state.ms)).toFixed(0)}-` +
        `${Math.max(...hung.map((lookup) => lookup.state.ms)).toFixed(0)} ms`,
    );
    expect(answers).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(stillPending).toBe(8);
    expect(lookupMs).toBeLessThan(500);
    expect(cryptoMs).toBeLessThan(500);
    for (const [index, error] of errors.entries()) {
      expect(error.code).toBe('ETIMEOUT');
      expect(hung[index]!.state.ms).toBeGreaterThanOrEqual(DNS_LOOKUP_TIMEOUT_MS - TIMER_SLACK_MS);
    }
    expect(
      dns.questions.filter((question) => question.startsWith('hang.test/')).length,
    ).toBeGreaterThanOrEqual(16);
  });

  it('resolves while every threadpool thread is busy (dns.lookup would wait behind them)', async () => {
    // Prepare: occupy every thread with long key derivations, then queue a short one behind them.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const resolver = testResolver();
    const started = performance.now();
    const derive = (iterations: number) =>
      new Promise<void>((resolve, reject) =>
        pbkdf2('secret', 'salt', iterations, 64, 'sha512', (error) => (error ? reject(error) : resolve())),
      );
    const busy = Array.from({ length: threads }, () => derive(400_000));
    const queuedBehind = timed(derive(1), started);

    // Act
    const lookup = timed(resolver('receiver.test'), started);
    const answers = await lookup.done;
    const queuedWasPending = !queuedBehind.state.settled;
    await Promise.all([...busy, queuedBehind.done]);

    // Assess: the lookup answered before a threadpool thread was free for the short derivation.
    expect(answers).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(queuedWasPending).toBe(true);
    expect(lookup.state.ms).toBeLessThan(queuedBehind.state.ms);
  });
});

describe('the worker with a hung name in the batch', () => {
  it('delivers to the endpoint that resolves and records the hung one as a retryable dns_error', async () => {
    // Prepare: two endpoints, one batch; hang.test's server never answers.
    const deadlineMs = 1_000;
    const sender = new WebhookSender({
      guard: { allowLoopback: true },
      resolver: testResolver({ deadlineMs }),
      timeoutMs: 5_000,
    });
    senders.push(sender);
    const port = new URL(receiver.url).port;
    const store = new FakeStore();
    const secrets = new FakeSecrets();
    const hungEndpoint = seedEndpoint(store, secrets, `http://hang.test:${port}/webhooks`);
    const healthyEndpoint = seedEndpoint(store, secrets, `http://receiver.test:${port}/webhooks`);
    const { worker, queue } = fakeWorker(sender, { store, secrets });
    const hungRecord = sqsRecord(deliveryMessage(hungEndpoint));
    const healthyRecord = sqsRecord(deliveryMessage(healthyEndpoint));
    const started = performance.now();

    // Act
    const result = await worker.processBatch([hungRecord, healthyRecord]);
    const elapsed = performance.now() - started;

    // Assess
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.headers.host).toBe(`receiver.test:${port}`);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: hungRecord.messageId }]);
    expect(queue.deferred).toEqual([{ receiptHandle: hungRecord.receiptHandle, seconds: 5 }]);
    expect(queue.deadLettered).toEqual([]);
    const outcomes = new Map(store.outcomes.map((outcome) => [outcome.endpointId, outcome]));
    expect(outcomes.get(healthyEndpoint.id)?.status).toBe('delivered');
    expect(outcomes.get(hungEndpoint.id)).toMatchObject({
      status: 'failed',
      attempt: { error: `dns_error: DNS lookup of hang.test got no answer within ${deadlineMs} ms` },
    });
    expect(elapsed).toBeGreaterThanOrEqual(deadlineMs - TIMER_SLACK_MS);
    expect(elapsed).toBeLessThan(5_000);
  });
});
