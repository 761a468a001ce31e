/**
 * The HTTP API, independent of how requests arrive: the Lambda handler (API Gateway HTTP API,
 * payload 2.0) and the local server both turn a request into an {@link ApiRequest} and call
 * {@link ApiApp.handle}. Routes are a table; each is a short function over the store, the
 * queue and the secrets.
 */

import type { RedriveOutcome } from '../adapters/dlq.ts';
import type { EndpointSecrets } from '../adapters/secrets.ts';
import type { EndpointRecord, EventRecord, Page, Store } from '../adapters/store.ts';
import { decodeCursor } from '../adapters/store.ts';
import { matchApiKey, type StoredApiKey } from '../core/api-keys.ts';
import {
  DEFAULT_PAGE_SIZE,
  ENDPOINT_CACHE_TTL_MS,
  IDEMPOTENCY_IN_FLIGHT_SECONDS,
  MANUAL_RETRY_COOLDOWN_SECONDS,
  MAX_RECOVER_DELIVERIES,
  MAX_REQUEST_BODY_BYTES,
} from '../core/config.ts';
import { badRequest, HttpError, notFound } from '../core/errors.ts';
import {
  deliveryId,
  deliveryIdLowerBound,
  idempotentEventId,
  isEndpointId,
  isEventId,
  newEndpointId,
  newEventId,
  parseDeliveryId,
} from '../core/ids.ts';
import {
  buildWebhookBody,
  type DeliveryMessage,
  packBody,
  requestFingerprint,
  unpackBody,
} from '../core/payload.ts';
import { generateSecret } from '../core/signing.ts';
import { checkEndpointUrl, type GuardOptions } from '../core/ssrf.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import {
  createEndpointSchema,
  idempotencyKeySchema,
  listDeliveriesSchema,
  listEndpointsSchema,
  parseJsonBody,
  parseOrThrow,
  payloadTooLarge,
  recoverSchema,
  sendEventSchema,
  updateEndpointSchema,
} from '../core/validation.ts';
import { dashboardPage } from './dashboard.ts';
import { publicAttempts, publicDelivery, publicEndpoint, publicEvent } from './views.ts';

/** A request, as the adapters hand it over. Header names are lower case. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly trackingId: string;
}

/** A response before serialisation. */
export interface ApiResponse {
  readonly status: number;
  /** Serialised as JSON, unless `contentType` is set: then it is a string, sent as it is. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

/** The side effects of the API, injected. */
export interface ApiDeps {
  readonly store: Store;
  readonly secrets: Pick<EndpointSecrets, 'create' | 'rotate' | 'delete'>;
  readonly apiKeys: { get(): Promise<readonly StoredApiKey[]> };
  readonly queue: {
    enqueue(messages: readonly DeliveryMessage[]): Promise<string[]>;
    enqueueOne(message: DeliveryMessage): Promise<void>;
    /** Messages in the dead-letter queue, visible and in flight. */
    deadLetterDepth(): Promise<{ visible: number; inFlight: number }>;
    /** Moves the dead-letter queue back to the delivery queue. */
    redriveDeadLetters(): Promise<RedriveOutcome>;
  };
  readonly guard: GuardOptions;
  readonly now?: () => number;
}

type Params = Record<string, string>;
type RouteHandler = (request: ApiRequest, params: Params) => Promise<ApiResponse>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: RouteHandler;
  /** Served without an API key (only the dashboard page, which holds no data). */
  readonly open?: boolean;
}

function route(method: string, template: string, handler: RouteHandler, open = false): Route {
  const names: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}/?$`), names, handler, open };
}

/** The API's routes and their logic. */
export class ApiApp {
  private readonly routes: Route[];
  private readonly now: () => number;
  private readonly endpointList: TtlCache<EndpointRecord[]>;

  constructor(private readonly deps: ApiDeps) {
    this.now = deps.now ?? Date.now;
    this.endpointList = new TtlCache(ENDPOINT_CACHE_TTL_MS, this.now);
    this.routes = [
      route('POST', '/endpoints', (r) => this.createEndpoint(r)),
      route('GET', '/endpoints', (r) => this.listEndpoints(r)),
      route('GET', '/endpoints/{id}', (_, p) => this.getEndpoint(p.id ?? '')),
      route('PATCH', '/endpoints/{id}', (r, p) => this.updateEndpoint(r, p.id ?? '')),
      route('DELETE', '/endpoints/{id}', (_, p) => this.deleteEndpoint(p.id ?? '')),
      route('POST', '/endpoints/{id}/secret/rotate', (_, p) => this.rotateSecret(p.id ?? '')),
      route('POST', '/endpoints/{id}/recover', (r, p) => this.recoverEndpoint(r, p.id ?? '')),
      route('POST', '/events', (r) => this.sendEvent(r)),
      route('GET', '/events', (r) => this.listEvents(r)),
      route('GET', '/events/{id}', (_, p) => this.getEvent(p.id ?? '')),
      route('GET', '/deliveries', (r) => this.listDeliveries(r)),
      route('GET', '/deliveries/{id}', (_, p) => this.getDelivery(p.id ?? '')),
      route('POST', '/deliveries/{id}/retry', (_, p) => this.retryDelivery(p.id ?? '')),
      route('GET', '/dlq', async () => ({ status: 200, body: await this.deps.queue.deadLetterDepth() })),
      route('POST', '/dlq/redrive', () => this.redriveDeadLetters()),
      route('GET', '/dashboard', async () => dashboardPage(), true),
    ];
  }

  /** Authenticates, routes and runs a request. Throws {@link HttpError} for client errors. */
  async handle(request: ApiRequest): Promise<ApiResponse> {
    if (request.body !== undefined && Buffer.byteLength(request.body) > MAX_REQUEST_BODY_BYTES) {
      throw payloadTooLarge(MAX_REQUEST_BODY_BYTES);
    }
    const matches = this.routes.filter((candidate) => candidate.pattern.test(request.path));
    if (matches.length === 0) throw new HttpError(404, 'not_found', `no route for ${request.path}`);
    const match = matches.find((candidate) => candidate.method === request.method);
    if (!match?.open) await this.authenticate(request);
    if (!match) {
      throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${request.path}`, {
        Allow: matches.map((candidate) => candidate.method).join(', '),
      });
    }
    const values = match.pattern.exec(request.path)?.slice(1) ?? [];
    const params: Params = {};
    match.names.forEach((name, index) => {
      try {
        params[name] = decodeURIComponent(values[index] ?? '');
      } catch {
        throw badRequest('invalid_path', `the ${name} in the path is not valid percent-encoding`);
      }
    });
    return match.handler(request, params);
  }

  private async authenticate(request: ApiRequest): Promise<void> {
    const keys = await this.deps.apiKeys.get();
    if (!matchApiKey(request.headers['x-api-key'], keys)) {
      throw new HttpError(401, 'unauthorized', 'a valid x-api-key header is required');
    }
  }

  // --- endpoints -------------------------------------------------------------------------

  private async createEndpoint(request: ApiRequest): Promise<ApiResponse> {
    const input = parseOrThrow(createEndpointSchema, parseJsonBody(request.body));
    const url = this.checkUrl(input.url);
    const nowIso = new Date(this.now()).toISOString();
    const id = newEndpointId(this.now());
    const secret = generateSecret();
    const secretName = await this.deps.secrets.create(id, secret);
    const endpoint: EndpointRecord = {
      id,
      url,
      enabled: true,
      secretName,
      createdAt: nowIso,
      updatedAt: nowIso,
      ...(input.eventTypes ? { eventTypes: input.eventTypes } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    };
    try {
      await this.deps.store.putEndpoint(endpoint);
    } catch (error) {
      await this.deps.secrets.delete(secretName).catch(() => undefined);
      throw error;
    }
    this.endpointList.delete('all');
    return { status: 201, body: { ...publicEndpoint(endpoint), secret } };
  }

  private async listEndpoints(request: ApiRequest): Promise<ApiResponse> {
    const query = parseOrThrow(listEndpointsSchema, request.query, 'invalid_query');
    const cursor = query.cursor ? this.cursor(query.cursor, ['pk', 'id']) : undefined;
    if (cursor && (cursor.pk !== 'endpoint' || !isEndpointId(String(cursor.id)))) {
      throw badRequest('invalid_cursor', 'cursor is not one this API issued for this query');
    }
    const page = await this.deps.store.listEndpoints(query.limit ?? DEFAULT_PAGE_SIZE, cursor);
    return { status: 200, body: pageBody(page, publicEndpoint) };
  }

  private async getEndpoint(id: string): Promise<ApiResponse> {
    return { status: 200, body: publicEndpoint(await this.endpointOr404(id)) };
  }

  private async updateEndpoint(request: ApiRequest, id: string): Promise<ApiResponse> {
    const input = parseOrThrow(updateEndpointSchema, parseJsonBody(request.body));
    if (!isEndpointId(id)) throw notFound('endpoint', id);
    const set: Record<string, unknown> = { updatedAt: new Date(this.now()).toISOString() };
    const remove: string[] = [];
    if (input.url !== undefined) set.url = this.checkUrl(input.url);
    if (input.eventTypes === null) remove.push('eventTypes');
    else if (input.eventTypes !== undefined) set.eventTypes = input.eventTypes;
    if (input.description === null) remove.push('description');
    else if (input.description !== undefined) set.description = input.description;
    if (input.enabled !== undefined) {
      set.enabled = input.enabled;
      if (input.enabled) {
        // Re-enabling starts with a clean slate.
        set.failureStreak = 0;
        remove.push('disabledReason');
      } else {
        set.disabledReason = 'disabled through the API';
      }
    }
    const updated = await this.deps.store.updateEndpoint(id, set, remove);
    if (!updated) throw notFound('endpoint', id);
    this.endpointList.delete('all');
    return { status: 200, body: publicEndpoint(updated) };
  }

  private async deleteEndpoint(id: string): Promise<ApiResponse> {
    if (!isEndpointId(id)) throw notFound('endpoint', id);
    const deleted = await this.deps.store.deleteEndpoint(id);
    if (!deleted) throw notFound('endpoint', id);
    await this.deps.secrets.delete(deleted.secretName);
    this.endpointList.delete('all');
    return { status: 204 };
  }

  private async rotateSecret(id: string): Promise<ApiResponse> {
    const endpoint = await this.endpointOr404(id);
    const secret = generateSecret();
    const rotated = await this.deps.secrets.rotate(endpoint.secretName, secret, this.now());
    return {
      status: 200,
      body: {
        id: endpoint.id,
        secret,
        previousSecretExpiresAt: new Date(rotated.previousExpiresAt ?? this.now()).toISOString(),
      },
    };
  }

  /**
   * Queues again every failed or dead delivery of an endpoint since a time (at most
   * MAX_RECOVER_DELIVERIES per call), from the stored events. Reports how many.
   */
  private async recoverEndpoint(request: ApiRequest, id: string): Promise<ApiResponse> {
    const query = parseOrThrow(recoverSchema, request.query, 'invalid_query');
    const endpoint = await this.endpointOr404(id);
    if (!endpoint.enabled) {
      throw new HttpError(409, 'endpoint_disabled', `endpoint ${endpoint.id} is disabled; enable it first`);
    }
    const sinceId = deliveryIdLowerBound(query.since);
    const candidates = [];
    for (const status of ['dead', 'failed'] as const) {
      const { items } = await this.deps.store.listDeliveries({
        endpointIds: [endpoint.id],
        status,
        sinceId,
        limit: MAX_RECOVER_DELIVERIES,
      });
      candidates.push(...items);
    }
    const chosen = candidates.slice(0, MAX_RECOVER_DELIVERIES);
    let queued = 0;
    let skipped = 0;
    for (const delivery of chosen) {
      const outcome = await this.requeue(delivery.id, 'recover').catch((error: unknown) => {
        if (error instanceof HttpError) return 'skipped' as const;
        throw error;
      });
      if (outcome === 'skipped') skipped++;
      else queued++;
    }
    return {
      status: 202,
      body: {
        endpointId: endpoint.id,
        queued,
        skipped,
        truncated: candidates.length > MAX_RECOVER_DELIVERIES,
      },
    };
  }

  // --- events ----------------------------------------------------------------------------

  private async sendEvent(request: ApiRequest): Promise<ApiResponse> {
    const rawKey = request.headers['idempotency-key'];
    const key =
      rawKey === undefined
        ? undefined
        : parseOrThrow(idempotencyKeySchema, rawKey, 'invalid_idempotency_key');
    const input = parseOrThrow(sendEventSchema, parseJsonBody(request.body));
    const fingerprint = requestFingerprint([input.type, input.data, input.endpointIds ?? null]);
    const createdAtMs = this.now();
    const id = key ? idempotentEventId(key) : newEventId(createdAtMs);

    if (key) {
      // A repeated key gets the original answer even if endpoints changed since, so look before
      // resolving targets; the conditional put below is still the real guard against races.
      const replay = this.replay(await this.deps.store.getEvent(id), fingerprint);
      if (replay) return replay;
    }
    const targets = await this.targetsOf(input.type, input.endpointIds);
    const body = buildWebhookBody(input.type, createdAtMs, input.data);
    const event: EventRecord = {
      id,
      type: input.type,
      createdAtMs,
      endpointIds: targets.map((endpoint) => endpoint.id),
      fingerprint,
      ...(key ? { idempotent: true } : {}),
      ...packBody(body),
    };
    const put = await this.deps.store.putEventIfAbsent(event);
    if (!put.created) {
      const replay = this.replay(put.existing, fingerprint);
      if (replay) return replay;
      throw new HttpError(
        409,
        'request_in_progress',
        'a request with this Idempotency-Key is being processed',
      );
    }
    const messages = event.endpointIds.map((endpointId) => ({
      deliveryId: deliveryId(id, endpointId, createdAtMs),
      eventId: id,
      endpointId,
      eventType: input.type,
      createdAtMs,
      body,
    }));
    let notQueued: string[];
    try {
      notQueued = messages.length > 0 ? await this.deps.queue.enqueue(messages) : [];
    } catch {
      notQueued = messages.map((message) => message.deliveryId);
    }
    if (notQueued.length > 0) {
      // Nothing may look accepted that will not be delivered: forget the event so the
      // caller's retry (same Idempotency-Key or not) starts afresh.
      await this.deps.store.deleteEvent(id);
      throw new HttpError(503, 'enqueue_failed', 'the event could not be queued; retry the request', {
        'Retry-After': '1',
      });
    }
    return { status: 202, body: acceptedBody(event) };
  }

  /** The stored answer for a repeated Idempotency-Key, a 422/409, or undefined if the key is new. */
  private replay(existing: EventRecord | undefined, fingerprint: string): ApiResponse | undefined {
    if (!existing) return undefined;
    if (existing.fingerprint !== fingerprint) {
      throw new HttpError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body; use a new key for a new event',
      );
    }
    const ageSeconds = (this.now() - existing.createdAtMs) / 1000;
    if (ageSeconds < IDEMPOTENCY_IN_FLIGHT_SECONDS) {
      const wait = Math.max(1, Math.ceil(IDEMPOTENCY_IN_FLIGHT_SECONDS - ageSeconds));
      throw new HttpError(
        409,
        'request_in_progress',
        `the first request with this Idempotency-Key may still be in flight; retry in ${wait} s`,
        { 'Retry-After': String(wait) },
      );
    }
    return { status: 202, body: acceptedBody(existing), headers: { 'Idempotent-Replayed': 'true' } };
  }

  /**
   * Endpoints an event goes to: every enabled one subscribed to its type (from a list cached
   * for a few seconds), or the ones named, read afresh so a just-disabled endpoint is refused.
   */
  private async targetsOf(
    type: string,
    endpointIds: readonly string[] | undefined,
  ): Promise<EndpointRecord[]> {
    if (!endpointIds) {
      const endpoints = await this.endpointList.get('all', () => this.deps.store.allEndpoints());
      return endpoints.filter(
        (endpoint) =>
          endpoint.enabled &&
          (!endpoint.eventTypes || endpoint.eventTypes.includes('*') || endpoint.eventTypes.includes(type)),
      );
    }
    const found = await Promise.all(endpointIds.map((id) => this.deps.store.getEndpoint(id)));
    const unknown = endpointIds.filter((_, index) => !found[index]);
    if (unknown.length > 0) throw new HttpError(422, 'unknown_endpoint', `no endpoint ${unknown.join(', ')}`);
    const targets = found as EndpointRecord[];
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

  private async getEvent(id: string): Promise<ApiResponse> {
    const event = isEventId(id) ? await this.deps.store.getEvent(id) : undefined;
    if (!event) throw notFound('event', id);
    const deliveries = await Promise.all(
      event.endpointIds.map(async (endpointId) => {
        const id = deliveryId(event.id, endpointId, event.createdAtMs);
        const record = await this.deps.store.getDelivery(endpointId, id);
        return record ? publicDelivery(record) : pendingDelivery(event, endpointId);
      }),
    );
    return { status: 200, body: { ...publicEvent(event, JSON.parse(unpackBody(event)).data), deliveries } };
  }

  // --- deliveries ------------------------------------------------------------------------

  /**
   * Deliveries matching the filters, newest first. Without `endpointId` every endpoint's
   * partition is queried and the results merged by time.
   */
  private async queryDeliveries(request: ApiRequest, limit: number) {
    const query = parseOrThrow(listDeliveriesSchema, request.query, 'invalid_query');
    const beforeId = query.cursor ? decodeListCursor(query.cursor) : undefined;
    const endpointIds = query.endpointId
      ? [query.endpointId]
      : (await this.endpointList.get('all', () => this.deps.store.allEndpoints())).map(
          (endpoint) => endpoint.id,
        );
    return this.deps.store.listDeliveries({
      endpointIds,
      limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.type ? { eventType: query.type } : {}),
      ...(query.since !== undefined ? { sinceId: deliveryIdLowerBound(query.since) } : {}),
      ...(beforeId ? { beforeId } : {}),
    });
  }

  private async listDeliveries(request: ApiRequest): Promise<ApiResponse> {
    const limit = Number(request.query.limit ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
    const { items, more } = await this.queryDeliveries(request, limit);
    const last = items.at(-1);
    return {
      status: 200,
      body: { items: items.map(publicDelivery), nextCursor: more && last ? encodeListCursor(last.id) : null },
    };
  }

  /**
   * Events, newest first, found through their deliveries (the same filters). An event shows up
   * once its first delivery has an outcome; `GET /events/{id}` shows one at once.
   */
  private async listEvents(request: ApiRequest): Promise<ApiResponse> {
    const limit = Number(request.query.limit ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
    const events = new Map<string, { id: string; type: string; createdAt: string; deliveries: unknown[] }>();
    let cursor = request.query.cursor;
    let lastId: string | undefined;
    let more: boolean;
    // Several deliveries can share an event, so a page of events may take several pages of deliveries.
    pages: for (;;) {
      const page = await this.queryDeliveries({ ...request, query: { ...request.query, cursor } }, limit);
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

  private async getDelivery(id: string): Promise<ApiResponse> {
    const parts = parseDeliveryId(id);
    if (!parts) throw notFound('delivery', id);
    const record = await this.deps.store.getDelivery(parts.endpointId, id, true);
    if (!record) {
      const event = await this.deps.store.getEvent(parts.eventId);
      if (!event || !isDeliveryOf(event, parts.endpointId, id)) throw notFound('delivery', id);
      return { status: 200, body: { ...pendingDelivery(event, parts.endpointId), attempts: [] } };
    }
    const failedAttempts = await this.deps.store.listAttempts(id);
    return {
      status: 200,
      body: { ...publicDelivery(record), attempts: publicAttempts(record, failedAttempts) },
    };
  }

  /** Queues a delivery again from the stored event (works after its SQS message is gone). */
  private async retryDelivery(id: string): Promise<ApiResponse> {
    await this.requeue(id, 'retry');
    return { status: 202, body: { id, status: 'pending' } };
  }

  /** Re-sends one delivery's message; throws 404/409 when it cannot or must not be queued. */
  private async requeue(id: string, reason: 'retry' | 'recover'): Promise<'queued'> {
    const parts = parseDeliveryId(id);
    if (!parts) throw notFound('delivery', id);
    const event = await this.deps.store.getEvent(parts.eventId);
    if (!event || !isDeliveryOf(event, parts.endpointId, id)) throw notFound('delivery', id);
    const endpoint = await this.deps.store.getEndpoint(parts.endpointId);
    if (!endpoint)
      throw new HttpError(409, 'endpoint_deleted', `endpoint ${parts.endpointId} no longer exists`);
    if (!endpoint.enabled) {
      throw new HttpError(409, 'endpoint_disabled', `endpoint ${endpoint.id} is disabled; enable it first`);
    }
    const queued = await this.deps.store.markRetryQueued(
      {
        endpointId: parts.endpointId,
        id,
        eventId: event.id,
        eventType: event.type,
        createdAtMs: event.createdAtMs,
      },
      this.now(),
      MANUAL_RETRY_COOLDOWN_SECONDS * 1000,
    );
    if (!queued) throw new HttpError(409, 'retry_in_progress', 'a retry of this delivery is already queued');
    await this.deps.queue.enqueueOne({
      deliveryId: id,
      eventId: event.id,
      endpointId: parts.endpointId,
      eventType: event.type,
      createdAtMs: event.createdAtMs,
      body: unpackBody(event),
      reason,
    });
    return 'queued';
  }

  /** 202 when SQS took the whole queue as a move task, 200 with the count when copied here. */
  private async redriveDeadLetters(): Promise<ApiResponse> {
    const outcome = await this.deps.queue.redriveDeadLetters();
    return { status: outcome.mode === 'move-task' ? 202 : 200, body: outcome };
  }

  // --- helpers ---------------------------------------------------------------------------

  private async endpointOr404(id: string): Promise<EndpointRecord> {
    const endpoint = isEndpointId(id) ? await this.deps.store.getEndpoint(id) : undefined;
    if (!endpoint) throw notFound('endpoint', id);
    return endpoint;
  }

  private checkUrl(raw: string): string {
    const checked = checkEndpointUrl(raw, this.deps.guard);
    if (!checked.ok) throw badRequest('invalid_url', checked.reason);
    return checked.url.toString();
  }

  private cursor(raw: string, keys: readonly string[]): Record<string, unknown> {
    const cursor = decodeCursor(raw, keys);
    if (!cursor) throw badRequest('invalid_cursor', 'cursor is not one this API issued for this query');
    return cursor;
  }
}

/** Whether `id` is exactly the delivery of `event` to `endpointId` (time part included). */
function isDeliveryOf(event: EventRecord, endpointId: string, id: string): boolean {
  return event.endpointIds.includes(endpointId) && deliveryId(event.id, endpointId, event.createdAtMs) === id;
}

/** List cursors carry the last delivery id returned: the next page starts below it. */
const encodeListCursor = (id: string): string => Buffer.from(id).toString('base64url');

function decodeListCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!parseDeliveryId(id)) throw badRequest('invalid_cursor', 'cursor is not one this API issued');
  return id;
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

function pendingDelivery(event: EventRecord, endpointId: string) {
  return {
    id: deliveryId(event.id, endpointId, event.createdAtMs),
    eventId: event.id,
    endpointId,
    eventType: event.type,
    status: 'pending',
    attemptCount: 0,
    createdAt: new Date(event.createdAtMs).toISOString(),
  };
}

function pageBody<T, V>(page: Page<T>, view: (item: T) => V) {
  return { items: page.items.map(view), nextCursor: page.nextCursor ?? null };
}
