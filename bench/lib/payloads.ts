/**
 * What the benchmark sends: a realistic ~1 KB event (an invoice with line items, mostly
 * text and numbers, as producers send; its ids are random so no two events are alike), the
 * SQS records the delivery worker receives, and API Gateway HTTP API (payload 2.0) events.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import { type DeliveryMessage, encodeMessage } from '../../lambdas/core/payload.ts';

const WORDS =
  'annual plan seats support onboarding storage transfer premium analytics export priority ' +
  'compliance audit retention backup region replica gateway webhook delivery tier usage overage';

const token = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** `{type, data}` for POST /events whose JSON is about `targetBytes` long (default 1 KB). */
export function invoiceEvent(
  seq: number,
  targetBytes = 1024,
): { type: string; data: Record<string, unknown> } {
  const words = WORDS.split(' ');
  const lines = Array.from({ length: 4 }, (_, index) => ({
    sku: `sku_${token(6)}`,
    description: `${words[(seq + index) % words.length]} ${words[(seq + 3 * index + 1) % words.length]}`,
    quantity: 1 + ((seq + index) % 7),
    unitAmount: 1000 + ((seq * 37 + index * 101) % 9000),
  }));
  const data: Record<string, unknown> = {
    seq,
    invoiceId: `inv_${token(12)}`,
    customer: {
      id: `cus_${token(10)}`,
      email: `billing+${seq}@example.com`,
      name: 'Example Trading Ltd',
      address: { line1: '1 Market Street', city: 'Springfield', postalCode: '12345', country: 'US' },
    },
    currency: 'usd',
    lines,
    total: lines.reduce((sum, line) => sum + line.quantity * line.unitAmount, 0),
    status: 'paid',
    paidAt: new Date().toISOString(),
    note: '',
  };
  const type = 'invoice.paid';
  const base = JSON.stringify({ type, data }).length;
  data.note = words
    .join(' ')
    .repeat(4)
    .slice(0, Math.max(0, targetBytes - base));
  return { type, data };
}

/** The signed webhook body the API builds for an event (same shape as core/payload.ts). */
export function webhookBody(seq: number): string {
  const { type, data } = invoiceEvent(seq);
  return JSON.stringify({ type, timestamp: new Date().toISOString(), data });
}

/** An SQS record as the event source mapping hands it to the delivery function. */
export function sqsRecord(message: DeliveryMessage): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: token(96),
    body: encodeMessage(message),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:bench-deliveries',
    awsRegion: 'us-east-1',
  };
}

/** A POST request as API Gateway's HTTP API (payload format 2.0) hands it to the API function. */
export function gatewayEvent(
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'api.example.com', 'user-agent': 'bench/1', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'bench/1' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}
