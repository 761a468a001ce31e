/**
 * Chaos run: the whole product on moto (the test harness's local stack: real handlers, real
 * SQS and DynamoDB semantics) delivering to receivers on 127.0.0.1 that fail at random
 * (500, 503 and 429 with Retry-After, redirects, dropped connections, slow answers), with a
 * compressed retry schedule and a small attempt budget so that some deliveries die.
 *
 * 1. Send N events, each to one to three of the endpoints, with an Idempotency-Key. Two API
 *    faults are injected into a seeded few: the API "dies" between storing an event and sending
 *    its messages (every later write of that request fails), and one SendMessageBatch chunk of
 *    an event sent to every endpoint fails for the whole first request. The producer retries
 *    with the same key, as a producer should, honouring 409's Retry-After.
 * 2. Wait until quiet: the delivery queue is empty; every delivery record should then be
 *    delivered or dead, and the dead ones exactly the messages in the DLQ.
 * 3. Heal the receivers, redrive the DLQ (receive, send, delete, as on the emulator), wait.
 * 4. Every delivery must be delivered: `lost` counts those that are not. `duplicates` counts
 *    webhooks (webhook-id + endpoint) received again after a 2xx had been answered, each with
 *    its cause; `eventsUnderSeveralIds` counts (endpoint, event) pairs that arrived under more
 *    than one webhook-id, which consumers could not deduplicate: must be 0.
 *
 * Usage: `npm run chaos -- --events 1000 [--endpoints 12] [--seed 42]`. Progress goes to
 * stderr; the last line on stdout is the JSON summary. Exits 1 if anything was lost.
 * `runChaos` starts handlers in this process, which read their configuration once: call it
 * once per process.
 */
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { idempotentEventId } from '../lambdas/core/ids.ts';
import { decodeMessage } from '../lambdas/core/payload.ts';
import { EMULATOR_CREDENTIALS } from '../local/provision.ts';
import { type Poller, startPoller } from '../local/queue-poller.ts';
import { installLoopbackTripwire, type Tripwire } from '../test/hardening/loopback-tripwire.ts';
import { type Harness, type RecordedCall, startHarness } from '../test/support/harness.ts';

/** Retry at once, then after 1 s and 1 s: three attempts in all, so a bad streak kills a delivery. */
const POLICY = { scheduleSeconds: [0, 1, 1], maxAttempts: 3 };
/** Short, so a record that fails unexpectedly (no explicit delay) comes back soon. */
const QUEUE_VISIBILITY_SECONDS = 30;
/** Poller loops (the harness's two are replaced by these), like a few Lambda instances. */
const POLLERS = 6;
const SEND_CONCURRENCY = 10;
/** Share of events whose first request "dies" after the store, and whose fan-out loses a chunk. */
const DIE_AFTER_STORE_SHARE = 0.04;
const FAILING_CHUNK_SHARE = 0.04;

export interface ChaosOptions {
  /** Events to send. @default 1000 */
  readonly events?: number;
  /** Endpoints (one receiver each; more than ten, so a fan-out to all takes two chunks). @default 12 */
  readonly endpoints?: number;
  /** Seed of the fault and fan-out choices. @default random */
  readonly seed?: number;
  /** Progress lines. @default nothing */
  readonly log?: (line: string) => void;
  /** Install the loopback tripwire (refuse connections beyond 127.0.0.1). @default true */
  readonly tripwire?: boolean;
}

export interface ChaosSummary {
  readonly events: number;
  readonly deliveries: number;
  readonly deliveredFirstPass: number;
  readonly deadFirstPass: number;
  readonly dlqFirstPass: number;
  readonly deliveredAfterRedrive: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Why each duplicate happened (see {@link duplicateCause}). */
  readonly duplicateCauses: Record<string, number>;
  /** (endpoint, event) pairs delivered under more than one webhook-id: must be 0. */
  readonly eventsUnderSeveralIds: number;
  /** Events whose first request died after the store, and whose fan-out lost a chunk. */
  readonly diedAfterStore: number;
  readonly failedChunks: number;
  /** Producer retries with the same key, and how many of them were answered 409 first. */
  readonly keyedRetries: number;
  readonly seconds: number;
  readonly seed: number;
  /** Deliveries recorded dead whose message was not in the DLQ: must be 0. */
  readonly deadNotInDlq: number;
  /**
   * Messages in the DLQ whose delivery was not recorded dead (the record still says failed):
   * SQS moved them on a receive the handler never saw.
   */
  readonly dlqNotDead: number;
  /** Deliveries with at least one receive the handler never saw. */
  readonly unseenReceives: number;
  /** Requests that reached the redirect target: must be 0, redirects are never followed. */
  readonly redirectsFollowed: number;
}

/** mulberry32: small, seedable, good enough to pick faults. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault = 'ok' | 'slow' | '500' | '503' | '429' | '302' | 'drop';

/** Cumulative fault mix while unhealed: about 40% of requests fail. */
const FAULTS: ReadonlyArray<readonly [Fault, number]> = [
  ['ok', 0.55],
  ['slow', 0.62],
  ['500', 0.72],
  ['503', 0.8],
  ['429', 0.87],
  ['302', 0.92],
  ['drop', 1],
];

interface Ledger {
  /** Requests per `endpoint|webhook-id`. */
  readonly arrivals: Map<string, number>;
  /** The webhook-ids each `endpoint|event number` arrived under. */
  readonly idsOfEvent: Map<string, Set<string>>;
  /** Keys a 2xx was answered for. */
  readonly acked: Set<string>;
  /** Keys received again after a 2xx. */
  readonly duplicated: string[];
  healed: boolean;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return `http://127.0.0.1:${address && typeof address === 'object' ? address.port : 0}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A receiver that fails at random until healed, and keeps the ledger of what it answered. */
async function chaosReceiver(
  name: string,
  ledger: Ledger,
  random: () => number,
  redirectTo: string,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const webhookId = String(request.headers['webhook-id']);
      const key = `${name}|${webhookId}`;
      ledger.arrivals.set(key, (ledger.arrivals.get(key) ?? 0) + 1);
      const n = eventNumberOf(Buffer.concat(chunks).toString('utf8'));
      const ids = ledger.idsOfEvent.get(`${name}|${n}`) ?? new Set<string>();
      ledger.idsOfEvent.set(`${name}|${n}`, ids.add(webhookId));
      if (ledger.acked.has(key)) ledger.duplicated.push(key);
      const roll = random();
      const fault = ledger.healed ? 'ok' : (FAULTS.find(([, upTo]) => roll < upTo)?.[0] ?? 'ok');
      const ok = () => {
        response.on('finish', () => ledger.acked.add(key));
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('ok');
      };
      switch (fault) {
        case 'ok':
          return ok();
        case 'slow':
          return void setTimeout(() => !response.destroyed && ok(), 1000 + Math.floor(random() * 1000));
        case '503':
        case '429':
          response.writeHead(Number(fault), { 'retry-after': '1' });
          return response.end(`chaos ${fault}`);
        case '302':
          response.writeHead(302, { location: redirectTo });
          return response.end();
        case 'drop':
          return request.socket.destroy();
        default:
          response.writeHead(500);
          return response.end('chaos 500');
      }
    });
  });
  return { server, url: `${await listen(server)}/${name}` };
}

interface Expected {
  readonly id: string;
  readonly endpointId: string;
}

function deliveryIdOf(body: string): string | undefined {
  try {
    return decodeMessage(body).deliveryId;
  } catch {
    return undefined;
  }
}

/** The chaos event number (`data.n`) of a webhook body. */
function eventNumberOf(body: string): string {
  try {
    return String((JSON.parse(body) as { data?: { n?: unknown } }).data?.n);
  } catch {
    return 'unparseable';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delivery statuses straight from the table (a test-side Scan, so nothing is missed). */
async function statuses(documents: DynamoDBDocumentClient, table: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: table,
        ProjectionExpression: 'id, #status',
        ExpressionAttributeNames: { '#status': 'status' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) found.set(String(item.id), String(item.status));
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}

/** Runs a chaos round and returns its summary. See the module comment. */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosSummary> {
  const started = performance.now();
  const eventCount = options.events ?? 1000;
  const endpointCount = options.endpoints ?? 12;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const log = options.log ?? (() => {});
  // Two streams: the fan-out is the same for a seed; fault rolls depend on arrival order too.
  const random = seeded(seed);
  const faultRandom = seeded(seed ^ 0x5bd1e995);
  const tripwire: Tripwire | undefined = options.tripwire === false ? undefined : installLoopbackTripwire();
  const ledger: Ledger = {
    arrivals: new Map(),
    idsOfEvent: new Map(),
    acked: new Set(),
    duplicated: [],
    healed: false,
  };
  const servers: Server[] = [];
  let harness: Harness | undefined;
  let poller: Poller | undefined;
  let documents: DynamoDBDocumentClient | undefined;
  let pollErrors = 0;
  /** The receive counts the handler saw, per delivery id. */
  const seenReceives = new Map<string, number[]>();
  const handledConcurrently = new Set<string>();
  try {
    log(`chaos: ${eventCount} events, ${endpointCount} endpoints, seed ${seed}`);
    harness = await startHarness({
      policy: POLICY,
      // Recording SDK calls is what lets this run inject API faults.
      record: true,
      // The circuit breaker would defer a flaky endpoint for a minute; this run is about the queues.
      env: { WEBHOOKS_BREAKER_THRESHOLD: '1000000' },
    });
    const { resources } = harness.stack;
    const api = harness.api;
    await harness.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: resources.deliveryQueueUrl,
        Attributes: { VisibilityTimeout: String(QUEUE_VISIBILITY_SECONDS) },
      }),
    );
    // Our own pollers instead of the harness's, so that their errors are seen.
    await harness.stack.poller.stop();
    const { handler } = await import('../lambdas/delivery/handler.ts');
    // Note what the handler sees: a receive it never saw still counts against the budget.
    // And which deliveries had two copies in handlers at the same time.
    const inHandler = new Map<string, number>();
    const watched: typeof handler = async (event) => {
      const ids = event.Records.map((record) => String(deliveryIdOf(record.body)));
      for (const [index, record] of event.Records.entries()) {
        const id = ids[index] as string;
        seenReceives.set(id, [
          ...(seenReceives.get(id) ?? []),
          Number(record.attributes.ApproximateReceiveCount),
        ]);
        if ((inHandler.get(id) ?? 0) > 0) handledConcurrently.add(id);
        inHandler.set(id, (inHandler.get(id) ?? 0) + 1);
      }
      try {
        return await handler(event);
      } finally {
        for (const id of ids) inHandler.set(id, (inHandler.get(id) ?? 1) - 1);
      }
    };
    poller = startPoller(watched, {
      endpoint: resources.endpoints.sqs,
      region: resources.region,
      queueUrl: resources.deliveryQueueUrl,
      concurrency: POLLERS,
      onError: (error) => {
        pollErrors++;
        log(`poller error: ${error.name}: ${error.message}`);
      },
    });
    documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: resources.endpoints.dynamodb,
        region: resources.region,
        credentials: EMULATOR_CREDENTIALS,
      }),
    );

    // Receivers, their endpoints, and a trap that a followed redirect would hit.
    let redirectsFollowed = 0;
    const trap = createServer((request, response) => {
      redirectsFollowed++;
      request.resume();
      response.end();
    });
    servers.push(trap);
    const trapUrl = await listen(trap);
    const endpointIds: string[] = [];
    for (let index = 0; index < endpointCount; index++) {
      const receiver = await chaosReceiver(`r${index}`, ledger, faultRandom, `${trapUrl}/redirected`);
      servers.push(receiver.server);
      const created = await api<{ id: string }>('POST', '/endpoints', { url: receiver.url });
      if (created.status !== 201) throw new Error(`endpoint creation answered ${created.status}`);
      endpointIds.push(created.body.id);
    }
    const receiverOf = new Map(endpointIds.map((id, index) => [id, `r${index}`]));

    // 1. Events, each to one to three endpoints (to all, for those whose fan-out loses a chunk).
    const expected: Expected[] = [];
    const eventIds = new Map<string, string>();
    const plans = Array.from({ length: eventCount }, (_, n) => {
      const roll = random();
      const fault: 'die' | 'chunk' | undefined =
        roll < DIE_AFTER_STORE_SHARE
          ? 'die'
          : roll < DIE_AFTER_STORE_SHARE + FAILING_CHUNK_SHARE
            ? 'chunk'
            : undefined;
      const pool = [...endpointIds];
      const targets: string[] = [];
      const fanOut = fault === 'chunk' ? pool.length : 1 + Math.floor(random() * Math.min(3, pool.length));
      while (targets.length < fanOut) targets.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
      return { key: `chaos-${seed}-${n}`, targets, fault };
    });
    // Faults armed for an event's first request only (by its id, which the key determines).
    const armed = new Map<string, 'die' | 'chunk'>();
    const lastEndpoint = endpointIds.at(-1) ?? '';
    harness.interceptors.push((call: RecordedCall) => {
      if (call.fn !== 'api') return;
      const input = JSON.stringify(call.input);
      for (const [eventId, fault] of armed) {
        if (!input.includes(eventId)) continue;
        if (
          fault === 'die' &&
          (call.command === 'SendMessageBatchCommand' || call.command === 'UpdateItemCommand')
        ) {
          throw new Error('chaos: the API function died');
        }
        if (fault === 'chunk' && call.command === 'SendMessageBatchCommand' && input.includes(lastEndpoint)) {
          throw new Error('chaos: this chunk fails');
        }
      }
    });
    let keyedRetries = 0;
    let next = 0;
    const sendOne = async (n: number): Promise<void> => {
      const plan = plans[n]!;
      const eventId = idempotentEventId(plan.key);
      if (plan.fault) armed.set(eventId, plan.fault);
      for (let attempt = 1; ; attempt++) {
        const sent = await api<{ id: string; deliveries: Expected[] }>(
          'POST',
          '/events',
          { type: 'chaos.test', data: { n }, endpointIds: plan.targets },
          { 'idempotency-key': plan.key },
        );
        armed.delete(eventId);
        if (sent.status === 202) {
          expected.push(...sent.body.deliveries);
          for (const delivery of sent.body.deliveries) eventIds.set(delivery.id, sent.body.id);
          return;
        }
        // A producer retries a 503 and a 409 with the same key; anything else is a bug.
        if ((sent.status !== 503 && sent.status !== 409) || attempt >= 20) {
          throw new Error(`POST /events answered ${sent.status}`);
        }
        keyedRetries++;
        const retryAfter = Number(sent.headers.get('retry-after') ?? '1');
        await sleep(Math.max(200, retryAfter * 1000));
      }
    };
    await Promise.all(
      Array.from({ length: SEND_CONCURRENCY }, async () => {
        while (next < eventCount) await sendOne(next++);
      }),
    );
    log(`sent ${eventCount} events: ${expected.length} deliveries after ${elapsed(started)} s`);

    // 2. Wait until quiet: the delivery queue empty for three polls in a row (a message waiting
    // for its next attempt is in flight, so an empty queue means nothing is left to happen), or
    // every delivery settled.
    const deliveriesTable = resources.tables.Deliveries;
    const quiet = async (done: (status: string | undefined) => boolean, what: string) => {
      const deadline = Date.now() + Math.max(180_000, expected.length * 150);
      let previous = '';
      let emptyPolls = 0;
      for (;;) {
        const found = await statuses(documents!, deliveriesTable);
        const queue = await harness!.queueCounts(resources.deliveryQueueUrl);
        const settled = expected.filter((delivery) => done(found.get(delivery.id))).length;
        const state = `${settled}/${expected.length} ${what}, queue ${queue.visible}+${queue.inFlight}`;
        if (state !== previous) log(`${elapsed(started)} s: ${state}`);
        previous = state;
        emptyPolls = queue.visible + queue.inFlight === 0 ? emptyPolls + 1 : 0;
        if (emptyPolls > 0 && (settled === expected.length || emptyPolls >= 3)) return found;
        if (Date.now() > deadline) {
          log(`gave up waiting: ${state}`);
          return found;
        }
        await sleep(1000);
      }
    };
    const firstPass = await quiet((status) => status === 'delivered' || status === 'dead', 'settled');
    const dead = new Set(expected.filter((d) => firstPass.get(d.id) === 'dead').map((d) => d.id));
    const deliveredFirstPass = expected.filter((d) => firstPass.get(d.id) === 'delivered').length;
    const dlq = await harness.queueCounts(resources.deadLetterQueueUrl);
    const dlqFirstPass = dlq.visible + dlq.inFlight;
    log(`first pass: ${deliveredFirstPass} delivered, ${dead.size} dead, ${dlqFirstPass} in the DLQ`);

    // 3. Heal and redrive: receive, send, delete, ten at a time.
    ledger.healed = true;
    const redriven = new Set<string>();
    for (let empty = 0; empty < 2; ) {
      const { Messages = [] } = await harness.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 60,
        }),
      );
      if (Messages.length === 0) {
        empty++;
        continue;
      }
      empty = 0;
      const { Failed = [] } = await harness.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: resources.deliveryQueueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), MessageBody: message.Body ?? '' })),
        }),
      );
      const failed = new Set(Failed.map((entry) => entry.Id));
      const moved = Messages.filter((_, index) => !failed.has(String(index)));
      for (const message of moved) {
        redriven.add(String(deliveryIdOf(message.Body ?? '')));
      }
      if (moved.length > 0) {
        await harness.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: resources.deadLetterQueueUrl,
            Entries: moved.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      }
    }
    const deadNotInDlq = [...dead].filter((id) => !redriven.has(id)).length;
    const dlqNotDead = [...redriven].filter((id) => !dead.has(id));
    log(
      `redrove ${redriven.size} messages; ${deadNotInDlq} dead records had none, ${dlqNotDead.length} were not dead`,
    );
    for (const id of dlqNotDead.slice(0, 5)) {
      log(
        `  in the DLQ but recorded ${firstPass.get(id)}; receives the handler saw: ${seenReceives.get(id)}`,
      );
    }
    // Receives the handler never saw (a lost ReceiveMessage answer, a crashed poller): each still
    // counts against maxReceiveCount.
    const unseenReceives = [...seenReceives.values()].filter((counts) =>
      counts.some((count, index) => count !== 1 && count !== (counts[index - 1] ?? 0) + 1),
    ).length;

    // 4. Everything must end delivered.
    const final = await quiet((status) => status === 'delivered', 'delivered');
    const deliveredAfterRedrive = expected.filter((d) => final.get(d.id) === 'delivered').length;
    const neverArrived = expected.filter(
      (d) => !ledger.acked.has(`${receiverOf.get(d.endpointId)}|${eventIds.get(d.id)}`),
    ).length;
    const redrivenEvents = new Set([...redriven].map((id) => eventIds.get(id)));
    const duplicateCauses: Record<string, number> = {};
    for (const key of ledger.duplicated) {
      const [name, webhookId] = key.split('|');
      const delivery = expected.find(
        (d) => receiverOf.get(d.endpointId) === name && eventIds.get(d.id) === webhookId,
      );
      const cause = duplicateCause(
        delivery && seenReceives.get(delivery.id),
        delivery !== undefined && handledConcurrently.has(delivery.id),
        redrivenEvents.has(webhookId),
      );
      duplicateCauses[cause] = (duplicateCauses[cause] ?? 0) + 1;
    }
    const eventsUnderSeveralIds = [...ledger.idsOfEvent.values()].filter((ids) => ids.size > 1).length;
    for (const key of ledger.duplicated.slice(0, 5)) {
      const delivery = expected.find((d) => `${receiverOf.get(d.endpointId)}|${eventIds.get(d.id)}` === key);
      const detail = delivery ? await api('GET', `/deliveries/${delivery.id}`) : undefined;
      log(`  received again after a 2xx: ${key}: ${JSON.stringify(detail?.body)}`);
      if (delivery) log(`    receives the handler saw: ${seenReceives.get(delivery.id)}`);
    }
    if (pollErrors > 0) log(`${pollErrors} poller errors`);
    if (tripwire && tripwire.stopped.length > 0) {
      throw new Error(`connections beyond 127.0.0.1 were attempted: ${JSON.stringify(tripwire.stopped)}`);
    }
    return {
      events: eventCount,
      deliveries: expected.length,
      deliveredFirstPass,
      deadFirstPass: dead.size,
      dlqFirstPass,
      deliveredAfterRedrive,
      // Lost: not delivered by the records, or never acknowledged by its receiver.
      lost: Math.max(expected.length - deliveredAfterRedrive, neverArrived),
      duplicates: ledger.duplicated.length,
      duplicateCauses,
      eventsUnderSeveralIds,
      diedAfterStore: plans.filter((plan) => plan.fault === 'die').length,
      failedChunks: plans.filter((plan) => plan.fault === 'chunk').length,
      keyedRetries,
      seconds: elapsed(started),
      seed,
      deadNotInDlq,
      dlqNotDead: dlqNotDead.length,
      unseenReceives,
      redirectsFollowed,
    };
  } finally {
    await poller?.stop();
    documents?.destroy();
    await harness?.stop();
    await Promise.all(servers.map(closeServer));
    tripwire?.uninstall();
  }
}

/**
 * Why a webhook arrived again after a 2xx: `same-receive-twice`, one SQS receive (the same
 * receive count) handed to two handlers; `concurrent-copies`, two copies of the message were in
 * handlers at the same time, so neither could see the other's outcome (moto hands one message to
 * two concurrent receives now and then; SQS's at-least-once delivery allows it); `redriven`, a
 * copy in the DLQ was redriven after the delivery had been acknowledged; `other`, anything else
 * (to investigate).
 */
function duplicateCause(
  receives: readonly number[] | undefined,
  concurrent: boolean,
  redriven: boolean,
): string {
  if (receives && new Set(receives).size < receives.length) return 'same-receive-twice';
  if (concurrent) return 'concurrent-copies';
  if (redriven) return 'redriven';
  return 'other';
}

function elapsed(startedMs: number): number {
  return Math.round((performance.now() - startedMs) / 100) / 10;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000' },
      endpoints: { type: 'string', default: '12' },
      seed: { type: 'string' },
    },
  });
  const summary = await runChaos({
    events: Number(values.events),
    endpoints: Number(values.endpoints),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  // The handlers' SDK clients keep sockets alive; the run is over.
  process.exit(summary.lost === 0 ? 0 : 1);
}
