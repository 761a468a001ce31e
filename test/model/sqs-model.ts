/**
 * A standard SQS queue, in memory, on a {@link VirtualClock}: visibility timeouts, per-message
 * DelaySeconds, receives of up to ten, ApproximateReceiveCount, delete, ChangeMessageVisibility
 * (with SQS's 12-hour cap counted from the receive), a maxReceiveCount redrive to a dead-letter
 * list, long polling, fair ordering across MessageGroupIds (round-robin over the groups that
 * have visible messages, as SQS fair queues do on a standard queue), and an in-flight ceiling:
 * at the ceiling a receive returns nothing, as SQS does at about 120,000 messages in flight.
 */
import type { SQSRecord } from 'aws-lambda';
import { SQS_MAX_VISIBILITY_SECONDS } from '../../lambdas/core/config.ts';
import type { VirtualClock } from './clock.ts';

/** One message as the queue keeps it. */
export interface ModelMessage {
  readonly id: string;
  readonly body: string;
  readonly group: string;
  readonly sentAtMs: number;
  receiveCount: number;
  state: 'delayed' | 'visible' | 'inflight';
  /** When a delayed or in-flight message becomes visible. */
  visibleAtMs: number;
  /** When the current receive happened (the 12-hour visibility cap counts from it). */
  receivedAtMs: number;
  receipt: string;
  /** Bumped on every visibility change, so stale heap entries are skipped. */
  version: number;
}

export interface ModelQueueOptions {
  /** Receives return nothing while this many messages are in flight. */
  readonly inFlightCeiling: number;
  /** A receive past this count moves the message to the dead-letter list instead. */
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

/** An SQS error, named as the SDK names it (the worker reads `name`). */
export class ModelSqsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A FIFO of messages with O(1) shift. */
class Deque<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Hidden {
  readonly at: number;
  readonly message: ModelMessage;
  readonly version: number;
}

export class ModelQueue {
  private readonly messages = new Map<string, ModelMessage>();
  /** Delayed and in-flight messages by the time they become visible (a binary min-heap). */
  private readonly hidden: Hidden[] = [];
  /** The same for delays and visibility changes only: the times a long poll is woken at. */
  private readonly alarms: Hidden[] = [];
  private readonly visibleByGroup = new Map<string, Deque<ModelMessage>>();
  /** Groups with visible messages, in round-robin order from `cursor`. */
  private readonly ring: string[] = [];
  private cursor = 0;
  private nextId = 0;
  private waiters: Array<() => void> = [];
  private alarmAtMs = Number.POSITIVE_INFINITY;
  private alarmToken = 0;
  /** Messages moved here by the redrive policy (receive count over maxReceiveCount). */
  readonly redriven: ModelMessage[] = [];
  inFlight = 0;
  maxInFlight = 0;
  visible = 0;
  delayed = 0;
  sends = 0;
  receivesAtCeiling = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly options: ModelQueueOptions,
  ) {}

  get atCeiling(): boolean {
    this.promote();
    return this.inFlight >= this.options.inFlightCeiling;
  }

  /** Messages still in the queue (visible, delayed or in flight). */
  all(): IterableIterator<ModelMessage> {
    return this.messages.values();
  }

  send(body: string, options: { groupId: string; delaySeconds?: number }): void {
    const delaySeconds = Math.min(900, Math.max(0, Math.floor(options.delaySeconds ?? 0)));
    const now = this.clock.now();
    const id = `mq-${(this.nextId++).toString(36)}`;
    const message: ModelMessage = {
      id,
      body,
      group: options.groupId,
      sentAtMs: now,
      receiveCount: 0,
      state: 'visible',
      visibleAtMs: now,
      receivedAtMs: 0,
      receipt: '',
      version: 0,
    };
    this.messages.set(id, message);
    this.sends++;
    if (delaySeconds > 0) {
      message.state = 'delayed';
      this.delayed++;
      this.hide(message, now + delaySeconds * 1000);
    } else {
      this.makeVisible(message);
      this.wakeOne();
    }
  }

  /** ReceiveMessage: up to `max` visible messages, fairly across groups; nothing at the ceiling. */
  receive(max = 10): SQSRecord[] {
    this.promote();
    const room = this.options.inFlightCeiling - this.inFlight;
    if (room <= 0) {
      if (this.visible > 0) this.receivesAtCeiling++;
      return [];
    }
    const now = this.clock.now();
    const records: SQSRecord[] = [];
    const limit = Math.min(max, room);
    while (records.length < limit && this.ring.length > 0) {
      if (this.cursor >= this.ring.length) this.cursor = 0;
      const group = this.ring[this.cursor] as string;
      const deque = this.visibleByGroup.get(group);
      const message = deque?.shift();
      if (!deque || !message) {
        this.ring.splice(this.cursor, 1);
        this.visibleByGroup.delete(group);
        continue;
      }
      if (deque.length === 0) {
        this.ring.splice(this.cursor, 1);
        this.visibleByGroup.delete(group);
      } else {
        this.cursor++;
      }
      this.visible--;
      message.receiveCount++;
      if (message.receiveCount > this.options.maxReceiveCount) {
        this.messages.delete(message.id);
        this.redriven.push(message);
        continue;
      }
      message.state = 'inflight';
      message.receivedAtMs = now;
      message.receipt = `${message.id}#${message.receiveCount}`;
      this.inFlight++;
      // No alarm for the end of a receive's visibility timeout: the worker deletes or defers
      // every record it is handed, and the 20 s end of the long polls finds any other.
      this.hide(message, now + this.options.visibilityTimeoutSeconds * 1000, false);
      records.push(toRecord(message));
    }
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return records;
  }

  /** DeleteMessage: only the latest receipt handle deletes, as on a standard queue. */
  delete(receiptHandle: string): void {
    const message = this.byReceipt(receiptHandle);
    if (!message) return;
    this.messages.delete(message.id);
    if (message.state === 'inflight') {
      const wasAtCeiling = this.inFlight >= this.options.inFlightCeiling;
      this.inFlight--;
      if (wasAtCeiling) this.wakeOne();
    }
    message.version++;
  }

  /** ChangeMessageVisibility of an in-flight message. */
  changeVisibility(receiptHandle: string, seconds: number): void {
    this.promote();
    const message = this.byReceipt(receiptHandle);
    if (!message) throw new ModelSqsError('ReceiptHandleIsInvalid', 'receipt handle is not current');
    if (message.state !== 'inflight')
      throw new ModelSqsError('MessageNotInflight', 'message is not in flight');
    const now = this.clock.now();
    if (
      !Number.isInteger(seconds) ||
      seconds < 0 ||
      now + seconds * 1000 > message.receivedAtMs + SQS_MAX_VISIBILITY_SECONDS * 1000
    ) {
      throw new ModelSqsError('InvalidParameterValue', `visibility timeout ${seconds} refused`);
    }
    if (seconds === 0) {
      this.inFlight--;
      message.version++;
      this.makeVisible(message);
      this.wakeOne();
      return;
    }
    this.hide(message, now + seconds * 1000);
  }

  /**
   * Long polling: resolves when a message may be visible (one was sent, made visible, or a
   * hidden one's time came), or at the latest at the next {@link wakeAll}.
   */
  waitForMessages(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.armAlarm();
    });
  }

  /** Ends every long poll (their 20 s are over): one timer for all pollers, not one each. */
  wakeAll(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  private byReceipt(receiptHandle: string): ModelMessage | undefined {
    const message = this.messages.get(receiptHandle.slice(0, receiptHandle.lastIndexOf('#')));
    return message && message.receipt === receiptHandle ? message : undefined;
  }

  private makeVisible(message: ModelMessage): void {
    message.state = 'visible';
    message.visibleAtMs = this.clock.now();
    let deque = this.visibleByGroup.get(message.group);
    if (!deque) {
      deque = new Deque();
      this.visibleByGroup.set(message.group, deque);
      this.ring.push(message.group);
    }
    deque.push(message);
    this.visible++;
  }

  private hide(message: ModelMessage, atMs: number, alarm = true): void {
    message.visibleAtMs = atMs;
    message.version++;
    const entry = { at: atMs, message, version: message.version };
    heapPush(this.hidden, entry);
    if (!alarm) return;
    heapPush(this.alarms, entry);
    if (this.waiters.length > 0 && atMs < this.alarmAtMs) this.armAlarm();
  }

  /** Moves every delayed or in-flight message whose time has come back to visible. */
  private promote(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.hidden[0];
      if (!top || top.at > now) return;
      heapPop(this.hidden);
      const message = top.message;
      if (top.version !== message.version || !this.messages.has(message.id)) continue;
      if (message.state === 'inflight') this.inFlight--;
      else if (message.state === 'delayed') this.delayed--;
      this.makeVisible(message);
    }
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }

  /** Wakes a long poller when the soonest hidden message becomes visible. */
  private armAlarm(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.alarms[0];
      if (!top || (top.at > now && top.version === top.message.version && this.messages.has(top.message.id)))
        break;
      heapPop(this.alarms);
    }
    const soonest = this.alarms[0]?.at;
    if (soonest === undefined || this.waiters.length === 0 || soonest >= this.alarmAtMs) return;
    const token = ++this.alarmToken;
    this.alarmAtMs = soonest;
    this.clock.at(soonest, () => {
      if (token !== this.alarmToken) return;
      this.alarmAtMs = Number.POSITIVE_INFINITY;
      this.promote();
      const waking = Math.min(this.waiters.length, Math.ceil(this.visible / 10));
      for (let i = 0; i < waking; i++) this.wakeOne();
      this.armAlarm();
    });
  }
}

function toRecord(message: ModelMessage): SQSRecord {
  return {
    messageId: message.id,
    receiptHandle: message.receipt,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAtMs),
      SenderId: 'model',
      ApproximateFirstReceiveTimestamp: String(message.receivedAtMs),
      MessageGroupId: message.group,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:model-deliveries',
    awsRegion: 'us-east-1',
  };
}

function heapPush(heap: Hidden[], item: Hidden): void {
  heap.push(item);
  let index = heap.length - 1;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if ((heap[parent] as Hidden).at <= item.at) break;
    heap[index] = heap[parent] as Hidden;
    index = parent;
  }
  heap[index] = item;
}

function heapPop(heap: Hidden[]): void {
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return;
  let index = 0;
  for (;;) {
    const left = 2 * index + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child =
      right < heap.length && (heap[right] as Hidden).at < (heap[left] as Hidden).at ? right : left;
    if ((heap[child] as Hidden).at >= last.at) break;
    heap[index] = heap[child] as Hidden;
    index = child;
  }
  heap[index] = last;
}
