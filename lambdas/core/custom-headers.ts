/**
 * Custom headers per endpoint: a few static headers a receiver's gateway wants (an `X-Api-Key`,
 * an `Authorization`), kept with the endpoint's signing secret, never in the table and never
 * logged. Pure. The rules (docs/custom-headers.md):
 *
 * - at most {@link MAX_CUSTOM_HEADERS} headers, names unique whatever their case;
 * - a name is an HTTP token (RFC 9110 `tchar`s) of at most {@link MAX_HEADER_NAME_BYTES} bytes;
 * - a value is printable ASCII (spaces and tabs inside, none at either end, no CR, LF or other
 *   control character: no header injection), 1 to {@link MAX_HEADER_VALUE_BYTES} bytes;
 * - names and values together at most {@link MAX_CUSTOM_HEADERS_TOTAL_BYTES} bytes, so the request
 *   stays well under the 8 KB of headers many servers accept;
 * - never one the delivery itself sets or one that changes how the request travels: the
 *   `webhook-*` signature headers, the body's `content-*`, `host`, `user-agent`, and the
 *   hop-by-hop and framing headers ({@link REFUSED_HEADER_NAMES}, any `proxy-*`).
 *   `Authorization` is allowed: it is what gateways most often want.
 */
import { HttpError } from './errors.ts';

/** Most custom headers an endpoint may have. */
export const MAX_CUSTOM_HEADERS = 10;
/** Longest header name, in bytes. */
export const MAX_HEADER_NAME_BYTES = 64;
/** Longest header value, in bytes. */
export const MAX_HEADER_VALUE_BYTES = 1024;
/** Most bytes of names and values together. */
export const MAX_CUSTOM_HEADERS_TOTAL_BYTES = 4096;

/** The error code of every refusal (a 400). */
export const INVALID_HEADER_CODE = 'invalid_header';

/** Names refused whatever their case (besides every `webhook-*` and `proxy-*` name). */
export const REFUSED_HEADER_NAMES: ReadonlySet<string> = new Set([
  // Set by the delivery: the body's type and length, and who sends it.
  'content-type',
  'content-length',
  'content-encoding',
  'user-agent',
  // Where the request goes: the SSRF guard checked the URL's host, not this one.
  'host',
  // Hop-by-hop and framing (RFC 9110 section 7.6.1, RFC 9112).
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

const REFUSED_PREFIXES = ['webhook-', 'proxy-'] as const;

/** RFC 9110 token: one or more `tchar`s. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII and horizontal tab, nothing else (no CR, LF, NUL, DEL, or non-ASCII). */
const VALUE = /^[\t\x20-\x7e]*$/;

/** Why a name cannot be set, or undefined when it can. */
export function refusedNameReason(name: string): string | undefined {
  if (name.length === 0) return 'a header name cannot be empty';
  if (Buffer.byteLength(name) > MAX_HEADER_NAME_BYTES)
    return `a header name is at most ${MAX_HEADER_NAME_BYTES} bytes`;
  if (!TOKEN.test(name)) return "a header name is an HTTP token (letters, digits and !#$%&'*+-.^_`|~)";
  const lower = name.toLowerCase();
  if (REFUSED_HEADER_NAMES.has(lower) || REFUSED_PREFIXES.some((prefix) => lower.startsWith(prefix)))
    return 'the delivery sets this header itself, or it controls how the request travels';
  return undefined;
}

/** Why a value cannot be set, or undefined when it can. Never quotes the value: it may be a secret. */
function refusedValueReason(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'a header value is a string';
  if (value.length === 0) return 'a header value cannot be empty';
  if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES)
    return `a header value is at most ${MAX_HEADER_VALUE_BYTES} bytes`;
  if (!VALUE.test(value)) return 'a header value is printable ASCII (no CR, LF or other control character)';
  if (/^[\t ]|[\t ]$/.test(value)) return 'a header value cannot begin or end with whitespace';
  return undefined;
}

/** A name as it may appear in an error message: quoted, control characters escaped, shortened. */
const quoted = (name: string): string => JSON.stringify(name.slice(0, MAX_HEADER_NAME_BYTES + 1));

const refuse = (message: string): HttpError => new HttpError(400, INVALID_HEADER_CODE, message);

/**
 * Validates the custom headers of an endpoint, as given to POST or PATCH /endpoints (an object
 * of names to values; `null` or `{}` means none). Returns them as given; throws a 400
 * {@link HttpError} (`invalid_header`) whose message names the header at fault, never its value.
 */
export function parseCustomHeaders(value: unknown): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw refuse('headers is an object of header names to values');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_CUSTOM_HEADERS) {
    throw refuse(`at most ${MAX_CUSTOM_HEADERS} custom headers, got ${entries.length}`);
  }
  const seen = new Set<string>();
  const headers: Record<string, string> = {};
  let total = 0;
  for (const [name, headerValue] of entries) {
    const nameFault = refusedNameReason(name);
    if (nameFault) throw refuse(`header ${quoted(name)} cannot be set: ${nameFault}`);
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw refuse(`header ${quoted(name)} is given twice (names ignore case)`);
    seen.add(lower);
    const valueFault = refusedValueReason(headerValue);
    if (valueFault) throw refuse(`header ${quoted(name)} cannot be set: ${valueFault}`);
    total += Buffer.byteLength(name) + Buffer.byteLength(headerValue as string);
    if (total > MAX_CUSTOM_HEADERS_TOTAL_BYTES) {
      throw refuse(
        `header ${quoted(name)} takes the custom headers over ${MAX_CUSTOM_HEADERS_TOTAL_BYTES} bytes in all`,
      );
    }
    headers[name] = headerValue as string;
  }
  return headers;
}

/**
 * The headers of one delivery: the endpoint's custom headers under the ones the delivery sets.
 * A custom header is sent only if it would pass {@link parseCustomHeaders} today (a secret
 * written by hand, or before a rule was added, cannot smuggle in a refused one), and never
 * when a header of `own` has its name in another case: the signature and the body's headers win.
 */
export function withCustomHeaders(
  own: Readonly<Record<string, string>>,
  custom: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  if (!custom) return { ...own };
  const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries(custom)) {
    if (taken.has(name.toLowerCase())) continue;
    if (refusedNameReason(name) !== undefined || refusedValueReason(value) !== undefined) continue;
    taken.add(name.toLowerCase());
    sent[name] = value;
  }
  return { ...sent, ...own };
}
