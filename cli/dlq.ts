/**
 * `webhooks dlq count` and `webhooks dlq peek`: looking at the dead-letter queue without
 * consuming anything.
 */
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { setVisibility } from './queues.ts';
import { decodeBody } from './redrive-filter.ts';

/** One dead-lettered message as `dlq peek` shows it. */
export interface PeekedMessage {
  readonly messageId: string;
  readonly deliveryId: string | null;
  readonly eventId: string | null;
  readonly endpointId: string | null;
  readonly eventType: string | null;
  /** When the event was created (from the message), ISO. */
  readonly createdAt: string | null;
  /** When SQS first accepted the message, ISO. */
  readonly sentAt: string | null;
  /** SQS's ApproximateReceiveCount, this peek included. */
  readonly receiveCount: number;
  readonly bodyBytes: number;
  /** Why it was queued when not by ingest (`retry`, `redrive`...). */
  readonly reason: string | null;
}

export interface PeekOptions {
  readonly max: number;
  /** How long the peeked messages stay hidden if the CLI dies before putting them back. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Receives that bring nothing new before giving up. @default 2 */
  readonly emptyReceivesToStop?: number;
  readonly waitTimeSeconds?: number;
}

/**
 * Receives up to `max` messages, then makes them visible again at once (visibility 0), so a
 * peek consumes nothing. Each message's receive count goes up by one; on the DLQ, which has
 * no redrive policy of its own, that changes nothing.
 */
export async function peekQueue(
  sqs: SQSClient,
  queueUrl: string,
  options: PeekOptions,
): Promise<PeekedMessage[]> {
  const found = new Map<string, PeekedMessage>();
  const receiptHandles: string[] = [];
  let empty = 0;
  try {
    while (found.size < options.max && empty < (options.emptyReceivesToStop ?? 2)) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, options.max - found.size),
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 30,
          WaitTimeSeconds: options.waitTimeSeconds ?? 1,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      );
      let fresh = 0;
      for (const message of Messages) {
        if (message.ReceiptHandle) receiptHandles.push(message.ReceiptHandle);
        const id = message.MessageId ?? '';
        if (found.has(id) || found.size >= options.max) continue;
        fresh++;
        found.set(id, describeMessage(id, message.Body, message.Attributes ?? {}));
      }
      empty = fresh === 0 ? empty + 1 : 0;
    }
  } finally {
    await setVisibility(sqs, queueUrl, receiptHandles, 0);
  }
  return [...found.values()];
}

function describeMessage(
  messageId: string,
  body: string | undefined,
  attributes: Partial<Record<string, string>>,
): PeekedMessage {
  const message = decodeBody(body);
  const sent = Number(attributes.SentTimestamp);
  return {
    messageId,
    deliveryId: message?.deliveryId ?? null,
    eventId: message?.eventId ?? null,
    endpointId: message?.endpointId ?? null,
    eventType: message?.eventType ?? null,
    createdAt: message ? new Date(message.createdAtMs).toISOString() : null,
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
    receiveCount: Number(attributes.ApproximateReceiveCount ?? 0),
    bodyBytes: Buffer.byteLength(body ?? ''),
    reason: message?.reason ?? null,
  };
}
