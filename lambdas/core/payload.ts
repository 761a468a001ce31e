/**
 * What travels: the signed webhook body, the SQS message that carries one delivery, and
 * the compact form of the body stored on the event record. Pure (node:zlib, node:crypto).
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DeliveryError } from './errors.ts';
import { OPERATIONAL_EVENT_TYPES, type OperationalEvent } from './operational-events.ts';

/**
 * Characters SQS refuses in a message body (it accepts #x9, #xA, #xD, #x20 to #xD7FF, #xE000 to
 * #xFFFD and #x10000 to #x10FFFF). JSON.stringify already escapes C0 controls and lone
 * surrogates; U+FFFE and U+FFFF it leaves raw, so they are escaped here.
 */
const SQS_REFUSED = /[\uFFFE\uFFFF]/g;

/**
 * The webhook body: `{"type", "timestamp", "data"}`, as Standard Webhooks suggests. U+FFFE and
 * U+FFFF (which SQS refuses) are written as JSON escapes, so a receiver parses the same data.
 */
export function buildWebhookBody(type: string, createdAtMs: number, data: unknown): string {
  return JSON.stringify({ type, timestamp: new Date(createdAtMs).toISOString(), data }).replace(
    SQS_REFUSED,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

/** One delivery: what the API enqueues and the delivery worker consumes. */
export interface DeliveryMessage {
  readonly deliveryId: string;
  readonly eventId: string;
  readonly endpointId: string;
  readonly eventType: string;
  readonly createdAtMs: number;
  /** The exact bytes to sign and POST. */
  readonly body: string;
  /**
   * Why it was (re)queued, when not by ingest: `retry` (manual), `recover`, `due` (a long wait
   * over, sent by the sweep), `released` (out of its endpoint's backlog, at the release rate),
   * `probe` (the one delivery that tests a half-open circuit).
   */
  readonly reason?: string;
  /** The tenant the endpoint belongs to (absent on messages sent before tenants: `default`). */
  readonly tenantId?: string;
  /** The `Trackingid` of the API request that accepted the event, for correlation. */
  readonly trackingId?: string;
}

/**
 * A reminder the API schedules when it accepts an event with an Idempotency-Key: when it comes
 * back (after {@link EVENT_CHECK_DELAY_SECONDS}), an event still not queued is handed to the sweep.
 * It covers an API function that died between storing an event and queueing it.
 */
export interface EventCheckMessage {
  readonly kind: 'event-check';
  readonly eventId: string;
}

/**
 * Serialises a delivery message for SQS: one line of JSON with the delivery's fields, a newline,
 * then the body exactly as it is signed. The body is not escaped a second time inside the JSON,
 * so a message is only a few hundred bytes larger than its body. JSON.stringify never writes a
 * raw newline, so the first newline is always the separator.
 */
export function encodeMessage(message: DeliveryMessage): string {
  const { body, ...fields } = message;
  return `${JSON.stringify(fields)}\n${body}`;
}

/**
 * Asks the delivery worker to release an endpoint's backlog (see lambdas/delivery/backlog.ts):
 * queued when the endpoint takes deliveries again (a probe succeeded, an operator re-enabled it)
 * and by the sweep for every endpoint with a backlog.
 */
export interface ReleaseMessage {
  readonly kind: 'release';
  readonly endpointId: string;
}

export function encodeRelease(endpointId: string): string {
  return JSON.stringify({ kind: 'release', endpointId } satisfies ReleaseMessage);
}

/** A release request, or undefined if `raw` is anything else. */
export function decodeRelease(raw: string): ReleaseMessage | undefined {
  if (!raw.startsWith('{"kind":"release"')) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<ReleaseMessage>;
    return parsed.kind === 'release' && typeof parsed.endpointId === 'string'
      ? { kind: 'release', endpointId: parsed.endpointId }
      : undefined;
  } catch {
    return undefined;
  }
}

export function encodeEventCheck(eventId: string): string {
  return JSON.stringify({ kind: 'event-check', eventId } satisfies EventCheckMessage);
}

/** An event check, or undefined if `raw` is anything else. */
export function decodeEventCheck(raw: string): EventCheckMessage | undefined {
  if (!raw.startsWith('{"kind":"event-check"')) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<EventCheckMessage>;
    return parsed.kind === 'event-check' && typeof parsed.eventId === 'string'
      ? { kind: 'event-check', eventId: parsed.eventId }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An operational event handed to the delivery worker, the one publisher of operational events:
 * the API queues `dlq.redriven` and a manual `endpoint.disabled` this way rather than carrying an
 * EventBridge client. `id` is chosen by the sender, so that a duplicate of the SQS message is
 * recognised by the record it left (see lambdas/adapters/store/operational-events.ts).
 */
export interface OperationalEventMessage {
  readonly kind: 'operational-event';
  readonly id: string;
  readonly event: OperationalEvent;
}

export function encodeOperationalEvent(id: string, event: OperationalEvent): string {
  return JSON.stringify({ kind: 'operational-event', id, event } satisfies OperationalEventMessage);
}

/**
 * An operational event message, or undefined if `raw` is anything else. Its detail is checked
 * only for shape here (zod stays out of the delivery bundle): the API built it with
 * {@link OperationalEvent}'s types.
 */
export function decodeOperationalEvent(raw: string): OperationalEventMessage | undefined {
  if (!raw.startsWith('{"kind":"operational-event"')) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<OperationalEventMessage>;
    const event = parsed.event as Partial<OperationalEvent> | undefined;
    return parsed.kind === 'operational-event' &&
      typeof parsed.id === 'string' &&
      parsed.id.length > 0 &&
      typeof event?.detailType === 'string' &&
      (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(event.detailType) &&
      typeof event.detail === 'object' &&
      event.detail !== null &&
      typeof (event.detail as { occurredAt?: unknown }).occurredAt === 'string'
      ? { kind: 'operational-event', id: parsed.id, event: event as OperationalEvent }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes SQS counts for a message body (UTF-8). */
export const messageBytes = (encoded: string): number => Buffer.byteLength(encoded, 'utf8');

/**
 * Parses an SQS body (the framed form above, or the single-JSON form of earlier releases, which
 * may still be in a queue); throws a permanent DeliveryError on anything else (a poisoned record).
 */
export function decodeMessage(raw: string): DeliveryMessage {
  let parsed: Partial<DeliveryMessage>;
  const newline = raw.indexOf('\n');
  try {
    parsed =
      newline === -1
        ? (JSON.parse(raw) as Partial<DeliveryMessage>)
        : {
            ...(JSON.parse(raw.slice(0, newline)) as Partial<DeliveryMessage>),
            body: raw.slice(newline + 1),
          };
  } catch {
    throw new DeliveryError('poison_message', 'message body is not JSON', false);
  }
  if (!parsed || typeof parsed !== 'object') {
    throw new DeliveryError('poison_message', 'message body lacks delivery fields', false);
  }
  const { deliveryId, eventId, endpointId, eventType, createdAtMs, body } = parsed;
  if (
    typeof deliveryId !== 'string' ||
    typeof eventId !== 'string' ||
    typeof endpointId !== 'string' ||
    typeof eventType !== 'string' ||
    typeof createdAtMs !== 'number' ||
    typeof body !== 'string'
  ) {
    throw new DeliveryError('poison_message', 'message body lacks delivery fields', false);
  }
  // The correlation fields are optional: a message without them (or with a value of the wrong
  // type, which nothing of ours writes) is delivered all the same, without them.
  const { reason, tenantId, trackingId } = parsed;
  return {
    deliveryId,
    eventId,
    endpointId,
    eventType,
    createdAtMs,
    body,
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof tenantId === 'string' ? { tenantId } : {}),
    ...(typeof trackingId === 'string' ? { trackingId } : {}),
  };
}

/** Bodies longer than this are stored deflated, so a typical 1 KB event fits one write unit. */
export const COMPRESS_OVER_BYTES = 256;

/** The body as stored on the event record: plain when short, deflated when that is smaller. */
export type PackedBody = { readonly body: string } | { readonly bodyZ: Uint8Array };

export function packBody(body: string): PackedBody {
  if (Buffer.byteLength(body) <= COMPRESS_OVER_BYTES) return { body };
  const compressed = deflateRawSync(body);
  return compressed.length < Buffer.byteLength(body) ? { bodyZ: compressed } : { body };
}

export function unpackBody(packed: { body?: string; bodyZ?: Uint8Array }): string {
  if (typeof packed.body === 'string') return packed.body;
  if (packed.bodyZ) return inflateRawSync(packed.bodyZ).toString('utf8');
  throw new Error('stored event has no body');
}

/** Fingerprint of a request, to tell a replay (same key, same body) from a conflict. */
export function requestFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}
