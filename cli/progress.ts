/**
 * Progress of a long redrive on stderr: a bar redrawn in place on a terminal, a plain line
 * every few seconds otherwise (CI logs, pipes). Pure formatting plus a reporter whose clock and
 * writer are injected.
 */

/** Where a redrive stands. */
export interface RedriveProgress {
  /** Distinct DLQ messages looked at so far. */
  readonly scanned: number;
  /** Moved to the delivery queue (in a dry run: would be moved). */
  readonly moved: number;
  /** Not matching the filter (or over `--max`), left in the DLQ. */
  readonly left: number;
  /** Could not be moved; still in the DLQ. */
  readonly failed: number;
  /** Approximate DLQ depth when the run started, if known. */
  readonly total?: number;
  readonly elapsedMs: number;
  readonly dryRun: boolean;
}

/** The end-of-run line, as scripts and people read it. */
export function summaryLine(progress: Pick<RedriveProgress, 'moved' | 'left' | 'failed' | 'dryRun'>): string {
  const moved = progress.dryRun ? `would move ${progress.moved}` : `moved ${progress.moved}`;
  return `${moved}, left ${progress.left} (not matching), failed ${progress.failed}`;
}

function ratePerSecond(progress: RedriveProgress): string {
  const seconds = progress.elapsedMs / 1000;
  return seconds > 0 ? (progress.moved / seconds).toFixed(1) : '0.0';
}

function elapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** One line for a log: `redrive: scanned 40 of ~100, moved 35, left 5 (not matching), failed 0, 7.0/s, 5s`. */
export function progressLine(progress: RedriveProgress): string {
  const of = progress.total !== undefined ? ` of ~${progress.total}` : '';
  const label = progress.dryRun ? 'redrive (dry run)' : 'redrive';
  return `${label}: scanned ${progress.scanned}${of}, ${summaryLine(progress)}, ${ratePerSecond(progress)}/s, ${elapsed(progress.elapsedMs)}`;
}

/** A terminal bar: `[█████░░░░░] 40/~100 moved 35 left 5 failed 0 7.0/s 5s`. */
export function progressBar(progress: RedriveProgress, width = 24): string {
  const total = progress.total && progress.total > 0 ? progress.total : undefined;
  const fraction = total ? Math.min(1, progress.scanned / total) : 0;
  const filled = Math.round(fraction * width);
  const bar = total ? `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ` : '';
  const count = total ? `${progress.scanned}/~${total}` : `${progress.scanned} scanned`;
  const moved = progress.dryRun ? 'would move' : 'moved';
  return `${bar}${count} ${moved} ${progress.moved} left ${progress.left} failed ${progress.failed} ${ratePerSecond(progress)}/s ${elapsed(progress.elapsedMs)}`;
}

export interface ProgressReporterOptions {
  readonly write: (text: string) => void;
  /** Redraw a bar in place (a terminal) or print periodic lines (anything else). */
  readonly isTTY: boolean;
  readonly now?: () => number;
  /** Least time between two redraws of the bar. @default 100 */
  readonly barIntervalMs?: number;
  /** Least time between two plain lines; a run shorter than this prints none. @default 5000 */
  readonly lineIntervalMs?: number;
}

/** Writes progress updates at a sensible pace; {@link finish} leaves the terminal clean. */
export class ProgressReporter {
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastWriteAt: number;
  private drawn = false;

  constructor(private readonly options: ProgressReporterOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    // Plain lines wait one interval from the start; the bar may draw at once.
    this.lastWriteAt = options.isTTY ? Number.NEGATIVE_INFINITY : this.startedAt;
  }

  /** Reports `progress` if enough time has passed since the last report. */
  update(progress: Omit<RedriveProgress, 'elapsedMs'>): void {
    const now = this.now();
    const interval = this.options.isTTY
      ? (this.options.barIntervalMs ?? 100)
      : (this.options.lineIntervalMs ?? 5000);
    if (now - this.lastWriteAt < interval) return;
    this.lastWriteAt = now;
    const full = { ...progress, elapsedMs: now - this.startedAt };
    if (this.options.isTTY) {
      this.options.write(`\r\x1b[2K${progressBar(full)}`);
      this.drawn = true;
    } else {
      this.options.write(`${progressLine(full)}\n`);
    }
  }

  /** Erases the bar, so the summary (or an error) starts on a clean line. */
  finish(): void {
    if (this.drawn) this.options.write('\r\x1b[2K');
    this.drawn = false;
  }
}
