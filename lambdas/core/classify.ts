/**
 * What a receiver's answer means for the delivery. Pure.
 *
 * 2xx delivered. 410 Gone: the receiver says the endpoint is gone for good, so it is
 * disabled. Everything else is retried, 3xx included (redirects are never followed), and
 * `Retry-After` on 429/503 (or any failure) is honoured within the schedule's bounds.
 */

export type ResponseVerdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterSeconds?: number };

/** Parses `Retry-After` (delta seconds or an HTTP date) into seconds from now; undefined if absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** Classifies an HTTP status (and Retry-After) into delivered, gone or retry. */
export function classifyResponse(
  status: number,
  retryAfter: string | undefined,
  nowMs: number,
): ResponseVerdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  const retryAfterSeconds = parseRetryAfter(retryAfter, nowMs);
  const reason =
    status >= 300 && status < 400
      ? `redirect ${status} not followed`
      : status >= 500
        ? `receiver error ${status}`
        : `receiver refused with ${status}`;
  return retryAfterSeconds === undefined
    ? { kind: 'retry', reason }
    : { kind: 'retry', reason, retryAfterSeconds };
}
