/**
 * SQS access: enqueueing deliveries (batched), moving a message's next attempt out with
 * ChangeMessageVisibility, and parking permanent failures in the dead-letter queue.
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { type DeliveryMessage, encodeMessage } from '../core/payload.ts';
import { sqs } from './clients.ts';

const SQS_BATCH_LIMIT = 10;

/**
 * Sends every message, ten per request, retrying entries SQS refused once. Returns the
 * delivery ids that could not be enqueued (empty when all went through).
 */
export async function enqueueDeliveries(
  queueUrl: string,
  messages: readonly DeliveryMessage[],
): Promise<string[]> {
  const failed: string[] = [];
  const chunks: DeliveryMessage[][] = [];
  for (let i = 0; i < messages.length; i += SQS_BATCH_LIMIT)
    chunks.push(messages.slice(i, i + SQS_BATCH_LIMIT));
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending = chunk;
      for (let round = 0; round < 2 && pending.length > 0; round++) {
        const { Failed = [] } = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((message, index) => ({
              Id: String(index),
              MessageBody: encodeMessage(message),
            })),
          }),
        );
        const failedIds = new Set(Failed.map((entry) => entry.Id));
        pending = pending.filter((_, index) => failedIds.has(String(index)));
      }
      failed.push(...pending.map((message) => message.deliveryId));
    }),
  );
  return failed;
}

/** Sends one message (a manual retry) and returns its SQS id. */
export async function enqueueOne(queueUrl: string, message: DeliveryMessage): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeMessage(message) }));
}

/** Hides a received message for `seconds`: its next attempt comes after that. */
export async function deferMessage(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.max(0, Math.floor(seconds)),
    }),
  );
}

/** Copies a message body to the dead-letter queue (the caller then lets the original be deleted). */
export async function sendToDeadLetter(deadLetterQueueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: body }));
}

/** Approximate number of messages visible and in flight in a queue. */
export async function queueDepth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
