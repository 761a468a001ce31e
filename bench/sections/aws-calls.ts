/**
 * Figure 2: AWS requests, DynamoDB capacity and cost per delivered webhook, measured end to
 * end in local mode (moto): 1 KB events, one endpoint, first-try success. After a warm-up
 * (caches filled, as on a warm Lambda instance), every SDK command the two handlers send for
 * a batch of events is recorded and attributed to its function. Events go one at a time
 * (BENCH_AWS_CONCURRENCY), so the emulator is not saturated by the API's requests.
 *
 * The two functions are measured one after the other, not together (see recordPhase): the
 * stack's pollers are stopped after the warm-up, the API takes every event of a phase alone,
 * then one poller drains the queue through the (warm) delivery function in batches of ten, one
 * batch at a time. Run together on one moto process per service, each function's requests
 * queued behind the other's, and a trickle of events reached the delivery function one or two
 * at a time while the model bills one invocation per ten: neither happens on AWS. What remains
 * inflated is moto itself: the ten records of a batch are concurrent, but moto serves one
 * request at a time, so their DynamoDB calls queue (details.awsCallMs shows each call's time).
 * Authorizer invocations (once per key per cache period) are not counted as API requests.
 *
 * - SQS: the handlers' own requests, plus the event source mapping's polling, which AWS bills
 *   to us: modelled as one ReceiveMessage and one DeleteMessageBatch per batch of ten, i.e.
 *   0.2 per message (local/queue-poller.ts stands in for the mapping; its batches are
 *   reported alongside).
 * - DynamoDB write units from the items' actual sizes (lib/dynamo-units.ts): PutItem from the
 *   item sent; UpdateItem from the item as it ended up (read back afterwards; on the happy
 *   path the delivery item does not exist before its one update); plus a write to the sparse
 *   `byFailure` index for every write whose item carries `failedKey`.
 * - Read units from what the reads returned (eventually consistent reads count half).
 * - Secrets Manager calls per delivery on warm instances (the target is none).
 * - Cost (lib/cost.ts) from those counts and the measured handler durations at 256 MB, the
 *   API function once per request, the delivery function once per batch of ten; and
 *   `costPerMillionUsdCpuScaled`, the same with the process's CPU time while each function ran
 *   stretched to 256 MB's share of a vCPU (lib/cost.ts): an upper bound, since that CPU includes
 *   the harness's own.
 *
 * Two phases are recorded the same way: EVENTS events through `POST /events` one at a time
 * (`costPerMillionUsd`), then EVENTS more through `POST /events/batch` in requests of 100
 * (`batch.costPerMillionUsd`, reported as `costPerMillionUsdBatch`).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DELIVERY_BATCH_SIZE } from '../../lambdas/core/config.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { startPoller } from '../../local/queue-poller.ts';
import { type CostInputs, costPerMillion, cpuScaledInputs } from '../lib/cost.ts';
import { type AttributeValue, itemSize, plainItemSize, readUnits, writeUnits } from '../lib/dynamo-units.ts';
import {
  type AttributedCall,
  awaitArrivals,
  awaitEmptyQueue,
  type LocalRun,
  sendClosedLoop,
  startLocalRun,
} from '../lib/local-run.ts';
import { progress } from '../lib/log.ts';
import { mean, percentile, round } from '../lib/stats.ts';

const WARMUP_EVENTS = 20;
const EVENTS = Number(process.env.BENCH_AWS_EVENTS ?? 200);
const SEND_CONCURRENCY = Number(process.env.BENCH_AWS_CONCURRENCY ?? 1);
/** What the event source mapping polls per request at batch size 10: one receive and one delete. */
const MODELLED_ESM_REQUESTS_PER_MESSAGE = 2 / 10;
const MODELLED_DELIVERY_INVOCATIONS_PER_MESSAGE = 1 / 10;
/** Events per POST /events/batch in the batch phase (the most a batch takes). */
const BATCH_SIZE = 100;

export interface AwsCallsResult {
  readonly writeUnitsPerDelivery: number;
  readonly sqsRequestsPerDelivery: number;
  readonly secretsCallsWarm: number;
  readonly costPerMillionUsd: number;
  readonly costInputs: CostInputs;
  readonly costBreakdownUsd: Record<string, number>;
  /** `costPerMillionUsd` with CPU time scaled to 256 MB's share of a vCPU (lib/cost.ts). */
  readonly costPerMillionUsdCpuScaled: number;
  /** The same events sent through POST /events/batch. */
  readonly batch: {
    readonly batchSize: number;
    readonly writeUnitsPerDelivery: number;
    readonly sqsRequestsPerDelivery: number;
    readonly costPerMillionUsd: number;
    readonly costPerMillionUsdCpuScaled: number;
    readonly costInputs: CostInputs;
    readonly costBreakdownUsd: Record<string, number>;
  };
  readonly details: Record<string, unknown>;
}

interface Row {
  count: number;
  bytes: number;
  writeUnits: number;
  indexWriteUnits: number;
  readUnits: number;
}

const shortTable = (name: unknown): string => String(name ?? '').replace(/^bench-/, '');
const operationOf = (call: AttributedCall): string => call.command.replace(/Command$/, '');

/** Reads back the item an UpdateItem left, to size it. */
async function finalItems(run: LocalRun, calls: readonly AttributedCall[]) {
  const dynamo = new DynamoDBClient({
    endpoint: run.moto.endpoints.dynamodb,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
  });
  const items = new Map<string, Record<string, AttributeValue> | undefined>();
  try {
    for (const call of calls) {
      if (operationOf(call) !== 'UpdateItem') continue;
      const key = JSON.stringify([call.input.TableName, call.input.Key]);
      if (items.has(key)) continue;
      const { Item } = await dynamo.send(
        new GetItemCommand({
          TableName: call.input.TableName as string,
          Key: call.input.Key as never,
          ConsistentRead: true,
        }),
      );
      items.set(key, Item as Record<string, AttributeValue> | undefined);
    }
  } finally {
    dynamo.destroy();
  }
  return (call: AttributedCall) => items.get(JSON.stringify([call.input.TableName, call.input.Key]));
}

/** Capacity of every DynamoDB command, grouped by function, operation and table. */
async function dynamoUsage(run: LocalRun, calls: readonly AttributedCall[]) {
  const dynamoCalls = calls.filter((call) => call.client === 'DynamoDBClient');
  const finalItem = await finalItems(run, dynamoCalls);
  const rows = new Map<string, Row>();
  for (const call of dynamoCalls) {
    const operation = operationOf(call);
    const name = `${call.fn} ${operation} ${shortTable(call.input.TableName)}`;
    const row = rows.get(name) ?? { count: 0, bytes: 0, writeUnits: 0, indexWriteUnits: 0, readUnits: 0 };
    rows.set(name, row);
    row.count++;
    const consistent = call.input.ConsistentRead === true;
    if (operation === 'PutItem' || operation === 'UpdateItem') {
      const item =
        operation === 'PutItem' ? (call.input.Item as Record<string, AttributeValue>) : finalItem(call);
      const bytes = item ? itemSize(item) : 0;
      row.bytes += bytes;
      row.writeUnits += writeUnits(bytes);
      // The sparse byFailure index is written only for items that carry its key.
      if (item && 'failedKey' in item) row.indexWriteUnits += writeUnits(bytes);
    } else if (operation === 'DeleteItem') {
      row.writeUnits += 1;
    } else if (operation === 'GetItem') {
      const item = call.output?.Item as Record<string, unknown> | undefined;
      const bytes = item ? plainItemSize(item) : 0;
      row.bytes += bytes;
      row.readUnits += readUnits(bytes, consistent);
    } else if (operation === 'Query') {
      const items = (call.output?.Items as Array<Record<string, unknown>> | undefined) ?? [];
      const bytes = items.reduce((sum, item) => sum + plainItemSize(item), 0);
      row.bytes += bytes;
      row.readUnits += readUnits(bytes, consistent);
    } else {
      throw new Error(`the cost model does not know DynamoDB ${operation}`);
    }
  }
  return rows;
}

/** CPU milliseconds (user and system, every thread) this process spent since `since`. */
const cpuMsSince = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

const billedMs = (durations: readonly number[]): number =>
  durations.reduce((sum, duration) => sum + Math.ceil(duration), 0);

/** Figures of one recorded phase: events sent one way, every one delivered. */
interface Phase {
  readonly delivered: number;
  readonly costInputs: CostInputs;
  readonly cost: ReturnType<typeof costPerMillion>;
  /** The same with the functions' CPU time scaled to the share of a vCPU they get at 256 MB. */
  readonly cpuScaled: ReturnType<typeof costPerMillion>;
  readonly details: Record<string, unknown>;
  readonly secrets: number;
}

/** The delivery function's copy that the stack's first poller ran (warm: caches filled). */
type DeliveryHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * Records every SDK command the handlers send while `send` sends EVENTS events starting at
 * `first` and they are delivered. The two functions run one after the other: first the API
 * takes every event (the stack's pollers are stopped, so nothing else calls the emulator), then
 * one poller drains the queue through the delivery function in batches of ten, one batch at a
 * time. On AWS neither function's requests wait behind the other's, nor a batch's behind
 * another batch's; on one moto process per service, run together, they would.
 */
async function recordPhase(
  local: LocalRun,
  deliver: DeliveryHandler,
  arrived: Map<string, number>,
  first: number,
  send: (first: number, count: number) => Promise<string[]>,
): Promise<Phase> {
  local.record(true);
  const apiCpu = process.cpuUsage();
  const ids = await send(first, EVENTS);
  const apiCpuMs = cpuMsSince(apiCpu);

  const deliveryCpu = process.cpuUsage();
  const poller = startPoller((event) => local.invoke('delivery', () => deliver(event)), {
    endpoint: local.stack.resources.endpoints.sqs,
    region: local.stack.resources.region,
    queueUrl: local.stack.resources.deliveryQueueUrl,
    concurrency: 1,
    batchSize: DELIVERY_BATCH_SIZE,
    onError: (error) => progress('aws-calls', `poller error: ${error.message}`),
  });
  const arrivals = { duplicates: 0 };
  try {
    await awaitArrivals(local, ids, 60_000, arrived, arrivals);
    const got = ids.filter((id) => arrived.has(id)).length;
    if (got !== EVENTS) throw new Error(`only ${got} of ${EVENTS} events arrived`);
    if (!(await awaitEmptyQueue(local, 30_000))) throw new Error('the delivery queue did not drain');
    // Late duplicates (a message received twice) show up only after the queue drained.
    await awaitArrivals(local, [], 500, arrived, arrivals);
  } finally {
    await poller.stop();
  }
  const deliveryCpuMs = cpuMsSince(deliveryCpu);
  local.record(false);
  const delivered = EVENTS;
  const batches = poller.batches;
  const calls = local.calls.splice(0);
  const { api, delivery } = local.durations;
  const apiDurations = api.splice(0);
  const deliveryDurations = delivery.splice(0);
  const authorizerInvocations = local.authorizerDurations.splice(0).length;

  const counts: Record<string, number> = {};
  for (const call of calls) {
    const name = `${call.fn} ${call.client.replace(/Client$/, '')} ${operationOf(call)}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  const perDelivery = (count: number) => round(count / delivered, 4);
  // How long each kind of AWS call took, SDK work included (serialize, sign, parse).
  const latencies = new Map<string, number[]>();
  for (const call of calls) {
    if (call.endedAt === undefined) continue;
    const name = `${call.fn} ${operationOf(call)} ${shortTable(
      call.input.TableName ??
        String(call.input.QueueUrl ?? '')
          .split('/')
          .pop(),
    )}`;
    latencies.set(name, [...(latencies.get(name) ?? []), call.endedAt - call.startedAt]);
  }
  const handlerSqs = calls.filter((call) => call.client === 'SQSClient').length;
  const secrets = calls.filter((call) => call.client === 'SecretsManagerClient').length;
  const usage = await dynamoUsage(local, calls);
  const totals = [...usage.values()].reduce(
    (sum, row) => ({
      write: sum.write + row.writeUnits + row.indexWriteUnits,
      read: sum.read + row.readUnits,
    }),
    { write: 0, read: 0 },
  );

  const costInputs: CostInputs = {
    // One API request is one invocation of the API function (a batch carries many events).
    apiRequests: apiDurations.length / delivered,
    apiInvocations: apiDurations.length / delivered,
    apiBilledMs: billedMs(apiDurations) / apiDurations.length,
    deliveryInvocations: MODELLED_DELIVERY_INVOCATIONS_PER_MESSAGE,
    // Measured on batches of ten, as many as the invocations modelled.
    deliveryBilledMsPerDelivery: billedMs(deliveryDurations) / delivered,
    sqsRequests: handlerSqs / delivered + MODELLED_ESM_REQUESTS_PER_MESSAGE,
    writeUnits: totals.write / delivered,
    readUnits: totals.read / delivered,
  };
  const cost = costPerMillion(costInputs);
  // The process's CPU while each function ran alone, charged to it: an upper bound (the API's
  // includes the bench's HTTP client and the local gateway, the delivery's the poller's SQS calls
  // and the bench's polling of the receiver and the queue).
  const cpu = {
    apiMsPerInvocation: apiCpuMs / apiDurations.length,
    deliveryMsPerDelivery: deliveryCpuMs / delivered,
  };
  const cpuScaled = costPerMillion(cpuScaledInputs(costInputs, cpu));
  return {
    delivered,
    costInputs: Object.fromEntries(
      Object.entries(costInputs).map(([name, value]) => [name, round(value, 4)]),
    ) as unknown as CostInputs,
    cost,
    cpuScaled,
    secrets,
    details: {
      events: delivered,
      duplicateDeliveries: arrivals.duplicates,
      recordsProcessedPerDelivery: perDelivery(
        calls.filter((call) => call.fn === 'delivery' && operationOf(call) === 'UpdateItem').length,
      ),
      callsPerDelivery: Object.fromEntries(
        Object.entries(counts).map(([name, count]) => [name, perDelivery(count)]),
      ),
      dynamo: Object.fromEntries(
        [...usage].map(([name, row]) => [
          name,
          {
            perDelivery: perDelivery(row.count),
            avgItemBytes: Math.round(row.bytes / row.count),
            writeUnitsPerDelivery: perDelivery(row.writeUnits),
            indexWriteUnitsPerDelivery: perDelivery(row.indexWriteUnits),
            readUnitsPerDelivery: perDelivery(row.readUnits),
          },
        ]),
      ),
      sqs: {
        handlerRequestsPerDelivery: perDelivery(handlerSqs),
        modelledEventSourceMappingPerDelivery: MODELLED_ESM_REQUESTS_PER_MESSAGE,
        localPollerBatches: batches,
        localPollerMessagesPerBatch: round(delivered / Math.max(1, batches), 2),
        localPollerRequestsPerDelivery: `about ${round((2 * batches) / delivered, 2)} (a receive and a delete per non-empty batch, empty long polls not counted)`,
      },
      authorizerInvocations,
      cpuMs: {
        apiPerInvocation: round(cpu.apiMsPerInvocation),
        deliveryPerDelivery: round(cpu.deliveryMsPerDelivery),
      },
      awsCallMs: Object.fromEntries(
        [...latencies].map(([name, ms]) => [
          name,
          { mean: round(mean(ms)), p50: round(percentile(ms, 50)), p95: round(percentile(ms, 95)) },
        ]),
      ),
      durationsMs: {
        apiPerInvocation: {
          mean: round(mean(apiDurations)),
          p50: round(percentile(apiDurations, 50)),
          p95: round(percentile(apiDurations, 95)),
        },
        deliveryPerInvocation: {
          mean: round(mean(deliveryDurations)),
          p50: round(percentile(deliveryDurations, 50)),
          p95: round(percentile(deliveryDurations, 95)),
        },
        deliveryInvocations: deliveryDurations.length,
      },
    },
  };
}

/** Sends `count` events in batches of {@link BATCH_SIZE}, one batch at a time. */
async function sendBatches(local: LocalRun, first: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = first; start < first + count; start += BATCH_SIZE) {
    const seqs = Array.from({ length: Math.min(BATCH_SIZE, first + count - start) }, (_, n) => start + n);
    const items = await local.sendBatch(seqs);
    for (const item of items) {
      if (item.status !== 202 || !item.id) throw new Error(`a batch item answered ${item.status}`);
      ids.push(item.id);
    }
  }
  return ids;
}

const rounded = (cost: object): Record<string, number> =>
  Object.fromEntries(Object.entries(cost).map(([name, value]) => [name, round(value, 4)]));

export async function run(): Promise<AwsCallsResult> {
  const local = await startLocalRun({ section: 'aws-calls', pollers: 2 });
  try {
    progress('aws-calls', `warm-up: ${WARMUP_EVENTS} events`);
    const warmIds = await sendClosedLoop(local, 0, WARMUP_EVENTS, SEND_CONCURRENCY);
    const arrived = await awaitArrivals(local, warmIds, 30_000);
    await awaitEmptyQueue(local, 15_000);
    // From here on the bench drives the delivery function itself (recordPhase); the stack's
    // first poller ran this copy of it, so its caches are warm.
    await local.stack.poller.stop();
    const { handler: deliver } = await import('../../lambdas/delivery/handler.ts');

    progress('aws-calls', `recording: ${EVENTS} events, ${SEND_CONCURRENCY} in flight`);
    const single = await recordPhase(local, deliver, arrived, WARMUP_EVENTS, (first, count) =>
      sendClosedLoop(local, first, count, SEND_CONCURRENCY),
    );
    progress('aws-calls', `recording: ${EVENTS} events in POST /events/batch requests of ${BATCH_SIZE}`);
    const batched = await recordPhase(local, deliver, arrived, WARMUP_EVENTS + EVENTS, (first, count) =>
      sendBatches(local, first, count),
    );

    const result: AwsCallsResult = {
      writeUnitsPerDelivery: round(single.costInputs.writeUnits, 3),
      sqsRequestsPerDelivery: round(single.costInputs.sqsRequests, 3),
      secretsCallsWarm: round(single.secrets / single.delivered, 4),
      costPerMillionUsd: round(single.cost.total, 3),
      costInputs: single.costInputs,
      costBreakdownUsd: rounded(single.cost),
      costPerMillionUsdCpuScaled: round(single.cpuScaled.total, 3),
      batch: {
        batchSize: BATCH_SIZE,
        writeUnitsPerDelivery: round(batched.costInputs.writeUnits, 3),
        sqsRequestsPerDelivery: round(batched.costInputs.sqsRequests, 3),
        costPerMillionUsd: round(batched.cost.total, 3),
        costPerMillionUsdCpuScaled: round(batched.cpuScaled.total, 3),
        costInputs: batched.costInputs,
        costBreakdownUsd: rounded(batched.cost),
      },
      details: { ...single.details, batch: batched.details },
    };
    progress(
      'aws-calls',
      `${result.writeUnitsPerDelivery} WCU, ${result.sqsRequestsPerDelivery} SQS requests, ` +
        `${result.secretsCallsWarm} Secrets Manager calls per delivery; $${result.costPerMillionUsd} per million; ` +
        `in batches of ${BATCH_SIZE}: ${result.batch.writeUnitsPerDelivery} WCU, ${result.batch.sqsRequestsPerDelivery} SQS requests, ` +
        `$${result.batch.costPerMillionUsd} per million`,
    );
    return result;
  } finally {
    await local.stop();
  }
}
