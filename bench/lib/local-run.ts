/**
 * The whole product in local mode for the end-to-end sections: one moto server per service
 * (local/moto.ts, as `npm run local` starts them), the
 * local stack (local/local-stack.ts: the API handler behind an HTTP server, the delivery
 * handler fed by pollers), a receiver process with one endpoint pointing at it, and a
 * recorder on the product's SDK clients that attributes every command to the function that
 * sent it (the same `instrument` hook test/support/harness.ts uses) and times every handler
 * invocation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { retryPolicyFromEnv } from '../../lambdas/core/config.ts';
import { type LocalFunction, type LocalStack, startLocalStack } from '../../local/local-stack.ts';
import { type MotoServers, startMotoPerService } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { progress } from './log.ts';
import { invoiceEvent } from './payloads.ts';
import { type Receiver, startReceiver } from './receiver.ts';
import { recordCommands, type SdkCall } from './sdk-hooks.ts';
import { sleep } from './stats.ts';

export type FunctionName = LocalFunction;

/** An SDK command and the function that sent it. */
export interface AttributedCall extends SdkCall {
  readonly fn: FunctionName;
}

export interface LocalRun {
  /** The emulators, one per service: `moto.endpoints.sqs`, `.dynamodb`, `.secretsManager`. */
  readonly moto: MotoServers;
  readonly stack: LocalStack;
  readonly receiver: Receiver;
  readonly endpointId: string;
  /** Commands sent while recording, in order. */
  readonly calls: AttributedCall[];
  /**
   * Handler invocation durations (ms) while recording. The authorizer runs as `api` (its calls
   * are the API's) but is another function, invoked once per key per cache period: its
   * invocations are kept apart in `authorizerDurations`.
   */
  readonly durations: Record<FunctionName, number[]>;
  readonly authorizerDurations: number[];
  /** Runs `run` as an invocation of `fn`: its SDK calls attributed to `fn`, its duration recorded. */
  invoke<T>(fn: FunctionName, run: () => T): T;
  /** Turns recording of calls and durations on or off. */
  record(on: boolean): void;
  /** POST /events with a ~1 KB event; resolves with the status and event id. */
  sendEvent(seq: number): Promise<{ status: number; id?: string; respondedAt: number }>;
  /** POST /events/batch with one ~1 KB event per `seqs` entry; resolves with each event's status and id. */
  sendBatch(seqs: readonly number[]): Promise<Array<{ status: number; id?: string }>>;
  /** Messages visible or in flight in the delivery queue. */
  queueDepth(): Promise<number>;
  stop(): Promise<void>;
}

const API_KEY = 'whk_bench-local-key';

export async function startLocalRun(options: { section: string; pollers: number }): Promise<LocalRun> {
  progress(options.section, 'starting moto (one server per service)');
  const moto = await startMotoPerService();
  const receiver = await startReceiver({ ports: 1, record: true });
  const actor = new AsyncLocalStorage<FunctionName>();
  const calls: AttributedCall[] = [];
  const durations: Record<FunctionName, number[]> = { api: [], pages: [], delivery: [], sweeper: [] };
  const authorizerDurations: number[] = [];
  // The authorizer's answer (a simple response) tells its invocations from the API's.
  const isAuthorizerAnswer = (value: unknown) =>
    typeof value === 'object' && value !== null && 'isAuthorized' in value;
  let recording = false;

  const timed = <T>(fn: FunctionName, run: () => T): T => {
    if (!recording) return run();
    const started = performance.now();
    const result = run();
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          (isAuthorizerAnswer(value) ? authorizerDurations : durations[fn]).push(performance.now() - started);
          return value;
        },
        (error) => {
          durations[fn].push(performance.now() - started);
          throw error;
        },
      ) as T;
    }
    return result;
  };
  progress(options.section, `starting the local stack (${options.pollers} pollers)`);
  const stack = await startLocalStack({
    endpoint: moto.endpoints,
    apiKey: API_KEY,
    policy: retryPolicyFromEnv({}),
    port: 0,
    prefix: 'bench',
    pollers: options.pollers,
    instrument: (fn, run) => actor.run(fn, () => timed(fn, run)),
    onPollError: (error) => progress(options.section, `poller error: ${error.message}`),
  });
  // The same module instance the handlers imported, so these are the clients they use.
  const { allClients } = await import('../../lambdas/adapters/clients.ts');
  recordCommands(allClients, (call) => {
    const fn = actor.getStore();
    if (!fn || !recording) return false;
    calls.push(Object.assign(call, { fn }));
    return true;
  });

  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const post = (path: string, body: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown>; respondedAt: number }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const request = http.request(`${stack.apiUrl}${path}`, {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(payload)),
        },
      });
      request.on('error', reject);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const respondedAt = performance.timeOrigin + performance.now();
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : {}, respondedAt });
        });
      });
      request.end(payload);
    });

  const created = await post('/endpoints', { url: `http://127.0.0.1:${receiver.ports[0]}/webhooks` });
  if (created.status !== 201) throw new Error(`POST /endpoints answered ${created.status}`);
  const sqs = new SQSClient({
    endpoint: moto.endpoints.sqs,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
  });

  return {
    moto,
    stack,
    receiver,
    endpointId: String(created.body.id),
    calls,
    durations,
    authorizerDurations,
    invoke: (fn, run) => actor.run(fn, () => timed(fn, run)),
    record: (on) => {
      recording = on;
    },
    sendEvent: async (seq) => {
      const answer = await post('/events', invoiceEvent(seq));
      return {
        status: answer.status,
        ...(typeof answer.body.id === 'string' ? { id: answer.body.id } : {}),
        respondedAt: answer.respondedAt,
      };
    },
    sendBatch: async (seqs) => {
      const answer = await post('/events/batch', { events: seqs.map((seq) => invoiceEvent(seq)) });
      if (answer.status !== 200) throw new Error(`POST /events/batch answered ${answer.status}`);
      return answer.body.items as Array<{ status: number; id?: string }>;
    },
    queueDepth: async () => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.resources.deliveryQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    stop: async () => {
      agent.destroy();
      sqs.destroy();
      await stack.stop();
      await receiver.stop();
      await moto.stop();
    },
  };
}

/** Sends `count` events with `concurrency` requests in flight; throws on any non-202. */
export async function sendClosedLoop(
  run: LocalRun,
  first: number,
  count: number,
  concurrency: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next = first;
  const end = first + count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < end) {
        const answer = await run.sendEvent(next++);
        if (answer.status !== 202 || !answer.id) throw new Error(`POST /events answered ${answer.status}`);
        ids.push(answer.id);
      }
    }),
  );
  return ids;
}

/**
 * Collects arrivals at the receiver until every id in `ids` has arrived, or the time is up.
 * Deliveries of an id already seen (at-least-once duplicates) are counted in `stats`.
 */
export async function awaitArrivals(
  run: LocalRun,
  ids: readonly string[],
  timeoutMs: number,
  seen: Map<string, number> = new Map(),
  stats: { duplicates: number } = { duplicates: 0 },
): Promise<Map<string, number>> {
  const wanted = new Set(ids);
  let missing = [...wanted].filter((id) => !seen.has(id)).length;
  const deadline = Date.now() + timeoutMs;
  // At least one round, so that a call with nothing missing still collects late arrivals.
  do {
    await sleep(100);
    for (const [id, at] of await run.receiver.arrivals()) {
      if (seen.has(id)) {
        stats.duplicates++;
      } else {
        seen.set(id, at);
        if (wanted.has(id)) missing--;
      }
    }
  } while (missing > 0 && Date.now() < deadline);
  return seen;
}

/** Waits until the delivery queue is empty (every message deleted), or the time is up. */
export async function awaitEmptyQueue(run: LocalRun, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await run.queueDepth()) === 0) return true;
    await sleep(200);
  }
  return false;
}

/**
 * How many requests per second the DynamoDB emulator serves on this machine right now: PutItem
 * of a 1 KB item with 8 in flight for `seconds`, on a table of its own. DynamoDB takes most of
 * an event's emulator requests (each service has its own moto server), so local mode's
 * throughput ceiling is at most this divided by the DynamoDB requests one event costs.
 */
export async function probeMoto(run: LocalRun, seconds = 2): Promise<number> {
  const dynamo = new DynamoDBClient({
    endpoint: run.moto.endpoints.dynamodb,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
  });
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'bench-probe',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    let done = 0;
    const deadline = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < deadline) {
          await dynamo.send(
            new PutItemCommand({
              TableName: 'bench-probe',
              Item: { id: { S: `${done}-${Math.random()}` }, body: { S: 'x'.repeat(1000) } },
            }),
          );
          done++;
        }
      }),
    );
    return done / seconds;
  } finally {
    dynamo.destroy();
  }
}
