/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/), the scheme Svix uses too.
 *
 * Every delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
 * `"{id}.{timestamp}.{body}"`. During a secret rotation both the new and the previous secret
 * sign, so a consumer holding either one verifies the message.
 *
 * Pure: no I/O beyond `node:crypto`, so the delivery function, the local receiver and the
 * tests share it.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How far a `webhook-timestamp` may lie from the verifier's clock, either way. */
export const TOLERANCE_IN_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const SIGNATURE_VERSION = 'v1';
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UNSIGNED_INTEGER = /^\d{1,15}$/;

/** Why {@link verify} refused a message. */
export type WebhookVerificationErrorCode =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_in_future'
  | 'bad_signature';

/** A message that did not verify. `code` tells the reasons apart; the message is for humans. */
export class WebhookVerificationError extends Error {
  /** Machine-readable reason. */
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

/** The three headers every delivery carries. */
export type WebhookHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/** A new endpoint secret: `whsec_` followed by the base64 of 32 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/**
 * Decodes a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries)
 * into the HMAC key. Node's base64 decoder skips characters it does not know, so a mangled
 * secret would silently become another key: check the alphabet first.
 */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !STRICT_BASE64.test(encoded)) {
    throw new TypeError('Webhook secret must be "whsec_" followed by non-empty base64');
  }
  return Buffer.from(encoded, 'base64');
}

function signatureOf(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
}

/**
 * Signs one message.
 *
 * @param secret - the endpoint secret, `whsec_<base64>`
 * @param id - the `webhook-id` (the event id)
 * @param timestampSeconds - the `webhook-timestamp`, whole Unix seconds
 * @param body - the exact request body that will be sent
 * @returns `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
 */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  if (id.length === 0) {
    throw new TypeError('webhook-id must not be empty');
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError(`webhook-timestamp must be whole non-negative seconds, got ${timestampSeconds}`);
  }
  return `${SIGNATURE_VERSION},${signatureOf(secretKey(secret), id, timestampSeconds, body)}`;
}

/**
 * The Standard Webhooks headers for one delivery.
 *
 * @param secrets - the secrets that sign: the current one first, then the previous one while
 *   a rotation overlaps. Must not be empty: a message is never sent unsigned.
 * @returns the headers, with one signature per secret, space-separated, in the given order
 */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): WebhookHeaders {
  if (secrets.length === 0) {
    throw new TypeError('At least one secret is needed to sign a webhook');
  }
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((secret) => sign(secret, id, timestampSeconds, body)).join(' '),
  };
}

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** The verifier's clock, Unix seconds. @default the current time */
  readonly nowSeconds?: number;
  /** Accepted distance between the timestamp and the clock. @default {@link TOLERANCE_IN_SECONDS} */
  readonly toleranceSeconds?: number;
}

/**
 * Verifies a received message the way the Standard Webhooks libraries do, and throws if it
 * does not verify. Header names are matched case-insensitively; the message is accepted if
 * any `v1` signature in `webhook-signature` matches (compared in constant time).
 *
 * @throws {@link WebhookVerificationError} with code `missing_headers`, `invalid_timestamp`,
 *   `timestamp_too_old`, `timestamp_in_future` or `bad_signature`
 * @throws TypeError if `secret` is not a valid secret (a configuration error, not a bad message)
 */
export function verify(
  secret: string,
  headers: Record<string, string | undefined>,
  body: string,
  options: VerifyOptions = {},
): void {
  const key = secretKey(secret);
  const lowered = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(headers)) {
    lowered.set(name.toLowerCase(), value);
  }
  const id = lowered.get('webhook-id');
  const timestamp = lowered.get('webhook-timestamp');
  const signatures = lowered.get('webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing_headers', 'Missing required webhook headers');
  }

  if (!UNSIGNED_INTEGER.test(timestamp)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not Unix seconds');
  }
  const timestampSeconds = Number(timestamp);
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const toleranceSeconds = options.toleranceSeconds ?? TOLERANCE_IN_SECONDS;
  if (nowSeconds - timestampSeconds > toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_too_old', 'Message timestamp too old');
  }
  if (timestampSeconds - nowSeconds > toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_in_future', 'Message timestamp too far in the future');
  }

  const expected = Buffer.from(signatureOf(key, id, timestampSeconds, body));
  for (const versioned of signatures.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma < 0 || versioned.slice(0, comma) !== SIGNATURE_VERSION) {
      continue;
    }
    const candidate = Buffer.from(versioned.slice(comma + 1));
    // Lengths are public (every v1 signature has the same one); only the content is secret.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
      return;
    }
  }
  throw new WebhookVerificationError('bad_signature', 'No matching signature found');
}
