/**
 * Receivers that misbehave on purpose, on 127.0.0.1: the sender must give up on time, read a
 * bounded amount, never follow a redirect, and the worker must classify what happened (retry
 * with which delay, disable, dead-letter). The sender is the product's WebhookSender; the
 * worker runs over in-memory fakes (./fakes.ts) so the SQS side effects can be inspected.
 *
 * No upper bound on wall-clock time (two shared cores can stall anything): a deadline that
 * activity could stretch never ends against a receiver that trickles forever, so the test's
 * own timeout catches it, and what the receivers saw is counted.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HttpAnswer, WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import { DeliveryError } from '../../lambdas/core/errors.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { deliveryMessage, FakeSecrets, FakeStore, fakeWorker, seedEndpoint, sqsRecord } from './fakes.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

const TIMEOUT_MS = 800;
const EXCERPT_BYTES = 4096;
const SIGNED = { 'webhook-id': 'msg_test', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };

let tripwire: Tripwire;
let sender: WebhookSender;
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  tripwire = installLoopbackTripwire();
  sender = new WebhookSender({
    guard: { allowLoopback: true },
    timeoutMs: TIMEOUT_MS,
    excerptBytes: EXCERPT_BYTES,
  });
});

afterEach(() => {
  expect(tripwire.stopped).toEqual([]);
});

afterAll(async () => {
  await sender?.close();
  await Promise.all(closers.map((close) => close()));
  tripwire?.uninstall();
});

/** A raw TCP server on 127.0.0.1; `onSocket` decides what the "receiver" does. */
async function rawServer(onSocket: (socket: Socket) => void): Promise<{
  url: string;
  sockets: Socket[];
  /** Resolves once connection `index` was closed (by the sender: the server never closes it). */
  closed(index: number): Promise<void>;
}> {
  const sockets: Socket[] = [];
  const closings: Array<Promise<void>> = [];
  const server: NetServer = createNetServer((socket) => {
    sockets.push(socket);
    closings.push(new Promise((resolve) => socket.once('close', () => resolve())));
    socket.on('error', () => {});
    onSocket(socket);
    // Read (and drop) what the sender writes, so the sender's hang-up is seen as 'end'/'close'.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    sockets,
    closed: async (index) => {
      expect(sockets.length).toBeGreaterThan(index);
      await closings[index];
    },
  };
}

async function receiver(...args: Parameters<typeof startReceiver>): Promise<TestReceiver> {
  const started = await startReceiver(...args);
  closers.push(() => started.close());
  return started;
}

/** Posts and returns the answer or the DeliveryError, with the time it took. */
async function timedPost(url: string): Promise<{ result: HttpAnswer | DeliveryError; ms: number }> {
  const started = performance.now();
  const result = await sender.post(url, SIGNED, '{"type":"t","data":{}}').catch((error: unknown) => {
    if (error instanceof DeliveryError) return error;
    throw error;
  });
  return { result, ms: performance.now() - started };
}

describe('the sender against hostile receivers', () => {
  it('gives up with a retryable timeout on a receiver that accepts and never answers', async () => {
    // Prepare
    const silent = await rawServer(() => {});

    // Act
    const { result, ms } = await timedPost(silent.url);

    // Assess
    expect(result).toBeInstanceOf(DeliveryError);
    expect(result).toMatchObject({ code: 'timeout', retryable: true });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    await silent.closed(0);
  });

  it('holds one deadline for the whole answer when the headers trickle in a byte every 100 ms', async () => {
    // Prepare: the status line arrives, then one header byte at a time, forever.
    let written = 0;
    const trickle = await rawServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nX-Slow: ');
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write('a');
          written++;
        }, 100);
        socket.on('close', () => clearInterval(timer));
      });
    });

    // Act
    const { result, ms } = await timedPost(trickle.url);

    // Assess: the trickle never stops, so only a deadline for the whole answer ends this.
    expect(result).toMatchObject({ code: 'timeout', retryable: true });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(written).toBeGreaterThanOrEqual(3);
    await trickle.closed(0);
  });

  it('holds one deadline when a 200 arrives and its body trickles a byte every 100 ms', async () => {
    // Prepare: headers at once (status 200), then a chunked body that never ends.
    let written = 0;
    const trickle = await rawServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write('1\r\nx\r\n');
          written++;
        }, 100);
        socket.on('close', () => clearInterval(timer));
      });
    });

    // Act
    const { result, ms } = await timedPost(trickle.url);

    // Assess: an answer that never completes is no answer, whatever its status line said;
    // the bytes that kept coming did not stretch the deadline.
    expect(result).toMatchObject({ code: 'timeout', retryable: true });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(written).toBeGreaterThanOrEqual(3);
    await trickle.closed(0);
  });

  it('keeps only excerptBytes of a 50 MB body and drops the connection long before the end', async () => {
    // Prepare: 50 MB announced and streamed from one reused 64 KiB chunk, following
    // backpressure, so the server side holds almost nothing in memory.
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'z');
    let sent = 0;
    let closed!: () => void;
    const closedEarly = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server: HttpServer = createHttpServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
      const pump = (): void => {
        while (sent < total && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (sent >= total) response.end();
      };
      response.on('close', () => closed());
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    closers.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const address = server.address();
    const url = `http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}/big`;

    // Act
    const { result } = await timedPost(url);
    await closedEarly;

    // Assess
    const answer = result as HttpAnswer;
    expect(answer.statusCode).toBe(200);
    expect(Buffer.byteLength(answer.excerpt)).toBeLessThanOrEqual(EXCERPT_BYTES);
    expect(answer.excerpt).toMatch(/^z+$/);
    // The server saw the connection go long before it could write everything: what was read
    // is bounded by the excerpt and the sockets' buffers, not by the body.
    expect(sent).toBeLessThan(total / 4);
  });

  it('reports a retryable connection error when the receiver drops the connection mid-response', async () => {
    // Prepare: headers promise 1000 bytes, ten arrive, then the connection is reset.
    const dropper = await rawServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789', () => {
          setTimeout(() => socket.resetAndDestroy(), 20);
        });
      });
    });

    // Act
    const { result } = await timedPost(dropper.url);

    // Assess: told apart from a timeout by its code, not by how long it took.
    expect(result).toMatchObject({ code: 'connection_error', retryable: true });
  });

  it('reports a retryable connection error when the receiver hangs up before answering', async () => {
    // Prepare
    const hangUp = await rawServer((socket) => {
      socket.once('data', () => socket.destroy());
    });

    // Act
    const { result } = await timedPost(hangUp.url);

    // Assess
    expect(result).toMatchObject({ code: 'connection_error', retryable: true });
  });

  it('does not follow a 302 to another server', async () => {
    // Prepare
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));

    // Act
    const { result } = await timedPost(redirecting.url);

    // Assess: the answer is the 302 itself, so the sender did not go on to the Location.
    expect(result).toMatchObject({ statusCode: 302 });
    expect(redirecting.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });
});

describe('the worker classifying hostile answers', () => {
  const POLICY = { scheduleSeconds: [5, 10, 30], maxAttempts: 4 };

  /** A delivery that has failed `attempts` times in its current schedule. */
  function seedAttempts(store: FakeStore, message: ReturnType<typeof deliveryMessage>, attempts: number) {
    store.deliveries.set(message.deliveryId, {
      endpointId: message.endpointId,
      id: message.deliveryId,
      eventId: message.eventId,
      eventType: message.eventType,
      createdAtMs: message.createdAtMs,
      status: 'failed',
      attempts,
    });
  }

  function setup(url: string, policy = POLICY) {
    const store = new FakeStore();
    const secrets = new FakeSecrets();
    const endpoint = seedEndpoint(store, secrets, url);
    const worker = fakeWorker(sender, { store, secrets, policy });
    return { ...worker, endpoint };
  }

  it('treats a 302 as a retryable failure and never asks the Location', async () => {
    // Prepare
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const { worker, store, queue, endpoint } = setup(redirecting.url);
    const record = sqsRecord(deliveryMessage(endpoint));

    // Act
    const result = await worker.processBatch([record]);

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(store.outcomes.at(-1)).toMatchObject({
      status: 'failed',
      attempt: { statusCode: 302, error: 'redirect 302 not followed' },
    });
    expect(queue.deferred).toEqual([{ receiptHandle: record.receiptHandle, seconds: 5 }]);
    expect(queue.deadLettered).toEqual([]);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('honours 429 Retry-After: 7 with a visibility delay of at least 7 s', async () => {
    // Prepare: the schedule would retry at once; the receiver asks for 7 s.
    const limited = await receiver(() => ({ status: 429, headers: { 'retry-after': '7' } }));
    const { worker, store, queue, endpoint } = setup(limited.url, {
      scheduleSeconds: [0, 10, 30],
      maxAttempts: 4,
    });
    const record = sqsRecord(deliveryMessage(endpoint));
    const started = Date.now();

    // Act
    const result = await worker.processBatch([record]);

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(queue.deferred).toHaveLength(1);
    expect(queue.deferred[0]!.seconds).toBeGreaterThanOrEqual(7);
    expect(queue.deferred[0]!.seconds).toBeLessThanOrEqual(30);
    const next = Date.parse(store.outcomes.at(-1)?.nextAttemptAt ?? '');
    expect(next - started).toBeGreaterThanOrEqual(7000);
  });

  it('disables the endpoint on 410 Gone and dead-letters the message instead of retrying', async () => {
    // Prepare
    const gone = await receiver(() => ({ status: 410, body: 'no such hook' }));
    const { worker, store, queue, endpoint } = setup(gone.url);
    const record = sqsRecord(deliveryMessage(endpoint));

    // Act
    const result = await worker.processBatch([record]);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(store.endpointUpdates).toContainEqual({
      id: endpoint.id,
      set: expect.objectContaining({ enabled: false }),
    });
    expect(store.endpoints.get(endpoint.id)?.enabled).toBe(false);
    expect(queue.deadLettered).toEqual([record.body]);
    expect(queue.deferred).toEqual([]);
    expect(store.outcomes.at(-1)).toMatchObject({ status: 'dead', attempt: { statusCode: 410 } });
    expect(gone.received).toHaveLength(1);
  });

  it.each([
    [1, 5],
    [2, 10],
    [3, 30],
  ])('retries a 500 on attempt %i after the schedule delay of %i s', async (attempt, seconds) => {
    // Prepare: the delivery's record says how many attempts were made; receives do not count.
    const failing = await receiver(() => ({ status: 500, body: 'boom' }));
    const { worker, store, queue, endpoint } = setup(failing.url);
    const message = deliveryMessage(endpoint);
    if (attempt > 1) seedAttempts(store, message, attempt - 1);
    const record = sqsRecord(message, { receiveCount: 20 });

    // Act
    const result = await worker.processBatch([record]);

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(queue.deferred).toEqual([{ receiptHandle: record.receiptHandle, seconds }]);
    expect(queue.deadLettered).toEqual([]);
    expect(store.outcomes.at(-1)).toMatchObject({
      status: 'failed',
      attempt: { statusCode: 500, error: 'receiver error 500', responseExcerpt: 'boom' },
    });
  });

  it('marks a 500 on the last attempt of the budget dead and parks it in the DLQ itself', async () => {
    // Prepare
    const failing = await receiver(() => ({ status: 500 }));
    const { worker, store, queue, endpoint } = setup(failing.url);
    const message = deliveryMessage(endpoint);
    seedAttempts(store, message, POLICY.maxAttempts - 1);
    const record = sqsRecord(message, { receiveCount: 1 });

    // Act
    const result = await worker.processBatch([record]);

    // Assess: recorded dead and copied to the DLQ now; the original is deleted (no batch failure),
    // so the records never depend on a later receive that might not reach the worker.
    expect(result.batchItemFailures).toEqual([]);
    expect(queue.deferred).toEqual([]);
    expect(queue.deadLettered).toEqual([record.body]);
    expect(store.outcomes.at(-1)).toMatchObject({ status: 'dead' });
  });
});
