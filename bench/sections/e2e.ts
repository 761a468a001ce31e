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
 * moto's own capacity is probed too: it bounds what local mode can sustain.
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

export interface E2eResult {
  readonly rate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly details: Record<string, unknown>;
}

/** Enough pollers that receiving never waits on a busy poller: one per 20 events/s, 4 to 10. */
export const pollersFor = (rate: number): number =>
  Number(process.env.BENCH_E2E_POLLERS ?? Math.min(10, Math.max(4, Math.ceil(rate / 20))));

interface Sent {
  readonly scheduledAt: number;
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
    const record: Sent = { scheduledAt };
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

const p50p95 = (values: readonly number[]) => ({
  p50: round(percentile(values, 50), 1),
  p95: round(percentile(values, 95), 1),
});

export async function run(args: string[]): Promise<E2eResult> {
  const rate = Number(args[0] ?? 50);
  // A second argument shortens this run below BENCH_E2E_SECONDS (the extra, unsaturated rate).
  const seconds = Math.min(DEFAULT_SECONDS, Number(args[1] ?? DEFAULT_SECONDS));
  const section = `e2e ${rate}/s`;
  const local = await startLocalRun({ section, pollers: pollersFor(rate) });
  try {
    const motoRequestsPerSecond = await probeMoto(local);
    progress(section, `moto serves about ${Math.round(motoRequestsPerSecond)} requests/s here`);
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
    const handlerRequests = local.calls.length;
    const motoRequestsPerEvent = (handlerRequests + 2 * batches) / Math.max(1, accepted.length);
    const dominatedBy = Object.entries({
      'the API (POST /events: PutItem and SendMessageBatch on moto)': median(toEnqueued),
      'the queue wait (enqueued until a poller hands it to the delivery function)': median(queueWait),
      'the delivery function (GetItem on moto, sign, POST)': median(deliveryWork),
    }).sort((a, b) => b[1] - a[1])[0]?.[0];
    const result: E2eResult = {
      rate,
      ...latencySummary(latencies),
      details: {
        seconds,
        pollers: pollersFor(rate),
        scheduled: count,
        accepted: accepted.length,
        rejected: count - accepted.length,
        delivered,
        notArrivedWithinDrain: accepted.length - delivered,
        drainTimeoutMs: DRAIN_TIMEOUT_MS,
        achievedSendRate: round(count / sendSeconds, 1),
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
          requestsPerSecond: Math.round(motoRequestsPerSecond),
          // Meaningful only below saturation: beyond it, failed API calls and retries distort it.
          requestsPerAcceptedEvent: round(motoRequestsPerEvent, 2),
          pollerBatches: batches,
        },
      },
    };
    progress(
      section,
      `p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms ` +
        `(${delivered}/${accepted.length} delivered); dominated by ${dominatedBy}`,
    );
    return result;
  } finally {
    await local.stop();
  }
}
