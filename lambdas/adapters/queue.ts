/**
 * SQS access: enqueueing deliveries (batched by count and bytes), event checks, operational events handed to the worker, moving a message's next attempt out with
 * ChangeMessageVisibility, and parking permanent failures in the dead-letter queue.
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES } from '../core/config.ts';
import type { OperationalEvent } from '../core/operational-events.ts';
import {
  type DeliveryMessage,
  encodeEventCheck,
  encodeMessage,
  encodeOperationalEvent,
  encodeRelease,
  messageBytes,
} from '../core/payload.ts';
import { sqs } from './clients.ts';

/**
 * The invocation's X-Ray trace header as the `AWSTraceHeader` message system attribute, so the
 * trace of the function that sends a message continues in the one that receives it (Lambda reads
 * it from the SQS record). Absent outside Lambda (no `_X_AMZN_TRACE_ID`); it does not count
 * towards the message's size.
 */
export function traceHeaderAttribute(): {
  MessageSystemAttributes?: { AWSTraceHeader: { DataType: 'String'; StringValue: string } };
} {
  const header = process.env._X_AMZN_TRACE_ID;
  return header
    ? { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: header } } }
    : {};
}

/**
 * Splits encoded messages into SendMessageBatch requests: at most ten entries and
 * {@link SQS_MAX_BATCH_BYTES} per request, measured as SQS measures them (UTF-8 bytes).
 */
export function chunkForBatch<T extends { readonly encoded: string }>(entries: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = messageBytes(entry.encoded);
    if (
      current.length > 0 &&
      (current.length === SQS_MAX_BATCH_ENTRIES || bytes + size > SQS_MAX_BATCH_BYTES)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Options of {@link enqueueDeliveries}. */
export interface EnqueueOptions {
  /** Epoch ms after which no further SQS request starts (the caller must still answer in time). */
  readonly deadlineMs?: number;
  /** Rounds of sending what SQS refused or failed to take. @default 3 */
  readonly rounds?: number;
  /** Per-message delay (SQS DelaySeconds, 0 to 900) by position in `messages`: a backlog's release spreads it. */
  readonly delaySeconds?: (index: number) => number;
}

/**
 * Sends every message, chunked by count and bytes, and sends again (up to `rounds` in all, while
 * the deadline allows) what SQS refused or what a failed request carried. Returns the delivery
 * ids that could not be enqueued (empty when all went through). Never throws for SQS failures:
 * the caller must know exactly which messages went out.
 */
export async function enqueueDeliveries(
  queueUrl: string,
  messages: readonly DeliveryMessage[],
  options: EnqueueOptions = {},
): Promise<string[]> {
  const rounds = options.rounds ?? 3;
  const trace = traceHeaderAttribute();
  let pending = messages.map((message, index) => ({
    message,
    encoded: encodeMessage(message),
    delay: options.delaySeconds ? Math.min(900, Math.max(0, Math.floor(options.delaySeconds(index)))) : 0,
  }));
  for (let round = 0; round < rounds && pending.length > 0; round++) {
    if (options.deadlineMs !== undefined && Date.now() >= options.deadlineMs) break;
    if (round > 0) await sleep(Math.min(100 * 2 ** round, remaining(options.deadlineMs)));
    const left = await Promise.all(
      chunkForBatch(pending).map(async (chunk) => {
        try {
          const { Failed = [] } = await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: chunk.map((entry, index) => ({
                Id: String(index),
                MessageBody: entry.encoded,
                // Fair queues: one endpoint's backlog does not raise the others' dwell time.
                MessageGroupId: entry.message.endpointId,
                ...(entry.delay > 0 ? { DelaySeconds: entry.delay } : {}),
                ...trace,
              })),
            }),
            abortAt(options.deadlineMs),
          );
          const failedIds = new Set(Failed.map((entry) => entry.Id));
          return chunk.filter((_, index) => failedIds.has(String(index)));
        } catch {
          // The whole request failed (throttled, timed out, refused): none of its entries went out.
          return chunk;
        }
      }),
    );
    pending = left.flat();
  }
  return pending.map((entry) => entry.message.deliveryId);
}

const remaining = (deadlineMs: number | undefined): number =>
  deadlineMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadlineMs - Date.now());

const abortAt = (deadlineMs: number | undefined) =>
  deadlineMs === undefined
    ? undefined
    : { abortSignal: AbortSignal.timeout(Math.max(1, remaining(deadlineMs))) };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends one message (a manual retry). */
export async function enqueueOne(queueUrl: string, message: DeliveryMessage): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: encodeMessage(message),
      MessageGroupId: message.endpointId,
      ...traceHeaderAttribute(),
    }),
  );
}

/** Queues the release of an endpoint's backlog, after `delaySeconds` (see lambdas/delivery/backlog.ts). */
export async function sendRelease(queueUrl: string, endpointId: string, delaySeconds = 0): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: encodeRelease(endpointId),
      MessageGroupId: endpointId,
      ...(delaySeconds > 0 ? { DelaySeconds: Math.min(900, Math.floor(delaySeconds)) } : {}),
      ...traceHeaderAttribute(),
    }),
  );
}

/**
 * Hands an operational event to the delivery worker, which records and publishes it (see
 * lambdas/core/payload.ts). Its own message group, so the fair queue keeps it apart from every
 * endpoint's deliveries.
 */
export async function sendOperationalEvent(
  queueUrl: string,
  id: string,
  event: OperationalEvent,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: encodeOperationalEvent(id, event),
      MessageGroupId: OPERATIONAL_EVENT_GROUP,
      ...traceHeaderAttribute(),
    }),
  );
}

/** The message group of operational event messages. */
const OPERATIONAL_EVENT_GROUP = 'operational-events';

/**
 * Schedules the checks of events with a key: each message comes back after `delaySeconds`, and
 * the delivery worker hands its event to the sweep if it is still not queued. One event is one
 * SendMessage; more go ten to a SendMessageBatch. Throws if any check did not go out.
 */
export async function sendEventChecks(
  queueUrl: string,
  eventIds: readonly string[],
  delaySeconds: number,
): Promise<void> {
  if (eventIds.length === 1) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: encodeEventCheck(eventIds[0] as string),
        DelaySeconds: delaySeconds,
        ...traceHeaderAttribute(),
      }),
    );
    return;
  }
  const entries = eventIds.map((eventId) => ({ eventId, encoded: encodeEventCheck(eventId) }));
  const failed = await Promise.all(
    chunkForBatch(entries).map(async (chunk) => {
      const { Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((entry, index) => ({
            Id: String(index),
            MessageBody: entry.encoded,
            DelaySeconds: delaySeconds,
            ...traceHeaderAttribute(),
          })),
        }),
      );
      return Failed.length;
    }),
  );
  const count = failed.reduce((sum, n) => sum + n, 0);
  if (count > 0) throw new Error(`${count} of ${eventIds.length} event checks were refused`);
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
  await sqs.send(
    new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: body, ...traceHeaderAttribute() }),
  );
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
