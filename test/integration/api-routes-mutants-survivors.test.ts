/**
 * Tests written for the mutants that survived the first `api-routes` Stryker run of
 * lambdas/api/routes/endpoints.ts, deliveries.ts, lambdas/api/ingest.ts and context.ts (see
 * docs/mutation-testing.md): each names the line it is for. Same in-process app on moto as the
 * other api-routes-mutants files.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliveryId, idempotentEventId } from '../../lambdas/core/ids.ts';
import { requestFingerprint } from '../../lambdas/core/payload.ts';
import type { DeliveryStatus } from '../../lambdas/core/records.ts';
import { portal, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('survivors');
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

const cursorOf = (id: string) => Buffer.from(id).toString('base64url');

async function newTenant(): Promise<string> {
  const id = uniqueName('t').toLowerCase();
  expect((await api.call('PUT', `/tenants/${id}`, { body: {} })).status).toBeLessThan(300);
  return id;
}

async function newEndpoint(tenantId?: string): Promise<string> {
  const answer = await api.call('POST', '/endpoints', {
    body: { url: 'https://example.com/hook', ...(tenantId ? { tenantId } : {}) },
  });
  expect(answer.status).toBe(201);
  return answer.body.id;
}

interface Sent {
  readonly id: string;
  readonly eventId: string;
  readonly endpointId: string;
  readonly createdAtMs: number;
}

let lastSentAtMs = Date.now();
async function sendTo(endpointId: string, tenantId?: string): Promise<Sent> {
  lastSentAtMs += 1000;
  api.frozenAtMs = lastSentAtMs;
  const answer = await api.call('POST', '/events', {
    body: { type: 'a.b', data: {}, endpointIds: [endpointId], ...(tenantId ? { tenantId } : {}) },
  });
  api.frozenAtMs = undefined;
  expect(answer.status).toBe(202);
  return { id: answer.body.deliveries[0].id, eventId: answer.body.id, endpointId, createdAtMs: lastSentAtMs };
}

async function outcome(
  sent: Sent,
  status: DeliveryStatus,
  extra: { nextAttemptAt?: string; tenantId?: string } = {},
) {
  await api.store().recordOutcome({
    endpointId: sent.endpointId,
    id: sent.id,
    eventId: sent.eventId,
    eventType: 'a.b',
    createdAtMs: sent.createdAtMs,
    status,
    attempt: { attempt: 1, at: '2026-12-06T11:00:00.000Z', statusCode: 500, durationMs: 5 },
    redrive: false,
    ...extra,
  });
}

const ids = (answer: { body: { items: { id: string }[] } }) => answer.body.items.map((item) => item.id);
const since = '2026-01-01T00:00:00.000Z';

describe('ingest.ts', () => {
  it('an unkeyed event fully sent and stored warns of nothing and is no replay (:127, :147, :148)', async () => {
    // Prepare
    const endpoint = await newEndpoint();

    // Act
    const answer = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, endpointIds: [endpoint] },
    });

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.headers).toStrictEqual({});
    expect(api.warnings).toStrictEqual([]);
  });

  it('keeps the fingerprint of a default-tenant event as before tenants (:171)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');

    // Act
    await api.call('POST', '/events', {
      body: { type: 'a.b', data: { n: 1 }, endpointIds: [endpoint] },
      headers: { 'idempotency-key': key },
    });

    // Assess
    expect((await api.store().getEvent(idempotentEventId(key)))?.fingerprint).toBe(
      requestFingerprint(['a.b', { n: 1 }, [endpoint]]),
    );
  });

  it('a retry with the key whose messages still do not go out answers the keyed 503 (:105)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    sqs.intercept = async (command, send) =>
      command.command === 'SendMessageBatchCommand'
        ? {
            output: {
              Successful: [],
              Failed: (command.input.Entries as { Id: string }[]).map((entry) => ({
                Id: entry.Id,
                SenderFault: false,
                Code: 'InternalError',
              })),
              $metadata: {},
            },
          }
        : send();
    const first = await api.call('POST', '/events', { body, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(503);

    // Act
    const retried = await api.call('POST', '/events', { body, headers: { 'idempotency-key': key } });

    // Assess
    expect(retried.status).toBe(503);
    expect(retried.body.error.message).toBe(
      `event ${idempotentEventId(key)} is stored but not every delivery could be queued; retry with the same Idempotency-Key to finish it now, or it is queued within minutes`,
    );
  });
});

describe('deliveries.ts', () => {
  it('a status filter with a tenant or an endpoint stays in that scope, not the failure view (:52)', async () => {
    // Prepare
    const tenant = await newTenant();
    const mine = await newEndpoint(tenant);
    const other = await newEndpoint();
    const inTenant = await sendTo(mine, tenant);
    const elsewhere = await sendTo(other);
    await outcome(inTenant, 'failed', { tenantId: tenant });
    await outcome(elsewhere, 'failed');

    // Act
    const byTenant = await api.call('GET', '/deliveries', { query: { status: 'failed', tenantId: tenant } });
    const byEndpoint = await api.call('GET', '/deliveries', {
      query: { status: 'failed', endpointId: other },
    });

    // Assess
    expect(ids(byTenant)).toStrictEqual([inTenant.id]);
    expect(ids(byEndpoint)).toStrictEqual([elsewhere.id]);
  });

  it('the failure view finds dead deliveries of every tenant (:53)', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint(tenant);
    const dead = await sendTo(endpoint, tenant);
    await outcome(dead, 'dead', { tenantId: tenant });

    // Act
    const answer = await api.call('GET', '/deliveries', { query: { status: 'dead', limit: '100' } });

    // Assess
    expect(ids(answer)).toContain(dead.id);
  });

  it('the cursor of a page is its last delivery (:76)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = [];
    for (let i = 0; i < 4; i++) sent.push(await sendTo(endpoint));
    for (const each of sent) await outcome(each, 'failed');

    // Act
    const page = await api.call('GET', '/deliveries', { query: { endpointId: endpoint, limit: '3' } });

    // Assess
    expect(page.body.nextCursor).toBe(cursorOf(sent[1]?.id ?? ''));
  });

  it('404s name what is missing (:62, :67, :86, :91, :101, :115; context.ts:115, :140, :143)', async () => {
    // Prepare
    const tenant = await newTenant();
    const own = await newEndpoint(tenant);
    const foreign = await newEndpoint();
    const sent = await sendTo(foreign);
    const noEvent = deliveryId(`msg_${'0'.repeat(26)}`, foreign, sent.createdAtMs);
    const missing = 'ep_00000000000000000000000000';

    // Act
    const answers = {
      mismatch: await api.call('GET', '/deliveries', { query: { tenantId: tenant, endpointId: foreign } }),
      noTenant: await api.call('GET', '/deliveries', { query: { tenantId: 'no-such-tenant' } }),
      badId: await api.call('GET', '/deliveries/dlv_bad'),
      portalForeign: await api.call('GET', `/deliveries/${sent.id}`, { as: portal(tenant) }),
      getNoEvent: await api.call('GET', `/deliveries/${noEvent}`),
      retryNoEvent: await api.call('POST', `/deliveries/${noEvent}/retry`),
      tenant: await api.call('GET', '/tenants/no-such-tenant'),
      endpoint: await api.call('GET', `/endpoints/${missing}`),
      portalEndpoint: await api.call('GET', `/endpoints/${foreign}`, { as: portal(tenant) }),
      listNoTenant: await api.call('GET', '/endpoints', { query: { tenantId: 'no-such-tenant' } }),
    };
    expect(own).toBeDefined();

    // Assess
    const messages = Object.fromEntries(
      Object.entries(answers).map(([name, a]) => [name, a.body.error.message]),
    );
    expect(messages).toStrictEqual({
      mismatch: `endpoint "${foreign}" does not exist`,
      noTenant: 'tenant "no-such-tenant" does not exist',
      badId: 'delivery "dlv_bad" does not exist',
      portalForeign: `delivery "${sent.id}" does not exist`,
      getNoEvent: `delivery "${noEvent}" does not exist`,
      retryNoEvent: `delivery "${noEvent}" does not exist`,
      tenant: 'tenant "no-such-tenant" does not exist',
      endpoint: `endpoint "${missing}" does not exist`,
      portalEndpoint: `endpoint "${foreign}" does not exist`,
      listNoTenant: 'tenant "no-such-tenant" does not exist',
    });
  });

  it('reads the delivery strongly consistent before answering or retrying it (:98, :120)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await outcome(sent, 'dead');
    dynamo.reset();

    // Act
    await api.call('GET', `/deliveries/${sent.id}`);
    await api.call('POST', `/deliveries/${sent.id}/retry`);

    // Assess
    const reads = dynamo.sent.filter(
      (c) => c.command === 'GetItemCommand' && c.input.TableName === api.resources().tables.Deliveries,
    );
    expect(reads).toHaveLength(2);
    for (const read of reads) expect(read.input.ConsistentRead).toBe(true);
  });

  it('says why a retry is refused while one is queued (:125), and a bad recover query (:159)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await api.call('POST', `/deliveries/${sent.id}/retry`);

    // Act
    const again = await api.call('POST', `/deliveries/${sent.id}/retry`);
    const bad = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: {} });

    // Assess
    expect(again.body.error).toStrictEqual({
      code: 'retry_in_progress',
      message: 'a retry of this delivery is already queued',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_query');
  });

  it('recovers a dead delivery even with a next attempt still recorded (:145)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await outcome(sent, 'dead', { nextAttemptAt: new Date(Date.now() + 3_600_000).toISOString() });
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });

    // Assess
    expect(answer.body).toMatchObject({ queued: 1, skipped: 0 });
  });

  it('is not done while one list has more, though the page is not over-full (:180)', async () => {
    // Prepare: two dead deliveries and no failed one.
    const endpoint = await newEndpoint();
    const older = await sendTo(endpoint);
    const newer = await sendTo(endpoint);
    await outcome(older, 'dead');
    await outcome(newer, 'dead');

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since, limit: '1' } });

    // Assess
    expect(answer.body).toMatchObject({ queued: 1, done: false, nextCursor: cursorOf(newer.id) });
  });

  it('resumes after the last of a full page of ten (:184)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent: Sent[] = [];
    for (let i = 0; i < 11; i++) sent.push(await sendTo(endpoint));
    for (const each of sent) await outcome(each, 'dead');

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, {
      query: { since, limit: '10' },
    });

    // Assess
    expect(answer.body).toMatchObject({ queued: 10, done: false, nextCursor: cursorOf(sent[1]?.id ?? '') });
  });
});

describe('context.ts and endpoints.ts', () => {
  it('a portal session may name its own tenant, and another is missing to it (context.ts:125)', async () => {
    // Prepare
    const tenant = await newTenant();
    await newEndpoint(tenant);

    // Act
    const answer = await api.call('GET', '/endpoints', { query: { tenantId: tenant }, as: portal(tenant) });
    const other = await api.call('GET', '/endpoints', { query: { tenantId: 'default' }, as: portal(tenant) });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.items).toHaveLength(1);
    expect(other.body.error.message).toBe('tenant "default" does not exist');
  });

  it('a bad listing query is invalid_query (endpoints.ts:102)', async () => {
    // Act
    const answer = await api.call('GET', '/endpoints', { query: { limit: 'many' } });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_query');
  });

  it('a PATCH of one field removes nothing and leaves the endpoint enabled as it was (:117, :135)', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    dynamo.reset();

    // Act
    const answer = await api.call('PATCH', `/endpoints/${endpoint}`, { body: { description: 'x' } });

    // Assess
    expect(answer.body).toMatchObject({ enabled: true, disabledReason: null, description: 'x' });
    const update = dynamo.sent.find(
      (c) => c.command === 'UpdateItemCommand' && c.input.TableName === api.resources().tables.Endpoints,
    );
    expect(String(update?.input.UpdateExpression)).not.toContain('REMOVE');
  });

  it('404s of a PATCH and a DELETE racing a delete name the endpoint (:156, :182)', async () => {
    // Prepare
    const patched = await newEndpoint();
    const deleted = await newEndpoint();
    dynamo.intercept = async (command, send) => {
      if (command.command === 'UpdateItemCommand' || command.command === 'DeleteItemCommand') {
        const intercept = dynamo.intercept;
        dynamo.intercept = undefined;
        await api.store().deleteEndpoint(command.command === 'UpdateItemCommand' ? patched : deleted);
        dynamo.intercept = intercept;
      }
      return send();
    };

    // Act
    const patch = await api.call('PATCH', `/endpoints/${patched}`, { body: { description: 'x' } });
    const remove = await api.call('DELETE', `/endpoints/${deleted}`);

    // Assess
    expect(patch.body.error.message).toBe(`endpoint "${patched}" does not exist`);
    expect(remove.body.error.message).toBe(`endpoint "${deleted}" does not exist`);
  });
});
