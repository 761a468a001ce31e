/**
 * Tests written for the mutants that survived the first `api-routes-b` Stryker run of
 * lambdas/api/routes/events.ts, event-queueing.ts and the admin routes (see
 * docs/mutation-testing.md): each names the line it is for. Same in-process app on moto as the
 * other api-routes-mutants files; a few build a variant of it without a dependency.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../lambdas/adapters/store.ts';
import type { ApiRequest } from '../../lambdas/api/app.ts';
import { EVENT_LEASE_SECONDS } from '../../lambdas/core/config.ts';
import { idempotentEventId } from '../../lambdas/core/ids.ts';
import { ADMIN, SENDER, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('survivors-b');
let sqs: CommandRecorder;
let dynamo: CommandRecorder;

beforeAll(async () => {
  const clients = await import('../../lambdas/adapters/clients.ts');
  sqs = recordCommands(clients.sqs);
  dynamo = recordCommands(clients.documents);
});

afterEach(() => {
  sqs.reset();
  dynamo.reset();
});

async function newEndpoint(body: Record<string, unknown> = {}): Promise<string> {
  const answer = await api.call('POST', '/endpoints', { body: { url: 'https://example.com/hook', ...body } });
  expect(answer.status).toBe(201);
  return answer.body.id;
}

const request = (method: string, path: string, extra: Partial<ApiRequest> = {}): ApiRequest => ({
  method,
  path,
  headers: {},
  query: {},
  trackingId: 't-variant',
  auth: ADMIN,
  ...extra,
});

describe('events.ts', () => {
  it('names every endpoint refused, joined by commas (:181, :188, :196), and says why a batch key is refused (:95)', async () => {
    // Prepare
    const tenant = uniqueName('t').toLowerCase();
    await api.call('PUT', `/tenants/${tenant}`, { body: {} });
    const foreign = [await newEndpoint(), await newEndpoint()];
    const off = [await newEndpoint({ tenantId: tenant }), await newEndpoint({ tenantId: tenant })];
    for (const id of off) await api.call('PATCH', `/endpoints/${id}`, { body: { enabled: false } });
    const missing = ['ep_00000000000000000000000000', 'ep_00000000000000000000000001'];

    // Act
    const unknown = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, endpointIds: missing },
    });
    const notOurs = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: tenant, endpointIds: foreign },
    });
    const disabled = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: tenant, endpointIds: off },
    });
    const batchKey = await api.call('POST', '/events/batch', {
      body: { events: [{ type: 'a.b', data: {} }] },
      headers: { 'idempotency-key': 'k' },
    });

    // Assess
    expect(unknown.body.error.message).toBe(`no endpoint ${missing.join(', ')}`);
    expect(notOurs.body.error.message).toBe(
      `endpoint ${foreign.join(', ')} is not one of tenant "${tenant}"'s`,
    );
    expect(disabled.body.error.message).toBe(`endpoint ${off.join(', ')} is disabled; enable it first`);
    expect(batchKey.body.error.message).toBe(
      'a batch takes no Idempotency-Key header; give each event its own idempotencyKey field',
    );
  });

  it('404s of GET /events/{id} name the event (:233, :236)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, endpointIds: [endpoint] },
    });
    const unknown = `msg_${'0'.repeat(26)}`;

    // Act
    const missing = await api.call('GET', `/events/${unknown}`);
    const notMine = await api.call('GET', `/events/${sent.body.id}`, { as: SENDER });

    // Assess
    expect(missing.body.error.message).toBe(`event "${unknown}" does not exist`);
    expect(notMine.body.error.message).toBe(`event "${sent.body.id}" does not exist`);
  });

  it('lists each event’s deliveries with their id, endpoint and status (:271)', async () => {
    // Prepare
    const tenant = uniqueName('t').toLowerCase();
    await api.call('PUT', `/tenants/${tenant}`, { body: {} });
    const endpoint = await newEndpoint({ tenantId: tenant });
    const sent = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });
    const delivery = sent.body.deliveries[0];
    await api.store().recordOutcome({
      endpointId: endpoint,
      id: delivery.id,
      eventId: sent.body.id,
      eventType: 'a.b',
      createdAtMs: Date.parse(sent.body.createdAt),
      status: 'delivered',
      attempt: { attempt: 1, at: new Date().toISOString(), statusCode: 200, durationMs: 2 },
      redrive: false,
    });

    // Act
    const listed = await api.call('GET', '/events', { query: { tenantId: tenant } });

    // Assess
    expect(listed.body.items).toStrictEqual([
      {
        id: sent.body.id,
        type: 'a.b',
        createdAt: sent.body.createdAt,
        deliveries: [{ id: delivery.id, endpointId: endpoint, status: 'delivered' }],
      },
    ]);
  });
});

describe('event-queueing.ts', () => {
  it('takes an event over with a lease of its own, from now on (:132)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const first = await api.call('POST', '/events', { body, headers: { 'idempotency-key': key } });
    const stored = (await api.store().getEvent(first.body.id)) as EventRecord;
    await api.store().putEvent({ ...stored, state: 'accepted', leaseUntilMs: 1 });
    const now = Date.now();
    api.frozenAtMs = now;
    dynamo.reset();

    // Act
    const retried = await api.call('POST', '/events', { body, headers: { 'idempotency-key': key } });

    // Assess
    expect(retried.status).toBe(202);
    const claim = dynamo.sent.find((c) => String(c.input.UpdateExpression) === 'SET leaseUntilMs = :lease');
    expect(claim?.input.ExpressionAttributeValues).toMatchObject({
      ':lease': now + EVENT_LEASE_SECONDS * 1000,
    });
    expect(first.body.id).toBe(idempotentEventId(key));
  });
});

describe('the admin routes', () => {
  it('operational events: 501 without a log, invalid_query, the oldest time allowed, the cursor’s message (:27, :28, :32, :56)', async () => {
    // Prepare
    const { ApiApp } = await import('../../lambdas/api/app.ts');
    const { operationalEventLog: _log, ...rest } = api.deps();
    const withoutLog = new ApiApp(rest);
    const now = Math.floor(Date.now() / 1000) * 1000;
    api.frozenAtMs = now;
    const { OPERATIONAL_EVENTS_MAX_DAYS } = await import(
      '../../lambdas/adapters/store/operational-events.ts'
    );
    const oldest = String((now - OPERATIONAL_EVENTS_MAX_DAYS * 86_400_000) / 1000);

    // Act
    const unsupported = await withoutLog
      .handle(request('GET', '/operational-events'))
      .catch((error) => error);
    const bad = await api.call('GET', '/operational-events', { query: { limit: 'x' } });
    const atOldest = await api.call('GET', '/operational-events', { query: { since: oldest } });
    const cursor = await api.call('GET', '/operational-events', { query: { cursor: 'bm9wZQ' } });

    // Assess
    expect(unsupported).toMatchObject({
      status: 501,
      code: 'not_supported',
      message: 'operational events are not recorded here',
    });
    expect(bad.body.error.code).toBe('invalid_query');
    expect(atOldest.status).toBe(200);
    expect(cursor.body.error.message).toBe('cursor is not one this API issued');
  });

  it('portal sessions: a blank body is no options (portal.ts:23)', async () => {
    // Prepare
    const tenant = uniqueName('t').toLowerCase();
    await api.call('PUT', `/tenants/${tenant}`, { body: {} });

    // Act
    const answer = await api.call('POST', `/tenants/${tenant}/portal-sessions`, { body: '  ' });

    // Assess
    expect(answer.status).toBe(201);
  });

  it('API keys: 501 when keys cannot be changed, 404 when a revoke finds the key gone (:27, :48, :57)', async () => {
    // Prepare
    const { ApiApp } = await import('../../lambdas/api/app.ts');
    const deps = api.deps();
    const readOnly = new ApiApp({ ...deps, apiKeys: { get: () => deps.apiKeys.get() } });
    const racing = new ApiApp({
      ...deps,
      apiKeys: {
        get: async () => [
          { id: 'key_a', sha256: 'a'.repeat(64) },
          { id: 'key_b', sha256: 'b'.repeat(64) },
        ],
        add: async () => {},
        revoke: async () => false,
      },
    });

    // Act
    const create = await readOnly
      .handle({ ...request('POST', '/api-keys'), body: '{"scope":"send"}' })
      .catch((e) => e);
    const gone = await racing.handle(request('DELETE', '/api-keys/key_a')).catch((e) => e);
    const unknown = await api.call('DELETE', '/api-keys/key_nope');

    // Assess
    expect(create).toMatchObject({
      status: 501,
      code: 'not_supported',
      message: 'keys cannot be changed here',
    });
    expect(gone).toMatchObject({ status: 404, message: 'API key "key_a" does not exist' });
    expect(unknown.body.error.message).toBe('API key "key_nope" does not exist');
  });

  it('API keys: send-only keys do not count as admin keys (:49)', async () => {
    // Prepare: the provisioned admin key and two send-only keys.
    await api.call('POST', '/api-keys', { body: { scope: 'send' } });
    await api.call('POST', '/api-keys', { body: { scope: 'send' } });

    // Act
    const last = await api.call('DELETE', '/api-keys/key_local');

    // Assess
    expect(last.status).toBe(409);
  });

  it('the DLQ: a move task answers 202 (dlq.ts:15)', async () => {
    // Prepare
    sqs.intercept = async (command, send) =>
      command.command === 'StartMessageMoveTaskCommand'
        ? { output: { TaskHandle: 'task-1', $metadata: {} } }
        : send();

    // Act
    const answer = await api.call('POST', '/dlq/redrive');

    // Assess
    expect(answer).toMatchObject({ status: 202, body: { mode: 'move-task', taskHandle: 'task-1' } });
  });

  it('tenants: invalid_query, and the 404 of a delete names the tenant (:52, :70)', async () => {
    // Act
    const bad = await api.call('GET', '/tenants', { query: { limit: 'x' } });
    const missing = await api.call('DELETE', '/tenants/no-such-tenant');

    // Assess
    expect(bad.body.error.code).toBe('invalid_query');
    expect(missing.body.error.message).toBe('tenant "no-such-tenant" does not exist');
  });
});
