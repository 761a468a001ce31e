/**
 * Tenants, scoped credentials and portal sessions, on moto through local mode (the authorizer runs
 * before the API as on AWS): fan-out stays within a tenant, listings are per tenant, a page costs
 * the same Queries whatever the number of endpoints in the account, and every refusal is a clear
 * 4xx that changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuePortalToken } from '../../lambdas/api/portal-tokens.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { createEndpointDirect } from '../support/direct-endpoints.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

type Json = Record<string, unknown>;

let harness: Harness;
let receiverA: TestReceiver;
let receiverB: TestReceiver;
let endpointA = '';
let endpointB = '';
let endpointDefault = '';
let deliveryB = '';
let eventByAdmin = '';
let portalA = '';
let sendKey = '';

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

async function portalKey(): Promise<Uint8Array> {
  const client = new SecretsManagerClient({
    endpoint: harness.moto.endpoints.secretsManager,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
  });
  const { SecretString } = await client.send(
    new GetSecretValueCommand({ SecretId: harness.stack.resources.portalKeySecretId }),
  );
  client.destroy();
  return new TextEncoder().encode(SecretString ?? '');
}

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 }, record: true });
  receiverA = await startReceiver();
  receiverB = await startReceiver(() => ({ status: 500, body: 'globex is down' }));
  for (const id of ['acme', 'globex']) {
    expect((await harness.api('PUT', `/tenants/${id}`, { name: `${id} Inc.` })).status).toBe(201);
  }
  const create = async (tenantId: string | undefined, url: string) => {
    const created = await harness.api<Json>('POST', '/endpoints', {
      url,
      eventTypes: ['invoice.paid'],
      ...(tenantId ? { tenantId } : {}),
    });
    expect(created.status).toBe(201);
    return String(created.body.id);
  };
  endpointA = await create('acme', receiverA.url);
  endpointB = await create('globex', receiverB.url);
  endpointDefault = await create(undefined, receiverA.url);
  const sent = await harness.api<{ id: string; deliveries: { id: string }[] }>('POST', '/events', {
    type: 'invoice.paid',
    tenantId: 'globex',
    data: { n: 1 },
  });
  expect(sent.status).toBe(202);
  eventByAdmin = sent.body.id;
  deliveryB = sent.body.deliveries[0]?.id ?? '';
  const session = await harness.api<Json>('POST', '/tenants/acme/portal-sessions', {});
  expect(session.status).toBe(201);
  portalA = String(session.body.token);
  expect(String(session.body.url)).toBe(`${harness.stack.apiUrl}/portal#token=${portalA}`);
  const key = await harness.api<Json>('POST', '/api-keys', { scope: 'send', name: 'producer' });
  expect(key.status).toBe(201);
  sendKey = String(key.body.key);
  // A key works a second after it is made: an authorizer that read the key list within the last
  // second does not read it again (README, Keys), and the gateway would keep a refusal 30 s.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}, 120_000);

afterAll(async () => {
  await receiverA?.close();
  await receiverB?.close();
  await harness?.stop();
});

describe('fan-out and listings', () => {
  it('sends an event only to its tenant’s endpoints, and without tenantId to the default tenant’s', async () => {
    const toAcme = await harness.api<{ deliveries: { endpointId: string }[] }>('POST', '/events', {
      type: 'invoice.paid',
      tenantId: 'acme',
      data: { n: 2 },
    });
    expect(toAcme.status).toBe(202);
    expect(toAcme.body.deliveries.map((d) => d.endpointId)).toEqual([endpointA]);
    const untenanted = await harness.api<{ deliveries: { endpointId: string }[] }>('POST', '/events', {
      type: 'invoice.paid',
      data: { n: 3 },
    });
    expect(untenanted.body.deliveries.map((d) => d.endpointId)).toEqual([endpointDefault]);
    const received = await receiverA.waitFor(2);
    expect(received.map((webhook) => JSON.parse(webhook.body).data.n).sort()).toEqual([2, 3]);
  });

  it('lists endpoints per tenant (default when none is named) and every tenant', async () => {
    const acme = await harness.api<{ items: Json[] }>('GET', '/endpoints?tenantId=acme');
    expect(acme.body.items.map((e) => [e.id, e.tenantId])).toEqual([[endpointA, 'acme']]);
    const byDefault = await harness.api<{ items: Json[] }>('GET', '/endpoints');
    expect(byDefault.body.items.map((e) => e.id)).toEqual([endpointDefault]);
    const tenants = await harness.api<{ items: Json[] }>('GET', '/tenants');
    expect(tenants.body.items.map((t) => t.id)).toEqual(['acme', 'globex']);
    expect((await harness.api<Json>('GET', '/tenants/default')).body.id).toBe('default');
  });

  it('shows a portal session its own tenant’s deliveries only', async () => {
    await eventually(async () => {
      const page = await harness.api<{ items: Json[] }>('GET', '/deliveries', undefined, bearer(portalA));
      return page.body.items.some((d) => d.status === 'delivered') ? page : undefined;
    });
    const page = await harness.api<{ items: Json[] }>('GET', '/deliveries', undefined, bearer(portalA));
    expect(page.status).toBe(200);
    expect(new Set(page.body.items.map((d) => d.endpointId))).toEqual(new Set([endpointA]));
    const session = await harness.api<Json>('GET', '/portal/session', undefined, bearer(portalA));
    expect(session.body).toMatchObject({ tenantId: 'acme', tenantName: 'acme Inc.' });
  });

  it('costs the same Queries for a page whether the account has 3 or 300 endpoints', async () => {
    // Queries per table: the page's own (Deliveries, or Endpoints for the endpoint list), and the
    // tenant's endpoint list where a listing needs it (cached for 2 s, so 0 or 1 of those).
    const queriesOf = async (path: string) => {
      const before = harness.calls.length;
      const response = await harness.api('GET', path);
      expect(response.status).toBe(200);
      const queries = harness.calls
        .slice(before)
        .filter((call) => call.fn === 'api' && call.command === 'QueryCommand');
      const on = (table: string) => queries.filter((call) => call.input.TableName === table).length;
      const { tables } = harness.stack.resources;
      return { deliveries: on(tables.Deliveries), endpoints: on(tables.Endpoints) };
    };
    // globex's delivery has used its two attempts first, so nothing is still being written.
    await eventually(async () => {
      const delivery = await harness.api<Json>('GET', `/deliveries/${deliveryB}`);
      return delivery.body.status === 'dead' ? true : undefined;
    }, 90_000);
    const paths = [
      '/deliveries?tenantId=acme&limit=10',
      '/deliveries?status=failed&limit=10',
      '/endpoints?tenantId=acme',
    ];
    const small = [];
    for (const path of paths) small.push(await queriesOf(path));
    for (let index = 0; index < 297; index++) {
      await createEndpointDirect(harness, receiverA.url, { extra: { tenantId: `bulk-${index % 7}` } });
    }
    const large = [];
    for (const path of paths) large.push(await queriesOf(path));
    expect(large.map((count) => count.deliveries)).toEqual(small.map((count) => count.deliveries));
    // acme's one endpoint, eight failure shards, none for the endpoint list.
    expect(small.map((count) => count.deliveries)).toEqual([1, 8, 0]);
    // acme's partition at most once (none while its list is cached), whatever the account's size.
    for (const count of [...small, ...large]) expect(count.endpoints).toBeLessThanOrEqual(1);
    expect([small[2]?.endpoints, large[2]?.endpoints]).toEqual([1, 1]);
  }, 240_000);
});

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: () => string;
  readonly body?: () => unknown;
  readonly headers: () => Promise<Record<string, string>> | Record<string, string>;
  readonly status: number;
  readonly code: string;
}

const admin = () => ({});
const portal = () => bearer(portalA);

const CASES: Case[] = [
  {
    name: 'a tenant id with a space',
    method: 'PUT',
    path: () => '/tenants/bad%20id',
    body: () => ({}),
    headers: admin,
    status: 400,
    code: 'invalid_tenant_id',
  },
  {
    name: 'a tenant id of 65 characters',
    method: 'PUT',
    path: () => `/tenants/${'t'.repeat(65)}`,
    body: () => ({}),
    headers: admin,
    status: 400,
    code: 'invalid_tenant_id',
  },
  {
    name: 'an event for an unknown tenant',
    method: 'POST',
    path: () => '/events',
    body: () => ({ type: 'invoice.paid', tenantId: 'nope', data: {} }),
    headers: admin,
    status: 422,
    code: 'unknown_tenant',
  },
  {
    name: 'an event with a malformed tenant id',
    method: 'POST',
    path: () => '/events',
    body: () => ({ type: 'invoice.paid', tenantId: '../x', data: {} }),
    headers: admin,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpointIds of another tenant',
    method: 'POST',
    path: () => '/events',
    body: () => ({ type: 'invoice.paid', tenantId: 'acme', endpointIds: [endpointB], data: {} }),
    headers: admin,
    status: 422,
    code: 'endpoint_not_in_tenant',
  },
  {
    name: 'an endpoint for an unknown tenant',
    method: 'POST',
    path: () => '/endpoints',
    body: () => ({ url: 'https://example.com/hook', tenantId: 'nope' }),
    headers: admin,
    status: 422,
    code: 'unknown_tenant',
  },
  {
    name: 'reading an unknown tenant',
    method: 'GET',
    path: () => '/tenants/nope',
    headers: admin,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'deleting the default tenant',
    method: 'DELETE',
    path: () => '/tenants/default',
    headers: admin,
    status: 409,
    code: 'default_tenant',
  },
  {
    name: 'a portal session for an unknown tenant',
    method: 'POST',
    path: () => '/tenants/nope/portal-sessions',
    body: () => ({}),
    headers: admin,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a portal session of 25 hours',
    method: 'POST',
    path: () => '/tenants/acme/portal-sessions',
    body: () => ({ expiresInSeconds: 90_000 }),
    headers: admin,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'an expired portal token',
    method: 'GET',
    path: () => '/endpoints',
    headers: async () =>
      bearer((await issuePortalToken(await portalKey(), 'acme', Date.now() - 7_200_000, 600)).token),
    status: 401,
    code: 'token_expired',
  },
  {
    name: 'a tampered portal token',
    method: 'GET',
    path: () => '/endpoints',
    headers: () => bearer(`${portalA.slice(0, -2)}${portalA.endsWith('AA') ? 'BB' : 'AA'}`),
    status: 401,
    code: 'invalid_token',
  },
  {
    name: 'a token with its tenant changed',
    method: 'GET',
    path: () => '/endpoints',
    headers: () => {
      const [h, p, s] = portalA.split('.');
      const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString());
      return bearer(
        `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'globex' })).toString('base64url')}.${s}`,
      );
    },
    status: 401,
    code: 'invalid_token',
  },
  {
    name: 'a portal token signed for another stack',
    method: 'GET',
    path: () => '/endpoints',
    headers: async () => bearer((await issuePortalToken(randomBytes(32), 'acme', Date.now(), 600)).token),
    status: 401,
    code: 'invalid_token',
  },
  {
    name: 'a portal token on an admin route (tenants)',
    method: 'GET',
    path: () => '/tenants',
    headers: portal,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a portal token making keys',
    method: 'POST',
    path: () => '/api-keys',
    body: () => ({ scope: 'admin' }),
    headers: portal,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a portal token on the DLQ',
    method: 'GET',
    path: () => '/dlq',
    headers: portal,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a portal token making another portal link',
    method: 'POST',
    path: () => '/tenants/acme/portal-sessions',
    body: () => ({}),
    headers: portal,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a send-only key listing endpoints',
    method: 'GET',
    path: () => '/endpoints',
    headers: () => bearer(sendKey),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a send-only key making a tenant',
    method: 'PUT',
    path: () => '/tenants/evil',
    body: () => ({}),
    headers: () => bearer(sendKey),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a send-only key reading an event it did not send',
    method: 'GET',
    path: () => `/events/${eventByAdmin}`,
    headers: () => bearer(sendKey),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an unknown API key',
    method: 'GET',
    path: () => '/endpoints',
    headers: () => bearer('whk_not-a-key-of-this-stack'),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'another tenant’s endpoint, read',
    method: 'GET',
    path: () => `/endpoints/${endpointB}`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s endpoint, changed',
    method: 'PATCH',
    path: () => `/endpoints/${endpointB}`,
    body: () => ({ url: 'https://evil.example.com/' }),
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s endpoint, deleted',
    method: 'DELETE',
    path: () => `/endpoints/${endpointB}`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s secret, rotated',
    method: 'POST',
    path: () => `/endpoints/${endpointB}/secret/rotate`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s endpoint, tested',
    method: 'POST',
    path: () => `/endpoints/${endpointB}/test`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s endpoint, recovered',
    method: 'POST',
    path: () => `/endpoints/${endpointB}/recover?since=0`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s deliveries by endpoint',
    method: 'GET',
    path: () => `/deliveries?endpointId=${endpointB}`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s deliveries by tenant',
    method: 'GET',
    path: () => '/deliveries?tenantId=globex',
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s delivery, read',
    method: 'GET',
    path: () => `/deliveries/${deliveryB}`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s delivery, retried',
    method: 'POST',
    path: () => `/deliveries/${deliveryB}/retry`,
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an endpoint made in another tenant',
    method: 'POST',
    path: () => '/endpoints',
    body: () => ({ url: 'https://example.com/x', tenantId: 'globex' }),
    headers: portal,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'another tenant’s endpoints listed',
    method: 'GET',
    path: () => '/endpoints?tenantId=globex',
    headers: portal,
    status: 404,
    code: 'not_found',
  },
];

/** What the refusals must leave as it was. */
async function snapshot() {
  const read = async (path: string) => (await harness.api('GET', path)).body;
  return {
    tenants: await read('/tenants'),
    acme: await read('/endpoints?tenantId=acme'),
    globex: await read('/endpoints?tenantId=globex'),
    keys: await read('/api-keys'),
    delivery: await read(`/deliveries/${deliveryB}`),
  };
}

describe('bad input and access', () => {
  it('has at least 20 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CASES)('$name: $status $code, nothing changed', async (testCase) => {
    const before = await snapshot();
    const body = testCase.body?.();
    const response = await fetch(`${harness.stack.apiUrl}${testCase.path()}`, {
      method: testCase.method,
      headers: {
        ...bearerAdmin(),
        ...(await testCase.headers()),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await response.json()) as { error?: { code: string; message: string } };
    expect({ status: response.status, code: answer.error?.code }).toEqual({
      status: testCase.status,
      code: testCase.code,
    });
    expect(answer.error?.message).toMatch(/\S/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a request with no Authorization header at the gateway, without running the API', async () => {
    const before = harness.calls.length;
    const response = await fetch(`${harness.stack.apiUrl}/endpoints`, { headers: { 'x-api-key': portalA } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(harness.calls.slice(before).filter((call) => call.fn === 'api')).toEqual([]);
  });

  it('creates, lists and revokes keys: shown once, never a hash, the last admin key kept', async () => {
    const made = await harness.api<Json>('POST', '/api-keys', { scope: 'admin', name: 'second admin' });
    expect(made.status).toBe(201);
    expect(String(made.body.key)).toMatch(/^whk_/);
    const listed = await harness.api<{ items: Json[] }>('GET', '/api-keys');
    const entry = listed.body.items.find((key) => key.id === made.body.id);
    expect(entry).toEqual({
      id: made.body.id,
      scope: 'admin',
      name: 'second admin',
      createdAt: made.body.createdAt,
    });
    expect(JSON.stringify(listed.body)).not.toContain(String(made.body.key));
    expect(JSON.stringify(listed.body)).not.toMatch(/[0-9a-f]{64}/);
    // A fresh key works at once, and is refused once revoked (it was never cached as valid).
    const fresh = await harness.api<Json>('POST', '/api-keys', { scope: 'send' });
    expect((await harness.api('DELETE', `/api-keys/${fresh.body.id}`)).status).toBe(204);
    const revoked = await harness.api<Json>(
      'GET',
      `/events/${eventByAdmin}`,
      undefined,
      bearer(String(fresh.body.key)),
    );
    expect(revoked.status).toBe(401);
    expect((await harness.api('DELETE', `/api-keys/${made.body.id}`)).status).toBe(204);
    const admins = (await harness.api<{ items: Json[] }>('GET', '/api-keys')).body.items.filter(
      (key) => key.scope === 'admin',
    );
    expect(admins).toHaveLength(1);
    const last = await harness.api<Json>('DELETE', `/api-keys/${admins[0]?.id}`);
    expect(last.status).toBe(409);
  });

  it('lets a send-only key send and read back what it sent', async () => {
    const sent = await harness.api<Json>(
      'POST',
      '/events',
      { type: 'invoice.paid', tenantId: 'acme', data: { n: 9 } },
      bearer(sendKey),
    );
    expect(sent.status).toBe(202);
    const read = await harness.api<Json>('GET', `/events/${sent.body.id}`, undefined, bearer(sendKey));
    expect(read.status).toBe(200);
    expect(read.body.tenantId).toBe('acme');
  });

  it('deletes a tenant with its endpoints and their secrets', async () => {
    expect((await harness.api('PUT', '/tenants/short-lived', {})).status).toBe(201);
    const created = await harness.api<Json>('POST', '/endpoints', {
      url: receiverA.url,
      tenantId: 'short-lived',
    });
    expect(created.status).toBe(201);
    expect((await harness.api('DELETE', '/tenants/short-lived')).status).toBe(204);
    expect((await harness.api('GET', `/endpoints/${created.body.id}`)).status).toBe(404);
    expect((await harness.api('GET', '/tenants/short-lived')).status).toBe(404);
    const refused = await harness.api<Json>('POST', '/events', {
      type: 'x',
      tenantId: 'short-lived',
      data: {},
    });
    expect(refused.status).toBe(422);
  });
});

function bearerAdmin(): Record<string, string> {
  return { authorization: 'Bearer whk_integration-test-key' };
}
