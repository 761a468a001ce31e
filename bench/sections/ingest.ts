/**
 * Figure 5: the API function's POST /events in process, every AWS call answered after a
 * 1 ms timer by a fake transport on the product's own SDK clients (so marshalling, SigV4
 * signing and parsing run as on AWS). One endpoint, 1 KB events, no Idempotency-Key.
 *
 * Latency p50/p99 comes from sequential requests (the handler's own latency, nothing
 * queued in front of it); requests per second from a closed loop of concurrent requests
 * (what one process can ingest, CPU-bound).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { hashApiKey } from '../../lambdas/core/api-keys.ts';
import { newEndpointId } from '../../lambdas/core/ids.ts';
import { useDummyHandlerEnv } from '../lib/handler-env.ts';
import { progress } from '../lib/log.ts';
import { gatewayEvent, invoiceEvent } from '../lib/payloads.ts';
import { fakeTransport, md5Hex } from '../lib/sdk-hooks.ts';
import { mean, percentile, round } from '../lib/stats.ts';

const API_KEY = 'whk_bench-ingest-key';
const SIMULATED_AWS_LATENCY_MS = 1;
const SEQUENTIAL_REQUESTS = Number(process.env.BENCH_INGEST_REQUESTS ?? 1500);
const CONCURRENCY = 16;
const CONCURRENT_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 3);
/**
 * With BENCH_INGEST_FILTER=1 the endpoint has a payload filter that every event passes (its type
 * in a list, `data.seq` at least 0, `data.customer` present), so the figure is fan-out's cost
 * with a filter evaluated per event, against the same work without one.
 */
const WITH_FILTER = process.env.BENCH_INGEST_FILTER === '1';
const FILTER_ITEM = {
  M: {
    type: { M: { $in: { L: [{ S: 'invoice.paid' }, { S: 'invoice.created' }] } } },
    data: { M: { seq: { M: { $gte: { N: '0' } } }, customer: { M: { $exists: { BOOL: true } } } } },
  },
};

export interface IngestResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rps: number;
  readonly details: Record<string, unknown>;
}

/** Canned answers for the operations POST /events makes. */
function responder(endpointId: string) {
  const now = new Date().toISOString();
  const endpointItem = {
    pk: { S: 'endpoint' },
    id: { S: endpointId },
    url: { S: 'https://hooks.example.com/webhooks' },
    enabled: { BOOL: true },
    secretName: { S: `bench/endpoints/${endpointId}` },
    createdAt: { S: now },
    updatedAt: { S: now },
    ...(WITH_FILTER ? { filter: FILTER_ITEM } : {}),
  };
  const apiKeys = JSON.stringify({
    keys: [{ id: 'key_bench', sha256: hashApiKey(API_KEY), createdAt: now }],
  });
  return (operation: string, body: Record<string, unknown>): unknown => {
    switch (operation) {
      case 'GetSecretValue':
        return { ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench', SecretString: apiKeys };
      case 'Query':
        return { Items: [endpointItem], Count: 1, ScannedCount: 1 };
      case 'SendMessageBatch':
        return {
          Successful: (body.Entries as Array<{ Id: string; MessageBody: string }>).map((entry) => ({
            Id: entry.Id,
            MessageId: randomUUID(),
            MD5OfMessageBody: md5Hex(entry.MessageBody),
          })),
          Failed: [],
        };
      default:
        return {};
    }
  };
}

/**
 * The event as the deployed API receives it: API Gateway's authorizer (lambdas/authorizer) has
 * checked the key and put its answer in the request context; the API function does not check it.
 */
function withAuthorizerAnswer(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  return {
    ...event,
    requestContext: {
      ...event.requestContext,
      authorizer: { lambda: { kind: 'admin', keyId: 'key_bench' } },
    },
  } as APIGatewayProxyEventV2;
}

export async function run(): Promise<IngestResult> {
  useDummyHandlerEnv();
  const { allClients } = await import('../../lambdas/adapters/clients.ts');
  const calls = fakeTransport(allClients, SIMULATED_AWS_LATENCY_MS, responder(newEndpointId()));
  const { handler } = await import('../../lambdas/api/handler.ts');

  const events: APIGatewayProxyEventV2[] = Array.from({ length: 500 }, (_, seq) =>
    withAuthorizerAnswer(
      gatewayEvent('POST', '/events', JSON.stringify(invoiceEvent(seq)), {
        'content-type': 'application/json',
        authorization: `Bearer ${API_KEY}`,
      }),
    ),
  );
  let next = 0;
  const invoke = async (): Promise<number> => {
    const event = events[next++ % events.length] as APIGatewayProxyEventV2;
    const started = performance.now();
    const response = await handler(event);
    const elapsed = performance.now() - started;
    if (response.statusCode !== 202)
      throw new Error(`POST /events answered ${response.statusCode}: ${response.body}`);
    return elapsed;
  };

  progress('ingest', 'warming up (300 requests)');
  for (let i = 0; i < 300; i++) await invoke();
  calls.clear();

  progress(
    'ingest',
    `${SEQUENTIAL_REQUESTS} sequential requests, ${SIMULATED_AWS_LATENCY_MS} ms per AWS call`,
  );
  const cpuBefore = process.cpuUsage();
  const sequential: number[] = [];
  for (let i = 0; i < SEQUENTIAL_REQUESTS; i++) sequential.push(await invoke());
  const cpu = process.cpuUsage(cpuBefore);
  const awsCallsPerRequest = Object.fromEntries(
    [...calls].map(([operation, count]) => [operation, round(count / SEQUENTIAL_REQUESTS, 3)]),
  );

  progress('ingest', `closed loop, ${CONCURRENCY} concurrent requests for ${CONCURRENT_SECONDS} s`);
  globalThis.gc?.();
  const loaded: number[] = [];
  const started = performance.now();
  const deadline = started + CONCURRENT_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) loaded.push(await invoke());
    }),
  );
  const rps = loaded.length / ((performance.now() - started) / 1000);
  const result: IngestResult = {
    p50Ms: round(percentile(sequential, 50), 3),
    p99Ms: round(percentile(sequential, 99), 3),
    rps: round(rps, 0),
    details: {
      withFilter: WITH_FILTER,
      simulatedAwsLatencyMs: SIMULATED_AWS_LATENCY_MS,
      sequentialRequests: SEQUENTIAL_REQUESTS,
      meanMs: round(mean(sequential), 3),
      cpuMsPerRequest: round((cpu.user + cpu.system) / 1000 / SEQUENTIAL_REQUESTS, 3),
      awsCallsPerRequest,
      concurrency: CONCURRENCY,
      underLoad: { p50Ms: round(percentile(loaded, 50), 2), p99Ms: round(percentile(loaded, 99), 2) },
    },
  };
  progress('ingest', `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.rps} req/s`);
  return result;
}
