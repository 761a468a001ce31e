/**
 * Events: send one (`POST /events`, through {@link Ingest}) or a batch, list them, read one back,
 * and send a test event to one endpoint. Send-only keys may send and read back what they sent.
 */
import type { EndpointRecord, EventRecord } from '../../adapters/store.ts';
import { DEFAULT_PAGE_SIZE } from '../../core/config.ts';
import { HttpError, notFound } from '../../core/errors.ts';
import { type Filter, matchesFilter, parseFilter } from '../../core/filter.ts';
import { deliveryId, isEventId } from '../../core/ids.ts';
import { unpackBody } from '../../core/payload.ts';
import { DEFAULT_TENANT } from '../../core/tenants.ts';
import {
  idempotencyKeySchema,
  parseJsonBody,
  parseOrThrow,
  type SendEventInput,
  sendEventBatchSchema,
  sendEventSchema,
} from '../../core/validation.ts';
import { BatchIngest, type BatchItemOutcome } from '../batch-ingest.ts';
import { type ApiContext, principalOf } from '../context.ts';
import { type EventOrigin, Ingest, type IngestDeps, type IngestOutcome } from '../ingest.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';
import { pendingDelivery, publicDelivery, publicEvent } from '../views.ts';
import { queryDeliveries } from './deliveries.ts';
import { encodeListCursor } from './pages.ts';

export function eventRoutes(ctx: ApiContext): Route[] {
  const deps: IngestDeps = {
    store: ctx.deps.store,
    enqueue: (messages, options) => ctx.deps.queue.enqueue(messages, options),
    scheduleEventCheck: (eventId) => ctx.deps.queue.scheduleEventChecks([eventId]),
    targetsOf: (input) => targetsOf(ctx, input),
    now: ctx.now,
    ...(ctx.deps.warn ? { warn: ctx.deps.warn } : {}),
  };
  const ingest = new Ingest(deps);
  const batch = new BatchIngest({
    ...deps,
    scheduleEventChecks: (eventIds) => ctx.deps.queue.scheduleEventChecks(eventIds),
  });
  return [
    route('POST', '/events', (r) => sendEvent(ingest, r), 'send'),
    route('POST', '/events/batch', (r) => sendBatch(batch, r), 'send'),
    route('GET', '/events', (r) => listEvents(ctx, r)),
    route('GET', '/events/{id}', (r, p) => getEvent(ctx, r, p.id ?? ''), 'send'),
    route('POST', '/endpoints/{id}/test', (r, p) => sendTestEvent(ctx, ingest, r, p.id ?? ''), 'portal'),
  ];
}

/** What the event's record keeps of the request that sent it. */
function originOf(request: ApiRequest): EventOrigin {
  const principal = principalOf(request);
  return {
    trackingId: request.trackingId,
    ...(principal.kind === 'send' ? { senderKeyId: principal.keyId } : {}),
  };
}

async function sendEvent(ingest: Ingest, request: ApiRequest): Promise<ApiResponse> {
  const rawKey = request.headers['idempotency-key'];
  const key =
    rawKey === undefined ? undefined : parseOrThrow(idempotencyKeySchema, rawKey, 'invalid_idempotency_key');
  const input = parseOrThrow(sendEventSchema, parseJsonBody(request.body));
  return ingestResponse(await ingest.send(input, key, originOf(request)));
}

/** `POST /endpoints/{id}/test`: a `webhook.test` event to that endpoint only (202, like POST /events). */
async function sendTestEvent(
  ctx: ApiContext,
  ingest: Ingest,
  request: ApiRequest,
  id: string,
): Promise<ApiResponse> {
  const endpoint = await ctx.endpointOr404(id, request);
  const input: SendEventInput = {
    type: 'webhook.test',
    data: { message: 'a test event sent from the API', endpointId: endpoint.id },
    endpointIds: [endpoint.id],
    ...(endpoint.tenantId && endpoint.tenantId !== DEFAULT_TENANT ? { tenantId: endpoint.tenantId } : {}),
  };
  return ingestResponse(await ingest.send(input, undefined, originOf(request)));
}

/**
 * `POST /events/batch`: 200 with one item per event, in request order, each carrying the status
 * and body `POST /events` would have answered for it alone. Only a bad envelope (not JSON, no
 * `events` array, over 100 events) or a failure before anything was stored fails the request.
 */
async function sendBatch(batch: BatchIngest, request: ApiRequest): Promise<ApiResponse> {
  if (request.headers['idempotency-key'] !== undefined) {
    throw new HttpError(
      400,
      'idempotency_key_not_allowed',
      'a batch takes no Idempotency-Key header; give each event its own idempotencyKey field',
    );
  }
  const { events } = parseOrThrow(sendEventBatchSchema, parseJsonBody(request.body));
  const items = (await batch.send(events, originOf(request))).map(batchItem);
  const accepted = items.filter((item) => item.status === 202).length;
  return { status: 200, body: { items, accepted, failed: items.length - accepted } };
}

/** One event's answer inside a batch: what {@link ingestResponse} gives, flattened. */
function batchItem(outcome: BatchItemOutcome): { status: number } & Record<string, unknown> {
  const failure = (error: HttpError, id?: string) => ({
    status: error.status,
    ...(id ? { id } : {}),
    error: { code: error.code, message: error.message },
    ...(error.headers['Retry-After'] ? { retryAfterSeconds: Number(error.headers['Retry-After']) } : {}),
  });
  if (outcome.kind === 'refused') return failure(outcome.error);
  try {
    const response = ingestResponse(outcome);
    return {
      status: response.status,
      ...(response.body as Record<string, unknown>),
      ...(outcome.kind === 'accepted' && outcome.replayed ? { replayed: true } : {}),
    };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return failure(error, outcome.kind === 'not-queued' ? outcome.event.id : undefined);
  }
}

/** The answer to each ingest outcome. */
export function ingestResponse(outcome: IngestOutcome): ApiResponse {
  switch (outcome.kind) {
    case 'accepted':
      return {
        status: 202,
        body: acceptedBody(outcome.event),
        ...(outcome.replayed ? { headers: { 'Idempotent-Replayed': 'true' } } : {}),
      };
    case 'in-progress':
      throw new HttpError(
        409,
        'request_in_progress',
        `the first request with this Idempotency-Key is still being processed; retry in ${outcome.retryAfterSeconds} s`,
        { 'Retry-After': String(outcome.retryAfterSeconds) },
      );
    case 'key-reused':
      throw new HttpError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body; use a new key for a new event',
      );
    case 'not-queued':
      throw new HttpError(
        503,
        'enqueue_failed',
        outcome.keyed
          ? `event ${outcome.event.id} is stored but not every delivery could be queued; retry with the same Idempotency-Key to finish it now, or it is queued within minutes`
          : `event ${outcome.event.id} is stored but not every delivery could be queued; it is queued within minutes. Do not resend it: without an Idempotency-Key a resend is a second event`,
        { 'Retry-After': '1' },
      );
  }
}

/**
 * Endpoints an event goes to, all of its tenant's: every enabled one subscribed to its type (from
 * the tenant's list, cached for a few seconds), or the ones named, read afresh so a just-disabled
 * endpoint is refused. An endpoint of another tenant is refused as if it did not exist.
 */
async function targetsOf(ctx: ApiContext, input: SendEventInput): Promise<EndpointRecord[]> {
  const tenantId = input.tenantId ?? DEFAULT_TENANT;
  const { type, endpointIds } = input;
  if (!endpointIds) {
    const endpoints = await ctx.tenantEndpoints(tenantId);
    if (!endpoints) throw unknownTenant(tenantId);
    return endpoints.filter(
      (endpoint) =>
        endpoint.enabled &&
        (!endpoint.eventTypes || endpoint.eventTypes.includes('*') || endpoint.eventTypes.includes(type)) &&
        passesFilter(endpoint, input),
    );
  }
  if (!(await ctx.tenantExists(tenantId))) throw unknownTenant(tenantId);
  const found = await Promise.all(endpointIds.map((id) => ctx.deps.store.getEndpoint(id)));
  const unknown = endpointIds.filter((_, index) => !found[index]);
  if (unknown.length > 0) throw new HttpError(422, 'unknown_endpoint', `no endpoint ${unknown.join(', ')}`);
  const targets = found as EndpointRecord[];
  const foreign = targets.filter((endpoint) => (endpoint.tenantId ?? DEFAULT_TENANT) !== tenantId);
  if (foreign.length > 0) {
    throw new HttpError(
      422,
      'endpoint_not_in_tenant',
      `endpoint ${foreign.map((endpoint) => endpoint.id).join(', ')} is not one of tenant ${JSON.stringify(tenantId)}'s`,
    );
  }
  const disabled = targets.filter((endpoint) => !endpoint.enabled).map((endpoint) => endpoint.id);
  if (disabled.length > 0) {
    throw new HttpError(
      422,
      'endpoint_disabled',
      `endpoint ${disabled.join(', ')} is disabled; enable it first`,
    );
  }
  return targets;
}

/** Compiled filters, per cached endpoint record (a changed endpoint is a new record). */
const compiledFilters = new WeakMap<EndpointRecord, Filter>();

/**
 * Whether the event passes the endpoint's payload filter (lambdas/core/filter.ts); one that does
 * not costs no message and no write. A stored filter that no longer parses (written by hand)
 * lets nothing through rather than everything.
 */
function passesFilter(endpoint: EndpointRecord, input: SendEventInput): boolean {
  if (endpoint.filter === undefined) return true;
  let filter = compiledFilters.get(endpoint);
  if (!filter) {
    try {
      filter = parseFilter(endpoint.filter);
    } catch {
      return false;
    }
    compiledFilters.set(endpoint, filter);
  }
  return matchesFilter(filter, { type: input.type, data: input.data });
}

const unknownTenant = (tenantId: string): HttpError =>
  new HttpError(
    422,
    'unknown_tenant',
    `no tenant ${JSON.stringify(tenantId)}; create it with PUT /tenants/{id}`,
  );

async function getEvent(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const event = isEventId(id) ? await ctx.deps.store.getEvent(id) : undefined;
  if (!event) throw notFound('event', id);
  const principal = principalOf(request);
  // A send-only key reads back only the events it sent.
  if (principal.kind === 'send' && event.senderKeyId !== principal.keyId) throw notFound('event', id);
  const deliveries = await Promise.all(
    event.endpointIds.map(async (endpointId) => {
      const id = deliveryId(event.id, endpointId, event.createdAtMs);
      const record = await ctx.deps.store.getDelivery(endpointId, id);
      return record ? publicDelivery(record) : pendingDelivery(event, endpointId);
    }),
  );
  return { status: 200, body: { ...publicEvent(event, JSON.parse(unpackBody(event)).data), deliveries } };
}

/**
 * Events, newest first, found through their deliveries (the same filters). An event shows up
 * once its first delivery has an outcome; `GET /events/{id}` shows one at once.
 */
async function listEvents(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const limit = Number(request.query.limit ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
  const events = new Map<string, { id: string; type: string; createdAt: string; deliveries: unknown[] }>();
  let cursor = request.query.cursor;
  let lastId: string | undefined;
  let more: boolean;
  // Several deliveries can share an event, so a page of events may take several pages of deliveries.
  pages: for (;;) {
    const page = await queryDeliveries(ctx, { ...request, query: { ...request.query, cursor } }, limit);
    for (const delivery of page.items) {
      if (!events.has(delivery.eventId) && events.size >= limit) {
        more = true;
        break pages;
      }
      const event = events.get(delivery.eventId) ?? {
        id: delivery.eventId,
        type: delivery.eventType,
        createdAt: new Date(delivery.createdAtMs).toISOString(),
        deliveries: [],
      };
      event.deliveries.push({ id: delivery.id, endpointId: delivery.endpointId, status: delivery.status });
      events.set(delivery.eventId, event);
      lastId = delivery.id;
    }
    more = page.more;
    if (!more || !lastId) break;
    cursor = encodeListCursor(lastId);
  }
  return {
    status: 200,
    body: { items: [...events.values()], nextCursor: more && lastId ? encodeListCursor(lastId) : null },
  };
}

function acceptedBody(event: EventRecord) {
  return {
    id: event.id,
    type: event.type,
    createdAt: new Date(event.createdAtMs).toISOString(),
    deliveries: event.endpointIds.map((endpointId) => ({
      id: deliveryId(event.id, endpointId, event.createdAtMs),
      endpointId,
      status: 'pending',
    })),
  };
}
