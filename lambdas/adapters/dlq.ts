/**
 * Dead-letter queue redrive for the API (`POST /dlq/redrive`, the dashboard's Redrive button).
 *
 * Where SQS has message move tasks, one StartMessageMoveTask moves the whole DLQ back to the
 * delivery queue, asynchronously and at SQS's pace. Where the service lacks the action (the
 * moto emulator in local mode) a bounded copy takes its place: receive from the DLQ, send each
 * body unchanged to the delivery queue, and delete it from the DLQ only once its send
 * succeeded, so an interruption can duplicate a message (the worker drops duplicates of
 * delivered deliveries) but never lose one.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { isMoveTaskUnsupported } from '../core/move-task.ts';
import { sqs } from './clients.ts';

/** At most this many messages per request on the copy path: one API call stays well inside its timeout. */
export const COPY_REDRIVE_MAX_MESSAGES = 100;

/** How long the copy path hides a received message: a failed send makes it visible again after this. */
const COPY_VISIBILITY_TIMEOUT_SECONDS = 30;

const SQS_BATCH_LIMIT = 10;

/** What a redrive did: SQS started a move task, or this many messages were copied back. */
export type RedriveOutcome =
  | { readonly mode: 'move-task'; readonly taskHandle: string }
  | { readonly mode: 'copied'; readonly moved: number };

/** Queue ARNs never change for a URL: looked up once per function instance. */
const arnCache = new Map<string, Promise<string>>();

/** The queue's ARN (StartMessageMoveTask names queues by ARN, the rest of the code by URL). */
export function queueArn(queueUrl: string): Promise<string> {
  let arn = arnCache.get(queueUrl);
  if (!arn) {
    arn = sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
      .then(({ Attributes }) => {
        if (!Attributes?.QueueArn) throw new Error(`SQS returned no ARN for ${queueUrl}`);
        return Attributes.QueueArn;
      });
    arnCache.set(queueUrl, arn);
    // A failed lookup is not remembered: the next request asks again.
    arn.catch(() => arnCache.delete(queueUrl));
  }
  return arn;
}

/**
 * Moves the dead-letter queue's messages back to the delivery queue: a message move task
 * where SQS has one, else a copy of up to {@link COPY_REDRIVE_MAX_MESSAGES} messages.
 */
export async function redriveDeadLetters(
  deadLetterQueueUrl: string,
  deliveryQueueUrl: string,
): Promise<RedriveOutcome> {
  const [sourceArn, destinationArn] = await Promise.all([
    queueArn(deadLetterQueueUrl),
    queueArn(deliveryQueueUrl),
  ]);
  try {
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }),
    );
    if (!TaskHandle) throw new Error('StartMessageMoveTask returned no task handle');
    return { mode: 'move-task', taskHandle: TaskHandle };
  } catch (error) {
    if (!isMoveTaskUnsupported(error)) throw error;
  }
  return { mode: 'copied', moved: await copyBack(deadLetterQueueUrl, deliveryQueueUrl) };
}

/** Receive, send, then delete what was sent, ten at a time, until the DLQ looks empty or the cap. */
async function copyBack(deadLetterQueueUrl: string, deliveryQueueUrl: string): Promise<number> {
  let moved = 0;
  while (moved < COPY_REDRIVE_MAX_MESSAGES) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH_LIMIT, COPY_REDRIVE_MAX_MESSAGES - moved),
        VisibilityTimeout: COPY_VISIBILITY_TIMEOUT_SECONDS,
      }),
    );
    if (Messages.length === 0) break;
    // Bodies go over unchanged: a delivery message carries everything in its body (no attributes).
    const { Successful = [] } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: deliveryQueueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), MessageBody: message.Body ?? '' })),
      }),
    );
    const sentIds = new Set(Successful.map((entry) => entry.Id));
    const sent = Messages.filter((_, index) => sentIds.has(String(index)));
    if (sent.length > 0) {
      // Only now, with the copy safely in the delivery queue, does the DLQ let go of it.
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: sent.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
    }
    moved += sent.length;
    // SQS refused some sends: stop here; those stay in the DLQ and reappear after the timeout.
    if (sent.length < Messages.length) break;
  }
  return moved;
}
