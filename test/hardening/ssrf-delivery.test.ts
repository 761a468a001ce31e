/**
 * The SSRF guard as the delivery path uses it: WebhookSender with an injected resolver that
 * maps made-up names to loopback or to refused addresses. Refused addresses must be refused
 * before any connection (a recording server on 127.0.0.1 and the loopback tripwire both
 * watch), the resolver must be the only lookup, and each connection must go to exactly the
 * address that was checked. Nothing here connects anywhere but 127.0.0.1.
 */
import { createServer, request, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import { DeliveryError } from '../../lambdas/core/errors.ts';
import type { GuardOptions, Resolver } from '../../lambdas/core/ssrf.ts';
import { deliveryMessage, FakeSecrets, FakeStore, fakeWorker, seedEndpoint, sqsRecord } from './fakes.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

const SIGNED = { 'webhook-id': 'msg_test', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };

interface Recorder {
  readonly port: number;
  readonly connections: string[];
  readonly requests: Array<{ host: string | undefined; remoteAddress: string | undefined }>;
  /** Whether the server closes each connection after answering (forces a new connection). */
  closeAfterAnswer: boolean;
}

let tripwire: Tripwire;
let recorder: Recorder;
let server: Server;
const senders: WebhookSender[] = [];

beforeAll(async () => {
  tripwire = installLoopbackTripwire();
  const connections: string[] = [];
  const requests: Recorder['requests'] = [];
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push({ host: req.headers.host, remoteAddress: req.socket.remoteAddress });
      res.writeHead(200, recorder.closeAfterAnswer ? { connection: 'close' } : {});
      res.end('ok');
    });
  });
  server.on('connection', (socket) => connections.push(String(socket.remoteAddress)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  recorder = {
    port: address && typeof address === 'object' ? address.port : 0,
    connections,
    requests,
    closeAfterAnswer: false,
  };
});

afterEach(() => {
  recorder.connections.length = 0;
  recorder.requests.length = 0;
  recorder.closeAfterAnswer = false;
  expect(tripwire.stopped).toEqual([]);
});

afterAll(async () => {
  await Promise.all(senders.map((sender) => sender.close()));
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  tripwire?.uninstall();
});

/** A resolver answering from a table (or a sequence per name), counting its calls. */
function tableResolver(table: Record<string, Array<{ address: string; family: 4 | 6 }> | undefined>) {
  const calls: string[] = [];
  const resolver: Resolver = async (hostname) => {
    calls.push(hostname);
    return table[hostname] ?? [];
  };
  return { resolver, calls };
}

function senderWith(resolver: Resolver, guard: GuardOptions): WebhookSender {
  const sender = new WebhookSender({ guard, resolver, timeoutMs: 2000 });
  senders.push(sender);
  return sender;
}

async function postError(sender: WebhookSender, url: string): Promise<DeliveryError> {
  const outcome = await sender.post(url, SIGNED, '{}').then(
    (answer) => answer,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DeliveryError)) {
    throw new Error(`expected a DeliveryError, got ${JSON.stringify(outcome)}`);
  }
  return outcome;
}

describe('the loopback tripwire itself', () => {
  it('refuses a connection to an address it does not allow, before connecting', async () => {
    // Prepare: 127.0.0.2 is loopback too, so even a failing tripwire reaches nothing outside.
    const before = tripwire.stopped.length;

    // Act
    const error = await new Promise<Error>((resolve) => {
      const req = request({ host: '127.0.0.2', port: recorder.port, method: 'GET' });
      req.on('error', resolve);
      req.end();
    });

    // Assess
    expect(error.message).toMatch(/loopback tripwire/);
    expect(tripwire.stopped.splice(before)).toEqual([{ host: '127.0.0.2', address: '127.0.0.2' }]);
    expect(recorder.connections).toEqual([]);
  });

  it('refuses a name whose lookup answers an address it does not allow, before connecting', async () => {
    // Prepare
    const before = tripwire.stopped.length;
    const lookup = (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (options.all) callback(null, [{ address: '127.0.0.2', family: 4 }]);
      else callback(null, '127.0.0.2', 4);
    };

    // Act
    const error = await new Promise<Error>((resolve) => {
      const req = request({ host: 'elsewhere.test', port: recorder.port, method: 'GET', lookup } as never);
      req.on('error', resolve);
      req.end();
    });

    // Assess
    expect(error.message).toMatch(/loopback tripwire/);
    expect(tripwire.stopped.splice(before)).toEqual([{ host: 'elsewhere.test', address: '127.0.0.2' }]);
    expect(recorder.connections).toEqual([]);
  });
});

describe('names resolving to refused addresses', () => {
  it.each([
    ['private IPv4', 'internal.test', { address: '10.0.0.5', family: 4 as const }],
    ['the metadata address', 'metadata.test', { address: '169.254.169.254', family: 4 as const }],
    ['IPv4-mapped loopback', 'mapped.test', { address: '::ffff:127.0.0.1', family: 6 as const }],
    ['the IPv6 metadata address', 'imds6.test', { address: 'fd00:ec2::254', family: 6 as const }],
  ])('refuses %s with a permanent blocked_address before connecting', async (_, name, answer) => {
    // Prepare
    const { resolver, calls } = tableResolver({ [name]: [answer] });
    const sender = senderWith(resolver, { allowLoopback: false });

    // Act
    const error = await postError(sender, `http://${name}:${recorder.port}/hook`);

    // Assess
    expect(error.code).toBe('blocked_address');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(answer.address);
    expect(calls).toEqual([name]);
    expect(recorder.connections).toEqual([]);
    expect(tripwire.attempted).not.toContain(answer.address);
  });

  it('refuses a name when any one of its answers is refused, even with a loopback one first', async () => {
    // Prepare
    const { resolver, calls } = tableResolver({
      'mixed.test': [
        { address: '127.0.0.1', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
    });
    const sender = senderWith(resolver, { allowLoopback: true });

    // Act
    const error = await postError(sender, `http://mixed.test:${recorder.port}/hook`);

    // Assess
    expect(error).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(calls).toEqual(['mixed.test']);
    expect(recorder.connections).toEqual([]);
  });
});

describe('DNS answers that change between lookups', () => {
  it('connects each time to exactly the address the guard checked, with one lookup per connection', async () => {
    // Prepare: receiver.test rebinds from loopback to a private address and back. The server
    // closes every connection, so each request needs a fresh connection and a fresh lookup.
    recorder.closeAfterAnswer = true;
    const answers = ['127.0.0.1', '10.0.0.1', '127.0.0.1'];
    const calls: string[] = [];
    const resolver: Resolver = async (hostname) => {
      calls.push(hostname);
      const address = answers[calls.length - 1] ?? '10.0.0.1';
      return [{ address, family: 4 }];
    };
    const sender = senderWith(resolver, { allowLoopback: true });
    const url = `http://receiver.test:${recorder.port}/hook`;

    // Act
    const first = await sender.post(url, SIGNED, '{}');
    const second = await postError(sender, url);
    const third = await sender.post(url, SIGNED, '{}');

    // Assess
    expect(first.statusCode).toBe(200);
    expect(second).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(second.message).toContain('10.0.0.1');
    expect(third.statusCode).toBe(200);
    expect(calls).toEqual(['receiver.test', 'receiver.test', 'receiver.test']);
    expect(recorder.requests).toEqual([
      { host: `receiver.test:${recorder.port}`, remoteAddress: '127.0.0.1' },
      { host: `receiver.test:${recorder.port}`, remoteAddress: '127.0.0.1' },
    ]);
    expect(recorder.connections).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(tripwire.attempted).not.toContain('10.0.0.1');
  });
});

describe('blocked host names and literal addresses', () => {
  it.each(['api.webhooks.test', 'API.Webhooks.TEST', 'api.webhooks.test.'])(
    'refuses %s, a name in guard.blockedHosts, without resolving it',
    async (host) => {
      // Prepare: it would resolve to loopback, which this guard allows.
      const { resolver, calls } = tableResolver({ [host]: [{ address: '127.0.0.1', family: 4 }] });
      const sender = senderWith(resolver, { allowLoopback: true, blockedHosts: ['api.webhooks.test'] });

      // Act
      const error = await postError(sender, `http://${host}:${recorder.port}/hook`);

      // Assess
      expect(error).toMatchObject({ code: 'blocked_address', retryable: false });
      expect(calls).toEqual([]);
      expect(recorder.connections).toEqual([]);
    },
  );

  it.each([
    'http://[::1]:PORT/',
    'http://2130706433:PORT/',
    'http://0x7f.1:PORT/',
    'http://0177.0.0.1:PORT/',
    'http://127.1:PORT/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://[::ffff:7f00:1]:PORT/',
    'http://127.0.0.1.:PORT/',
    'http://localhost:PORT/',
  ])('refuses the loopback URL %s when loopback is not allowed', async (template) => {
    // Prepare: localhost is a name: the resolver answers it as the system would.
    const { resolver, calls } = tableResolver({ localhost: [{ address: '127.0.0.1', family: 4 }] });
    const sender = senderWith(resolver, { allowLoopback: false });

    // Act
    const error = await postError(sender, template.replace('PORT', String(recorder.port)));

    // Assess
    expect(error).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(calls.filter((name) => name !== 'localhost')).toEqual([]);
    expect(recorder.connections).toEqual([]);
  });

  it.each([
    'http://10.0.0.1:PORT/',
    'http://169.254.169.254:PORT/',
    'http://[fd00:ec2::254]:PORT/',
    'http://0xa9fea9fe:PORT/',
    'http://[::ffff:a9fe:a9fe]:PORT/',
    'http://100.64.0.1:PORT/',
    'http://0.0.0.0:PORT/',
  ])('refuses the internal literal %s even in local mode, without any lookup', async (template) => {
    // Prepare
    const { resolver, calls } = tableResolver({});
    const sender = senderWith(resolver, { allowLoopback: true });

    // Act
    const error = await postError(sender, template.replace('PORT', String(recorder.port)));

    // Assess
    expect(error).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(calls).toEqual([]);
    expect(recorder.connections).toEqual([]);
  });
});

describe('the worker and a blocked delivery', () => {
  it('records the delivery dead with the reason and dead-letters it instead of retrying', async () => {
    // Prepare
    const { resolver, calls } = tableResolver({
      'hooks.customer.test': [{ address: '169.254.169.254', family: 4 }],
    });
    const store = new FakeStore();
    const secrets = new FakeSecrets();
    const endpoint = seedEndpoint(store, secrets, `http://hooks.customer.test:${recorder.port}/hook`);
    const { worker, queue } = fakeWorker(senderWith(resolver, { allowLoopback: true }), { store, secrets });
    const record = sqsRecord(deliveryMessage(endpoint), { receiveCount: 1 });

    // Act
    const result = await worker.processBatch([record]);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(queue.deferred).toEqual([]);
    expect(queue.deadLettered).toEqual([record.body]);
    const outcome = store.outcomes.at(-1);
    expect(outcome?.status).toBe('dead');
    expect(outcome?.attempt.error).toMatch(/^blocked_address: .*169\.254\.169\.254.*metadata/);
    expect(store.attempts.at(-1)?.attempt.error).toBe(outcome?.attempt.error);
    expect(calls).toEqual(['hooks.customer.test']);
    expect(recorder.connections).toEqual([]);
  });
});
