/**
 * A bus that cannot be reached (issue 12) on moto: the delivery it would report proceeds (the
 * endpoint disabled on a 410, the delivery recorded dead and parked in the DLQ), and each lost
 * event adds one to the `OperationalEventsFailed` metric (EMF on stdout, captured here).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import { buildWebhookBody, type DeliveryMessage, encodeMessage } from '../../lambdas/core/payload.ts';
import { freePort } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { createEndpointDirect } from '../support/direct-endpoints.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { type CapturedLogs, captureLogs } from '../support/log-capture.ts';
import { receiverPool } from '../support/receiver.ts';

let harness: Harness;
let logs: CapturedLogs;
let documents: DynamoDBDocumentClient;
const receivers = receiverPool();

beforeAll(async () => {
  logs = captureLogs();
  // Nothing listens on this loopback port: every PutEvents is refused at connect.
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  harness = await startHarness({
    policy: { scheduleSeconds: [1], maxAttempts: 2 },
    env: {
      WEBHOOKS_OPERATIONAL_EVENT_BUS: 'webhooks-operational',
      AWS_ENDPOINT_URL_EVENTBRIDGE: nowhere,
      POWERTOOLS_METRICS_DISABLED: 'false',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
  });
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: harness.moto.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: EMULATOR_CREDENTIALS,
    }),
  );
});

afterAll(async () => {
  logs?.stop();
  await receivers.closeAll();
  await harness?.stop();
});

/** The values of one metric in the EMF lines written so far. */
function metricValues(name: string): number[] {
  return logs.raw
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .flatMap((emf) => (name in emf ? [emf[name]].flat().map(Number) : []));
}

it('never blocks the delivery it would report, and counts each lost event', async () => {
  // Prepare
  const receiver = await receivers.start(() => ({ status: 410 }));
  const endpoint = await createEndpointDirect(harness, receiver.url);
  const createdAtMs = Date.now();
  const eventId = newEventId(createdAtMs);
  const message: DeliveryMessage = {
    deliveryId: deliveryId(eventId, endpoint.id, createdAtMs),
    eventId,
    endpointId: endpoint.id,
    eventType: 'invoice.paid',
    createdAtMs,
    body: buildWebhookBody('invoice.paid', createdAtMs, {}),
  };

  // Act
  await harness.sqs.send(
    new SendMessageCommand({
      QueueUrl: harness.stack.resources.deliveryQueueUrl,
      MessageBody: encodeMessage(message),
    }),
  );

  // Assess: the delivery's outcome is all there, and both its events (disabled, dead) are counted lost.
  const lost = await eventually(async () => {
    const values = metricValues('OperationalEventsFailed');
    return values.reduce((sum, value) => sum + value, 0) >= 2 ? values : undefined;
  });
  expect(lost.reduce((sum, value) => sum + value, 0)).toBe(2);
  const { Item: delivery } = await documents.send(
    new GetCommand({
      TableName: harness.stack.resources.tables.Deliveries,
      Key: { endpointId: endpoint.id, id: message.deliveryId },
      ConsistentRead: true,
    }),
  );
  expect(delivery?.status).toBe('dead');
  const disabled = await harness.api<{ enabled: boolean }>('GET', `/endpoints/${endpoint.id}`);
  expect(disabled.body.enabled).toBe(false);
  expect(await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl)).toMatchObject({ visible: 1 });
  const warnings = logs.lines.filter((line) => line.message === 'operational event not published');
  expect(warnings.map((line) => line.detailType).sort()).toEqual(['delivery.dead', 'endpoint.disabled']);
  expect(warnings.every((line) => line.endpointId === endpoint.id)).toBe(true);
});
