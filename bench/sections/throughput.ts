/**
 * Figure 1: delivery throughput and CPU per delivery against a raw keep-alive POST loop.
 *
 * "Ours" is the product's DeliveryWorker with its real WebhookSender (SSRF guard on, loopback
 * allowed), wired as lambdas/delivery/handler.ts wires it (the logs and metrics of
 * lambdas/adapters/telemetry.ts, metrics published once per batch), with in-memory store,
 * secrets and queue (lib/fake-deps.ts).
 * Four lanes, each its own worker and connection pool like four Lambda instances, each
 * processing SQS batches of ten records, two for each of five endpoints (five receiver ports).
 *
 * "Raw" is the floor: four lanes, each its own keep-alive node:http Agent, each sending the same
 * batches of ten POSTs (same URLs, same 1 KB body, same header names and sizes) concurrently
 * and awaiting them, with none of our work around the request.
 *
 * "Quiet" is ours without logging or metrics, to show what they cost.
 *
 * Each variant is warmed up, then the variants run in alternating order for a few rounds;
 * figures are medians over the rounds. CPU is this process's (process.cpuUsage); the receiver
 * is another process, so its CPU is not charged to either side (it is reported, to show it
 * was not the bottleneck).
 */

import http from 'node:http';
import type { SQSRecord } from 'aws-lambda';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import type { EndpointSecret } from '../../lambdas/adapters/secrets.ts';
import type { EndpointRecord } from '../../lambdas/adapters/store.ts';
import { Logger, Metrics, MetricUnit } from '../../lambdas/adapters/telemetry.ts';
import { deliveryId, newEndpointId, newEventId } from '../../lambdas/core/ids.ts';
import { decodeMessage } from '../../lambdas/core/payload.ts';
import { generateSecret } from '../../lambdas/core/signing.ts';
import type { WorkerLogger } from '../../lambdas/delivery/worker.ts';
import { benchWorker, fakeDeps } from '../lib/fake-deps.ts';
import { progress } from '../lib/log.ts';
import { sqsRecord, webhookBody } from '../lib/payloads.ts';
import { type Receiver, startReceiver } from '../lib/receiver.ts';
import { median, round } from '../lib/stats.ts';

const LANES = 4;
const BATCH_SIZE = 10;
const ENDPOINTS = 5;
const BATCH_POOL = 200;
const RUN_SECONDS = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 3);
const WARMUP_SECONDS = 1.5;
const ROUNDS = Number(process.env.BENCH_THROUGHPUT_ROUNDS ?? 3);

/** One concurrent stream of batches; `step` handles one batch and returns how many succeeded. */
interface Lane {
  step(): Promise<number>;
  close(): Promise<void>;
}

interface RunStats {
  readonly perSecond: number;
  readonly cpuMicrosPerItem: number;
  readonly items: number;
  readonly seconds: number;
  /** This process's CPU use, % of one core. */
  readonly cpuPercent: number;
  readonly receiverCpuPercent: number;
  readonly receiverRequests: number;
}

export interface ThroughputResult {
  readonly deliveriesPerSecond: number;
  readonly cpuMicrosPerDelivery: number;
  readonly rawPostsPerSecond: number;
  readonly rawCpuMicrosPerPost: number;
  readonly deliveryRatioVsRawPost: number;
  readonly details: Record<string, unknown>;
}

const silentLogger: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

function endpointsOn(receiver: Receiver): {
  endpoints: EndpointRecord[];
  secrets: Map<string, EndpointSecret>;
} {
  const now = new Date().toISOString();
  const endpoints = receiver.ports.slice(0, ENDPOINTS).map((port, index) => {
    const id = newEndpointId();
    return {
      id,
      url: `http://127.0.0.1:${port}/webhooks/${index}`,
      enabled: true,
      secretName: `bench/endpoints/${id}`,
      createdAt: now,
      updatedAt: now,
    };
  });
  const secrets = new Map(endpoints.map((endpoint) => [endpoint.secretName, { current: generateSecret() }]));
  return { endpoints, secrets };
}

/** A pool of batches of ten distinct delivery records, two per endpoint. */
function batchPool(endpoints: readonly EndpointRecord[]): SQSRecord[][] {
  return Array.from({ length: BATCH_POOL }, (_, batchIndex) =>
    Array.from({ length: BATCH_SIZE }, (_, index) => {
      const endpoint = endpoints[index % endpoints.length] as EndpointRecord;
      const createdAtMs = Date.now();
      const eventId = newEventId(createdAtMs);
      return sqsRecord({
        deliveryId: deliveryId(eventId, endpoint.id, createdAtMs),
        eventId,
        endpointId: endpoint.id,
        eventType: 'invoice.paid',
        createdAtMs,
        body: webhookBody(batchIndex * BATCH_SIZE + index),
      });
    }),
  );
}

function ourLanes(
  endpoints: readonly EndpointRecord[],
  secrets: ReadonlyMap<string, EndpointSecret>,
  batches: readonly SQSRecord[][],
  instrumented: boolean,
): Lane[] {
  return Array.from({ length: LANES }, (_, laneIndex) => {
    const deps = fakeDeps(endpoints, secrets);
    const logger = instrumented ? new Logger({ serviceName: 'webhooks-delivery' }) : silentLogger;
    const metrics = new Metrics({ namespace: 'Webhooks', serviceName: 'webhooks-delivery' });
    const sender = new WebhookSender({ guard: { allowLoopback: true } });
    const worker = benchWorker(
      deps,
      sender,
      logger,
      instrumented
        ? (name, unit, value) =>
            metrics.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, value)
        : undefined,
    );
    let next = laneIndex;
    return {
      step: async () => {
        const batch = batches[next++ % batches.length] as SQSRecord[];
        const before = deps.counters.delivered;
        await worker.processBatch(batch);
        if (instrumented && metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
        // Only the happy path is measured: a record that failed or was parked means the fakes
        // no longer answer what the worker asks (a figure of 0/s would hide it).
        const { failed, deferred, deadLettered } = deps.counters;
        if (failed + deferred + deadLettered > 0) {
          throw new Error(
            `the worker did not deliver every record (failed ${failed}, deferred ${deferred}, ` +
              `dead-lettered ${deadLettered}): bench/lib/fake-deps.ts no longer matches what it calls`,
          );
        }
        return deps.counters.delivered - before;
      },
      close: () => sender.close(),
    };
  });
}

function rawLanes(endpoints: readonly EndpointRecord[], batches: readonly SQSRecord[][]): Lane[] {
  const urlOf = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint.url]));
  // The same bytes on the wire as ours: header names and value lengths as the worker signs them.
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'aws-serverless-webhooks/0.1',
    'webhook-id': `msg_${'0'.repeat(26)}`,
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': `v1,${'A'.repeat(43)}=`,
  };
  const requests = batches.map((batch) =>
    batch.map((record) => {
      const message = decodeMessage(record.body);
      return { url: urlOf.get(message.endpointId) as string, body: message.body };
    }),
  );
  return Array.from({ length: LANES }, (_, laneIndex) => {
    const agent = new http.Agent({ keepAlive: true });
    let next = laneIndex;
    return {
      step: async () => {
        const batch = requests[next++ % requests.length] ?? [];
        const statuses = await Promise.all(batch.map(({ url, body }) => rawPost(agent, url, headers, body)));
        return statuses.filter((status) => status === 200).length;
      },
      close: async () => agent.destroy(),
    };
  });
}

/** One plain keep-alive POST; resolves with the status once the whole response is read. */
function rawPost(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      response.on('data', () => {});
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.end(body);
  });
}

async function measure(lanes: readonly Lane[], receiver: Receiver, seconds: number): Promise<RunStats> {
  globalThis.gc?.();
  const receiverBefore = await receiver.stats();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let items = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      while (performance.now() < deadline) {
        // Not `items += await ...`: that reads `items` before the await and loses other lanes' counts.
        const done = await lane.step();
        items += done;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const receiverAfter = await receiver.stats();
  const cpuMicros = cpu.user + cpu.system;
  return {
    perSecond: items / elapsed,
    cpuMicrosPerItem: cpuMicros / items,
    items,
    seconds: elapsed,
    cpuPercent: cpuMicros / elapsed / 1e4,
    receiverCpuPercent: (receiverAfter.cpuMicros - receiverBefore.cpuMicros) / elapsed / 1e4,
    receiverRequests: receiverAfter.requests - receiverBefore.requests,
  };
}

const summary = (runs: readonly RunStats[]) => ({
  perSecond: round(median(runs.map((run) => run.perSecond)), 0),
  cpuMicrosPerItem: round(median(runs.map((run) => run.cpuMicrosPerItem)), 1),
  cpuPercent: round(median(runs.map((run) => run.cpuPercent)), 0),
  receiverCpuPercent: round(median(runs.map((run) => run.receiverCpuPercent)), 0),
});

export async function run(): Promise<ThroughputResult> {
  const receiver = await startReceiver({ ports: ENDPOINTS });
  const { endpoints, secrets } = endpointsOn(receiver);
  const batches = batchPool(endpoints);
  const variants = {
    ours: ourLanes(endpoints, secrets, batches, true),
    raw: rawLanes(endpoints, batches),
    quiet: ourLanes(endpoints, secrets, batches, false),
  };
  // BENCH_THROUGHPUT_ONLY=quiet (say) runs one variant alone, for profiling.
  const only = process.env.BENCH_THROUGHPUT_ONLY;
  const names = (Object.keys(variants) as Array<keyof typeof variants>).filter(
    (name) => !only || name === only,
  );
  try {
    for (const name of names) {
      progress('throughput', `warming up ${name} (${WARMUP_SECONDS} s)`);
      await measure(variants[name], receiver, WARMUP_SECONDS);
    }
    const runs: Record<keyof typeof variants, RunStats[]> = { ours: [], raw: [], quiet: [] };
    const ratios: number[] = [];
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      // Alternate the order so that drift (thermal, GC, page cache) hits every variant alike.
      const order = round_ % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const stats = await measure(variants[name], receiver, RUN_SECONDS);
        runs[name].push(stats);
        progress(
          'throughput',
          `round ${round_ + 1}/${ROUNDS} ${name}: ${Math.round(stats.perSecond)}/s, ` +
            `${Math.round(stats.cpuMicrosPerItem)} µs CPU each, receiver ${Math.round(stats.receiverCpuPercent)}% of a core`,
        );
        if (stats.receiverRequests < stats.items)
          throw new Error(`${name}: receiver saw fewer requests than counted`);
      }
      if (!only)
        ratios.push((runs.ours.at(-1) as RunStats).perSecond / (runs.raw.at(-1) as RunStats).perSecond);
    }
    const ours = summary(runs.ours);
    const raw = summary(runs.raw);
    const quiet = summary(runs.quiet);
    return {
      deliveriesPerSecond: ours.perSecond,
      cpuMicrosPerDelivery: ours.cpuMicrosPerItem,
      rawPostsPerSecond: raw.perSecond,
      rawCpuMicrosPerPost: raw.cpuMicrosPerItem,
      deliveryRatioVsRawPost: round(median(ratios), 3),
      details: {
        setup: {
          lanes: LANES,
          batchSize: BATCH_SIZE,
          endpoints: ENDPOINTS,
          runSeconds: RUN_SECONDS,
          rounds: ROUNDS,
        },
        ours,
        raw,
        withoutLoggingAndMetrics: quiet,
        loggingAndMetricsCpuMicrosPerDelivery: round(ours.cpuMicrosPerItem - quiet.cpuMicrosPerItem, 1),
        ratiosPerRound: ratios.map((ratio) => round(ratio, 3)),
        cpuRatioVsRawPost: round(ours.cpuMicrosPerItem / raw.cpuMicrosPerItem, 2),
      },
    };
  } finally {
    await Promise.all(Object.values(variants).flatMap((lanes) => lanes.map((lane) => lane.close())));
    await receiver.stop();
  }
}
