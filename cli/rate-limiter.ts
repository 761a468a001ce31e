/**
 * Paces redrive sends to `--rate` messages per second. Pure (the clock is injected).
 *
 * Each message books 1/rate seconds; a batch waits until the previous booking ends. Idle time
 * earns no credit, so a pause is never followed by a burst at the receivers.
 */

/** SQS batch calls carry at most ten entries. */
export const SQS_BATCH_SIZE = 10;

export class RateLimiter {
  private nextFreeAtMs = Number.NEGATIVE_INFINITY;

  /** `perSecond` undefined means unthrottled. */
  constructor(
    private readonly perSecond: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (perSecond !== undefined && !(perSecond > 0 && Number.isFinite(perSecond))) {
      throw new RangeError(`rate must be a positive number, got ${perSecond}`);
    }
  }

  /** Books `count` sends and returns how many milliseconds to wait before making them. */
  reserve(count: number): number {
    if (this.perSecond === undefined || count <= 0) return 0;
    const now = this.now();
    const start = Math.max(now, this.nextFreeAtMs);
    this.nextFreeAtMs = start + (count * 1000) / this.perSecond;
    return start - now;
  }
}

/**
 * Messages per batch at a given rate: about one second's worth, so sends are spread over the
 * second rather than ten at once followed by a long wait (and few messages sit received but
 * unsent if the process dies).
 */
export function batchSizeFor(perSecond: number | undefined): number {
  if (perSecond === undefined) return SQS_BATCH_SIZE;
  return Math.min(SQS_BATCH_SIZE, Math.max(1, Math.floor(perSecond)));
}
