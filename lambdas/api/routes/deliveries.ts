/**
 * Deliveries: list and read them, retry one by hand, and recover an endpoint's failed and dead
 * deliveries since a time (paged, so no call can outlast the function). A portal session sees
 * only its tenant's (another tenant's ids answer 404).
 */
import type { DeliveryRecord, EndpointRecord, EventRecord } from '../../adapters/store.ts';
import {
  DEFAULT_PAGE_SIZE,
  MANUAL_RETRY_COOLDOWN_SECONDS,
  RECOVER_PAGE_SIZE,
  RECOVER_TIME_BUDGET_MS,
} from '../../core/config.ts';
import { HttpError, notFound } from '../../core/errors.ts';
import { deliveryId, deliveryIdLowerBound, parseDeliveryId } from '../../core/ids.ts';
import type { DeliveryMessage } from '../../core/payload.ts';
import { DEFAULT_TENANT } from '../../core/tenants.ts';
import { listDeliveriesSchema, parseOrThrow, recoverSchema } from '../../core/validation.ts';
import type { ApiContext } from '../context.ts';
import { deliveryMessagesOf } from '../event-queueing.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';
import { pendingDelivery, publicAttempts, publicDelivery } from '../views.ts';
import { decodeListCursor, encodeListCursor } from './pages.ts';

export function deliveryRoutes(ctx: ApiContext): Route[] {
  return [
    route('GET', '/deliveries', (r) => listDeliveries(ctx, r), 'portal'),
    route('GET', '/deliveries/{id}', (r, p) => getDelivery(ctx, r, p.id ?? ''), 'portal'),
    route('POST', '/deliveries/{id}/retry', (r, p) => retryDelivery(ctx, r, p.id ?? ''), 'portal'),
    route('POST', '/endpoints/{id}/recover', (r, p) => recoverEndpoint(ctx, r, p.id ?? ''), 'portal'),
  ];
}

/**
 * Deliveries matching the filters, newest first:
 * - with `endpointId`: one Query of that endpoint's partition (or of its part of `byFailure`);
 * - with `status=failed` or `dead` and neither `endpointId` nor `tenantId`, for an admin key: the
 *   cross-tenant failure view (a Query per shard of `byFailedShard`, whatever the account's size);
 * - otherwise one tenant's (`tenantId`, or `default`; a portal session's own): a Query per endpoint
 *   of that tenant, merged by time, so the cost grows with that tenant's endpoints only.
 */
export async function queryDeliveries(ctx: ApiContext, request: ApiRequest, limit: number) {
  const query = parseOrThrow(listDeliveriesSchema, request.query, 'invalid_query');
  const beforeId = query.cursor ? decodeListCursor(query.cursor) : undefined;
  const filters = {
    limit,
    ...(query.type ? { eventType: query.type } : {}),
    ...(query.since !== undefined ? { sinceId: deliveryIdLowerBound(query.since) } : {}),
    ...(beforeId ? { beforeId } : {}),
  };
  const status = query.status;
  const crossTenant =
    ctx.portalTenant(request) === undefined && query.tenantId === undefined && query.endpointId === undefined;
  if (crossTenant && (status === 'failed' || status === 'dead')) {
    return ctx.deps.store.listFailedDeliveries({ ...filters, status });
  }
  const tenantId = ctx.tenantFor(request, query.tenantId);
  let endpointIds: string[];
  if (query.endpointId) {
    const endpoint = await ctx.endpointOr404(query.endpointId, request);
    // Both named: they must agree (a portal session's own tenant is checked by endpointOr404).
    if (query.tenantId !== undefined && endpoint.tenantId !== query.tenantId) {
      throw notFound('endpoint', query.endpointId);
    }
    endpointIds = [endpoint.id];
  } else {
    const endpoints = await ctx.tenantEndpoints(tenantId);
    if (!endpoints) throw notFound('tenant', tenantId);
    endpointIds = endpoints.map((endpoint) => endpoint.id);
  }
  return ctx.deps.store.listDeliveries({ endpointIds, ...filters, ...(status ? { status } : {}) });
}

async function listDeliveries(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const limit = Number(request.query.limit ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
  const { items, more } = await queryDeliveries(ctx, request, limit);
  const last = items.at(-1);
  return {
    status: 200,
    body: { items: items.map(publicDelivery), nextCursor: more && last ? encodeListCursor(last.id) : null },
  };
}

/** The parts of a delivery id whose endpoint the caller may see; 404 otherwise. */
async function visibleDelivery(ctx: ApiContext, request: ApiRequest, id: string) {
  const parts = parseDeliveryId(id);
  if (!parts) throw notFound('delivery', id);
  const limited = ctx.portalTenant(request);
  if (limited !== undefined) {
    // The endpoint may be deleted: then its deliveries are nobody's to see through a portal.
    const endpoint = await ctx.deps.store.getEndpoint(parts.endpointId);
    if (!endpoint || (endpoint.tenantId ?? DEFAULT_TENANT) !== limited) throw notFound('delivery', id);
  }
  return parts;
}

async function getDelivery(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const parts = await visibleDelivery(ctx, request, id);
  const record = await ctx.deps.store.getDelivery(parts.endpointId, id, true);
  if (!record) {
    const event = await ctx.deps.store.getEvent(parts.eventId);
    if (!event || !isDeliveryOf(event, parts.endpointId, id)) throw notFound('delivery', id);
    return { status: 200, body: { ...pendingDelivery(event, parts.endpointId), attempts: [] } };
  }
  const failedAttempts = await ctx.deps.store.listAttempts(id);
  return {
    status: 200,
    body: { ...publicDelivery(record), attempts: publicAttempts(record, failedAttempts) },
  };
}

/** Queues a delivery again from the stored event (works after its SQS message is gone). */
async function retryDelivery(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const parts = await visibleDelivery(ctx, request, id);
  const event = await ctx.deps.store.getEvent(parts.eventId);
  if (!event || !isDeliveryOf(event, parts.endpointId, id)) throw notFound('delivery', id);
  const endpoint = await ctx.deps.store.getEndpoint(parts.endpointId);
  if (!endpoint)
    throw new HttpError(409, 'endpoint_deleted', `endpoint ${parts.endpointId} no longer exists`);
  refuseDisabled(endpoint);
  const record = await ctx.deps.store.getDelivery(parts.endpointId, id, true);
  if (record?.status === 'delivered') {
    throw new HttpError(409, 'already_delivered', `delivery ${id} was delivered; there is nothing to retry`);
  }
  if (record && retryCoolingDown(ctx, record)) {
    throw new HttpError(409, 'retry_in_progress', 'a retry of this delivery is already queued');
  }
  // Send, then mark: a failure between the two leaves a message, never a `pending` with none.
  await ctx.deps.queue.enqueueOne(messageOf(event, parts.endpointId, 'retry'));
  await ctx.deps.store.markRetryQueued(keyOf(event, parts.endpointId), ctx.now(), cooldownMs);
  return { status: 202, body: { id, status: 'pending' } };
}

const cooldownMs = MANUAL_RETRY_COOLDOWN_SECONDS * 1000;

/** A cursor above every delivery id: a recovery that must resume from the newest one. */
const TOP_OF_LIST = `dlv_${'Z'.repeat(62)}`;

function retryCoolingDown(ctx: ApiContext, record: DeliveryRecord): boolean {
  return record.retryQueuedAt !== undefined && Date.parse(record.retryQueuedAt) > ctx.now() - cooldownMs;
}

/** A delivery whose own message is still alive: failed, with its next attempt still ahead. */
function retryScheduled(ctx: ApiContext, record: DeliveryRecord): boolean {
  return (
    record.status === 'failed' &&
    record.nextAttemptAt !== undefined &&
    Date.parse(record.nextAttemptAt) > ctx.now()
  );
}

/**
 * Queues again the failed and dead deliveries of an endpoint since a time, newest first, one
 * page per call (`limit`, at most {@link RECOVER_PAGE_SIZE}, and no longer than {@link RECOVER_TIME_BUDGET_MS}):
 * `nextCursor` resumes where the call stopped, so a long recovery is a loop of short calls
 * whose counts show its progress. Deliveries that already have a retry coming (their own
 * message, or a manual retry) are skipped, so recover never starts a second retry chain.
 */
async function recoverEndpoint(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const query = parseOrThrow(recoverSchema, request.query, 'invalid_query');
  const endpoint = refuseDisabled(await ctx.endpointOr404(id, request));
  const startedAt = ctx.now();
  const beforeId = query.cursor ? decodeListCursor(query.cursor) : undefined;
  const sinceId = deliveryIdLowerBound(query.since);
  const pageSize = Math.min(query.limit ?? RECOVER_PAGE_SIZE, RECOVER_PAGE_SIZE);
  const lists = await Promise.all(
    (['dead', 'failed'] as const).map((status) =>
      ctx.deps.store.listDeliveries({
        endpointIds: [endpoint.id],
        status,
        sinceId,
        limit: pageSize,
        ...(beforeId ? { beforeId } : {}),
      }),
    ),
  );
  const candidates = lists
    .flatMap((list) => list.items)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const page = candidates.slice(0, pageSize);
  let more = candidates.length > pageSize || lists.some((list) => list.more);
  let queued = 0;
  let skipped = 0;
  let lastId: string | undefined;
  for (let offset = 0; offset < page.length; offset += 10) {
    if (ctx.now() - startedAt > RECOVER_TIME_BUDGET_MS) {
      more = true;
      break;
    }
    const chunk = page.slice(offset, offset + 10);
    const due = chunk.filter((record) => !retryScheduled(ctx, record) && !retryCoolingDown(ctx, record));
    skipped += chunk.length - due.length;
    const events = await Promise.all(due.map((record) => ctx.deps.store.getEvent(record.eventId)));
    const sendable = due.flatMap((record, index) => {
      const event = events[index];
      return event && isDeliveryOf(event, endpoint.id, record.id) ? [{ record, event }] : [];
    });
    skipped += due.length - sendable.length;
    const unsent = await ctx.deps.queue.enqueue(
      sendable.map(({ event }) => messageOf(event, endpoint.id, 'recover')),
      { deadlineMs: startedAt + RECOVER_TIME_BUDGET_MS * 1.5 },
    );
    const sent = sendable.filter(({ record }) => !unsent.includes(record.id));
    if (sent.length < sendable.length) {
      // Stop here: the next call resumes before this chunk, so nothing unsent is passed over.
      more = true;
      break;
    }
    await Promise.all(
      sent.map(({ event }) => ctx.deps.store.markRetryQueued(keyOf(event, endpoint.id), ctx.now(), 0)),
    );
    queued += sent.length;
    lastId = chunk.at(-1)?.id;
  }
  return {
    status: 202,
    body: {
      endpointId: endpoint.id,
      queued,
      skipped,
      done: !more,
      // Where the next call resumes: after the last chunk queued, or where this call began.
      nextCursor: more ? encodeListCursor(lastId ?? beforeId ?? TOP_OF_LIST) : null,
    },
  };
}

function refuseDisabled(endpoint: EndpointRecord): EndpointRecord {
  if (!endpoint.enabled) {
    throw new HttpError(409, 'endpoint_disabled', `endpoint ${endpoint.id} is disabled; enable it first`);
  }
  return endpoint;
}

function messageOf(event: EventRecord, endpointId: string, reason: 'retry' | 'recover'): DeliveryMessage {
  const [message] = deliveryMessagesOf(event, [endpointId]);
  if (!message) throw new Error('an event always has a message for each of its endpoints');
  return { ...message, reason };
}

function keyOf(event: EventRecord, endpointId: string) {
  return {
    endpointId,
    id: deliveryId(event.id, endpointId, event.createdAtMs),
    eventId: event.id,
    eventType: event.type,
    createdAtMs: event.createdAtMs,
  };
}

/** Whether `id` is exactly the delivery of `event` to `endpointId` (time part included). */
function isDeliveryOf(event: EventRecord, endpointId: string, id: string): boolean {
  return event.endpointIds.includes(endpointId) && deliveryId(event.id, endpointId, event.createdAtMs) === id;
}
