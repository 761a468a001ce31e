/**
 * The parts of lambdas/api that need no store, as the mutation run found them unchecked: what
 * the views show of stored records, route templates and path parameters, what toHttpResponse
 * sends and counts, and the body limits, API key check and 405 of ApiApp.handle (the routes
 * behind it are covered against moto in test/integration).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AttemptRecord, DeliveryRecord, EndpointRecord } from '../../lambdas/adapters/store.ts';
import { ApiApp, type ApiDeps } from '../../lambdas/api/app.ts';
import { authorize } from '../../lambdas/api/authorize.ts';
import { openRoutes } from '../../lambdas/api/open-routes.ts';
import { toHttpResponse } from '../../lambdas/api/respond.ts';
import { type ApiRequest, matchRoute, route } from '../../lambdas/api/router.ts';
import {
  pendingDelivery,
  publicAttempts,
  publicDelivery,
  publicEndpoint,
  publicEvent,
} from '../../lambdas/api/views.ts';
import { hashApiKey } from '../../lambdas/core/api-keys.ts';
import { MAX_BATCH_BODY_BYTES, MAX_REQUEST_BODY_BYTES } from '../../lambdas/core/config.ts';
import { HttpError } from '../../lambdas/core/errors.ts';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

const request = (fields: Partial<ApiRequest> = {}): ApiRequest => ({
  method: 'GET',
  path: '/x',
  headers: {},
  query: {},
  trackingId: 't-1',
  ...fields,
});

describe('views', () => {
  const endpoint: EndpointRecord = {
    id: 'ep_1',
    url: 'https://r.example/hook',
    enabled: true,
    secretName: 'secret/ep_1',
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T01:00:00.000Z',
  };

  it('shows an endpoint with its defaults, and never its secret name', () => {
    expect(publicEndpoint(endpoint)).toStrictEqual({
      id: 'ep_1',
      tenantId: 'default',
      url: 'https://r.example/hook',
      eventTypes: ['*'],
      description: null,
      enabled: true,
      disabledReason: null,
      failureStreak: 0,
      failingSince: null,
      circuitOpenUntil: null,
      rateLimit: null,
      filter: null,
      headerNames: [],
      hasBacklog: false,
      createdAt: '2026-12-01T00:00:00.000Z',
      updatedAt: '2026-12-01T01:00:00.000Z',
    });
  });

  it('shows what an endpoint has set, the circuit as an ISO time', () => {
    const view = publicEndpoint({
      ...endpoint,
      eventTypes: ['a.b'],
      description: 'mine',
      enabled: false,
      disabledReason: 'failing since forever',
      failureStreak: 4,
      failingSince: '2026-11-30T00:00:00.000Z',
      circuitOpenUntil: T0,
      rateLimit: 3,
      backlogShard: 'held',
      tenantId: 'acme',
      filter: { type: 'a.b' },
      headerNames: ['X-Api-Key'],
    });
    expect(view).toMatchObject({
      eventTypes: ['a.b'],
      description: 'mine',
      enabled: false,
      disabledReason: 'failing since forever',
      failureStreak: 4,
      failingSince: '2026-11-30T00:00:00.000Z',
      circuitOpenUntil: '2026-12-01T10:00:00.000Z',
      rateLimit: 3,
      hasBacklog: true,
      tenantId: 'acme',
      filter: { type: 'a.b' },
      headerNames: ['X-Api-Key'],
    });
    expect(JSON.stringify(view)).not.toContain('secret');
  });

  it('shows an event as stored, queued unless it is still accepted', () => {
    const event = { id: 'msg_1', type: 'a', createdAtMs: T0, endpointIds: [], fingerprint: 'f' };
    expect(publicEvent(event, { n: 1 })).toStrictEqual({
      id: 'msg_1',
      tenantId: 'default',
      type: 'a',
      createdAt: '2026-12-01T10:00:00.000Z',
      state: 'queued',
      data: { n: 1 },
    });
    expect(publicEvent({ ...event, state: 'accepted' }, null).state).toBe('accepted');
    expect(publicEvent({ ...event, tenantId: 'acme' }, null).tenantId).toBe('acme');
  });

  it('shows a delivery with its defaults, its creation time read from the id when not stored', () => {
    const eventId = newEventId(T0);
    const id = deliveryId(eventId, 'ep_01M8FKCN41CGE3BC09CCS334NS', T0);
    const record = {
      id,
      eventId,
      endpointId: 'ep_01M8FKCN41CGE3BC09CCS334NS',
      eventType: 'a',
      status: 'pending',
    } as unknown as DeliveryRecord;
    expect(publicDelivery(record)).toStrictEqual({
      id,
      eventId,
      endpointId: 'ep_01M8FKCN41CGE3BC09CCS334NS',
      tenantId: 'default',
      eventType: 'a',
      status: 'pending',
      trackingId: null,
      attemptCount: 0,
      createdAt: '2026-12-01T10:00:00.000Z',
      lastAttempt: null,
      deliveredAt: null,
      nextAttemptAt: null,
      redrives: 0,
      retryQueuedAt: null,
    });
    const last: AttemptRecord = {
      attempt: 2,
      at: '2026-12-01T10:01:00.000Z',
      statusCode: 200,
      durationMs: 5,
    };
    const full = publicDelivery({
      ...record,
      status: 'delivered',
      attempts: 2,
      createdAtMs: T0 + 1,
      lastAttempt: last,
      deliveredAt: last.at,
      nextAttemptAt: '2026-12-01T10:02:00.000Z',
      redrives: 1,
      retryQueuedAt: '2026-12-01T10:03:00.000Z',
    });
    expect(full).toMatchObject({
      attemptCount: 2,
      createdAt: '2026-12-01T10:00:00.001Z',
      lastAttempt: last,
      deliveredAt: last.at,
      nextAttemptAt: '2026-12-01T10:02:00.000Z',
      redrives: 1,
      retryQueuedAt: '2026-12-01T10:03:00.000Z',
    });
    expect(publicDelivery({ ...record, id: 'dlv_nonsense' }).createdAt).toBe('1970-01-01T00:00:00.000Z');
  });

  it("shows a delivery without a record with the fields of one: its tenant and Trackingid the event's", () => {
    const eventId = newEventId(T0);
    const endpointId = 'ep_01M8FKCN41CGE3BC09CCS334NS';
    const event = { id: eventId, type: 'a', createdAtMs: T0, endpointIds: [endpointId], fingerprint: 'f' };
    const pending = pendingDelivery({ ...event, tenantId: 'acme', trackingId: 'trk-1' }, endpointId);
    expect(pending).toStrictEqual({
      id: deliveryId(eventId, endpointId, T0),
      eventId,
      endpointId,
      tenantId: 'acme',
      eventType: 'a',
      status: 'pending',
      trackingId: 'trk-1',
      attemptCount: 0,
      createdAt: '2026-12-01T10:00:00.000Z',
    });
    expect(pendingDelivery(event, endpointId)).toMatchObject({ tenantId: 'default', trackingId: null });
    // The same names as a delivery with a record, so one client reads both.
    const record = { ...pending, attempts: 0, createdAtMs: T0 } as unknown as DeliveryRecord;
    expect(Object.keys(publicDelivery(record))).toEqual(expect.arrayContaining(Object.keys(pending)));
  });

  it('lists attempts oldest first, adding the last one only when it is not stored already', () => {
    const attempt = (n: number, statusCode: number): AttemptRecord => ({
      attempt: n,
      at: `2026-12-01T10:0${n}:00.000Z`,
      statusCode,
      durationMs: n,
    });
    const record = { lastAttempt: attempt(3, 200) } as DeliveryRecord;
    expect(publicAttempts(record, [attempt(2, 500), attempt(1, 500)])).toEqual([
      attempt(1, 500),
      attempt(2, 500),
      attempt(3, 200),
    ]);
    const failedLast = { lastAttempt: attempt(2, 503) } as DeliveryRecord;
    expect(publicAttempts(failedLast, [attempt(1, 500), attempt(2, 503)])).toHaveLength(2);
    expect(publicAttempts({} as DeliveryRecord, [])).toEqual([]);
  });
});

describe('router', () => {
  const handler = async () => ({ status: 200 });

  it('matches a template exactly, with or without a trailing slash, and names its parameters', () => {
    const r = route('GET', '/endpoints/{id}/secret/{version}', handler);
    expect(r.names).toEqual(['id', 'version']);
    expect(r.access).toBe('admin');
    expect(r.pattern.test('/endpoints/ep_1/secret/v2')).toBe(true);
    expect(r.pattern.test('/endpoints/ep_1/secret/v2/')).toBe(true);
    expect(r.pattern.test('/endpoints/ep_1/secret')).toBe(false);
    expect(r.pattern.test('/x/endpoints/ep_1/secret/v2')).toBe(false);
    expect(r.pattern.test('/endpoints/ep_1/secret/v2/more')).toBe(false);
    expect(r.pattern.test('/endpoints/a/b/secret/v2')).toBe(false);
    expect(route('GET', '/dashboard', handler, 'open').access).toBe('open');
  });

  it('decodes parameters, and refuses bad percent-encoding with a 400 naming the parameter', () => {
    const routes = [route('GET', '/endpoints/{id}', handler)];
    const match = matchRoute(routes, request({ path: '/endpoints/a%20b' }));
    expect(match.params()).toEqual({ id: 'a b' });
    expect(() => matchRoute(routes, request({ path: '/endpoints/%E0%A4%A' })).params()).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'invalid_path',
        message: 'the id in the path is not valid percent-encoding',
      }),
    );
  });

  it('answers 404 for an unknown path and lists the methods a known path allows', () => {
    const routes = [route('GET', '/endpoints', handler), route('POST', '/endpoints', handler)];
    expect(() => matchRoute(routes, request({ path: '/nope' }))).toThrow(
      expect.objectContaining({ status: 404, code: 'not_found', message: 'no route for /nope' }),
    );
    const other = matchRoute(routes, request({ method: 'DELETE', path: '/endpoints' }));
    expect(other.route).toBeUndefined();
    expect(other.allowed).toEqual(['GET', 'POST']);
    expect(other.params()).toEqual({});
    expect(matchRoute(routes, request({ method: 'POST', path: '/endpoints' })).route).toBe(routes[1]);
  });
});

describe('toHttpResponse', () => {
  const logs = () => {
    const lines: Array<[string, Record<string, unknown>]> = [];
    const add = (message: string, extra: Record<string, unknown>) => lines.push([message, extra]);
    return { lines, logger: { info: add, warn: add, error: add } };
  };
  const appAnswering = (answer: () => Promise<unknown>) => ({ handle: answer }) as unknown as ApiApp;

  it('sends JSON with nosniff, no-store, the route headers and the Trackingid, and logs the request', async () => {
    const { lines, logger } = logs();
    const response = await toHttpResponse(
      appAnswering(async () => ({
        status: 201,
        body: { id: 'ep_1' },
        headers: { Location: '/endpoints/ep_1' },
      })),
      request({ method: 'POST', path: '/endpoints' }),
      logger,
    );
    expect(response).toStrictEqual({
      statusCode: 201,
      headers: {
        'content-type': 'application/json',
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        Location: '/endpoints/ep_1',
        Trackingid: 't-1',
      },
      body: '{"id":"ep_1"}',
    });
    expect(lines).toEqual([
      ['request', { method: 'POST', path: '/endpoints', status: 201, durationMs: expect.any(Number) }],
    ]);
  });

  it('sends no body and no content type for an empty answer, and a raw body in its own type', async () => {
    const empty = await toHttpResponse(
      appAnswering(async () => ({ status: 204 })),
      request(),
      logs().logger,
    );
    expect(empty).toStrictEqual({
      statusCode: 204,
      headers: { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', Trackingid: 't-1' },
    });
    const page = await toHttpResponse(
      appAnswering(async () => ({ status: 200, body: '<p>hi</p>', contentType: 'text/html' })),
      request(),
      logs().logger,
    );
    expect(page.body).toBe('<p>hi</p>');
    expect(page.headers?.['content-type']).toBe('text/html');
    // A content type with a non-string body is still serialised as JSON.
    const odd = await toHttpResponse(
      appAnswering(async () => ({ status: 200, body: { a: 1 }, contentType: 'application/x' })),
      request(),
      logs().logger,
    );
    expect(odd.body).toBe('{"a":1}');
  });

  it('turns an HttpError into its status, code, message and headers', async () => {
    const response = await toHttpResponse(
      appAnswering(async () => {
        throw new HttpError(429, 'slow_down', 'too many', { 'Retry-After': '3' });
      }),
      request(),
      logs().logger,
    );
    expect(response.statusCode).toBe(429);
    expect(JSON.parse(String(response.body))).toEqual({ error: { code: 'slow_down', message: 'too many' } });
    expect(response.headers?.['Retry-After']).toBe('3');
  });

  it('answers 500 naming the Trackingid, logging no stack it cannot read', async () => {
    const { lines, logger } = logs();
    const response = await toHttpResponse(
      appAnswering(async () => {
        throw { name: 'Odd' };
      }),
      request({ trackingId: 't-9' }),
      logger,
    );
    expect(JSON.parse(String(response.body))).toEqual({
      error: { code: 'internal_error', message: 'internal error; quote Trackingid t-9' },
    });
    expect(lines[0]).toEqual(['request failed', { error: 'Odd', stack: undefined }]);
  });

  it('counts accepted events and their deliveries, and logs the event id, for POST /events only', async () => {
    const counted: Array<[string, number]> = [];
    const count = (metric: string, value: number) => counted.push([metric, value]);
    const accepted = appAnswering(async () => ({
      status: 202,
      body: { id: 'msg_1', deliveries: [{}, {}] },
    }));
    const { lines, logger } = logs();
    await toHttpResponse(accepted, request({ method: 'POST', path: '/events/' }), logger, count);
    expect(counted).toEqual([
      ['EventsAccepted', 1],
      ['DeliveriesQueued', 2],
    ]);
    expect(lines[0]?.[1]).toMatchObject({ eventId: 'msg_1' });
    await toHttpResponse(
      appAnswering(async () => ({ status: 202, body: { id: 'msg_2' } })),
      request({ method: 'POST', path: '/events' }),
      logger,
      count,
    );
    expect(counted.slice(2)).toEqual([
      ['EventsAccepted', 1],
      ['DeliveriesQueued', 0],
    ]);
    counted.length = 0;
    await toHttpResponse(accepted, request({ method: 'GET', path: '/events' }), logger, count);
    await toHttpResponse(accepted, request({ method: 'POST', path: '/events/batch' }), logger, count);
    await toHttpResponse(
      appAnswering(async () => ({ status: 200, body: { id: 'msg_1' } })),
      request({ method: 'POST', path: '/events' }),
      logger,
      count,
    );
    expect(counted).toEqual([]);
    await toHttpResponse(accepted, request({ method: 'POST', path: '/endpoints' }), logger);
    expect(lines.at(-1)?.[1]).not.toHaveProperty('eventId');
  });
});

describe('toHttpResponse, what it measures and logs', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('logs the time the request took', async () => {
    const clock = vi.spyOn(performance, 'now').mockReturnValueOnce(1000).mockReturnValueOnce(1250);
    const lines: Array<Record<string, unknown>> = [];
    const logger = {
      info: (_: string, extra: Record<string, unknown>) => lines.push(extra),
      warn() {},
      error() {},
    };
    await toHttpResponse({ handle: async () => ({ status: 204 }) } as unknown as ApiApp, request(), logger);
    expect(clock).toHaveBeenCalledTimes(2);
    expect(lines[0]?.durationMs).toBe(250);
  });

  it('logs only the stack frames of an unexpected error, one a line, even when its message says "at"', async () => {
    const error = new Error('failed at arn:aws:iam::123456789012:role/x');
    error.stack = `Error: failed at arn:aws:iam::123456789012:role/x\n    at one (a.ts:1:1)\n    at two (b.ts:2:2)`;
    const lines: Array<Record<string, unknown>> = [];
    const logger = {
      info() {},
      warn() {},
      error: (_: string, extra: Record<string, unknown>) => lines.push(extra),
    };
    await toHttpResponse(
      { handle: async () => Promise.reject(error) } as unknown as ApiApp,
      request(),
      logger,
    );
    expect(lines[0]?.stack).toBe('    at one (a.ts:1:1)\n    at two (b.ts:2:2)');
  });

  it('serialises a string body as JSON unless the route set its own content type', async () => {
    const response = await toHttpResponse(
      { handle: async () => ({ status: 200, body: 'text' }) } as unknown as ApiApp,
      request(),
      { info() {}, warn() {}, error() {} },
    );
    expect(response.body).toBe('"text"');
    expect(response.headers?.['content-type']).toBe('application/json');
  });
});

describe('ApiApp.handle before the routes', () => {
  const KEY = 'whk_unit';
  const deps = { apiKeys: { get: async () => [{ id: 'k', sha256: hashApiKey(KEY) }] } } as unknown as ApiDeps;
  const app = new ApiApp(deps, { authorize, openRoutes: openRoutes() });
  const authed = (fields: Partial<ApiRequest>) =>
    request({ headers: { authorization: `Bearer ${KEY}` }, ...fields });

  it('refuses a body over the limit with 413, the batch route with its own limit', async () => {
    await expect(
      app.handle(authed({ method: 'POST', path: '/events', body: 'x'.repeat(MAX_REQUEST_BODY_BYTES + 1) })),
    ).rejects.toMatchObject({
      status: 413,
      message: `the body is over the ${MAX_REQUEST_BODY_BYTES}-byte limit`,
    });
    await expect(
      app.handle(
        authed({ method: 'POST', path: '/events/batch/', body: 'x'.repeat(MAX_BATCH_BODY_BYTES + 1) }),
      ),
    ).rejects.toMatchObject({
      status: 413,
      message: `the body is over the ${MAX_BATCH_BODY_BYTES}-byte limit`,
    });
    // Under the batch limit, the batch route reads the body (and finds it is not JSON).
    await expect(
      app.handle(
        authed({ method: 'POST', path: '/events/batch', body: 'x'.repeat(MAX_REQUEST_BODY_BYTES + 1) }),
      ),
    ).rejects.toMatchObject({ status: 400, code: 'malformed_json' });
    // A body of exactly the limit is read (and found not to be JSON).
    await expect(
      app.handle(authed({ method: 'POST', path: '/events', body: 'x'.repeat(MAX_REQUEST_BODY_BYTES) })),
    ).rejects.toMatchObject({ status: 400, code: 'malformed_json' });
    // Measured in UTF-8 bytes, not characters.
    await expect(
      app.handle(
        authed({ method: 'POST', path: '/events', body: 'é'.repeat(MAX_REQUEST_BODY_BYTES / 2 + 1) }),
      ),
    ).rejects.toMatchObject({ status: 413 });
  });

  it('wants a valid credential everywhere but the pages and the API description', async () => {
    for (const headers of [{}, { authorization: 'Bearer whk_wrong' }, { 'x-api-key': KEY }]) {
      await expect(app.handle(request({ path: '/endpoints', headers }))).rejects.toMatchObject({
        status: 401,
        code: 'unauthorized',
      });
    }
    await expect(app.handle(request({ method: 'DELETE', path: '/endpoints' }))).rejects.toMatchObject({
      status: 401,
    });
    expect((await app.handle(request({ path: '/dashboard' }))).status).toBe(200);
    expect((await app.handle(request({ path: '/openapi.json' }))).status).toBe(200);
  });

  it('without an injected authorizer (deployed), refuses a request the gateway did not answer for', async () => {
    const deployed = new ApiApp(deps);
    await expect(deployed.handle(authed({ path: '/endpoints' }))).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
      message: 'no authorizer answered for this request',
    });
    // The gateway authorizer's answer is what lets a request through.
    await expect(
      deployed.handle(request({ method: 'DELETE', path: '/endpoints', auth: { kind: 'admin', keyId: 'k' } })),
    ).rejects.toMatchObject({ status: 405 });
    // The open routes are the pages function's: API Gateway sends their GET there, and any other
    // method on their paths here, which answers it as for every other route.
    const admin = { kind: 'admin', keyId: 'k' } as const;
    await expect(deployed.handle(request({ path: '/openapi.json', auth: admin }))).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
      message: 'GET /openapi.json is served by the pages function, not this one',
    });
    for (const path of ['/dashboard', '/portal', '/openapi.json']) {
      await expect(deployed.handle(request({ method: 'POST', path, auth: admin }))).rejects.toMatchObject({
        status: 405,
        code: 'method_not_allowed',
        headers: { Allow: 'GET' },
      });
    }
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    await expect(app.handle(authed({ method: 'DELETE', path: '/endpoints' }))).rejects.toMatchObject({
      status: 405,
      code: 'method_not_allowed',
      message: 'DELETE is not allowed on /endpoints',
      headers: { Allow: 'POST, GET' },
    });
  });
});
