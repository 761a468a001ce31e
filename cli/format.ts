/**
 * Human output: aligned tables and short renderings of times, sizes and durations. Pure.
 */
import { terminalSafeLine } from './terminal-safe.ts';

type Cell = string | number | boolean | null | undefined;

/** A cell or field value as one line, with no control characters (it is measured, then padded). */
function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return terminalSafeLine(String(cell)) || '-';
}

/**
 * A compact table: a header row, columns two spaces apart, no trailing blanks. An empty table
 * is just `(none)` after the header, so scripts that grep for rows find nothing.
 */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => headers.map((_, index) => cellText(row[index])));
  const widths = headers.map((header, index) =>
    Math.max(header.length, ...text.map((row) => (row[index] ?? '').length)),
  );
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [render(headers), ...text.map(render)];
  if (rows.length === 0) lines.push('(none)');
  return `${lines.join('\n')}\n`;
}

/** `key: value` lines with the values aligned. */
export function fields(entries: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...entries.map(([key]) => key.length)) + 1;
  return `${entries.map(([key, value]) => `${`${key}:`.padEnd(width)} ${cellText(value)}`).join('\n')}\n`;
}

/** Cuts `text` to `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** Whitespace collapsed, for showing a response body on one line. */
export function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** An ISO time without milliseconds: `2024-05-01T12:00:00Z`. */
export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `850 ms`, `1.2 s`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `512 B`, `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
