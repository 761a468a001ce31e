/**
 * Polls the delivery queue the way Lambda's SQS event source mapping does: long-poll up to
 * a batch of messages with their system attributes, call the handler, delete the records it
 * did not report as batch item failures, and leave those to come back when SQS says so.
 * A handler that throws leaves the whole batch, as Lambda does.
 */

import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DELIVERY_BATCH_SIZE } from '../lambdas/core/config.ts';
import { EMULATOR_CREDENTIALS } from './provision.ts';

type DeliveryHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface PollerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly queueArn?: string;
  /** Concurrent pollers, like the mapping's concurrency. @default 2 */
  readonly concurrency?: number;
  readonly batchSize?: number;
  /** Long-poll wait in seconds. @default 1 */
  readonly waitSeconds?: number;
  readonly onError?: (error: Error) => void;
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** A running poller; `stop()` lets in-flight batches finish. */
export interface Poller {
  stop(): Promise<void>;
  /** Batches handled so far. */
  readonly batches: number;
}

export function startPoller(handler: DeliveryHandler, options: PollerOptions): Poller {
  const sqs = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: EMULATOR_CREDENTIALS,
  });
  const queueArn = options.queueArn ?? `arn:aws:sqs:${options.region}:000000000000:local`;
  let running = true;
  let batches = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? DELIVERY_BATCH_SIZE,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) continue;
        batches++;
        const records = Messages.map((message) => toRecord(message, queueArn, options.region));
        const { batchItemFailures } = await handler({ Records: records });
        const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
        const done = records.filter((record) => !failed.has(record.messageId));
        if (done.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((record, index) => ({
                Id: String(index),
                ReceiptHandle: record.receiptHandle,
              })),
            }),
          );
        }
      } catch (error) {
        if (!running) break;
        options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 2 }, () => loop());
  return {
    get batches() {
      return batches;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
      sqs.destroy();
    },
  };
}
