/**
 * Correlation across the queue (issue 12) on moto: the `trackingId` and `tenantId` a delivery
 * message carries reach every log line the delivery worker writes for that delivery and the
 * delivery record, and a message sent inside a traced invocation carries its X-Ray trace header.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqs } from '../../lambdas/adapters/clients.ts';
import { enqueueDeliveries, enqueueOne, sendRelease } from '../../lambdas/adapters/queue.ts';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import { buildWebhookBody, type DeliveryMessage, encodeMessage } from '../../lambdas/core/payload.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { createEndpointDirect } from '../support/direct-endpoints.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { type CapturedLogs, captureLogs } from '../support/log-capture.ts';
import { receiverPool } from '../support/receiver.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 3 };

let harness: Harness;
let logs: CapturedLogs;
let documents: DynamoDBDocumentClient;
const receivers = receiverPool();

beforeAll(async () => {
  logs = captureLogs();
  // DEBUG: the worker's quietest line (a success) must carry the ids too.
  harness = await startHarness({ policy: POLICY, env: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } });
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

function messageFor(endpointId: string, extra: Partial<DeliveryMessage>): DeliveryMessage {
  const createdAtMs = Date.now();
  const eventId = newEventId(createdAtMs);
  return {
    deliveryId: deliveryId(eventId, endpointId, createdAtMs),
    eventId,
    endpointId,
    eventType: 'invoice.paid',
    createdAtMs,
    body: buildWebhookBody('invoice.paid', createdAtMs, { n: 1 }),
    ...extra,
  };
}

describe('a delivery message with a trackingId', () => {
  it('puts it (and the tenant) on every worker log line of the delivery and on the delivery record', async () => {
    // Prepare: a receiver that fails the first attempt, so the delivery logs a retry and a success.
    const receiver = await receivers.start((_, index) => ({ status: index === 0 ? 500 : 200 }));
    // The endpoint is acme's, as the message says (the worker looks for it in acme's partition).
    const created = await createEndpointDirect(harness, receiver.url, { extra: { tenantId: 'acme' } });
    const message = messageFor(created.id, { trackingId: 'trk-correlation-1', tenantId: 'acme' });

    // Act: the message as ingest queues it.
    await harness.sqs.send(
      new SendMessageCommand({
        QueueUrl: harness.stack.resources.deliveryQueueUrl,
        MessageBody: encodeMessage(message),
        MessageGroupId: message.endpointId,
      }),
    );

    // Assess
    const record = await eventually(async () => {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: harness.stack.resources.tables.Deliveries,
          Key: { endpointId: message.endpointId, id: message.deliveryId },
          ConsistentRead: true,
        }),
      );
      return Item?.status === 'delivered' ? Item : undefined;
    });
    expect(record.trackingId).toBe('trk-correlation-1');
    expect(record.tenantId).toBe('acme');
    expect(receiver.received).toHaveLength(2);
    // The success's line is written just after its record: wait for it.
    const lines = await eventually(async () => {
      const found = logs.lines.filter(
        (line) => line.service === 'webhooks-delivery' && JSON.stringify(line).includes(message.deliveryId),
      );
      return found.some((line) => line.message === 'delivered') ? found : undefined;
    });
    const messages = lines.map((line) => line.message);
    expect(messages).toContain('attempt failed; retry scheduled');
    expect(messages).toContain('delivered');
    for (const line of lines) {
      expect(line).toMatchObject({
        trackingId: 'trk-correlation-1',
        tenantId: 'acme',
        deliveryId: message.deliveryId,
      });
    }
    // The lines about the endpoint that this delivery's failure caused carry it too.
    const endpointLines = logs.lines.filter(
      (line) => line.service === 'webhooks-delivery' && line.endpointId === message.endpointId,
    );
    expect(endpointLines.every((line) => line.trackingId === 'trk-correlation-1')).toBe(true);
  });

  it('is delivered all the same without one, and its record has none', async () => {
    // Prepare
    const receiver = await receivers.start();
    const created = await createEndpointDirect(harness, receiver.url);
    const message = messageFor(created.id, {});

    // Act
    await harness.sqs.send(
      new SendMessageCommand({
        QueueUrl: harness.stack.resources.deliveryQueueUrl,
        MessageBody: encodeMessage(message),
      }),
    );

    // Assess
    const record = await eventually(async () => {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: harness.stack.resources.tables.Deliveries,
          Key: { endpointId: message.endpointId, id: message.deliveryId },
          ConsistentRead: true,
        }),
      );
      return Item?.status === 'delivered' ? Item : undefined;
    });
    expect(record).not.toHaveProperty('trackingId');
    expect(record).not.toHaveProperty('tenantId');
  });
});

describe('the X-Ray trace header', () => {
  const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

  async function traceHeadersOf(
    send: (queueUrl: string) => Promise<unknown>,
  ): Promise<Array<string | undefined>> {
    const { QueueUrl } = await harness.sqs.send(
      new CreateQueueCommand({ QueueName: `trace-${Math.random().toString(36).slice(2)}` }),
    );
    await send(QueueUrl as string);
    const { Messages = [] } = await harness.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['AWSTraceHeader'],
      }),
    );
    return Messages.map((received) => received.Attributes?.AWSTraceHeader);
  }

  it('travels as the AWSTraceHeader system attribute of every delivery message sent in a traced invocation', async () => {
    // Prepare: moto 5.2.1 keeps the attribute of SendMessage but drops it from SendMessageBatch
    // entries (AWS keeps both), so the batch's entries are read from the request itself.
    const previous = process.env._X_AMZN_TRACE_ID;
    process.env._X_AMZN_TRACE_ID = TRACE;
    const batchEntries: Array<{ MessageSystemAttributes?: unknown }> = [];
    type Next = (args: { input: unknown }) => Promise<unknown>;
    const middleware = sqs.middlewareStack as unknown as {
      add(
        m: (next: Next, context: { commandName?: string }) => Next,
        o: { step: 'initialize'; name: string },
      ): void;
      remove(name: string): boolean;
    };
    middleware.add(
      (next, context) => async (args) => {
        if (context.commandName === 'SendMessageBatchCommand') {
          batchEntries.push(...((args.input as { Entries: typeof batchEntries }).Entries ?? []));
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordBatchEntries' },
    );
    try {
      // Act
      const headers = await traceHeadersOf(async (queueUrl) => {
        await enqueueDeliveries(queueUrl, [messageFor('ep_a', {}), messageFor('ep_b', {})]);
        await enqueueOne(queueUrl, messageFor('ep_c', {}));
        await sendRelease(queueUrl, 'ep_c');
      });

      // Assess
      expect(headers.filter((header) => header === TRACE)).toHaveLength(2);
      expect(batchEntries.map((entry) => entry.MessageSystemAttributes)).toEqual([
        { AWSTraceHeader: { DataType: 'String', StringValue: TRACE } },
        { AWSTraceHeader: { DataType: 'String', StringValue: TRACE } },
      ]);
    } finally {
      middleware.remove('recordBatchEntries');
      if (previous === undefined) delete process.env._X_AMZN_TRACE_ID;
      else process.env._X_AMZN_TRACE_ID = previous;
    }
  });

  it('is left out when there is no trace (outside Lambda)', async () => {
    const previous = process.env._X_AMZN_TRACE_ID;
    delete process.env._X_AMZN_TRACE_ID;
    try {
      const headers = await traceHeadersOf((queueUrl) => enqueueOne(queueUrl, messageFor('ep_d', {})));
      expect(headers).toEqual([undefined]);
    } finally {
      if (previous !== undefined) process.env._X_AMZN_TRACE_ID = previous;
    }
  });
});
