/**
 * Polls the delivery queue the way Lambda's SQS event source mapping does: long-poll up to
 * a batch of messages with their system attributes, call the handler, delete the records it
 * did not report as batch item failures, and leave those to come back when SQS says so.
 * A handler that throws leaves the whole batch, as Lambda does.
 *
 * Deletes are gathered across the pollers into DeleteMessageBatch requests of up to ten, and a
 * poller does not wait for them before it receives again: at tens of events per second most
 * batches hold one message, and one delete per batch was a third of the emulator's SQS
 * requests. Done records wait for a delete only while another batch is still in the handler
 * (its records share the request), and at most {@link DELETE_GATHER_MS}; with no other batch
 * in the handler they are deleted at once, as before. A message is still deleted only after
 * the handler reported it done; one whose delete is lost (the process dies first, or the
 * request fails) comes back after the visibility timeout, and the worker finds it delivered.
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

/** The longest a handled message waits for others to share its DeleteMessageBatch. */
export const DELETE_GATHER_MS = 50;

/** SQS's limit on entries per DeleteMessageBatch. */
const DELETE_BATCH_MAX = 10;

export interface PollerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly queueArn?: string;
  /**
   * Concurrent pollers at most, like the mapping's maximum concurrency.
   * @default the number of handlers given, else 2
   */
  readonly concurrency?: number;
  /**
   * Pollers running while the queue is quiet. Between this and `concurrency` the poller scales
   * as the mapping does: a receive that comes back full starts another poller, and one that
   * comes back empty stops one.
   * @default `concurrency` (no scaling)
   */
  readonly minConcurrency?: number;
  readonly batchSize?: number;
  /** Long-poll wait in seconds. @default 1 */
  readonly waitSeconds?: number;
  /** The longest done records wait for other batches to share their delete. @default DELETE_GATHER_MS */
  readonly deleteGatherMs?: number;
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

/** A running poller; `stop()` lets in-flight batches finish and sends their deletes. */
export interface Poller {
  stop(): Promise<void>;
  /** Batches handled so far. */
  readonly batches: number;
  /** Polling loops running now, and the most that ran at once so far. */
  readonly loops: number;
  readonly peakLoops: number;
  /** SQS requests sent so far: every ReceiveMessage (`emptyReceives` of them got nothing) and DeleteMessageBatch. */
  readonly requests: { readonly receives: number; readonly emptyReceives: number; readonly deletes: number };
}

/**
 * Gathers receipt handles into DeleteMessageBatch requests: a request goes out as soon as ten
 * are waiting, or no batch is left in the handler, or `gatherMs` after the first one came.
 */
class DeleteGatherer {
  private waiting: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();
  requests = 0;

  constructor(
    private readonly send: (receiptHandles: string[]) => Promise<void>,
    private readonly onError: (error: Error) => void,
    private readonly gatherMs: number,
  ) {}

  /** Adds the done records of a batch; `batchesInHandler` is how many others are still being handled. */
  add(receiptHandles: readonly string[], batchesInHandler: number): void {
    this.waiting.push(...receiptHandles);
    while (this.waiting.length >= DELETE_BATCH_MAX) this.flush();
    if (this.waiting.length === 0) return;
    if (batchesInHandler === 0) this.flushAll();
    else this.timer ??= setTimeout(() => this.flushAll(), this.gatherMs);
  }

  /** Sends whatever is waiting now and resolves once every request sent has finished. */
  async drain(): Promise<void> {
    this.flushAll();
    while (this.sending.size > 0) await Promise.all(this.sending);
  }

  private flushAll(): void {
    while (this.waiting.length > 0) this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const handles = this.waiting.splice(0, DELETE_BATCH_MAX);
    if (handles.length === 0) return;
    this.requests++;
    const sent = this.send(handles).catch(this.onError);
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
    if (this.waiting.length > 0 && this.waiting.length < DELETE_BATCH_MAX) {
      this.timer = setTimeout(() => this.flushAll(), this.gatherMs);
    }
  }
}

/**
 * Starts polling loops, `minConcurrency` of them, scaling up to `concurrency` while receives
 * come back full. Given several handlers (copies of the delivery function, as separate Lambda
 * execution environments are), each loop takes a copy of its own for as long as it runs, so
 * each copy handles one batch at a time, as one environment does; a single handler is shared.
 */
export function startPoller(
  handlers: DeliveryHandler | readonly DeliveryHandler[],
  options: PollerOptions,
): Poller {
  const copies = typeof handlers === 'function' ? [handlers] : handlers;
  if (copies.length === 0) throw new Error('startPoller needs a handler');
  const sqs = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: EMULATOR_CREDENTIALS,
  });
  const queueArn = options.queueArn ?? `arn:aws:sqs:${options.region}:000000000000:local`;
  let running = true;
  let batches = 0;
  let receives = 0;
  let emptyReceives = 0;
  let inHandler = 0;
  const deletes = new DeleteGatherer(
    async (receiptHandles) => {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: receiptHandles.map((receiptHandle, index) => ({
            Id: String(index),
            ReceiptHandle: receiptHandle,
          })),
        }),
      );
    },
    (error) => options.onError?.(error),
    options.deleteGatherMs ?? DELETE_GATHER_MS,
  );
  const batchSize = options.batchSize ?? DELIVERY_BATCH_SIZE;
  const maxLoops =
    typeof handlers === 'function'
      ? (options.concurrency ?? 2)
      : Math.min(options.concurrency ?? copies.length, copies.length);
  const minLoops = Math.max(1, Math.min(options.minConcurrency ?? maxLoops, maxLoops));
  // Copies no loop holds (a single handler is shared by every loop, so it is always free).
  const freeCopies = [...copies];
  const loops = new Set<Promise<void>>();
  // Loops that have not decided to stop (counted at once, so two cannot both leave the last place).
  let active = 0;
  let peakLoops = 0;
  const spawn = () => {
    const handler = typeof handlers === 'function' ? handlers : freeCopies.shift();
    if (!handler) return;
    active++;
    peakLoops = Math.max(peakLoops, active);
    const started = loop(handler).finally(() => {
      loops.delete(started);
      if (typeof handlers !== 'function') freeCopies.push(handler);
    });
    loops.add(started);
  };
  const loop = async (handler: DeliveryHandler): Promise<void> => {
    while (running) {
      try {
        receives++;
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) {
          emptyReceives++;
          // Nothing waited for a whole long poll: one poller fewer, down to the minimum.
          if (active > minLoops) {
            active--;
            return;
          }
          continue;
        }
        // A full batch: more is waiting, so another poller starts, up to the maximum.
        if (Messages.length >= batchSize && running && active < maxLoops) spawn();
        batches++;
        const records = Messages.map((message) => toRecord(message, queueArn, options.region));
        let done: string[] = [];
        inHandler++;
        try {
          const { batchItemFailures } = await handler({ Records: records });
          const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
          done = records
            .filter((record) => !failed.has(record.messageId))
            .map((record) => record.receiptHandle);
        } finally {
          inHandler--;
          // Also when the handler threw (nothing of this batch is deleted): others may be waiting.
          deletes.add(done, inHandler);
        }
      } catch (error) {
        if (!running) break;
        options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  for (let started = 0; started < minLoops; started++) spawn();
  return {
    get loops() {
      return active;
    },
    get peakLoops() {
      return peakLoops;
    },
    get batches() {
      return batches;
    },
    get requests() {
      return { receives, emptyReceives, deletes: deletes.requests };
    },
    stop: async () => {
      running = false;
      while (loops.size > 0) await Promise.all(loops);
      await deletes.drain();
      sqs.destroy();
    },
  };
}
