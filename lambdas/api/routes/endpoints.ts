/**
 * Endpoints: create, list, read, update, delete, rotate the signing secret, and send a test
 * event. Admin keys reach every tenant's; a portal session only its own tenant's (others: 404).
 */
import type { EndpointRecord } from '../../adapters/store.ts';
import { DEFAULT_PAGE_SIZE } from '../../core/config.ts';
import { parseCustomHeaders } from '../../core/custom-headers.ts';
import { badRequest, HttpError, notFound } from '../../core/errors.ts';
import { parseFilter } from '../../core/filter.ts';
import { isEndpointId, newEndpointId } from '../../core/ids.ts';
import { operationalEvent } from '../../core/operational-events.ts';
import { generateSecret } from '../../core/signing.ts';
import { DEFAULT_TENANT, endpointPartition } from '../../core/tenants.ts';
import {
  createEndpointSchema,
  listEndpointsSchema,
  parseJsonBody,
  parseOrThrow,
  updateEndpointSchema,
} from '../../core/validation.ts';
import type { ApiContext } from '../context.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';
import { publicEndpoint } from '../views.ts';
import { pageBody } from './pages.ts';

export function endpointRoutes(ctx: ApiContext): Route[] {
  return [
    route('POST', '/endpoints', (r) => createEndpoint(ctx, r), 'portal'),
    route('GET', '/endpoints', (r) => listEndpoints(ctx, r), 'portal'),
    route('GET', '/endpoints/{id}', (r, p) => getEndpoint(ctx, r, p.id ?? ''), 'portal'),
    route('PATCH', '/endpoints/{id}', (r, p) => updateEndpoint(ctx, r, p.id ?? ''), 'portal'),
    route('DELETE', '/endpoints/{id}', (r, p) => deleteEndpoint(ctx, r, p.id ?? ''), 'portal'),
    route('POST', '/endpoints/{id}/secret/rotate', (r, p) => rotateSecret(ctx, r, p.id ?? ''), 'portal'),
  ];
}

async function createEndpoint(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const input = parseOrThrow(createEndpointSchema, parseJsonBody(request.body));
  const tenantId = ctx.tenantFor(request, input.tenantId);
  if (!(await ctx.tenantExists(tenantId))) {
    throw new HttpError(
      422,
      'unknown_tenant',
      `no tenant ${JSON.stringify(tenantId)}; create it with PUT /tenants/{id}`,
    );
  }
  const url = ctx.checkUrl(input.url);
  const headers = input.headers === undefined ? undefined : parseCustomHeaders(input.headers);
  const filter = input.filter === undefined ? undefined : parseFilter(input.filter);
  const nowIso = new Date(ctx.now()).toISOString();
  const id = newEndpointId(ctx.now());
  const secret = generateSecret();
  const secretName = await ctx.deps.secrets.create(id, secret, headers);
  const endpoint: EndpointRecord = {
    id,
    tenantId,
    url,
    enabled: true,
    secretName,
    createdAt: nowIso,
    updatedAt: nowIso,
    ...(input.eventTypes ? { eventTypes: input.eventTypes } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.rateLimit !== undefined ? { rateLimit: input.rateLimit } : {}),
    ...(filter ? { filter: filter.source } : {}),
    ...(headers && Object.keys(headers).length > 0 ? { headerNames: Object.keys(headers) } : {}),
  };
  try {
    await ctx.deps.store.putEndpoint(endpoint);
  } catch (error) {
    await ctx.deps.secrets.delete(secretName).catch(() => undefined);
    throw error;
  }
  ctx.endpointsChanged(tenantId);
  return { status: 201, body: { ...publicEndpoint(endpoint), secret } };
}

/**
 * One endpoint, with its backlog: the deliveries held out of the queue while its circuit is open
 * or over its rateLimit (a COUNT Query of its part of the `byWait` index; `complete` is false
 * past ten pages of it), and the oldest one's age.
 */
async function getEndpoint(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const endpoint = await ctx.endpointOr404(id, request);
  const backlog = await ctx.deps.store.backlogStats(endpoint.id);
  return {
    status: 200,
    body: {
      ...publicEndpoint(endpoint),
      backlog: {
        size: backlog.size,
        complete: backlog.complete,
        oldestAt: backlog.oldest ? new Date(backlog.oldest.createdAtMs).toISOString() : null,
        oldestHeldSince: backlog.oldest?.heldAtMs ? new Date(backlog.oldest.heldAtMs).toISOString() : null,
        reason: backlog.oldest?.heldReason ?? null,
      },
    },
  };
}

async function listEndpoints(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const query = parseOrThrow(listEndpointsSchema, request.query, 'invalid_query');
  const tenantId = ctx.tenantFor(request, query.tenantId);
  const cursor = query.cursor ? ctx.cursor(query.cursor, ['pk', 'id']) : undefined;
  if (cursor && (cursor.pk !== endpointPartition(tenantId) || !isEndpointId(String(cursor.id)))) {
    throw badRequest('invalid_cursor', 'cursor is not one this API issued for this query');
  }
  if (!(await ctx.tenantExists(tenantId))) throw notFound('tenant', tenantId);
  const page = await ctx.deps.store.listEndpoints(tenantId, query.limit ?? DEFAULT_PAGE_SIZE, cursor);
  return { status: 200, body: pageBody(page, publicEndpoint) };
}

async function updateEndpoint(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const input = parseOrThrow(updateEndpointSchema, parseJsonBody(request.body));
  const existing = await ctx.endpointOr404(id, request);
  const set: Record<string, unknown> = { updatedAt: new Date(ctx.now()).toISOString() };
  const remove: string[] = [];
  if (input.url !== undefined) set.url = ctx.checkUrl(input.url);
  // Both checked before anything is written.
  const headers =
    input.headers === undefined ? undefined : input.headers === null ? {} : parseCustomHeaders(input.headers);
  if (input.filter === null) remove.push('filter');
  else if (input.filter !== undefined) set.filter = parseFilter(input.filter).source;
  if (headers !== undefined) {
    await ctx.deps.secrets.setHeaders(existing.secretName, headers);
    if (Object.keys(headers).length > 0) set.headerNames = Object.keys(headers);
    else remove.push('headerNames');
  }
  if (input.eventTypes === null) remove.push('eventTypes');
  else if (input.eventTypes !== undefined) set.eventTypes = input.eventTypes;
  if (input.description === null) remove.push('description');
  else if (input.description !== undefined) set.description = input.description;
  if (input.rateLimit === null) remove.push('rateLimit');
  else if (input.rateLimit !== undefined) set.rateLimit = input.rateLimit;
  if (input.enabled !== undefined) {
    set.enabled = input.enabled;
    if (input.enabled) {
      // Re-enabling starts with a clean slate: no failure run (which would count towards
      // auto-disable again at the first failure) and a closed circuit.
      set.failureStreak = 0;
      remove.push('disabledReason', 'failingSince', 'circuitOpenUntil', 'releaseLeaseUntil');
    } else {
      set.disabledReason = 'disabled through the API';
    }
  }
  // Disabling by hand is published once: by the request whose conditional write disabled it.
  const disabledNow =
    input.enabled === false && ctx.deps.operationalEvents && ctx.deps.endpointTransitions
      ? await ctx.deps.endpointTransitions.disableIfEnabled(
          existing,
          String(set.disabledReason),
          String(set.updatedAt),
        )
      : undefined;
  const updated = await ctx.deps.store.updateEndpoint(id, set, remove);
  if (!updated) throw notFound('endpoint', id);
  ctx.endpointsChanged(existing.tenantId ?? DEFAULT_TENANT);
  if (disabledNow) {
    await ctx.deps.operationalEvents?.publish(
      operationalEvent('endpoint.disabled', {
        occurredAt: String(set.updatedAt),
        endpointId: updated.id,
        tenantId: updated.tenantId ?? DEFAULT_TENANT,
        reason: 'manual',
        description: updated.disabledReason ?? 'disabled through the API',
      }),
    );
  }
  // Re-enabled (circuit closed), disabled (drained into the DLQ) or a rate changed: the backlog
  // moves at once, at the release rate, rather than at the next minute's sweep.
  if (updated.backlogShard && (input.enabled !== undefined || input.rateLimit !== undefined)) {
    await ctx.deps.queue.release(id).catch(() => {
      ctx.deps.warn?.('backlog release not queued; the sweep queues it within a minute', { endpointId: id });
    });
  }
  return { status: 200, body: publicEndpoint(updated) };
}

async function deleteEndpoint(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  await ctx.endpointOr404(id, request);
  const deleted = await ctx.deps.store.deleteEndpoint(id);
  if (!deleted) throw notFound('endpoint', id);
  await ctx.deps.secrets.delete(deleted.secretName);
  ctx.endpointsChanged(deleted.tenantId ?? DEFAULT_TENANT);
  return { status: 204 };
}

async function rotateSecret(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const endpoint = await ctx.endpointOr404(id, request);
  const secret = generateSecret();
  const rotated = await ctx.deps.secrets.rotate(endpoint.secretName, secret, ctx.now());
  return {
    status: 200,
    body: {
      id: endpoint.id,
      secret,
      previousSecretExpiresAt: new Date(rotated.previousExpiresAt ?? ctx.now()).toISOString(),
    },
  };
}
