/**
 * lambdas/adapters/http-sender.ts and dns-resolver.ts, on loopback only: what a POST carries,
 * what the answer keeps, when a pooled connection is reused or dropped, how each lookup failure
 * becomes a DeliveryError, what the URL precheck remembers, and how the c-ares resolver words
 * each failure (a test DNS server on 127.0.0.1, and a stub that answers SERVFAIL). Written to
 * kill the modules' Stryker mutants (docs/mutation-testing.md).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { getDefaultAutoSelectFamily, type Socket, setDefaultAutoSelectFamily } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSystemResolver, DnsLookupError } from '../../lambdas/adapters/dns-resolver.ts';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import { DeliveryError } from '../../lambdas/core/errors.ts';
import { BlockedAddressError, type Resolver } from '../../lambdas/core/ssrf.ts';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.ts';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A loopback server that records requests and counts the TCP connections it was given. */
let server: Server;
let port = 0;
let connections = 0;
const seen: Seen[] = [];
let answer: (response: ServerResponse) => void = (response) => response.end('ok');

let dns: TestDnsServer;
let servfail: UdpSocket;
let servfailAddress = '';
const senders: WebhookSender[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      answer(response);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;

  dns = await startDnsServer({
    'nodata.test': {},
    'four.test': { a: ['192.0.2.20'] },
    'hang.test': 'hang',
  });
  // A server that answers SERVFAIL (a broken authoritative server): every question, but for
  // names with `aaaa-nodata` only A and with `a-nodata` only AAAA (the other gets NODATA).
  servfail = createSocket('udp4');
  servfail.on('message', (message: Buffer, peer: RemoteInfo) => {
    let end = 12;
    while (end < message.length && message[end] !== 0) end += (message[end] as number) + 1;
    const type = message.readUInt16BE(end + 1);
    const name = message.subarray(12, end).toString('latin1');
    const header = Buffer.alloc(12);
    message.copy(header, 0, 0, 2);
    // `aaaa-nodata`: A fails, AAAA has no record; `a-nodata`: the other way round. (`name` still
    // holds the labels' length bytes, hence `includes`.)
    const fail = name.includes('aaaa-nodata') ? type === 1 : name.includes('a-nodata') ? type !== 1 : true;
    header.writeUInt16BE(0x8180 | (fail ? 2 : 0), 2);
    header.writeUInt16BE(1, 4);
    servfail.send(Buffer.concat([header, message.subarray(12, end + 5)]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => servfail.bind(0, '127.0.0.1', () => resolve()));
  servfailAddress = `127.0.0.1:${servfail.address().port}`;
});

afterEach(() => {
  seen.length = 0;
  answer = (response) => response.end('ok');
});

afterAll(async () => {
  await Promise.all(senders.map((sender) => sender.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await dns?.close();
  servfail?.close();
});

/** A sender allowed to reach loopback, resolving names with `resolver` (the loopback server by default). */
function sender(
  options: { resolver?: Resolver; excerptBytes?: number; timeoutMs?: number; blockedHosts?: string[] } = {},
) {
  const created = new WebhookSender({
    guard: { allowLoopback: true, ...(options.blockedHosts ? { blockedHosts: options.blockedHosts } : {}) },
    resolver: options.resolver ?? (async () => [{ address: '127.0.0.1', family: 4 }]),
    ...(options.excerptBytes === undefined ? {} : { excerptBytes: options.excerptBytes }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  senders.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const outcome = await promise.then(
    (value) => value,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DeliveryError))
    throw new Error(`expected a DeliveryError, got ${String(outcome)}`);
  return outcome;
}

describe('WebhookSender: the request', () => {
  it('POSTs the body as JSON with its UTF-8 length and our user agent; the caller adds or replaces headers', async () => {
    // Act
    await sender().post(`http://hooks.test:${port}/in?x=1`, { 'webhook-id': 'msg_1' }, '{"name":"é"}');
    await sender().post(
      `http://127.0.0.1:${port}/in`,
      { 'user-agent': 'theirs', 'content-type': 'text/plain' },
      'x',
    );

    // Assess
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/in?x=1', body: '{"name":"é"}' });
    expect(seen[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': '13',
      'user-agent': 'aws-serverless-webhooks/0.1',
      'webhook-id': 'msg_1',
      host: `hooks.test:${port}`,
    });
    expect(seen[1]?.headers).toMatchObject({ 'user-agent': 'theirs', 'content-type': 'text/plain' });
  });

  it('connects to the address the lookup checked when Node asks for one address, not all', async () => {
    // Prepare: without family autoselection, Node's lookup asks for a single address.
    const before = getDefaultAutoSelectFamily();
    setDefaultAutoSelectFamily(false);
    try {
      // Act
      const answered = await sender().post(`http://single.test:${port}/one`, {}, '{}');

      // Assess
      expect(answered.statusCode).toBe(200);
      expect(seen.map((request) => request.path)).toEqual(['/one']);
    } finally {
      setDefaultAutoSelectFamily(before);
    }
  });
});

describe('WebhookSender: the answer', () => {
  it('keeps the status, the Retry-After header when there is one, and the first excerptBytes of the body', async () => {
    // Prepare
    answer = (response) => {
      response.writeHead(503, { 'retry-after': '120' });
      response.end('é'.repeat(10));
    };
    const started = performance.now();

    // Act
    const answered = await sender({ excerptBytes: 6 }).post(`http://127.0.0.1:${port}/`, {}, '{}');
    const elapsed = performance.now() - started;
    answer = (response) => response.end('short');
    const plain = await sender().post(`http://127.0.0.1:${port}/`, {}, '{}');

    // Assess
    expect(answered).toMatchObject({ statusCode: 503, retryAfter: '120', excerpt: 'ééé' });
    expect(answered.durationMs).toBeGreaterThanOrEqual(0);
    expect(answered.durationMs).toBeLessThanOrEqual(Math.ceil(elapsed));
    expect(plain).toMatchObject({ statusCode: 200, excerpt: 'short' });
    expect(plain).not.toHaveProperty('retryAfter');
  });

  it('reuses the connection after a whole answer, and drops it once excerptBytes were read', async () => {
    // Prepare
    const client = sender({ excerptBytes: 8 });
    const post = () => client.post(`http://127.0.0.1:${port}/`, {}, '{}');
    answer = (response) => response.end('1234567');
    await post();
    const afterFirst = connections;

    // Act / Assess: a body under the limit is read to its end; the connection stays pooled.
    await post();
    expect(connections).toBe(afterFirst);
    // A body of exactly the limit is all the excerpt keeps: the connection goes.
    answer = (response) => response.end('12345678');
    expect((await post()).excerpt).toBe('12345678');
    await post();
    expect(connections).toBe(afterFirst + 1);
  });
});

describe('WebhookSender: failures', () => {
  const rejectWith =
    (error: unknown): Resolver =>
    () =>
      Promise.reject(error);
  const url = 'http://receiver.test:1/';

  it.each([
    ['ETIMEDOUT', 'timeout', 'no complete answer within 900 ms'],
    ['ENOTFOUND', 'dns_error', 'could not resolve the host (ENOTFOUND)'],
    ['EAI_AGAIN', 'dns_error', 'could not resolve the host (EAI_AGAIN)'],
    ['ECONNRESET', 'connection_error', 'ECONNRESET: lookup went wrong'],
  ])('a lookup failing with %s is a retryable %s', async (code, expected, message) => {
    const error = await failure(
      sender({
        resolver: rejectWith(Object.assign(new Error('lookup went wrong'), { code })),
        timeoutMs: 900,
      }).post(url, {}, '{}'),
    );
    expect(error).toMatchObject({ code: expected, message, retryable: true });
  });

  it('a name with no address is a retryable dns_error', async () => {
    const error = await failure(sender({ resolver: async () => [] }).post(url, {}, '{}'));
    expect(error).toMatchObject({
      code: 'dns_error',
      message: 'could not resolve the host (dns_no_answer)',
      retryable: true,
    });
  });

  it("a c-ares failure is a retryable dns_error with the resolver's words", async () => {
    const error = await failure(
      sender({
        resolver: rejectWith(
          new DnsLookupError('ESERVFAIL', 'x.test', 'DNS lookup of x.test failed (ESERVFAIL)'),
        ),
      }).post(url, {}, '{}'),
    );
    expect(error).toMatchObject({
      code: 'dns_error',
      message: 'DNS lookup of x.test failed (ESERVFAIL)',
      retryable: true,
    });
  });

  it('an error without a code keeps its message; one without a message is written out', async () => {
    expect(
      await failure(sender({ resolver: rejectWith(new Error('plain')) }).post(url, {}, '{}')),
    ).toMatchObject({
      code: 'connection_error',
      message: 'plain',
      retryable: true,
    });
    const odd = { toString: () => 'odd failure' };
    expect(await failure(sender({ resolver: rejectWith(odd) }).post(url, {}, '{}'))).toMatchObject({
      code: 'connection_error',
      message: 'odd failure',
    });
  });

  it('a name resolving to a refused address is a permanent blocked_address, found up to four causes deep', async () => {
    // Prepare
    const nested = (depth: number): Error => {
      let error: Error = new BlockedAddressError('deep refusal');
      for (let level = 0; level < depth; level++) error = new Error(`wrapper ${level}`, { cause: error });
      return error;
    };

    // Act
    const resolved = await failure(
      sender({ resolver: async () => [{ address: '10.1.2.3', family: 4 }] }).post(url, {}, '{}'),
    );
    const fourDeep = await failure(sender({ resolver: rejectWith(nested(4)) }).post(url, {}, '{}'));
    const fiveDeep = await failure(sender({ resolver: rejectWith(nested(5)) }).post(url, {}, '{}'));

    // Assess
    expect(resolved).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(resolved.message).toContain('receiver.test resolves to 10.1.2.3');
    expect(fourDeep).toMatchObject({ code: 'blocked_address', message: 'deep refusal', retryable: false });
    expect(fiveDeep).toMatchObject({ code: 'connection_error', message: 'wrapper 4', retryable: true });
  });

  it('a receiver that never answers fails at the deadline as a retryable timeout, and its connection is closed', async () => {
    // Prepare
    let hung: Socket | undefined;
    answer = (response) => {
      hung = response.socket ?? undefined;
    };

    // Act
    const error = await failure(sender({ timeoutMs: 300 }).post(`http://127.0.0.1:${port}/`, {}, '{}'));

    // Assess: the sender hung up (the receiver's side of the connection closes).
    expect(error).toMatchObject({
      code: 'timeout',
      message: 'no complete answer within 300 ms',
      retryable: true,
    });
    expect(hung).toBeDefined();
    if (!hung?.destroyed) await new Promise((resolve) => hung?.once('close', resolve));
    expect(hung?.destroyed).toBe(true);
  });
});

describe('WebhookSender: the precheck', () => {
  it('refuses a blocked literal or host before any lookup, and remembers the refusal per URL', async () => {
    // Prepare
    let lookups = 0;
    const client = sender({
      resolver: async () => {
        lookups += 1;
        return [{ address: '127.0.0.1', family: 4 }];
      },
      blockedHosts: ['api.internal.test'],
    });

    // Act
    const literal = await failure(client.post('http://10.0.0.1/hook', {}, '{}'));
    const again = await failure(client.post('http://10.0.0.1/hook', {}, '{}'));
    const host = await failure(client.post('http://API.internal.test./hook', {}, '{}'));
    const allowed = await client.post(`http://allowed.test:${port}/`, {}, '{}');

    // Assess
    expect(literal).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(again).toBe(literal);
    expect(host).toMatchObject({ code: 'blocked_address', retryable: false });
    expect(allowed.statusCode).toBe(200);
    expect(lookups).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it('forgets every remembered URL when a 1001st would be added', async () => {
    // Prepare
    const client = sender();
    const first = await failure(client.post('http://10.0.0.1/first', {}, '{}'));
    for (let n = 0; n < 999; n++)
      await failure(client.post(`http://10.0.${Math.floor(n / 250)}.${n % 250}/other`, {}, '{}'));

    // Act / Assess: 1000 remembered, the first among them.
    expect(await failure(client.post('http://10.0.0.1/first', {}, '{}'))).toBe(first);
    await failure(client.post('http://10.9.9.9/one-more', {}, '{}'));
    const after = await failure(client.post('http://10.0.0.1/first', {}, '{}'));
    expect(after).not.toBe(first);
    expect(after).toMatchObject({ code: 'blocked_address' });
  });
});

describe('the c-ares resolver', () => {
  const ask = (name: string, servers = [dns.address], deadlineMs?: number) =>
    createSystemResolver({ servers, ...(deadlineMs === undefined ? {} : { deadlineMs }) })(name).then(
      (answers) => answers,
      (error: unknown) => error,
    );

  it('answers literals (a trailing dot dropped) without any name server, even the system default', async () => {
    expect(await createSystemResolver()('192.0.2.1.')).toEqual([{ address: '192.0.2.1', family: 4 }]);
    expect(await createSystemResolver()('2001:DB8::1')).toEqual([{ address: '2001:db8::1', family: 6 }]);
    expect(await ask('LocalHost..')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(dns.questions).toEqual([]);
  });

  it('asks the name as written', async () => {
    dns.questions.length = 0;
    expect(await ask('FOUR.test')).toEqual([{ address: '192.0.2.20', family: 4 }]);
    expect([...dns.questions].sort()).toEqual(['four.test/A', 'four.test/AAAA']);
  });

  it('words a name with no record of either family as ENODATA', async () => {
    const error = (await ask('nodata.test')) as DnsLookupError;
    expect(error).toBeInstanceOf(DnsLookupError);
    expect(error).toMatchObject({ code: 'ENODATA', hostname: 'nodata.test', name: 'DnsLookupError' });
    expect(error.message).toBe('nodata.test has no A or AAAA record (ENODATA)');
  });

  it('prefers a real failure (SERVFAIL) to "no such record", whichever family had it', async () => {
    const both = (await ask('broken.test', [servfailAddress])) as DnsLookupError;
    const oneFamily = (await ask('aaaa-nodata.test', [servfailAddress])) as DnsLookupError;
    const otherFamily = (await ask('a-nodata.test', [servfailAddress])) as DnsLookupError;
    expect(otherFamily).toMatchObject({
      code: 'ESERVFAIL',
      message: 'DNS lookup of a-nodata.test failed (ESERVFAIL)',
    });
    expect(both).toMatchObject({
      code: 'ESERVFAIL',
      message: 'DNS lookup of broken.test failed (ESERVFAIL)',
    });
    expect(oneFamily).toMatchObject({
      code: 'ESERVFAIL',
      hostname: 'aaaa-nodata.test',
      message: 'DNS lookup of aaaa-nodata.test failed (ESERVFAIL)',
    });
  });

  it('fails at its deadline, saying so, when the server never answers', async () => {
    const error = (await ask('hang.test', [dns.address], 300)) as DnsLookupError;
    expect(error).toMatchObject({
      code: 'ETIMEOUT',
      hostname: 'hang.test',
      message: 'DNS lookup of hang.test got no answer within 300 ms',
    });
  });
});
