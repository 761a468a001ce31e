/**
 * A virtual clock for discrete-event simulation: a priority queue of timed callbacks, run in
 * time order. Nothing waits on a real timer: {@link VirtualClock.run} jumps from one event to the
 * next, and between two instants lets every promise chain the callbacks started settle (one
 * `setImmediate`, which Node runs only once the microtask queue is empty), so async code driven by
 * the clock (the real worker, over in-memory fakes) sees time move only when it awaits a
 * {@link VirtualClock.sleep}.
 */

interface Timed {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A binary min-heap of timed callbacks, by time then by scheduling order (so ties run FIFO). */
class EventHeap {
  private readonly items: Timed[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timed | undefined {
    return this.items[0];
  }

  push(item: Timed): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(item, items[parent] as Timed)) break;
      items[index] = items[parent] as Timed;
      index = parent;
    }
    items[index] = item;
  }

  pop(): Timed | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && before(items[right] as Timed, items[left] as Timed) ? right : left;
      if (!before(items[child] as Timed, last)) break;
      items[index] = items[child] as Timed;
      index = child;
    }
    items[index] = last;
    return top;
  }
}

const before = (a: Timed, b: Timed): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualClock {
  private current: number;
  private seq = 0;
  private readonly heap = new EventHeap();
  /** Instants processed (each followed by one settle of the promise chains). */
  steps = 0;

  constructor(startMs: number) {
    this.current = startMs;
  }

  /** The virtual time, epoch ms: pass it as `now` to the worker, the store and the queue. */
  readonly now = (): number => this.current;

  /** Runs `callback` at virtual time `atMs` (now, if that has passed). */
  at(atMs: number, callback: () => void): void {
    this.heap.push({ at: Math.max(atMs, this.current), seq: this.seq++, run: callback });
  }

  /** Runs `callback` after `delayMs` of virtual time. */
  after(delayMs: number, callback: () => void): void {
    this.at(this.current + delayMs, callback);
  }

  /** Resolves after `delayMs` of virtual time. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.after(delayMs, resolve));
  }

  /** Runs `callback` every `periodMs` from `firstAtMs` until `untilMs`. */
  every(periodMs: number, firstAtMs: number, untilMs: number, callback: () => void): void {
    const tick = (at: number) => {
      if (at > untilMs) return;
      this.at(at, () => {
        callback();
        tick(at + periodMs);
      });
    };
    tick(firstAtMs);
  }

  /**
   * Runs every event due up to `endMs` in time order, letting the promise chains settle after
   * each instant, then leaves the clock at `endMs`.
   */
  async run(endMs: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > endMs) break;
      this.current = next.at;
      while (this.heap.peek()?.at === this.current) (this.heap.pop() as Timed).run();
      this.steps++;
      await settle();
    }
    this.current = Math.max(this.current, endMs);
  }
}
