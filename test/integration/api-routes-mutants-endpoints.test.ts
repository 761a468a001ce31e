/**
 * The endpoint routes (lambdas/api/routes/endpoints.ts) and the lookups of lambdas/api/context.ts
 * they start with, through the API app built in process against moto: what is answered, what is
 * stored in the Endpoints table and Secrets Manager, and what is queued. Written to kill the
 * routes' Stryker mutants (docs/mutation-testing.md).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointRecord } from '../../lambdas/adapters/store.ts';
import { DEFAULT_PAGE_SIZE, SECRET_ROTATION_OVERLAP_SECONDS } from '../../lambdas/core/config.ts';
import { heldWaitKey } from '../../lambdas/core/records.ts';
import { ADMIN_KEY, portal, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('endpoints');
let dynamo: CommandRecorder;
let sqs: CommandRecorder;

beforeAll(async () => {
  const clients = await import('../../lambdas/adapters/clients.ts');
  dynamo = recordCommands(clients.documents);
  sqs = recordCommands(clients.sqs);
});

afterEach(() => {
  dynamo.reset();
  sqs.reset();
});

const tenantId = () => uniqueName('acme').toLowerCase();

async function newTenant(): Promise<string> {
  const id = tenantId();
  const answer = await api.call('PUT', `/tenants/${id}`, { body: { name: 'Acme' } });
  expect(answer.status).toBeLessThan(300);
  return id;
}

async function newEndpoint(body: Record<string, unknown> = {}, as = undefined as never) {
  const answer = await api.call('POST', '/endpoints', {
    body: { url: 'https://example.com/hook', ...body },
    ...(as ? { as } : {}),
  });
  expect(answer.status).toBe(201);
  return answer.body as { id: string; secret: string; tenantId: string } & Record<string, unknown>;
}

const stored = async (id: string) => (await api.store().getEndpoint(id)) as EndpointRecord;

describe('POST /endpoints', () => {
  it('stores the endpoint in the default tenant and its secret, and answers the secret once', async () => {
    // Prepare
    api.frozenAtMs = Date.UTC(2026, 11, 6, 12, 0, 0);

    // Act
    const answer = await api.call('POST', '/endpoints', { body: { url: 'https://Example.com/hook' } });

    // Assess
    expect(answer.status).toBe(201);
    expect(answer.body).toStrictEqual({
      id: expect.stringMatching(/^ep_/),
      tenantId: 'default',
      url: 'https://example.com/hook',
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
      createdAt: '2026-12-06T12:00:00.000Z',
      updatedAt: '2026-12-06T12:00:00.000Z',
      secret: expect.stringMatching(/^whsec_/),
    });
    const record = await stored(answer.body.id);
    expect(record).toStrictEqual({
      id: answer.body.id,
      tenantId: 'default',
      url: 'https://example.com/hook',
      enabled: true,
      secretName: `${api.resources().endpointSecretPrefix}/${answer.body.id}`,
      createdAt: '2026-12-06T12:00:00.000Z',
      updatedAt: '2026-12-06T12:00:00.000Z',
    });
    expect(await api.secretOf(record.secretName)).toStrictEqual({ current: answer.body.secret });
  });

  it('stores every optional field given, and the header values in the secret only', async () => {
    // Prepare
    const tenant = await newTenant();

    // Act
    const answer = await api.call('POST', '/endpoints', {
      body: {
        url: 'https://example.com/all',
        tenantId: tenant,
        eventTypes: ['order.created'],
        description: 'orders',
        rateLimit: 5,
        filter: { data: { total: { gt: 10 } } },
        headers: { 'X-Api-Token': 'secret-token' },
      },
    });

    // Assess
    expect(answer.status).toBe(201);
    const record = await stored(answer.body.id);
    expect(record).toMatchObject({
      tenantId: tenant,
      eventTypes: ['order.created'],
      description: 'orders',
      rateLimit: 5,
      filter: { data: { total: { gt: 10 } } },
      headerNames: ['X-Api-Token'],
    });
    expect(answer.body).toMatchObject({ tenantId: tenant, headerNames: ['X-Api-Token'], rateLimit: 5 });
    expect(await api.secretOf(record.secretName)).toStrictEqual({
      current: answer.body.secret,
      headers: { 'X-Api-Token': 'secret-token' },
    });
  });

  it('keeps no header names for an empty headers object, and no field for what was not given', async () => {
    // Act
    const answer = await api.call('POST', '/endpoints', {
      body: { url: 'https://example.com/none', headers: {}, description: '' },
    });

    // Assess
    expect(answer.status).toBe(201);
    const record = await stored(answer.body.id);
    expect(record.headerNames).toBeUndefined();
    expect(record.description).toBe('');
    expect(Object.keys(record).sort()).toStrictEqual(
      ['id', 'tenantId', 'url', 'enabled', 'secretName', 'createdAt', 'updatedAt', 'description'].sort(),
    );
  });

  it('refuses a tenant that does not exist, before anything is written', async () => {
    // Act
    const answer = await api.call('POST', '/endpoints', {
      body: { url: 'https://example.com/hook', tenantId: 'nobody-here' },
    });

    // Assess
    expect(answer.status).toBe(422);
    expect(answer.body.error).toStrictEqual({
      code: 'unknown_tenant',
      message: 'no tenant "nobody-here"; create it with PUT /tenants/{id}',
    });
    expect(dynamo.names()).not.toContain('PutItemCommand');
  });

  it('refuses a blocked URL with the guard’s reason', async () => {
    // Act
    const answer = await api.call('POST', '/endpoints', { body: { url: 'https://blocked.example/hook' } });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_url');
    expect(answer.body.error.message).not.toBe('');
    expect(dynamo.names()).not.toContain('PutItemCommand');
  });

  it('puts a portal session’s endpoint in its own tenant, and refuses another tenant as unknown', async () => {
    // Prepare
    const tenant = await newTenant();

    // Act
    const own = await api.call('POST', '/endpoints', {
      body: { url: 'https://example.com/portal' },
      as: portal(tenant),
    });
    const other = await api.call('POST', '/endpoints', {
      body: { url: 'https://example.com/portal', tenantId: 'default' },
      as: portal(tenant),
    });

    // Assess
    expect(own.status).toBe(201);
    expect((await stored(own.body.id)).tenantId).toBe(tenant);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
  });

  it('deletes the secret again when the endpoint cannot be stored', async () => {
    // Prepare
    let secretName = '';
    dynamo.intercept = async (command, send) => {
      if (command.command !== 'PutItemCommand') return send();
      // The item's secretName (the input is the low-level one: marshalled).
      const name = new RegExp(`${api.resources().endpointSecretPrefix}/ep_[0-9A-Za-z]+`);
      secretName = name.exec(JSON.stringify(command.input))?.[0] ?? '';
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };

    // Act
    const failed = api.call('POST', '/endpoints', { body: { url: 'https://example.com/lost' } });

    // Assess
    await expect(failed).rejects.toThrow('throttled');
    expect(secretName).not.toBe('');
    expect(await api.secretOf(secretName)).toBeUndefined();
  });

  it('is fanned out to at once: the tenant’s cached endpoint list is dropped', async () => {
    // Prepare: a fan-out caches the tenant's list, still empty.
    const tenant = await newTenant();
    const before = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });
    expect(before.body.deliveries).toStrictEqual([]);

    // Act
    const endpoint = await newEndpoint({ tenantId: tenant });
    const after = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });

    // Assess
    expect(after.status).toBe(202);
    expect(after.body.deliveries.map((d: { endpointId: string }) => d.endpointId)).toStrictEqual([
      endpoint.id,
    ]);
  });

  it('works with the admin key in an Authorization header (the authorizer’s code run in process)', async () => {
    // Act
    const keyed = await api.call('POST', '/endpoints', {
      body: { url: 'https://example.com/keyed' },
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      as: null,
    });
    const unkeyed = await api.call('POST', '/endpoints', {
      body: { url: 'https://example.com/keyed' },
      as: null,
    });

    // Assess
    expect(keyed.status).toBe(201);
    expect(unkeyed.status).toBe(401);
  });
});

describe('GET /endpoints/{id}', () => {
  it('answers the endpoint with an empty backlog', async () => {
    // Prepare
    const endpoint = await newEndpoint();

    // Act
    const answer = await api.call('GET', `/endpoints/${endpoint.id}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: endpoint.id, url: 'https://example.com/hook' });
    expect(answer.body.secret).toBeUndefined();
    expect(answer.body.backlog).toStrictEqual({
      size: 0,
      complete: true,
      oldestAt: null,
      oldestHeldSince: null,
      reason: null,
    });
  });

  it('answers the size of its backlog and its oldest held delivery', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const table = api.resources().tables.Deliveries;
    const held = (n: number, heldAtMs?: number) =>
      api.documents().send(
        new PutCommand({
          TableName: table,
          Item: {
            endpointId: endpoint.id,
            id: `dlv_held_${n}`,
            status: 'pending',
            createdAtMs: Date.UTC(2026, 11, 1, 0, n),
            waitKey: heldWaitKey(endpoint.id),
            waitAt: `000${n}`,
            ...(heldAtMs ? { heldAtMs, heldReason: 'circuit_open' } : {}),
          },
        }),
      );
    await held(1, Date.UTC(2026, 11, 2));
    await held(2);

    // Act
    const answer = await api.call('GET', `/endpoints/${endpoint.id}`);

    // Assess
    expect(answer.body.backlog).toStrictEqual({
      size: 2,
      complete: true,
      oldestAt: '2026-12-01T00:01:00.000Z',
      oldestHeldSince: '2026-12-02T00:00:00.000Z',
      reason: 'circuit_open',
    });
  });

  it('answers no held-since time and no reason for a held delivery without them', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.documents().send(
      new PutCommand({
        TableName: api.resources().tables.Deliveries,
        Item: {
          endpointId: endpoint.id,
          id: 'dlv_held_x',
          status: 'pending',
          createdAtMs: Date.UTC(2026, 11, 1),
          waitKey: heldWaitKey(endpoint.id),
          waitAt: '0001',
        },
      }),
    );

    // Act
    const answer = await api.call('GET', `/endpoints/${endpoint.id}`);

    // Assess
    expect(answer.body.backlog).toStrictEqual({
      size: 1,
      complete: true,
      oldestAt: '2026-12-01T00:00:00.000Z',
      oldestHeldSince: null,
      reason: null,
    });
  });

  it('answers 404 for an unknown id, a malformed one, and another tenant’s to a portal session', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const tenant = await newTenant();
    const own = await newEndpoint({ tenantId: tenant });

    // Act
    const unknown = await api.call('GET', '/endpoints/ep_00000000000000000000000000');
    const malformed = await api.call('GET', '/endpoints/not-an-id');
    const foreign = await api.call('GET', `/endpoints/${endpoint.id}`, { as: portal(tenant) });
    const mine = await api.call('GET', `/endpoints/${own.id}`, { as: portal(tenant) });

    // Assess
    expect(unknown.status).toBe(404);
    expect(malformed.status).toBe(404);
    expect(dynamo.sent.filter((c) => (c.input.Key as { id?: string })?.id === 'not-an-id')).toStrictEqual([]);
    expect(foreign.status).toBe(404);
    expect(mine.status).toBe(200);
  });
});

describe('GET /endpoints', () => {
  it('pages a tenant’s endpoints with a cursor, and only that tenant’s', async () => {
    // Prepare
    const tenant = await newTenant();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await newEndpoint({ tenantId: tenant })).id);
    await newEndpoint();

    // Act
    const first = await api.call('GET', '/endpoints', { query: { tenantId: tenant, limit: '2' } });
    const second = await api.call('GET', '/endpoints', {
      query: { tenantId: tenant, limit: '2', cursor: first.body.nextCursor },
    });

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(second.status).toBe(200);
    const listed = [...first.body.items, ...second.body.items].map((e: { id: string }) => e.id);
    expect(listed.sort()).toStrictEqual([...ids].sort());
    expect(second.body.items[0].secret).toBeUndefined();
  });

  it('lists up to the default page size without a limit', async () => {
    // Prepare
    const tenant = await newTenant();
    await newEndpoint({ tenantId: tenant });

    // Act
    const answer = await api.call('GET', '/endpoints', { query: { tenantId: tenant } });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.items).toHaveLength(1);
    const query = dynamo.sent.find((c) => c.command === 'QueryCommand');
    expect(query?.input.Limit).toBe(DEFAULT_PAGE_SIZE);
  });

  it('refuses a cursor of another tenant’s list, or one not naming an endpoint', async () => {
    // Prepare
    const tenant = await newTenant();
    for (let i = 0; i < 2; i++) await newEndpoint({ tenantId: tenant });
    const page = await api.call('GET', '/endpoints', { query: { tenantId: tenant, limit: '1' } });
    const cursor = page.body.nextCursor as string;
    const notAnEndpoint = Buffer.from(JSON.stringify({ pk: `tenant#${tenant}`, id: 'x' })).toString(
      'base64url',
    );

    // Act
    const elsewhere = await api.call('GET', '/endpoints', { query: { cursor } });
    const forged = await api.call('GET', '/endpoints', {
      query: { tenantId: tenant, cursor: notAnEndpoint },
    });
    const garbage = await api.call('GET', '/endpoints', { query: { tenantId: tenant, cursor: 'abc' } });

    // Assess
    for (const answer of [elsewhere, forged, garbage]) {
      expect(answer.status).toBe(400);
      expect(answer.body.error).toStrictEqual({
        code: 'invalid_cursor',
        message: 'cursor is not one this API issued for this query',
      });
    }
  });

  it('answers 404 for a tenant that does not exist, and the default tenant even if never written', async () => {
    // Act
    const unknown = await api.call('GET', '/endpoints', { query: { tenantId: 'no-such-tenant' } });
    const fallback = await api.call('GET', '/endpoints');

    // Assess
    expect(unknown.status).toBe(404);
    expect(fallback.status).toBe(200);
  });
});

describe('PATCH /endpoints/{id}', () => {
  it('sets each field given and leaves the others', async () => {
    // Prepare
    const endpoint = await newEndpoint({ description: 'old', eventTypes: ['a.b'] });
    api.frozenAtMs = Date.UTC(2026, 11, 6, 13, 0, 0);

    // Act
    const answer = await api.call('PATCH', `/endpoints/${endpoint.id}`, {
      body: {
        url: 'https://example.com/new',
        eventTypes: ['c.d'],
        description: 'new',
        rateLimit: 3,
        filter: { type: 'c.d' },
      },
    });

    // Assess
    expect(answer.status).toBe(200);
    const record = await stored(endpoint.id);
    expect(record).toMatchObject({
      url: 'https://example.com/new',
      eventTypes: ['c.d'],
      description: 'new',
      rateLimit: 3,
      filter: { type: 'c.d' },
      enabled: true,
      updatedAt: '2026-12-06T13:00:00.000Z',
    });
    expect(answer.body).toMatchObject({ url: 'https://example.com/new', description: 'new', rateLimit: 3 });
    expect(sqs.names()).toStrictEqual([]);
  });

  it('removes the fields given as null', async () => {
    // Prepare
    const endpoint = await newEndpoint({
      description: 'old',
      eventTypes: ['a.b'],
      rateLimit: 2,
      filter: { type: 'a.b' },
      headers: { 'X-Token': 'one' },
    });

    // Act
    const answer = await api.call('PATCH', `/endpoints/${endpoint.id}`, {
      body: { description: null, eventTypes: null, rateLimit: null, filter: null, headers: null },
    });

    // Assess
    expect(answer.status).toBe(200);
    const record = await stored(endpoint.id);
    for (const field of ['description', 'eventTypes', 'rateLimit', 'filter', 'headerNames'] as const) {
      expect(record[field]).toBeUndefined();
    }
    expect(await api.secretOf(record.secretName)).toStrictEqual({ current: endpoint.secret });
  });

  it('replaces the custom headers in the secret and their names on the record', async () => {
    // Prepare
    const endpoint = await newEndpoint({ headers: { 'X-Token': 'one' } });

    // Act
    const answer = await api.call('PATCH', `/endpoints/${endpoint.id}`, {
      body: { headers: { 'X-Other': 'two' } },
    });
    const emptied = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { headers: {} } });

    // Assess
    expect(answer.body.headerNames).toStrictEqual(['X-Other']);
    expect(emptied.body.headerNames).toStrictEqual([]);
    const record = await stored(endpoint.id);
    expect(record.headerNames).toBeUndefined();
    expect(await api.secretOf(record.secretName)).toStrictEqual({ current: endpoint.secret });
  });

  it('checks the URL, headers and filter before writing anything', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    dynamo.reset();

    // Act
    const url = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { url: 'http://10.0.0.1/x' } });
    const filter = await api.call('PATCH', `/endpoints/${endpoint.id}`, {
      body: { headers: { 'X-New': 'v' }, filter: { nonsense: true } },
    });

    // Assess
    expect(url.status).toBe(400);
    expect(url.body.error.code).toBe('invalid_url');
    expect(filter.status).toBe(400);
    expect(
      dynamo.names().filter((name) => name !== 'GetItemCommand' && name !== 'QueryCommand'),
    ).toStrictEqual([]);
    expect((await api.secretOf((await stored(endpoint.id)).secretName))?.headers).toBeUndefined();
  });

  it('disables by hand: the reason stored and one endpoint.disabled queued, not again when already disabled', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint({ tenantId: tenant });
    await api.drainDeliveryQueue();
    api.frozenAtMs = Date.UTC(2026, 11, 6, 14, 0, 0);

    // Act
    const first = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { enabled: false } });
    const second = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { enabled: false } });
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ enabled: false, disabledReason: 'disabled through the API' });
    expect(second.status).toBe(200);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      kind: 'operational-event',
      event: {
        detailType: 'endpoint.disabled',
        detail: {
          occurredAt: '2026-12-06T14:00:00.000Z',
          endpointId: endpoint.id,
          tenantId: tenant,
          reason: 'manual',
          description: 'disabled through the API',
        },
      },
    });
  });

  it('publishes no endpoint.disabled, and makes no conditional disable, without both dependencies', async () => {
    // Prepare
    const { ApiApp } = await import('../../lambdas/api/app.ts');
    const { operationalEvents, endpointTransitions, ...rest } = api.deps();
    const noPublisher = new ApiApp({ ...rest, ...(endpointTransitions ? { endpointTransitions } : {}) });
    const noTransitions = new ApiApp({ ...rest, ...(operationalEvents ? { operationalEvents } : {}) });
    const patch = (id: string) => ({
      method: 'PATCH',
      path: `/endpoints/${id}`,
      headers: {},
      query: {},
      trackingId: 't-variant',
      body: JSON.stringify({ enabled: false }),
      auth: { kind: 'admin' as const, keyId: 'key_local' },
    });
    const first = await newEndpoint();
    const second = await newEndpoint();
    await api.drainDeliveryQueue();
    dynamo.reset();

    // Act
    const withoutPublisher = await noPublisher.handle(patch(first.id));
    const withoutTransitions = await noTransitions.handle(patch(second.id));
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(withoutPublisher.status).toBe(200);
    expect(withoutTransitions.status).toBe(200);
    expect((await stored(first.id)).enabled).toBe(false);
    expect((await stored(second.id)).enabled).toBe(false);
    expect(messages).toStrictEqual([]);
    const conditionalDisables = dynamo.sent.filter((c) =>
      JSON.stringify(c.input).includes('enabled = :true'),
    );
    expect(conditionalDisables).toStrictEqual([]);
  });

  it('re-enables with a clean slate: no failure run, closed circuit, no lease or reason', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { enabled: false } });
    await api.store().updateEndpoint(
      endpoint.id,
      {
        failureStreak: 7,
        failingSince: '2026-12-01T00:00:00.000Z',
        circuitOpenUntil: 1,
        releaseLeaseUntil: 2,
      },
      [],
    );
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { enabled: true } });

    // Assess
    expect(answer.status).toBe(200);
    const record = await stored(endpoint.id);
    expect(record.enabled).toBe(true);
    expect(record.failureStreak).toBe(0);
    for (const field of [
      'disabledReason',
      'failingSince',
      'circuitOpenUntil',
      'releaseLeaseUntil',
    ] as const) {
      expect(record[field]).toBeUndefined();
    }
    expect(await api.drainDeliveryQueue()).toStrictEqual([]);
  });

  it('queues the release of a backlog when enabled or rateLimit changes, not for other fields', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.store().updateEndpoint(endpoint.id, { backlogShard: 'backlog#0' }, []);
    await api.drainDeliveryQueue();

    // Act
    await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { description: 'no release' } });
    const none = await api.drainDeliveryQueue();
    await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { rateLimit: 4 } });
    const byRate = await api.drainDeliveryQueue();
    await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { enabled: true } });
    const byEnable = await api.drainDeliveryQueue();

    // Assess
    expect(none).toStrictEqual([]);
    expect(byRate).toStrictEqual([{ kind: 'release', endpointId: endpoint.id }]);
    expect(byEnable).toStrictEqual([{ kind: 'release', endpointId: endpoint.id }]);
  });

  it('answers the update when the release cannot be queued, and warns', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.store().updateEndpoint(endpoint.id, { backlogShard: 'backlog#0' }, []);
    sqs.intercept = async () => {
      throw new Error('queue unavailable');
    };

    // Act
    const answer = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { rateLimit: 9 } });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.rateLimit).toBe(9);
    expect(api.warnings).toStrictEqual([
      {
        message: 'backlog release not queued; the sweep queues it within a minute',
        extra: { endpointId: endpoint.id },
      },
    ]);
  });

  it('drops the tenant’s cached list: a disabled endpoint gets no more fan-out', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint({ tenantId: tenant });
    const before = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });
    expect(before.body.deliveries).toHaveLength(1);

    // Act
    await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { enabled: false } });
    const after = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });

    // Assess
    expect(after.body.deliveries).toStrictEqual([]);
  });

  it('answers 404 for an unknown endpoint and another tenant’s, and when it is deleted meanwhile', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const tenant = await newTenant();
    dynamo.intercept = async (command, send) => {
      if (command.command !== 'UpdateItemCommand') return send();
      // Deleted between the read and the update.
      await api.store().deleteEndpoint(endpoint.id);
      return send();
    };

    // Act
    const foreign = await api.call('PATCH', `/endpoints/${endpoint.id}`, {
      body: { description: 'x' },
      as: portal(tenant),
    });
    const raced = await api.call('PATCH', `/endpoints/${endpoint.id}`, { body: { description: 'x' } });
    dynamo.intercept = undefined;
    const unknown = await api.call('PATCH', '/endpoints/ep_00000000000000000000000000', {
      body: { description: 'x' },
    });

    // Assess
    expect(foreign.status).toBe(404);
    expect(raced.status).toBe(404);
    expect(raced.body.error.code).toBe('not_found');
    expect(unknown.status).toBe(404);
  });
});

describe('DELETE /endpoints/{id}', () => {
  it('deletes the record and the secret, and drops it from fan-out', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint({ tenantId: tenant });
    const secretName = (await stored(endpoint.id)).secretName;
    const before = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });
    expect(before.body.deliveries).toHaveLength(1);

    // Act
    const answer = await api.call('DELETE', `/endpoints/${endpoint.id}`);
    const again = await api.call('DELETE', `/endpoints/${endpoint.id}`);
    const after = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });

    // Assess
    expect(answer).toStrictEqual({ status: 204, body: undefined, headers: {} });
    expect(await api.store().getEndpoint(endpoint.id)).toBeUndefined();
    expect(await api.secretOf(secretName)).toBeUndefined();
    expect(again.status).toBe(404);
    expect(after.body.deliveries).toStrictEqual([]);
  });

  it('answers 404 when another request deleted it between the read and the delete', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const secretName = (await stored(endpoint.id)).secretName;
    dynamo.intercept = async (command, send) => {
      if (command.command !== 'DeleteItemCommand') return send();
      dynamo.intercept = undefined;
      await api.store().deleteEndpoint(endpoint.id);
      return send();
    };

    // Act
    const answer = await api.call('DELETE', `/endpoints/${endpoint.id}`);

    // Assess: the other request's delete removes the secret; this one deletes nothing more.
    expect(answer.status).toBe(404);
    expect(await api.secretOf(secretName)).toBeDefined();
  });

  it('answers 404 to a portal session for another tenant’s endpoint, which stays', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const tenant = await newTenant();

    // Act
    const answer = await api.call('DELETE', `/endpoints/${endpoint.id}`, { as: portal(tenant) });

    // Assess
    expect(answer.status).toBe(404);
    expect(await api.store().getEndpoint(endpoint.id)).toBeDefined();
  });
});

describe('POST /endpoints/{id}/secret/rotate', () => {
  it('makes a new secret current and keeps the old one signing for the overlap', async () => {
    // Prepare
    const endpoint = await newEndpoint({ headers: { 'X-Token': 'kept' } });
    const now = Date.UTC(2026, 11, 6, 15, 0, 0);
    api.frozenAtMs = now;

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint.id}/secret/rotate`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual({
      id: endpoint.id,
      secret: expect.stringMatching(/^whsec_/),
      previousSecretExpiresAt: new Date(now + SECRET_ROTATION_OVERLAP_SECONDS * 1000).toISOString(),
    });
    expect(answer.body.secret).not.toBe(endpoint.secret);
    expect(await api.secretOf((await stored(endpoint.id)).secretName)).toStrictEqual({
      current: answer.body.secret,
      previous: endpoint.secret,
      previousExpiresAt: now + SECRET_ROTATION_OVERLAP_SECONDS * 1000,
      headers: { 'X-Token': 'kept' },
    });
  });

  it('answers 404 for an unknown endpoint', async () => {
    // Act
    const answer = await api.call('POST', '/endpoints/ep_00000000000000000000000000/secret/rotate');

    // Assess
    expect(answer.status).toBe(404);
  });
});
