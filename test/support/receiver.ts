/**
 * A programmable webhook receiver on 127.0.0.1 for integration tests: it records every
 * request and answers with whatever the test's behaviour function says.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';

export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** What to answer: a status (and optional body/headers), or a custom action on the raw response. */
export type Behaviour = (
  request: ReceivedWebhook,
  index: number,
) =>
  | { status: number; body?: string; headers?: Record<string, string> }
  | ((response: ServerResponse) => void);

export interface TestReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  behave(behaviour: Behaviour): void;
  /** Resolves once `count` requests arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export async function startReceiver(
  initial: Behaviour = () => ({ status: 200, body: 'ok' }),
): Promise<TestReceiver> {
  let behaviour = initial;
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const webhook = {
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(webhook);
      const answer = behaviour(webhook, received.length - 1);
      if (typeof answer === 'function') {
        answer(response);
        return;
      }
      response.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      response.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    behave: (next) => {
      behaviour = next;
    },
    waitFor: async (count, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `receiver got ${received.length} of ${count} expected requests within ${timeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return received.slice(0, count);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A test file's receivers: `start` starts one and keeps it; `closeAll` (its afterAll) closes them all. */
export function receiverPool(): { start: typeof startReceiver; closeAll: () => Promise<void> } {
  const started: TestReceiver[] = [];
  return {
    start: async (...args) => {
      const receiver = await startReceiver(...args);
      started.push(receiver);
      return receiver;
    },
    closeAll: async () => {
      await Promise.all(started.splice(0).map((receiver) => receiver.close()));
    },
  };
}
