/**
 * What travels: the signed webhook body, the SQS message that carries one delivery, and
 * the compact form of the body stored on the event record. Pure (node:zlib, node:crypto).
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DeliveryError } from './errors.ts';

/** The webhook body: `{"type", "timestamp", "data"}`, as Standard Webhooks suggests. */
export function buildWebhookBody(type: string, createdAtMs: number, data: unknown): string {
  return JSON.stringify({ type, timestamp: new Date(createdAtMs).toISOString(), data });
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
  /** Why it was (re)queued, when not by ingest: `retry` (manual), `recover`, `redrive`. */
  readonly reason?: string;
}

/** Serialises a delivery message for SQS. */
export function encodeMessage(message: DeliveryMessage): string {
  return JSON.stringify(message);
}

/** Parses an SQS body; throws a permanent DeliveryError on anything else (a poisoned record). */
export function decodeMessage(raw: string): DeliveryMessage {
  let parsed: Partial<DeliveryMessage>;
  try {
    parsed = JSON.parse(raw) as Partial<DeliveryMessage>;
  } catch {
    throw new DeliveryError('poison_message', 'message body is not JSON', false);
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
  return parsed as DeliveryMessage;
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
