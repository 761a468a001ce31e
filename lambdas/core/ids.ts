/**
 * Identifiers. Endpoint and event ids are ULIDs (time-ordered) behind a prefix; an event sent
 * with an Idempotency-Key gets an id derived from the key instead, so the event record is its
 * own idempotency record. A delivery id packs the event time, the event id and the endpoint id,
 * so it sorts by time within an endpoint and locates its DynamoDB item without an index.
 */
import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const BODY_CHARS = 26;

export const EVENT_PREFIX = 'msg_';
export const ENDPOINT_PREFIX = 'ep_';
export const DELIVERY_PREFIX = 'dlv_';
export const OPERATIONAL_EVENT_PREFIX = 'oev_';

/** Milliseconds since the epoch as 10 Crockford base32 characters (sorts as a string). */
export function encodeTime(ms: number): string {
  let out = '';
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < TIME_CHARS; i++) {
    out = CROCKFORD[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** Inverse of {@link encodeTime}. */
export function decodeTime(chars: string): number {
  let ms = 0;
  for (const char of chars) ms = ms * 32 + CROCKFORD.indexOf(char);
  return ms;
}

function randomChars(count: number): string {
  const bytes = randomBytes(count);
  let out = '';
  for (const byte of bytes) out += CROCKFORD[byte & 31];
  return out;
}

/** A ULID: 10 time characters then 16 random ones. */
export function ulid(nowMs: number = Date.now()): string {
  return encodeTime(nowMs) + randomChars(BODY_CHARS - TIME_CHARS);
}

/** A new endpoint id. */
export const newEndpointId = (nowMs?: number): string => ENDPOINT_PREFIX + ulid(nowMs);

/** A new event id for an event sent without an Idempotency-Key. */
export const newEventId = (nowMs?: number): string => EVENT_PREFIX + ulid(nowMs);

/** A new operational event id: time-ordered, so the recent list sorts by it (newest first). */
export const newOperationalEventId = (nowMs?: number): string => OPERATIONAL_EVENT_PREFIX + ulid(nowMs);

/** The event id of an event sent with this Idempotency-Key: same key, same id. */
export function idempotentEventId(idempotencyKey: string): string {
  const digest = createHash('sha256').update(`idempotency:${idempotencyKey}`, 'utf8').digest();
  let out = '';
  for (let i = 0; i < BODY_CHARS; i++) out += CROCKFORD[(digest[i] ?? 0) & 31];
  return EVENT_PREFIX + out;
}

const EVENT_ID = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;
const OPERATIONAL_EVENT_ID = /^oev_[0-9A-HJKMNP-TV-Z]{26}$/;
const ENDPOINT_ID = /^ep_[0-9A-HJKMNP-TV-Z]{26}$/;
const DELIVERY_ID = /^dlv_([0-9A-HJKMNP-TV-Z]{10})([0-9A-HJKMNP-TV-Z]{26})([0-9A-HJKMNP-TV-Z]{26})$/;

export const isEventId = (id: string): boolean => EVENT_ID.test(id);
export const isOperationalEventId = (id: string): boolean => OPERATIONAL_EVENT_ID.test(id);
export const isEndpointId = (id: string): boolean => ENDPOINT_ID.test(id);

/** The delivery of one event to one endpoint. */
export function deliveryId(eventId: string, endpointId: string, eventCreatedAtMs: number): string {
  return (
    DELIVERY_PREFIX +
    encodeTime(eventCreatedAtMs) +
    eventId.slice(EVENT_PREFIX.length) +
    endpointId.slice(ENDPOINT_PREFIX.length)
  );
}

/** The parts of a delivery id, or undefined if it is not one. */
export function parseDeliveryId(
  id: string,
): { eventId: string; endpointId: string; eventCreatedAtMs: number } | undefined {
  const match = DELIVERY_ID.exec(id);
  if (!match) return undefined;
  const [, time, event, endpoint] = match as unknown as [string, string, string, string];
  return {
    eventId: EVENT_PREFIX + event,
    endpointId: ENDPOINT_PREFIX + endpoint,
    eventCreatedAtMs: decodeTime(time),
  };
}

/** Smallest delivery id of an event created at `ms`: the lower bound of a `since` query. */
export const deliveryIdLowerBound = (ms: number): string => DELIVERY_PREFIX + encodeTime(ms);
