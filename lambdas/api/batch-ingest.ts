/**
 * `POST /events/batch`: up to {@link MAX_BATCH_EVENTS} events in one request, each accepted or
 * refused on its own with the answer `POST /events` would have given it, in request order. One
 * request carries many events; each event keeps the single route's rules: it is stored as one
 * item (its own idempotency record when it has a key), refused with its own clear error, and
 * safe to send again with its key.
 *
 * What is shared is the cost: every event's messages go out together (SendMessageBatch packs
 * ten to a request across events), and so do the event checks of keyed events. Events are
 * stored one PutItem each, several at once: DynamoDB bills write units, not requests, so
 * BatchWriteItem would save nothing but round trips, and granting it would let the function
 * delete events, which it must never do. The unkeyed events' puts run beside the keyed ones'
 * and beside the sends, as in `POST /events`.
 *
 * The steps, each over the whole batch:
 * 1. parse each event (a bad one is refused alone; a key repeated in the batch is refused);
 * 2. read what decides each event (its targets, and for a key the event already stored): a store
 *    failure here fails the whole request, which has written nothing yet;
 * 3. store the new keyed events (conditional puts, as the single route) beside their checks, and
 *    start storing the unkeyed ones (`queued`), which goes on through step 4;
 * 4. send the messages of every new event;
 * 5. mark the keyed events queued (or hand them to the sweep), and overwrite the unkeyed ones
 *    some of whose messages did not go out with their sweep state.
 */
import type { EndpointRecord, EventRecord } from '../adapters/store.ts';
import { INGEST_DEADLINE_MS, MAX_BATCH_EVENTS, MAX_REQUEST_BODY_BYTES } from '../core/config.ts';
import { badRequest, HttpError } from '../core/errors.ts';
import { idempotentEventId, newEventId } from '../core/ids.ts';
import { buildWebhookBody } from '../core/payload.ts';
import { batchEventSchema, parseOrThrow, payloadTooLarge, type SendEventInput } from '../core/validation.ts';
import { deliveryMessagesOf, markSent } from './event-queueing.ts';
import {
  type EventOrigin,
  eventRecord,
  fingerprintOf,
  Ingest,
  type IngestDeps,
  type IngestOutcome,
  keyedExtras,
  leftToSweep,
  originExtras,
} from './ingest.ts';

/** What batch ingest needs beyond single ingest. */
export interface BatchIngestDeps extends IngestDeps {
  /** Schedules the event checks of several keyed events (one SQS request per ten). */
  readonly scheduleEventChecks: (eventIds: readonly string[]) => Promise<void>;
}

/** What became of one event of a batch: a single ingest's outcome, or refused before anything was stored. */
export type BatchItemOutcome = IngestOutcome | { readonly kind: 'refused'; readonly error: HttpError };

/** Reads at most this many events' targets and stored records at once. */
const READ_CONCURRENCY = 16;
/** Stores at most this many events at once. */
const WRITE_CONCURRENCY = 25;

/** An event that passed validation, with where it stands in the request. */
interface Parsed {
  readonly index: number;
  readonly input: SendEventInput;
  readonly key: string | undefined;
  readonly fingerprint: string;
}

/** What step 2 found for an event. */
type Read =
  | { readonly kind: 'existing'; readonly item: Parsed; readonly existing: EventRecord }
  | { readonly kind: 'new'; readonly item: Parsed; readonly targets: EndpointRecord[] }
  | { readonly kind: 'refused'; readonly item: Parsed; readonly error: HttpError };

/** A new event about to be stored or sent. */
interface Fresh extends Parsed {
  readonly event: EventRecord;
  readonly body: string;
}

export class BatchIngest {
  private readonly single: Ingest;

  constructor(private readonly deps: BatchIngestDeps) {
    this.single = new Ingest({ ...deps, scheduleEventCheck: (id) => deps.scheduleEventChecks([id]) });
  }

  async send(items: readonly unknown[], origin: EventOrigin = {}): Promise<BatchItemOutcome[]> {
    if (items.length > MAX_BATCH_EVENTS) {
      throw badRequest('too_many_events', `a batch holds at most ${MAX_BATCH_EVENTS} events`);
    }
    const startedAt = this.deps.now();
    const deadlineMs = startedAt + INGEST_DEADLINE_MS;
    const outcomes: BatchItemOutcome[] = new Array(items.length);
    const refuse = (index: number, error: HttpError) => {
      outcomes[index] = { kind: 'refused', error };
    };

    // 1. Parse.
    const parsed = parseEach(items, refuse);

    // 2. Read: targets, and the stored event of each key (a replay gets the original answer).
    const read = await mapLimit(parsed, READ_CONCURRENCY, async (item): Promise<Read> => {
      const existing =
        item.key === undefined ? undefined : await this.deps.store.getEvent(idempotentEventId(item.key));
      if (existing) return { kind: 'existing', item, existing };
      try {
        return {
          kind: 'new',
          item,
          targets: await this.deps.targetsOf(item.input),
        };
      } catch (error) {
        if (error instanceof HttpError) return { kind: 'refused', item, error };
        throw error;
      }
    });

    const fresh: Fresh[] = [];
    const replays: Promise<void>[] = [];
    const replay = (item: Parsed, existing: EventRecord) =>
      replays.push(
        this.single.replay(existing, item.fingerprint, deadlineMs).then((outcome) => {
          outcomes[item.index] = outcome;
        }),
      );
    for (const entry of read) {
      if (entry.kind === 'refused') refuse(entry.item.index, entry.error);
      else if (entry.kind === 'existing') replay(entry.item, entry.existing);
      else fresh.push(this.freshEvent(entry.item, entry.targets, startedAt, origin));
    }

    // 3. Store the keyed events before their sends (the conditional put is their idempotency
    // check); the unkeyed ones are stored `queued` while everything else goes on.
    const unkeyed = fresh.filter((item) => item.key === undefined);
    const unkeyedStored = mapLimit(unkeyed, WRITE_CONCURRENCY, (item) =>
      this.deps.store.putEventIfAbsent(item.event).then(
        () => true,
        () => false,
      ),
    );
    const keyed = fresh.filter((item) => item.key !== undefined);
    const created = await this.storeKeyed(keyed, outcomes, replay);

    // 4. Send every new event's messages together.
    const toSend = [...created, ...unkeyed];
    const unsent = await this.sendAll(toSend, deadlineMs);

    // 5. Mark the keyed events, finish storing the unkeyed ones.
    await Promise.all([
      ...created.map(async (item) => {
        const outcome = await markSent(this.deps, item.event, unsent.get(item.event.id) ?? []);
        outcomes[item.index] =
          outcome.kind === 'queued'
            ? { kind: 'accepted', event: outcome.event, replayed: false }
            : { kind: 'not-queued', event: item.event, keyed: true };
      }),
      this.settleUnkeyed(unkeyed, unkeyedStored, unsent, outcomes),
      ...replays,
    ]);
    return outcomes;
  }

  private freshEvent(
    item: Parsed,
    targets: readonly EndpointRecord[],
    startedAt: number,
    origin: EventOrigin,
  ): Fresh {
    const body = buildWebhookBody(item.input.type, startedAt, item.input.data);
    const event =
      item.key === undefined
        ? eventRecord(newEventId(startedAt), item.input, targets, item.fingerprint, startedAt, body, {
            state: 'queued',
            ...originExtras(origin),
          })
        : eventRecord(idempotentEventId(item.key), item.input, targets, item.fingerprint, startedAt, body, {
            ...keyedExtras(startedAt),
            ...originExtras(origin),
          });
    return { ...item, event, body };
  }

  /**
   * Conditional puts of the keyed events, beside their event checks. Resolves to the events this
   * request created; the others get their outcome (a replay, 409 or a refusal) in `outcomes`.
   */
  private async storeKeyed(
    keyed: readonly Fresh[],
    outcomes: BatchItemOutcome[],
    replay: (item: Parsed, existing: EventRecord) => void,
  ): Promise<Fresh[]> {
    if (keyed.length === 0) return [];
    const [puts] = await Promise.all([
      Promise.all(
        keyed.map((item) =>
          this.deps.store.putEventIfAbsent(item.event).then(
            (put) => ({ item, put }),
            () => ({ item, put: undefined }),
          ),
        ),
      ),
      this.deps.scheduleEventChecks(keyed.map((item) => item.event.id)).catch(() => {
        this.deps.warn?.('event checks not scheduled', { events: keyed.length });
      }),
    ]);
    const created: Fresh[] = [];
    for (const { item, put } of puts) {
      if (!put) {
        outcomes[item.index] = { kind: 'refused', error: notStored() };
      } else if (put.created) {
        created.push(item);
      } else if (!put.existing) {
        outcomes[item.index] = { kind: 'in-progress', retryAfterSeconds: 1 };
      } else {
        // Another request stored this key meanwhile: answer as a retry of it would be answered.
        replay(item, put.existing);
      }
    }
    return created;
  }

  /** Sends the messages of `items`; resolves to the endpoints not reached, by event id. */
  private async sendAll(items: readonly Fresh[], deadlineMs: number): Promise<Map<string, string[]>> {
    const messages = items.flatMap((item) =>
      deliveryMessagesOf(item.event, item.event.endpointIds, item.body),
    );
    const unsent = new Map<string, string[]>();
    if (messages.length === 0) return unsent;
    let failed: Set<string>;
    try {
      failed = new Set(await this.deps.enqueue(messages, { deadlineMs }));
    } catch {
      // enqueue reports refusals by id and does not throw; if it does, nothing is known to be out.
      failed = new Set(messages.map((message) => message.deliveryId));
    }
    for (const message of messages) {
      if (!failed.has(message.deliveryId)) continue;
      unsent.set(message.eventId, [...(unsent.get(message.eventId) ?? []), message.endpointId]);
    }
    return unsent;
  }

  /**
   * Leaves each unkeyed event in the state its messages left it in. `stored` are the puts of
   * their `queued` records (one per event, in order), awaited before anything else is written
   * to them. An event some of whose messages did not go out is overwritten with its sweep state,
   * as in `POST /events`: that write wins whether its first put landed, failed or timed out.
   */
  private async settleUnkeyed(
    unkeyed: readonly Fresh[],
    stored: Promise<boolean[]>,
    unsent: ReadonlyMap<string, string[]>,
    outcomes: BatchItemOutcome[],
  ): Promise<void> {
    if (unkeyed.length === 0) return;
    const queuedStored = await stored;
    const now = this.deps.now();
    const records = unkeyed.map((item) => {
      const missing = unsent.get(item.event.id);
      return missing ? leftToSweep(item.event, missing, now) : item.event;
    });
    const leftStored = await mapLimit(
      records.filter((record) => unsent.has(record.id)),
      WRITE_CONCURRENCY,
      (record) =>
        this.deps.store.putEvent(record).then(
          () => true,
          () => false,
        ),
    );
    let left = 0;
    unkeyed.forEach((item, position) => {
      const record = records[position] as EventRecord;
      if (!unsent.has(record.id)) {
        // Every message is out and will be delivered, as with `POST /events`: an error would make
        // the caller send a second event under another id.
        if (!queuedStored[position])
          this.deps.warn?.('event queued but its record was not stored', { eventId: record.id });
        outcomes[item.index] = { kind: 'accepted', event: record, replayed: false };
      } else if (leftStored[left++]) {
        outcomes[item.index] = { kind: 'not-queued', event: record, keyed: false };
      } else {
        outcomes[item.index] = {
          kind: 'refused',
          error: new HttpError(
            500,
            'partially_queued',
            `event ${record.id}: some of its deliveries were queued and will be delivered, but the event could not be stored and the rest will not be sent; do not resend it without checking its deliveries`,
          ),
        };
      }
    });
  }
}

/** Validates each event on its own; refused ones are reported through `refuse`. */
function parseEach(items: readonly unknown[], refuse: (index: number, error: HttpError) => void): Parsed[] {
  const parsed: Parsed[] = [];
  const keys = new Map<string, number>();
  items.forEach((item, index) => {
    try {
      if (Buffer.byteLength(JSON.stringify(item) ?? '') > MAX_REQUEST_BODY_BYTES) {
        throw payloadTooLarge(MAX_REQUEST_BODY_BYTES);
      }
      const { idempotencyKey: key, ...input } = parseOrThrow(batchEventSchema, item);
      if (key !== undefined) {
        const first = keys.get(key);
        if (first !== undefined) {
          throw badRequest(
            'duplicate_idempotency_key',
            `idempotencyKey: the same key as event ${first} of this batch; each event needs its own`,
          );
        }
        keys.set(key, index);
      }
      parsed.push({ index, input, key, fingerprint: fingerprintOf(input) });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      refuse(index, error);
    }
  });
  return parsed;
}

/** A keyed event whose conditional put failed: nothing of it was stored or sent. */
const notStored = (): HttpError =>
  new HttpError(
    503,
    'not_stored',
    'the event could not be stored and nothing was sent; send it again with the same key',
  );

/** `fn` over `items`, at most `limit` at once, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
