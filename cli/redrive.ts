/**
 * Moving dead-lettered deliveries back to the delivery queue.
 *
 * The whole DLQ goes over with SQS's own message move task where the service has one. Any
 * selection (`--endpoint`, `--type`, `--since`, `--max`), a dry run, and services without the
 * task (the moto emulator) take the manual path: receive from the DLQ, send each selected body
 * unchanged to the delivery queue, and delete it from the DLQ only once the send succeeded.
 * Killing the process at any point therefore loses nothing: at worst a message is in both
 * queues, and the delivery worker drops a duplicate of a delivery that already succeeded.
 * What is not selected stays in the DLQ, made visible again at the end of the run.
 */
import {
  DeleteMessageBatchCommand,
  ListMessageMoveTasksCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { isMoveTaskUnsupported } from '../lambdas/core/move-task.ts';
import { CliError, describeError } from './errors.ts';
import type { RedriveProgress } from './progress.ts';
import { queueArn, queueDepth, setVisibility } from './queues.ts';
import { batchSizeFor, RateLimiter } from './rate-limiter.ts';
import {
  decodeBody,
  describeFilter,
  type GroupCount,
  GroupCounter,
  isFiltered,
  matchesFilter,
  type RedriveFilter,
  redriveKey,
} from './redrive-filter.ts';

/** How long received DLQ messages stay hidden from others during a run, renewed while held. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 120;

/** Receives in a row that bring no new message before the DLQ counts as drained. */
export const DEFAULT_EMPTY_RECEIVES_TO_STOP = 3;

/** SQS's ceiling for MaxNumberOfMessagesPerSecond of a message move task. */
export const MAX_MOVE_TASK_RATE = 500;

export interface RedriveQueues {
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
}

export interface RedriveOptions {
  readonly filter?: RedriveFilter;
  /** Move at most this many messages. */
  readonly max?: number;
  /** Messages per second. */
  readonly ratePerSecond?: number;
  /** Count what would move; move nothing. */
  readonly dryRun?: boolean;
  /** Stops the run after the current batch (the summary then says `interrupted`). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Omit<RedriveProgress, 'elapsedMs'>) => void;
  /** Wait for a message move task to finish, reporting its progress. @default true */
  readonly waitForMoveTask?: boolean;
  /** @default DEFAULT_VISIBILITY_TIMEOUT_SECONDS */
  readonly visibilityTimeoutSeconds?: number;
  /** Long-poll time of each receive; SQS then asks every server, not a sample. @default 1 */
  readonly waitTimeSeconds?: number;
  /** @default DEFAULT_EMPTY_RECEIVES_TO_STOP */
  readonly emptyReceivesToStop?: number;
  /** Between two ListMessageMoveTasks calls. @default 2000 */
  readonly moveTaskPollMs?: number;
}

/** A message move task, as started (and, when waited for, as it ended). */
export interface MoveTask {
  readonly taskHandle: string;
  readonly sourceArn: string;
  readonly destinationArn: string;
  readonly maxPerSecond: number | null;
  /** RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED; RUNNING when not waited for. */
  readonly status: string;
  readonly approximateMessagesToMove: number | null;
  readonly failureReason: string | null;
}

export interface RedriveResult {
  /** `move-task`: SQS moved the whole queue; `manual`: receive, send, delete. */
  readonly method: 'move-task' | 'manual';
  readonly dryRun: boolean;
  /** The selection in words. */
  readonly filter: string;
  /** Distinct DLQ messages looked at. */
  readonly scanned: number;
  /** Moved to the delivery queue; in a dry run, how many would be. */
  readonly moved: number;
  /** Not matching the filter: left in the DLQ. */
  readonly left: number;
  /** Selected but not moved (SQS refused the send); still in the DLQ. */
  readonly failed: number;
  /** Selected but beyond `--max`; still in the DLQ. */
  readonly overMax: number;
  /**
   * Copies of a delivery this run had already moved that reached the DLQ during the run (it
   * failed for good again at once, e.g. its endpoint is disabled): left in the DLQ, so a run
   * always ends instead of moving them round in a loop. Copies that were in the DLQ before
   * the run move like any other message.
   */
  readonly repeated: number;
  /** Sent, but the delete from the DLQ failed: these are now in both queues. */
  readonly duplicated: number;
  /** What moved (or would move), per endpoint and event type; `null` for unparseable bodies. */
  readonly groups: GroupCount[];
  readonly interrupted: boolean;
  /** Why the move task was not used although the whole queue was to move. */
  readonly fallbackReason: string | null;
  readonly moveTask: MoveTask | null;
}

/** Moves DLQ messages back to the delivery queue; see the module comment for the guarantees. */
export async function redrive(
  sqs: SQSClient,
  queues: RedriveQueues,
  options: RedriveOptions = {},
): Promise<RedriveResult> {
  const filter = options.filter ?? {};
  let fallbackReason: string | null = null;
  if (!options.dryRun && !isFiltered(filter) && options.max === undefined) {
    try {
      return await moveTask(sqs, queues, options);
    } catch (error) {
      if (!isMoveTaskUnsupported(error)) {
        if (error instanceof CliError) throw error;
        throw new CliError(`StartMessageMoveTask failed: ${describeError(error)}`);
      }
      fallbackReason = `the service does not support StartMessageMoveTask (${describeError(error)})`;
    }
  }
  return { ...(await manualRedrive(sqs, queues, options)), fallbackReason };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function moveTask(
  sqs: SQSClient,
  queues: RedriveQueues,
  options: RedriveOptions,
): Promise<RedriveResult> {
  const [sourceArn, destinationArn, depth] = await Promise.all([
    queueArn(sqs, queues.deadLetterQueueUrl),
    queueArn(sqs, queues.deliveryQueueUrl),
    queueDepth(sqs, queues.deadLetterQueueUrl),
  ]);
  const maxPerSecond =
    options.ratePerSecond === undefined
      ? null
      : Math.min(MAX_MOVE_TASK_RATE, Math.max(1, Math.round(options.ratePerSecond)));
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: sourceArn,
      DestinationArn: destinationArn,
      ...(maxPerSecond === null ? {} : { MaxNumberOfMessagesPerSecond: maxPerSecond }),
    }),
  );
  if (!TaskHandle) throw new CliError('StartMessageMoveTask returned no task handle');
  let task: MoveTask = {
    taskHandle: TaskHandle,
    sourceArn,
    destinationArn,
    maxPerSecond,
    status: 'RUNNING',
    approximateMessagesToMove: depth.visible,
    failureReason: null,
  };
  let moved = 0;
  let interrupted = false;
  if (options.waitForMoveTask ?? true) {
    for (;;) {
      const { Results = [] } = await sqs.send(
        new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }),
      );
      const current = Results.find((result) => result.TaskHandle === TaskHandle) ?? Results[0];
      if (current) {
        moved = current.ApproximateNumberOfMessagesMoved ?? moved;
        task = {
          ...task,
          status: current.Status ?? task.status,
          approximateMessagesToMove:
            current.ApproximateNumberOfMessagesToMove ?? task.approximateMessagesToMove,
          failureReason: current.FailureReason ?? null,
        };
      }
      options.onProgress?.({
        scanned: moved,
        moved,
        left: 0,
        failed: 0,
        dryRun: false,
        ...(task.approximateMessagesToMove !== null ? { total: task.approximateMessagesToMove } : {}),
      });
      if (task.status !== 'RUNNING' && task.status !== 'CANCELLING') break;
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      await sleep(options.moveTaskPollMs ?? 2000, options.signal);
    }
  }
  const toMove = task.approximateMessagesToMove ?? moved;
  return {
    method: 'move-task',
    dryRun: false,
    filter: describeFilter({}),
    scanned: moved,
    moved,
    left: 0,
    failed: task.status === 'FAILED' || task.status === 'CANCELLED' ? Math.max(0, toMove - moved) : 0,
    overMax: 0,
    repeated: 0,
    duplicated: 0,
    groups: [],
    interrupted,
    fallbackReason: null,
    moveTask: task,
  };
}

/**
 * Slack between this machine's clock and SQS's when telling copies that arrived during the run
 * (by SentTimestamp) from older ones. A larger skew only delays the loop guard by that much:
 * copies arriving later still are recognised.
 */
const CLOCK_SKEW_MS = 2_000;

/** When SQS accepted the message (0 if unknown). */
function sentAtMs(message: Message): number {
  return Number(message.Attributes?.SentTimestamp ?? 0) || 0;
}

interface Held {
  receiptHandle: string;
  /** When its visibility was last set, to renew it before it runs out. */
  hiddenAtMs: number;
}

async function manualRedrive(
  sqs: SQSClient,
  queues: RedriveQueues,
  options: RedriveOptions,
): Promise<Omit<RedriveResult, 'fallbackReason'>> {
  const filter = options.filter ?? {};
  const dryRun = options.dryRun ?? false;
  const visibility = options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
  const limiter = new RateLimiter(options.ratePerSecond);
  const batchSize = batchSizeFor(options.ratePerSecond);
  const dlq = queues.deadLetterQueueUrl;

  /** Messages received and kept hidden until the end: not selected, dry run, or failed. */
  const held = new Map<string, Held>();
  const seen = new Set<string>();
  /** Deliveries selected in this run, to recognise one that comes back during the run. */
  const selectedKeys = new Set<string>();
  const groups = new GroupCounter();
  const counts = { scanned: 0, moved: 0, left: 0, failed: 0, overMax: 0, repeated: 0, duplicated: 0 };
  let selected = 0;
  let interrupted = false;

  const runStartedAtMs = Date.now();
  const total = (await queueDepth(sqs, dlq)).visible;
  const report = () => options.onProgress?.({ ...counts, total, dryRun });
  const hold = (message: Message) =>
    held.set(message.MessageId ?? '', { receiptHandle: message.ReceiptHandle ?? '', hiddenAtMs: Date.now() });

  /** Renews the hiding of held messages before it runs out, so they are not received again. */
  const renewHeld = async () => {
    const now = Date.now();
    const due = [...held.values()].filter((entry) => now - entry.hiddenAtMs > (visibility * 1000) / 2);
    if (due.length === 0) return;
    await setVisibility(
      sqs,
      dlq,
      due.map((entry) => entry.receiptHandle),
      visibility,
    );
    for (const entry of due) entry.hiddenAtMs = now;
  };

  const move = async (batch: Message[]) => {
    await sleep(limiter.reserve(batch.length), options.signal);
    let sent: Set<string>;
    try {
      const { Successful = [] } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queues.deliveryQueueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: message.Body ?? '',
            ...withAttributes(message.MessageAttributes),
          })),
        }),
      );
      sent = new Set(Successful.map((entry) => entry.Id ?? ''));
    } catch (error) {
      throw new CliError(
        `sending to the delivery queue failed after moving ${counts.moved}: ${describeError(error)}`,
      );
    }
    const deletable: Message[] = [];
    batch.forEach((message, index) => {
      if (sent.has(String(index))) {
        deletable.push(message);
        groups.add(decodeBody(message.Body));
        counts.moved++;
      } else {
        hold(message);
        counts.failed++;
      }
    });
    if (deletable.length === 0) return;
    // Only now, with the copy safely in the delivery queue, does the DLQ let go of it.
    try {
      const { Failed = [] } = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlq,
          Entries: deletable.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
      counts.duplicated += Failed.length;
    } catch {
      counts.duplicated += deletable.length;
    }
  };

  try {
    let emptyReceives = 0;
    while (emptyReceives < (options.emptyReceivesToStop ?? DEFAULT_EMPTY_RECEIVES_TO_STOP)) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (options.max !== undefined && selected >= options.max) break;
      await renewHeld();
      // Unfiltered, every message received is sent: take a batch's worth (and no more than
      // --max still allows), so few sit received but unsent. A selection scans at full width.
      const want =
        isFiltered(filter) || dryRun
          ? 10
          : Math.min(batchSize, options.max === undefined ? batchSize : options.max - selected);
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq,
          MaxNumberOfMessages: want,
          VisibilityTimeout: visibility,
          WaitTimeSeconds: options.waitTimeSeconds ?? 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      const fresh: Message[] = [];
      for (const message of Messages) {
        const id = message.MessageId ?? '';
        const heldEntry = held.get(id);
        if (heldEntry) {
          // Seen before and hidden again by this receive: keep the newest handle.
          heldEntry.receiptHandle = message.ReceiptHandle ?? heldEntry.receiptHandle;
          heldEntry.hiddenAtMs = Date.now();
        }
        if (seen.has(id)) continue;
        seen.add(id);
        fresh.push(message);
      }
      if (fresh.length === 0) {
        emptyReceives++;
        continue;
      }
      emptyReceives = 0;
      const toMove: Message[] = [];
      for (const message of fresh) {
        counts.scanned++;
        const decoded = decodeBody(message.Body);
        if (!matchesFilter(decoded, filter)) {
          counts.left++;
          hold(message);
        } else if (options.max !== undefined && selected >= options.max) {
          counts.overMax++;
          hold(message);
        } else if (
          selectedKeys.has(redriveKey(message.Body)) &&
          sentAtMs(message) >= runStartedAtMs - CLOCK_SKEW_MS
        ) {
          counts.repeated++;
          hold(message);
        } else {
          selected++;
          selectedKeys.add(redriveKey(message.Body));
          if (dryRun) {
            counts.moved++;
            groups.add(decoded);
            hold(message);
          } else {
            toMove.push(message);
          }
        }
      }
      for (let index = 0; index < toMove.length; index += batchSize) {
        if (options.signal?.aborted) {
          // Stop between batches; what this receive brought but was not sent stays in the DLQ.
          for (const message of toMove.slice(index)) hold(message);
          break;
        }
        try {
          await move(toMove.slice(index, index + batchSize));
        } catch (error) {
          for (const message of toMove.slice(index)) hold(message);
          throw error;
        }
        report();
      }
      report();
    }
  } finally {
    // Everything not moved becomes visible again now, not after the visibility timeout.
    await setVisibility(
      sqs,
      dlq,
      [...held.values()].map((entry) => entry.receiptHandle),
      0,
    );
  }
  return {
    method: 'manual',
    dryRun,
    filter: describeFilter(filter),
    ...counts,
    groups: groups.list(),
    interrupted,
    moveTask: null,
  };
}

function withAttributes(attributes: Record<string, MessageAttributeValue> | undefined): {
  MessageAttributes?: Record<string, MessageAttributeValue>;
} {
  return attributes && Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {};
}
