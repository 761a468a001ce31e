/**
 * The admin routes (lambdas/api/routes/tenants.ts, api-keys.ts, dlq.ts, operational-events.ts,
 * portal.ts) through the API app built in process against moto: tenant records and what deleting
 * one removes, API keys in Secrets Manager (and the authorizer's code accepting and refusing
 * them), the dead-letter queue's depth and redrive, the recorded operational events, and portal
 * sessions. Written to kill the routes' Stryker mutants (docs/mutation-testing.md).
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OperationalEventsRepository } from '../../lambdas/adapters/store/operational-events.ts';
import { DEFAULT_PAGE_SIZE } from '../../lambdas/core/config.ts';
import { operationalEvent } from '../../lambdas/core/operational-events.ts';
import { ADMIN_KEY, portal, SENDER, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('admin');
let dynamo: CommandRecorder;
let log: OperationalEventsRepository;

beforeAll(async () => {
  const clients = await import('../../lambdas/adapters/clients.ts');
  dynamo = recordCommands(clients.documents);
  const { operationalEventsRepository } = await import('../../lambdas/adapters/store/operational-events.ts');
  const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
  const { DELIVERIES_TABLE } = await import('../../lambdas/core/schema.ts');
  log = operationalEventsRepository(tableName(api.resources().tables.Deliveries, DELIVERIES_TABLE));
});

afterEach(() => {
  dynamo.reset();
});

const tenantId = () => uniqueName('t').toLowerCase();

describe('tenants', () => {
  it('creates a tenant (201), then updates it (200), keeping its creation time', async () => {
    // Prepare
    const id = tenantId();
    api.frozenAtMs = Date.UTC(2026, 11, 6, 8, 0, 0);

    // Act
    const created = await api.call('PUT', `/tenants/${id}`, {
      body: { name: 'Acme', metadata: { plan: 'pro' } },
    });
    api.frozenAtMs = Date.UTC(2026, 11, 6, 9, 0, 0);
    const updated = await api.call('PUT', `/tenants/${id}`, { body: { name: 'Acme Ltd' } });
    const read = await api.call('GET', `/tenants/${id}`);

    // Assess
    expect(created).toMatchObject({
      status: 201,
      body: {
        id,
        name: 'Acme',
        metadata: { plan: 'pro' },
        createdAt: '2026-12-06T08:00:00.000Z',
        updatedAt: '2026-12-06T08:00:00.000Z',
      },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Acme Ltd', updatedAt: '2026-12-06T09:00:00.000Z' });
    expect(read.body).toStrictEqual(updated.body);
  });

  it('takes an empty or blank body as no fields', async () => {
    // Act
    const empty = await api.call('PUT', `/tenants/${tenantId()}`);
    const blank = await api.call('PUT', `/tenants/${tenantId()}`, { body: '  ' });

    // Assess
    expect(empty.status).toBe(201);
    expect(empty.body).toMatchObject({ name: null, metadata: {} });
    expect(blank.status).toBe(201);
  });

  it('refuses a bad id with 400 and a bad body, and only to admin keys', async () => {
    // Act
    const badId = await api.call('PUT', '/tenants/-bad', { body: {} });
    const badBody = await api.call('PUT', `/tenants/${tenantId()}`, { body: { colour: 'red' } });
    const asPortal = await api.call('PUT', `/tenants/${tenantId()}`, { body: {}, as: portal('x') });

    // Assess
    expect(badId.status).toBe(400);
    expect(badId.body.error).toStrictEqual({
      code: 'invalid_tenant_id',
      message: 'a tenant id is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    });
    expect(badBody.status).toBe(400);
    expect(asPortal.status).toBe(403);
  });

  it('lets an event fan out to a tenant made after its list was cached as missing', async () => {
    // Prepare
    const id = tenantId();
    const before = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: id } });
    expect(before.status).toBe(422);

    // Act
    await api.call('PUT', `/tenants/${id}`, { body: {} });
    const after = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: id } });

    // Assess
    expect(after.status).toBe(202);
  });

  it('reads the default tenant even if never written, and 404 for an unknown or malformed id', async () => {
    // Act
    const fallback = await api.call('GET', '/tenants/default');
    const unknown = await api.call('GET', `/tenants/${tenantId()}`);
    const malformed = await api.call('GET', '/tenants/-bad');

    // Assess
    expect(fallback.body).toStrictEqual({
      id: 'default',
      name: 'Default',
      metadata: {},
      createdAt: '1970-01-01T00:00:00.000Z',
      updatedAt: '1970-01-01T00:00:00.000Z',
    });
    expect(unknown.status).toBe(404);
    expect(malformed.status).toBe(404);
    expect(dynamo.sent.some((c) => JSON.stringify(c.input).includes('-bad'))).toBe(false);
  });

  it('lists tenants in pages, and refuses a cursor of another list', async () => {
    // Prepare
    for (let i = 0; i < 3; i++) await api.call('PUT', `/tenants/${tenantId()}`, { body: {} });
    const endpointCursor = Buffer.from(JSON.stringify({ pk: 'tenant#x', id: 'ep_1' })).toString('base64url');

    // Act
    const first = await api.call('GET', '/tenants', { query: { limit: '2' } });
    const second = await api.call('GET', '/tenants', {
      query: { limit: '2', cursor: first.body.nextCursor },
    });
    const all = await api.call('GET', '/tenants');
    const foreign = await api.call('GET', '/tenants', { query: { cursor: endpointCursor } });

    // Assess
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(second.status).toBe(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    expect(all.status).toBe(200);
    expect(dynamo.sent.filter((c) => c.command === 'QueryCommand').at(-1)?.input.Limit).toBe(
      DEFAULT_PAGE_SIZE,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toStrictEqual({
      code: 'invalid_cursor',
      message: 'cursor is not one this API issued for this query',
    });
  });

  it('deletes a tenant with its endpoints and their secrets, and refuses events for it at once', async () => {
    // Prepare
    const id = tenantId();
    await api.call('PUT', `/tenants/${id}`, { body: {} });
    const endpoints = [];
    for (let i = 0; i < 2; i++) {
      const created = await api.call('POST', '/endpoints', {
        body: { url: 'https://example.com/h', tenantId: id },
      });
      endpoints.push(created.body.id as string);
    }
    const secretNames = await Promise.all(
      endpoints.map(async (endpoint) => (await api.store().getEndpoint(endpoint))?.secretName ?? ''),
    );
    expect(
      (await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: id } })).status,
    ).toBe(202);

    // Act
    const answer = await api.call('DELETE', `/tenants/${id}`);
    const event = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: id } });

    // Assess
    expect(answer.status).toBe(204);
    expect(await api.store().getTenant(id)).toBeUndefined();
    for (const endpoint of endpoints) expect(await api.store().getEndpoint(endpoint)).toBeUndefined();
    for (const name of secretNames) expect(await api.secretOf(name)).toBeUndefined();
    expect(event.status).toBe(422);
  });

  it('refuses to delete the default tenant, and 404 for an unknown one', async () => {
    // Act
    const fallback = await api.call('DELETE', '/tenants/default');
    const unknown = await api.call('DELETE', `/tenants/${tenantId()}`);
    const malformed = await api.call('DELETE', '/tenants/-bad');

    // Assess
    expect(fallback.status).toBe(409);
    expect(fallback.body.error).toStrictEqual({
      code: 'default_tenant',
      message: 'the default tenant cannot be deleted; delete its endpoints instead',
    });
    expect(unknown.status).toBe(404);
    expect(malformed.status).toBe(404);
  });
});

describe('API keys', () => {
  it('creates a key shown once, which then works, and lists keys without hashes', async () => {
    // Prepare
    api.frozenAtMs = Date.UTC(2026, 11, 6, 10, 0, 0);

    // Act
    const created = await api.call('POST', '/api-keys', { body: { scope: 'send', name: 'ci' } });
    const listed = await api.call('GET', '/api-keys');
    const used = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {} },
      headers: { authorization: `Bearer ${created.body.key}` },
      as: null,
    });
    const refused = await api.call('GET', '/tenants', {
      headers: { authorization: `Bearer ${created.body.key}` },
      as: null,
    });

    // Assess
    expect(created).toMatchObject({
      status: 201,
      body: {
        id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
        scope: 'send',
        name: 'ci',
        createdAt: '2026-12-06T10:00:00.000Z',
        key: expect.stringMatching(/^whk_/),
      },
    });
    const mine = listed.body.items.find((key: { id: string }) => key.id === created.body.id);
    expect(mine).toStrictEqual({
      id: created.body.id,
      scope: 'send',
      name: 'ci',
      createdAt: '2026-12-06T10:00:00.000Z',
    });
    expect(used.status).toBe(202);
    expect(refused.status).toBe(403);
  });

  it('stores no name when none is given', async () => {
    // Act
    const created = await api.call('POST', '/api-keys', { body: { scope: 'admin' } });

    // Assess
    expect(created.body.name).toBeNull();
    const listed = await api.call('GET', '/api-keys');
    expect(listed.body.items.find((key: { id: string }) => key.id === created.body.id)).toMatchObject({
      scope: 'admin',
      name: null,
    });
  });

  it('revokes a key, refuses the last admin key and an unknown one', async () => {
    // Prepare
    const send = await api.call('POST', '/api-keys', { body: { scope: 'send' } });

    // Act
    const revoked = await api.call('DELETE', `/api-keys/${send.body.id}`);
    const again = await api.call('DELETE', `/api-keys/${send.body.id}`);
    const listed = await api.call('GET', '/api-keys');

    // Assess
    expect(revoked.status).toBe(204);
    expect(again.status).toBe(404);
    expect(listed.body.items.map((key: { id: string }) => key.id)).not.toContain(send.body.id);
  });

  it('refuses to revoke the only admin key, but revokes one of two', async () => {
    // Prepare: every admin key but the provisioned one revoked.
    for (const key of (await api.call('GET', '/api-keys')).body.items as { id: string; scope: string }[]) {
      if (key.scope === 'admin' && key.id !== 'key_local') await api.call('DELETE', `/api-keys/${key.id}`);
    }
    await api.call('POST', '/api-keys', { body: { scope: 'send' } });

    // Act
    const last = await api.call('DELETE', '/api-keys/key_local');
    const second = await api.call('POST', '/api-keys', { body: { scope: 'admin' } });
    const revoked = await api.call('DELETE', `/api-keys/${second.body.id}`);

    // Assess
    expect(last.status).toBe(409);
    expect(last.body.error).toStrictEqual({
      code: 'last_admin_key',
      message: 'this is the only admin key; create another before revoking it',
    });
    expect(revoked.status).toBe(204);
    expect(
      (await api.call('GET', '/tenants', { headers: { authorization: `Bearer ${ADMIN_KEY}` }, as: null }))
        .status,
    ).toBe(200);
  });
});

describe('the dead-letter queue', () => {
  it('answers its depth, and redrives it with a dlq.redriven event', async () => {
    // Prepare
    const sqs = api.sqs();
    for (let i = 0; i < 2; i++) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: api.resources().deadLetterQueueUrl, MessageBody: `dead ${i}` }),
      );
    }
    await api.drainDeliveryQueue();
    api.frozenAtMs = Date.UTC(2026, 11, 6, 11, 0, 0);

    // Act
    const depth = await api.call('GET', '/dlq');
    const redriven = await api.call('POST', '/dlq/redrive');
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(depth).toMatchObject({ status: 200, body: { visible: 2, inFlight: 0 } });
    expect([200, 202]).toContain(redriven.status);
    expect(redriven.status).toBe(redriven.body.mode === 'move-task' ? 202 : 200);
    const published = messages.find((m) => m.kind === 'operational-event');
    expect(published).toMatchObject({
      event: {
        detailType: 'dlq.redriven',
        detail: { occurredAt: '2026-12-06T11:00:00.000Z', ...redriven.body },
      },
    });
  });
});

describe('GET /operational-events', () => {
  it('lists the recorded events newest first, by type, paged', async () => {
    // Prepare
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const disabled = (minutesAgo: number) =>
      operationalEvent('endpoint.disabled', {
        occurredAt: at(minutesAgo),
        endpointId: 'ep_1',
        tenantId: 'default',
        reason: 'manual',
        description: 'x',
      });
    await log.recordOperationalEvent(`oev_${uniqueName('a').replace(/-/g, '')}`, disabled(3));
    await log.recordOperationalEvent(`oev_${uniqueName('b').replace(/-/g, '')}`, disabled(2));
    await log.recordOperationalEvent(
      `oev_${uniqueName('c').replace(/-/g, '')}`,
      operationalEvent('dlq.redriven', { occurredAt: at(1), mode: 'copied', moved: 1 }),
    );

    // Act
    const all = await api.call('GET', '/operational-events');
    const first = await api.call('GET', '/operational-events', { query: { limit: '2' } });
    const second = await api.call('GET', '/operational-events', {
      query: { limit: '2', cursor: first.body.nextCursor },
    });
    const typed = await api.call('GET', '/operational-events', { query: { type: 'dlq.redriven' } });

    // Assess
    expect(all.status).toBe(200);
    expect(all.body.items.map((e: { occurredAt: string }) => e.occurredAt)).toStrictEqual([
      at(1),
      at(2),
      at(3),
    ]);
    expect(all.body.nextCursor).toBeNull();
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(second.body.items.map((e: { occurredAt: string }) => e.occurredAt)).toStrictEqual([at(3)]);
    expect(typed.body.items.map((e: { detailType: string }) => e.detailType)).toStrictEqual(['dlq.redriven']);
  });

  it('looks a week back by default, and refuses a time before the records are kept', async () => {
    // Prepare
    const now = Date.now();
    api.frozenAtMs = now;
    await log.recordOperationalEvent(
      `oev_${uniqueName('old').replace(/-/g, '')}`,
      operationalEvent('dlq.redriven', {
        occurredAt: new Date(now - 8 * 86_400_000).toISOString(),
        mode: 'copied',
        moved: 1,
      }),
    );

    // Act
    const recent = await api.call('GET', '/operational-events', { query: { limit: '100' } });
    const older = await api.call('GET', '/operational-events', {
      query: { limit: '100', since: String(Math.floor((now - 9 * 86_400_000) / 1000)) },
    });
    const tooOld = await api.call('GET', '/operational-events', { query: { since: '2020-01-01T00:00:00Z' } });
    const cursor = await api.call('GET', '/operational-events', { query: { cursor: 'bm9wZQ' } });

    // Assess
    expect(
      recent.body.items.some((e: { occurredAt: string }) => Date.parse(e.occurredAt) < now - 7 * 86_400_000),
    ).toBe(false);
    expect(
      older.body.items.some((e: { occurredAt: string }) => Date.parse(e.occurredAt) < now - 7 * 86_400_000),
    ).toBe(true);
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.error.code).toBe('invalid_query');
    expect(tooOld.body.error.message).toMatch(
      /^since: operational events are kept \d+ days; give a time after \d{4}-/,
    );
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.code).toBe('invalid_cursor');
  });
});

describe('portal sessions', () => {
  it('makes a link for a tenant whose token opens a session for it', async () => {
    // Prepare
    const id = tenantId();
    await api.call('PUT', `/tenants/${id}`, { body: { name: 'Acme' } });
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const session = await api.call('POST', `/tenants/${id}/portal-sessions`, {
      body: { expiresInSeconds: 600 },
    });
    api.frozenAtMs = undefined;
    const current = await api.call('GET', '/portal/session', {
      headers: { authorization: `Bearer ${session.body.token}` },
      as: null,
    });
    const fallback = await api.call('POST', `/tenants/${id}/portal-sessions`);

    // Assess
    expect(session.status).toBe(201);
    expect(session.body).toStrictEqual({
      tenantId: id,
      url: `/portal#token=${session.body.token}`,
      token: expect.any(String),
      expiresAt: new Date(Math.floor(now / 1000) * 1000 + 600_000).toISOString(),
    });
    expect(current).toMatchObject({
      status: 200,
      body: { tenantId: id, tenantName: 'Acme', expiresAt: session.body.expiresAt },
    });
    expect(Date.parse(fallback.body.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
  });

  it('puts the request’s origin in the link, and refuses an unknown tenant', async () => {
    // Prepare
    const id = tenantId();
    await api.call('PUT', `/tenants/${id}`, { body: {} });

    // Act
    const session = await api.app().handle({
      method: 'POST',
      path: `/tenants/${id}/portal-sessions`,
      headers: {},
      query: {},
      trackingId: 't-origin',
      origin: 'https://hooks.example.com',
      auth: { kind: 'admin', keyId: 'key_local' },
    });
    const unknown = await api.call('POST', `/tenants/${tenantId()}/portal-sessions`);

    // Assess
    expect((session.body as { url: string }).url).toMatch(/^https:\/\/hooks\.example\.com\/portal#token=/);
    expect(unknown.status).toBe(404);
  });

  it('answers who a session is for, the tenant id as the name when it has none; 400 for a key', async () => {
    // Prepare
    const id = tenantId();
    await api.call('PUT', `/tenants/${id}`, { body: {} });
    const expiresAtMs = Date.now() + 60_000;

    // Act
    const session = await api.call('GET', '/portal/session', { as: portal(id, expiresAtMs) });
    const key = await api.call('GET', '/portal/session');
    const sender = await api.call('GET', '/portal/session', { as: SENDER });

    // Assess
    expect(session.body).toStrictEqual({
      tenantId: id,
      tenantName: id,
      expiresAt: new Date(expiresAtMs).toISOString(),
    });
    expect(key.status).toBe(400);
    expect(key.body.error).toStrictEqual({
      code: 'not_a_portal_session',
      message: 'this route answers for a portal session token only',
    });
    expect(sender.status).toBe(403);
  });
});
