/**
 * `POST /events`: validates, resolves the target endpoints, stores the event and queues one
 * message per endpoint, and says what happened as a typed outcome the route turns into a
 * response (nothing here both returns and throws for the same decision).
 *
 * - Without an Idempotency-Key the event is stored once, as `queued` (one write), while its
 *   messages go out. If some messages do not go out, the record is then overwritten `accepted`
 *   and handed to the sweep, which sends the rest within minutes; the caller gets 503.
 * - With a key the event is stored first, `accepted` and leased to this request (the conditional
 *   put is the idempotency check), an event check is scheduled in case this request dies, the
 *   messages go out, and the event is marked `queued` (one more write). A retry with the same key
 *   gets the original answer once queued, 409 only while the lease is held, and otherwise
 *   takes the event over and sends what is missing itself.
 */
import type { EndpointRecord, EventRecord, Store } from '../adapters/store.ts';
import { SWEEP_SHARD } from '../adapters/store.ts';
import { EVENT_LEASE_SECONDS, INGEST_DEADLINE_MS } from '../core/config.ts';
import { idempotentEventId, newEventId } from '../core/ids.ts';
import { buildWebhookBody, packBody, requestFingerprint } from '../core/payload.ts';
import { DEFAULT_TENANT } from '../core/tenants.ts';
import type { SendEventInput } from '../core/validation.ts';
import { type QueueingDeps, resumeEvent, sendAndMark, sendMessages } from './event-queueing.ts';

/** What ingest needs beyond queueing. */
export interface IngestDeps extends QueueingDeps {
  readonly store: QueueingDeps['store'] & Pick<Store, 'putEventIfAbsent' | 'putEvent'>;
  /** Schedules the check that hands this event to the sweep if this request dies. */
  readonly scheduleEventCheck: (eventId: string) => Promise<void>;
  /** The endpoints an event goes to; throws an HttpError (404, 422) for an unknown tenant or bad `endpointIds`. */
  readonly targetsOf: (input: SendEventInput) => Promise<EndpointRecord[]>;
}

/** Who sent an event: kept on its record and carried by its delivery messages. */
export interface EventOrigin {
  /** The `Trackingid` of the request. */
  readonly trackingId?: string;
  /** The send-only key that sent it. */
  readonly senderKeyId?: string;
}

/** What became of a `POST /events`. */
export type IngestOutcome =
  /** Every message went out (202); `replayed` when a retry with the same key found it so. */
  | { readonly kind: 'accepted'; readonly event: EventRecord; readonly replayed: boolean }
  /** The first request with this key still holds the event (409 with Retry-After). */
  | { readonly kind: 'in-progress'; readonly retryAfterSeconds: number }
  /** The key was used with another body (422). */
  | { readonly kind: 'key-reused' }
  /** Stored, but not every message went out; the sweep or a retry with the key finishes it (503). */
  | { readonly kind: 'not-queued'; readonly event: EventRecord; readonly keyed: boolean };

export class Ingest {
  constructor(private readonly deps: IngestDeps) {}

  async send(
    input: SendEventInput,
    key: string | undefined,
    origin: EventOrigin = {},
  ): Promise<IngestOutcome> {
    const startedAt = this.deps.now();
    const deadlineMs = startedAt + INGEST_DEADLINE_MS;
    const fingerprint = fingerprintOf(input);
    if (key === undefined) return this.sendUnkeyed(input, fingerprint, startedAt, deadlineMs, origin);

    const id = idempotentEventId(key);
    // A repeated key gets the original answer even if endpoints changed since, so look before
    // resolving targets; the conditional put below is still the real guard against races.
    const existing = await this.deps.store.getEvent(id);
    if (existing) return this.replay(existing, fingerprint, deadlineMs);

    const targets = await this.deps.targetsOf(input);
    const body = buildWebhookBody(input.type, startedAt, input.data);
    const event = eventRecord(id, input, targets, fingerprint, startedAt, body, {
      ...keyedExtras(startedAt),
      ...originExtras(origin),
    });
    const [put] = await Promise.all([
      this.deps.store.putEventIfAbsent(event),
      // Sent alongside the put: if this request dies before the event is queued, the check
      // hands it to the sweep. Its own failure only loses that safety net, so it is not fatal.
      this.deps.scheduleEventCheck(id).catch(() => {
        this.deps.warn?.('event check not scheduled', { eventId: id });
      }),
    ]);
    if (!put.created) {
      if (!put.existing) return { kind: 'in-progress', retryAfterSeconds: 1 };
      return this.replay(put.existing, fingerprint, deadlineMs);
    }
    const outcome = await sendAndMark(this.deps, event, event.endpointIds, deadlineMs, body);
    return outcome.kind === 'queued'
      ? { kind: 'accepted', event: outcome.event, replayed: false }
      : { kind: 'not-queued', event, keyed: true };
  }

  /** A retry with a key already stored: the original answer, 409, 422, or finishing the event. */
  async replay(existing: EventRecord, fingerprint: string, deadlineMs: number): Promise<IngestOutcome> {
    if (existing.fingerprint !== fingerprint) return { kind: 'key-reused' };
    const outcome = await resumeEvent(this.deps, existing, deadlineMs);
    switch (outcome.kind) {
      case 'queued':
        return { kind: 'accepted', event: outcome.event, replayed: true };
      case 'busy':
        return { kind: 'in-progress', retryAfterSeconds: outcome.retryAfterSeconds };
      case 'unsent':
        return { kind: 'not-queued', event: outcome.event, keyed: true };
    }
  }

  private async sendUnkeyed(
    input: SendEventInput,
    fingerprint: string,
    startedAt: number,
    deadlineMs: number,
    origin: EventOrigin,
  ): Promise<IngestOutcome> {
    const targets = await this.deps.targetsOf(input);
    const id = newEventId(startedAt);
    const body = buildWebhookBody(input.type, startedAt, input.data);
    const event = eventRecord(id, input, targets, fingerprint, startedAt, body, {
      state: 'queued',
      ...originExtras(origin),
    });
    // The record (`queued`) and the messages go out together: one write on the happy path,
    // and the put's round trip overlaps the sends'. The put's outcome is awaited either way, so
    // any later write of this record lands after it.
    const put = this.deps.store.putEventIfAbsent(event).then(
      () => true,
      () => false,
    );
    let unsent: string[];
    try {
      unsent = await sendMessages(this.deps, event, event.endpointIds, deadlineMs, body);
    } catch (error) {
      // enqueue reports refusals by id and does not throw; if it does, nothing is known to be out,
      // and a record saying `queued` must not stay behind. The caller gets an error, as before.
      await put;
      await this.deps.store.putEvent(leftToSweep(event, event.endpointIds, this.deps.now())).catch(() => {
        this.deps.warn?.('event not handed to the sweep', { eventId: id });
      });
      throw error;
    }
    const stored = await put;
    if (unsent.length === 0) {
      // Every message is out and will be delivered; if only the record is missing, the event
      // cannot be read back or retried by id. Answering an error would make the caller send a
      // second event under another id.
      if (!stored) this.deps.warn?.('event queued but its record was not stored', { eventId: id });
      return { kind: 'accepted', event, replayed: false };
    }
    const accepted = leftToSweep(event, unsent, this.deps.now());
    // An overwrite, not a conditional put or an update: the record may say `queued` (the put
    // landed), be missing (it failed), or be either (it timed out: landing late, that conditional
    // put cannot replace this record), and the sweep state must win in every case. Nobody else
    // writes an unkeyed event before the sweep lists it. If this
    // write fails too the caller gets an error (500) and nothing records the messages that did
    // go out; they are delivered all the same, and a record the first put left says `queued`.
    await this.deps.store.putEvent(accepted);
    return { kind: 'not-queued', event: accepted, keyed: false };
  }
}

/**
 * What makes two requests with one Idempotency-Key the same request. The tenant counts only when
 * it is not `default`, so the fingerprints of events stored before tenants are unchanged.
 */
export const fingerprintOf = (input: SendEventInput): string =>
  requestFingerprint([
    input.type,
    input.data,
    input.endpointIds ?? null,
    ...(input.tenantId && input.tenantId !== DEFAULT_TENANT ? [input.tenantId] : []),
  ]);

/** The record fields of an event's origin (only those known). */
export const originExtras = (origin: EventOrigin): Partial<EventRecord> => ({
  ...(origin.trackingId ? { trackingId: origin.trackingId } : {}),
  ...(origin.senderKeyId ? { senderKeyId: origin.senderKeyId } : {}),
});

/** An event sent with a key starts `accepted`, leased to the request that stored it. */
export const keyedExtras = (startedAtMs: number): Partial<EventRecord> => ({
  idempotent: true,
  state: 'accepted',
  leaseUntilMs: startedAtMs + EVENT_LEASE_SECONDS * 1000,
});

/** An unkeyed event some of whose messages did not go out, stored for the sweep to finish. */
export const leftToSweep = (event: EventRecord, unsent: readonly string[], nowMs: number): EventRecord => ({
  ...event,
  state: 'accepted',
  unsentEndpointIds: [...unsent],
  sweepShard: SWEEP_SHARD,
  sweepAfterMs: nowMs,
});

/** The record of a new event to `targets`, holding its webhook body. */
export function eventRecord(
  id: string,
  input: SendEventInput,
  targets: readonly EndpointRecord[],
  fingerprint: string,
  createdAtMs: number,
  body: string,
  extra: Partial<EventRecord>,
): EventRecord {
  return {
    id,
    type: input.type,
    ...(input.tenantId && input.tenantId !== DEFAULT_TENANT ? { tenantId: input.tenantId } : {}),
    createdAtMs,
    endpointIds: targets.map((endpoint) => endpoint.id),
    fingerprint,
    ...extra,
    ...packBody(body),
  };
}
