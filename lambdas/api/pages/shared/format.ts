/** How the pages show times, durations, status codes and states: always as text. */
import { h } from './dom.ts';
import type { Delivery } from './types.ts';

const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

const dash = (): HTMLElement => h('span', { class: 'muted', text: '—' });

/** An ISO time as a `<time>`, local and short, the full value in its title. */
export function time(iso: string | null | undefined): HTMLElement {
  if (!iso) return dash();
  const date = new Date(iso);
  return h('time', {
    datetime: iso,
    title: iso,
    text: Number.isNaN(date.getTime()) ? iso : timeFormat.format(date),
  });
}

/** A state as a coloured badge (`delivered`, `dead`, `enabled`, ...). */
export const badge = (status: string): HTMLElement => h('span', { class: `badge ${status}`, text: status });

/** Milliseconds as `120 ms` or `1.25 s`. */
export function duration(ms: number | undefined): string {
  if (typeof ms !== 'number') return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** An HTTP status code, green when 2xx. */
export function statusCode(code: number | undefined): HTMLElement {
  if (typeof code !== 'number') return dash();
  return h('span', { class: code >= 200 && code < 300 ? 'code-ok' : 'code-bad', text: String(code) });
}

/** Only failed and dead deliveries can be retried. */
export const retryable = (delivery: Delivery): boolean =>
  delivery.status === 'failed' || delivery.status === 'dead';

/** What the last attempt got: its status code, else the start of its error. */
export function lastResult(delivery: Delivery): HTMLElement {
  const last = delivery.lastAttempt;
  if (!last) return dash();
  if (typeof last.statusCode === 'number') return statusCode(last.statusCode);
  return h('span', { class: 'error-text', text: last.error ? last.error.slice(0, 60) : 'error' });
}

/** Attempt rows: number, time, status, duration, error and response excerpt (as text). */
export function attemptRows(delivery: Delivery): HTMLTableRowElement[] {
  return (delivery.attempts ?? []).map((attempt) =>
    h(
      'tr',
      {},
      h('td', { class: 'num', text: String(attempt.attempt) }),
      h('td', {}, time(attempt.at)),
      h('td', {}, statusCode(attempt.statusCode)),
      h('td', { class: 'num', text: duration(attempt.durationMs) }),
      h(
        'td',
        {},
        attempt.error ? h('div', { class: 'error-text', text: attempt.error }) : null,
        attempt.responseExcerpt ? h('pre', { class: 'excerpt', text: attempt.responseExcerpt }) : null,
        !attempt.error && !attempt.responseExcerpt ? dash() : null,
      ),
    ),
  );
}

/** A `datetime-local` value (local time, no zone) as ISO-8601, or null when empty or invalid. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
