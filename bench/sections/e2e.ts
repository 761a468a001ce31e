/**
 * Figure 4: end-to-end latency in local mode at a fixed rate: events are scheduled at
 * `rate` per second for BENCH_E2E_SECONDS (default 30) and sent open-loop (a slow answer
 * never delays the next send); latency runs from each event's scheduled send time to its
 * arrival at the receiver (another process; both use the same wall clock). An event that has
 * not arrived DRAIN_TIMEOUT_MS after the last send counts as arriving then (a lower bound).
 *
 * To show what dominates, each event's path is cut at points the recorder sees:
 *   scheduled → API's SendMessageBatch done (the API's work on moto, queueing included),
 *   SendMessageBatch done → the delivery function's first call for it (queue wait: the
 *     pollers' long poll and receive),
 *   that first call → arrival (the delivery function's GetItem, signing and POST).
 * Every emulator request is counted per service (local mode runs one moto server per service):
 * the handlers' SDK commands from the recorder, the pollers' receives and deletes from their
 * own counters. `requestsFailed` counts POST /events that did not answer 202 (the target is 0).
 *
 * `e2e ceiling` instead ramps one local stack through rising rates, CEILING_STEP_SECONDS each,
 * and reports the emulator's ceiling: the highest rate at which every request was accepted,
 * every event arrived within CEILING_DRAIN_MS of the step's last send, the p95 stayed under
 * CEILING_P95_LIMIT_MS and the sender kept to its schedule (local mode kept up).
 */
import { parseDeliveryId } from '../../lambdas/core/ids.ts';
import { decodeMessage } from '../../lambdas/core/payload.ts';
import {
  type AttributedCall,
  awaitArrivals,
  type LocalRun,
  probeMoto,
  startLocalRun,
} from '../lib/local-run.ts';
import { progress } from '../lib/log.ts';
import { latencySummary, median, percentile, round, sleep, wallNow } from '../lib/stats.ts';

const DEFAULT_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 30);
const WARMUP_SECONDS = 2;
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_E2E_DRAIN_MS ?? 15_000);

/** The rates the ceiling ramp tries, in order, until one is not sustained. */
const CEILING_RATES = [50, 75, 100, 125, 150, 175, 200, 250, 300, 400];
const CEILING_STEP_SECONDS = Number(process.env.BENCH_E2E_CEILING_STEP_SECONDS ?? 10);
/** A step is sustained only if its last event arrives within this of its last send... */
const CEILING_DRAIN_MS = 2_000;
/** ...and its p95 stays under this: a queue that keeps up does not make events wait seconds. */
const CEILING_P95_LIMIT_MS = 1_000;

export interface E2eResult {
  readonly rate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** POST /events that did not answer 202 (an error or another status). */
  readonly requestsFailed: number;
  readonly details: Record<string, unknown>;
}

/** One step of the ceiling ramp. */
export interface CeilingStep {
  readonly rate: number;
  readonly sustained: boolean;
  readonly scheduled: number;
  readonly requestsFailed: number;
  /** Accepted events that had not arrived CEILING_DRAIN_MS after the step's last send. */
  readonly notArrived: number;
  readonly achievedSendRate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface E2eCeilingResult {
  /** The highest rate sustained (no failed request, no backlog); 0 if none was. */
  readonly ceilingEventsPerSecond: number;
  readonly steps: readonly CeilingStep[];
  readonly details: Record<string, unknown>;
}

/** Emulator requests by service, counted from the handlers' SDK commands and the pollers' own. */
interface EmulatorRequests {
  readonly sqs: number;
  readonly dynamodb: number;
  readonly secretsManager: number;
}

/**
 * The most pollers local mode may scale to (it polls with two while receives come back short).
 * Each has its own copy of the delivery function, as each concurrent Lambda environment does.
 */
export const pollersFor = (_rate: number): number => Number(process.env.BENCH_E2E_POLLERS ?? 10);

interface Sent {
  readonly scheduledAt: number;
  /** When the request actually went out (the sender shares its event loop with local mode). */
  readonly issuedAt: number;
  status?: number;
  id?: string;
  respondedAt?: number;
}

/** Sends `count` events at `rate`/s from `firstSeq`, open-loop; resolves once every answer is in. */
async function sendAtRate(run: LocalRun, rate: number, count: number, firstSeq: number): Promise<Sent[]> {
  const interval = 1000 / rate;
  const start = wallNow() + 50;
  const sent: Sent[] = [];
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const scheduledAt = start + i * interval;
    const wait = scheduledAt - wallNow();
    if (wait > 1) await sleep(wait);
    const record: Sent = { scheduledAt, issuedAt: wallNow() };
    sent.push(record);
    inFlight.push(
      run.sendEvent(firstSeq + i).then(
        (answer) => {
          record.status = answer.status;
          record.respondedAt = answer.respondedAt;
          if (answer.id) record.id = answer.id;
        },
        () => {
          record.status = 0;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return sent;
}

/** Per event id: when its SendMessageBatch finished, and when the delivery function first touched it. */
function milestones(calls: readonly AttributedCall[]) {
  const enqueued = new Map<string, number>();
  const picked = new Map<string, number>();
  for (const call of calls) {
    const operation = call.command.replace(/Command$/, '');
    if (call.fn === 'api' && operation === 'SendMessageBatch' && call.endedAt !== undefined) {
      for (const entry of (call.input.Entries as Array<{ MessageBody?: string }>) ?? []) {
        const eventId = decodeMessage(entry.MessageBody ?? '').eventId;
        if (eventId) enqueued.set(eventId, call.endedAt);
      }
    } else if (call.fn === 'delivery' && operation === 'GetItem') {
      const id = (call.input.Key as { id?: { S?: string } } | undefined)?.id?.S;
      const eventId = id ? parseDeliveryId(id)?.eventId : undefined;
      if (eventId && !picked.has(eventId)) picked.set(eventId, call.startedAt);
    }
  }
  return { enqueued, picked };
}

/** The rate at which requests actually went out, first to last (not waiting for their answers). */
function achievedRate(sent: readonly Sent[]): number {
  const first = sent[0]?.issuedAt ?? 0;
  const last = sent.at(-1)?.issuedAt ?? 0;
  return last > first ? round(((sent.length - 1) * 1000) / (last - first), 1) : 0;
}

const p50p95 = (values: readonly number[]) => ({
  p50: round(percentile(values, 50), 1),
  p95: round(percentile(values, 95), 1),
});

/** The requests each emulator got from the handlers' `calls` and the pollers' counters. */
function emulatorRequests(
  calls: readonly AttributedCall[],
  poller: { receives: number; deletes: number },
): EmulatorRequests {
  const byClient = (client: string) => calls.filter((call) => call.client === client).length;
  return {
    sqs: byClient('SQSClient') + poller.receives + poller.deletes,
    dynamodb: byClient('DynamoDBClient') + byClient('DynamoDBDocumentClient'),
    secretsManager: byClient('SecretsManagerClient'),
  };
}

export async function run(args: string[]): Promise<E2eResult | E2eCeilingResult> {
  if (args[0] === 'ceiling') return runCeiling();
  const rate = Number(args[0] ?? 50);
  // A second argument shortens this run below BENCH_E2E_SECONDS (the extra, unsaturated rate).
  const seconds = Math.min(DEFAULT_SECONDS, Number(args[1] ?? DEFAULT_SECONDS));
  const section = `e2e ${rate}/s`;
  const local = await startLocalRun({ section, pollers: pollersFor(rate) });
  try {
    const motoRequestsPerSecond = await probeMoto(local);
    progress(
      section,
      `the DynamoDB emulator serves about ${Math.round(motoRequestsPerSecond)} requests/s here`,
    );
    progress(section, `warm-up: ${WARMUP_SECONDS} s at ${rate}/s`);
    const warm = await sendAtRate(local, rate, Math.round(rate * WARMUP_SECONDS), 0);
    // A short wait: at a rate local mode cannot sustain, the warm-up never fully drains.
    const arrivals = await awaitArrivals(
      local,
      warm.flatMap((sent) => (sent.id ? [sent.id] : [])),
      Math.min(DRAIN_TIMEOUT_MS, 5_000),
    );

    const count = Math.round(rate * seconds);
    progress(section, `sending ${count} events at ${rate}/s for ${seconds} s`);
    const batchesBefore = local.stack.poller.batches;
    const pollerBefore = local.stack.poller.requests;
    local.record(true);
    const started = performance.now();
    const sent = await sendAtRate(local, rate, count, warm.length);
    const sendSeconds = (performance.now() - started) / 1000;
    const accepted = sent.filter((item) => item.status === 202 && item.id);
    progress(section, `sent (${accepted.length} of ${count} accepted); waiting for the deliveries`);
    await awaitArrivals(
      local,
      accepted.map((item) => item.id as string),
      DRAIN_TIMEOUT_MS,
      arrivals,
    );
    const gaveUpAt = wallNow();
    local.record(false);
    const batches = local.stack.poller.batches - batchesBefore;
    const pollerAfter = local.stack.poller.requests;
    const pollerRequests = {
      receives: pollerAfter.receives - pollerBefore.receives,
      emptyReceives: pollerAfter.emptyReceives - pollerBefore.emptyReceives,
      deletes: pollerAfter.deletes - pollerBefore.deletes,
    };

    const { enqueued, picked } = milestones(local.calls);
    const latencies: number[] = [];
    const toEnqueued: number[] = [];
    const apiAnswered: number[] = [];
    const queueWait: number[] = [];
    const deliveryWork: number[] = [];
    let delivered = 0;
    let lastArrival = 0;
    for (const item of accepted) {
      const id = item.id as string;
      const arrivedAt = arrivals.get(id);
      const enqueuedAt = enqueued.get(id);
      const pickedAt = picked.get(id);
      // One that never arrived counts as arriving when we stopped waiting: a lower bound.
      latencies.push((arrivedAt ?? gaveUpAt) - item.scheduledAt);
      if (item.respondedAt !== undefined) apiAnswered.push(item.respondedAt - item.scheduledAt);
      if (enqueuedAt !== undefined) toEnqueued.push(enqueuedAt - item.scheduledAt);
      if (enqueuedAt !== undefined && pickedAt !== undefined) queueWait.push(pickedAt - enqueuedAt);
      if (arrivedAt === undefined) continue;
      delivered++;
      lastArrival = Math.max(lastArrival, arrivedAt);
      if (pickedAt !== undefined) deliveryWork.push(arrivedAt - pickedAt);
    }
    const firstScheduled = accepted[0]?.scheduledAt ?? gaveUpAt;
    const requests = emulatorRequests(local.calls, pollerRequests);
    const perEvent = (count: number) => round(count / Math.max(1, accepted.length), 2);
    const requestsPerEvent = {
      sqs: perEvent(requests.sqs),
      dynamodb: perEvent(requests.dynamodb),
      secretsManager: perEvent(requests.secretsManager),
      total: perEvent(requests.sqs + requests.dynamodb + requests.secretsManager),
    };
    const dominatedBy = Object.entries({
      'the API (POST /events: PutItem and SendMessageBatch on moto)': median(toEnqueued),
      'the queue wait (enqueued until a poller hands it to the delivery function)': median(queueWait),
      'the delivery function (GetItem on moto, sign, POST)': median(deliveryWork),
    }).sort((a, b) => b[1] - a[1])[0]?.[0];
    const result: E2eResult = {
      rate,
      ...latencySummary(latencies),
      requestsFailed: count - accepted.length,
      details: {
        seconds,
        pollers: pollersFor(rate),
        scheduled: count,
        accepted: accepted.length,
        rejected: count - accepted.length,
        delivered,
        notArrivedWithinDrain: accepted.length - delivered,
        drainTimeoutMs: DRAIN_TIMEOUT_MS,
        achievedSendRate: achievedRate(sent),
        sendSecondsUntilLastAnswer: round(sendSeconds, 1),
        deliveredPerSecond: round(
          delivered / (Math.max(lastArrival, firstScheduled + 1) / 1000 - firstScheduled / 1000),
          1,
        ),
        partsMs: {
          scheduledToApiAnswered: p50p95(apiAnswered),
          scheduledToEnqueued: p50p95(toEnqueued),
          enqueuedToFirstPoll: p50p95(queueWait),
          firstPollToArrival: p50p95(deliveryWork),
        },
        dominatedBy,
        moto: {
          // The DynamoDB server's, probed alone: the busiest of the three per event.
          requestsPerSecond: Math.round(motoRequestsPerSecond),
          // Meaningful only below saturation: beyond it, failed API calls and retries distort it.
          requestsPerAcceptedEvent: requestsPerEvent.total,
          requestsPerAcceptedEventByService: requestsPerEvent,
          pollerBatches: batches,
          pollerRequests,
          peakPollers: local.stack.poller.peakLoops,
        },
      },
    };
    progress(
      section,
      `p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms ` +
        `(${delivered}/${accepted.length} delivered, ${result.requestsFailed} requests failed); ` +
        `emulator requests per event ${JSON.stringify(requestsPerEvent)}; dominated by ${dominatedBy}`,
    );
    return result;
  } finally {
    await local.stop();
  }
}

/**
 * The ceiling ramp: one local stack, CEILING_RATES in order for CEILING_STEP_SECONDS each,
 * until a step is not sustained (see the file's comment). The ceiling is the last rate sustained.
 */
async function runCeiling(): Promise<E2eCeilingResult> {
  const section = 'e2e ceiling';
  const pollers = pollersFor(0);
  const local = await startLocalRun({ section, pollers });
  try {
    const dynamoRequestsPerSecond = await probeMoto(local);
    progress(
      section,
      `the DynamoDB emulator serves about ${Math.round(dynamoRequestsPerSecond)} requests/s here`,
    );
    const warm = await sendAtRate(local, 50, 100, 0);
    const arrivals = await awaitArrivals(
      local,
      warm.flatMap((sent) => (sent.id ? [sent.id] : [])),
      5_000,
    );
    const steps: CeilingStep[] = [];
    let seq = warm.length;
    for (const rate of CEILING_RATES) {
      const count = Math.round(rate * CEILING_STEP_SECONDS);
      const sent = await sendAtRate(local, rate, count, seq);
      seq += count;
      const accepted = sent.filter((item) => item.status === 202 && item.id);
      await awaitArrivals(
        local,
        accepted.map((item) => item.id as string),
        CEILING_DRAIN_MS,
        arrivals,
      );
      const gaveUpAt = wallNow();
      const latencies = accepted.map(
        (item) => (arrivals.get(item.id as string) ?? gaveUpAt) - item.scheduledAt,
      );
      const notArrived = accepted.filter((item) => !arrivals.has(item.id as string)).length;
      const requestsFailed = count - accepted.length;
      const achievedSendRate = achievedRate(sent);
      const { p50Ms, p95Ms } = latencySummary(latencies);
      // A backlog that grows shows as latency long before the drain wait runs out; and the
      // sender falling behind its schedule (it shares the event loop) is not keeping up either.
      const sustained =
        requestsFailed === 0 &&
        notArrived === 0 &&
        p95Ms <= CEILING_P95_LIMIT_MS &&
        achievedSendRate >= 0.95 * rate;
      steps.push({
        rate,
        sustained,
        scheduled: count,
        requestsFailed,
        notArrived,
        achievedSendRate,
        p50Ms,
        p95Ms,
      });
      progress(
        section,
        `${rate}/s: ${sustained ? 'sustained' : 'NOT sustained'} (${requestsFailed} failed, ${notArrived} not arrived ` +
          `${CEILING_DRAIN_MS} ms after the last send, sent at ${achievedSendRate}/s; p50 ${p50Ms} ms, p95 ${p95Ms} ms)`,
      );
      if (!sustained) break;
      // Let what is still in flight settle before the next step.
      await sleep(500);
    }
    const ceilingEventsPerSecond = steps.filter((step) => step.sustained).at(-1)?.rate ?? 0;
    progress(section, `ceiling: ${ceilingEventsPerSecond} events/s`);
    return {
      ceilingEventsPerSecond,
      steps,
      details: {
        stepSeconds: CEILING_STEP_SECONDS,
        drainMs: CEILING_DRAIN_MS,
        p95LimitMs: CEILING_P95_LIMIT_MS,
        pollers,
        peakPollers: local.stack.poller.peakLoops,
        dynamodbRequestsPerSecond: Math.round(dynamoRequestsPerSecond),
      },
    };
  } finally {
    await local.stop();
  }
}
