/**
 * Parsers for option values: times, counts, rates and lists. Pure (no I/O), so the rules the
 * CLI applies to `--since` or `--rate` are unit-tested without running a command.
 */

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
};

/** What `--since` accepts, for error messages and help. */
export const TIME_FORMATS = 'ISO-8601 (2024-05-01T12:00:00Z), Unix seconds, or a time ago (30m, 2h, 7d)';

/**
 * A point in time as epoch milliseconds, from ISO-8601 (`2024-05-01`, `2024-05-01T12:00:00Z`),
 * Unix seconds (like the API's `since`), Unix milliseconds (13 digits, as in `createdAtMs`), or
 * a duration before `nowMs` (`90s`, `30m`, `2h`, `7d`, `1w`).
 */
export function parseTime(raw: string, nowMs: number = Date.now()): number {
  const text = raw.trim();
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1000;
  if (/^\d{13}$/.test(text)) return Number(text);
  const ago = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text);
  if (ago) return nowMs - Number(ago[1]) * (UNIT_MS[ago[2] ?? 's'] ?? 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new Error(`"${raw}" is not a time: use ${TIME_FORMATS}`);
}

/** A whole number from `min` up (for `--max`, `--limit`). */
export function parseCount(raw: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new Error(
      max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be from ${min} to ${max}`,
    );
  }
  return value;
}

/** A positive rate in messages per second; fractions allowed (`0.5` is one every two seconds). */
export function parseRate(raw: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`"${raw}" is not a positive number of messages per second`);
  }
  return value;
}

/** Comma-separated values, trimmed, empties dropped; repeated options accumulate. */
export function collectList(raw: string, previous: readonly string[] = []): string[] {
  const values = raw
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  return [...previous, ...values];
}
