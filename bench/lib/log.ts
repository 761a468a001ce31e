/**
 * Progress lines on stderr, stamped with the seconds since the whole benchmark started (the
 * parent passes its start time down to every section process in `BENCH_STARTED_AT`).
 */
const startedAt = Number(process.env.BENCH_STARTED_AT ?? Date.now());

/** Prints `[bench +12.3s] section: message` to stderr. */
export function progress(section: string, message: string): void {
  const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1);
  process.stderr.write(`[bench +${elapsed}s] ${section}: ${message}\n`);
}
