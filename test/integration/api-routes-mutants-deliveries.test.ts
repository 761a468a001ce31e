/**
 * The delivery routes (lambdas/api/routes/deliveries.ts) through the API app built in process
 * against moto: listing (one endpoint, one tenant, the cross-tenant failure view), reading one
 * with its attempts, a manual retry and an endpoint's recovery, checked on the answers, the
 * records left in the Deliveries table and the messages on the delivery queue. Written to kill
 * the routes' Stryker mutants (docs/mutation-testing.md).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PAGE_SIZE,
  MANUAL_RETRY_COOLDOWN_SECONDS,
  RECOVER_PAGE_SIZE,
  RECOVER_TIME_BUDGET_MS,
} from '../../lambdas/core/config.ts';
import { deliveryId } from '../../lambdas/core/ids.ts';
import type { DeliveryStatus } from '../../lambdas/core/records.ts';
import { portal, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('deliveries');
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

/**
 * Sends an event to one endpoint, each a second after the last (so ids sort by sending), from the
 * real time on: ingest's deadline, counted from the app's clock, must lie ahead of the real one.
 */
let lastSentAtMs = Date.now();
async function sendTo(endpointId: string, tenantId?: string, type = 'order.created'): Promise<Sent> {
  lastSentAtMs += 1000;
  api.frozenAtMs = lastSentAtMs;
  const answer = await api.call('POST', '/events', {
    body: { type, data: { n: lastSentAtMs }, endpointIds: [endpointId], ...(tenantId ? { tenantId } : {}) },
  });
  api.frozenAtMs = undefined;
  expect(answer.status).toBe(202);
  return {
    id: answer.body.deliveries[0].id,
    eventId: answer.body.id,
    endpointId,
    createdAtMs: lastSentAtMs,
  };
}

/** Records an attempt's outcome as the worker would. */
async function outcome(
  sent: Sent,
  status: DeliveryStatus,
  extra: { nextAttemptAt?: string; tenantId?: string; type?: string } = {},
) {
  await api.store().recordOutcome({
    endpointId: sent.endpointId,
    id: sent.id,
    eventId: sent.eventId,
    eventType: extra.type ?? 'order.created',
    createdAtMs: sent.createdAtMs,
    status,
    attempt: {
      attempt: 1,
      at: '2026-12-06T11:00:00.000Z',
      statusCode: status === 'delivered' ? 200 : 500,
      durationMs: 12,
    },
    redrive: false,
    ...(extra.nextAttemptAt ? { nextAttemptAt: extra.nextAttemptAt } : {}),
    ...(extra.tenantId ? { tenantId: extra.tenantId } : {}),
  });
}

const ids = (answer: { body: { items: { id: string }[] } }) => answer.body.items.map((item) => item.id);

describe('GET /deliveries', () => {
  it('lists one endpoint’s deliveries newest first, paged with a cursor', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = [await sendTo(endpoint), await sendTo(endpoint), await sendTo(endpoint)];
    for (const each of sent) await outcome(each, 'delivered');

    // Act
    const first = await api.call('GET', '/deliveries', { query: { endpointId: endpoint, limit: '2' } });
    const second = await api.call('GET', '/deliveries', {
      query: { endpointId: endpoint, limit: '2', cursor: first.body.nextCursor },
    });

    // Assess
    expect(first.status).toBe(200);
    expect(ids(first)).toStrictEqual([sent[2]?.id, sent[1]?.id]);
    expect(first.body.nextCursor).toBe(cursorOf(sent[1]?.id ?? ''));
    expect(ids(second)).toStrictEqual([sent[0]?.id]);
    expect(second.body.nextCursor).toBeNull();
    expect(first.body.items[0]).toMatchObject({ endpointId: endpoint, status: 'delivered', attemptCount: 1 });
  });

  it('asks for the default page size without a limit', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await outcome(await sendTo(endpoint), 'delivered');

    // Act
    const answer = await api.call('GET', '/deliveries', { query: { endpointId: endpoint } });

    // Assess
    expect(ids(answer)).toHaveLength(1);
    const query = dynamo.sent.find((c) => c.command === 'QueryCommand');
    expect(query?.input.Limit).toBe(DEFAULT_PAGE_SIZE + 1);
  });

  it('filters by status, type and since', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const old = await sendTo(endpoint);
    const failed = await sendTo(endpoint);
    const other = await sendTo(endpoint, undefined, 'order.paid');
    await outcome(old, 'failed');
    await outcome(failed, 'failed');
    await outcome(other, 'delivered', { type: 'order.paid' });
    const since = String(Math.floor(failed.createdAtMs / 1000));

    // Act
    const byStatus = await api.call('GET', '/deliveries', {
      query: { endpointId: endpoint, status: 'failed' },
    });
    const byType = await api.call('GET', '/deliveries', {
      query: { endpointId: endpoint, type: 'order.paid' },
    });
    const bySince = await api.call('GET', '/deliveries', { query: { endpointId: endpoint, since } });

    // Assess
    expect(ids(byStatus)).toStrictEqual([failed.id, old.id]);
    expect(ids(byType)).toStrictEqual([other.id]);
    expect(ids(bySince)).toStrictEqual([other.id, failed.id]);
  });

  it('merges a tenant’s endpoints, and answers 404 for an unknown tenant', async () => {
    // Prepare
    const tenant = await newTenant();
    const a = await newEndpoint(tenant);
    const b = await newEndpoint(tenant);
    const elsewhere = await newEndpoint();
    const first = await sendTo(a, tenant);
    const second = await sendTo(b, tenant);
    await outcome(await sendTo(elsewhere), 'delivered');
    await outcome(first, 'delivered');
    await outcome(second, 'delivered');

    // Act
    const listed = await api.call('GET', '/deliveries', { query: { tenantId: tenant } });
    const asPortal = await api.call('GET', '/deliveries', { as: portal(tenant) });
    const unknown = await api.call('GET', '/deliveries', { query: { tenantId: 'no-such-tenant' } });

    // Assess
    expect(ids(listed)).toStrictEqual([second.id, first.id]);
    expect(ids(asPortal)).toStrictEqual([second.id, first.id]);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('reads the cross-tenant failure view for an admin asking for failed or dead with no scope', async () => {
    // Prepare
    const tenant = await newTenant();
    const a = await newEndpoint(tenant);
    const b = await newEndpoint();
    const failedA = await sendTo(a, tenant);
    const failedB = await sendTo(b);
    const deadB = await sendTo(b);
    await outcome(failedA, 'failed', { tenantId: tenant });
    await outcome(failedB, 'failed');
    await outcome(deadB, 'dead');

    // Act
    const failed = await api.call('GET', '/deliveries', { query: { status: 'failed', limit: '100' } });
    const dead = await api.call('GET', '/deliveries', { query: { status: 'dead', limit: '100' } });
    const portalFailed = await api.call('GET', '/deliveries', {
      query: { status: 'failed' },
      as: portal(tenant),
    });
    const pending = await api.call('GET', '/deliveries', { query: { status: 'pending' } });

    // Assess
    expect(ids(failed)).toEqual(expect.arrayContaining([failedA.id, failedB.id]));
    expect(ids(failed)).not.toContain(deadB.id);
    expect(ids(dead)).toContain(deadB.id);
    expect(ids(portalFailed)).toStrictEqual([failedA.id]);
    // Pending is no failure: the default tenant's own endpoints, not the view.
    expect(pending.status).toBe(200);
    expect(
      dynamo.sent.some(
        (c) => c.input.IndexName === 'byFailedShard' && /pending/.test(JSON.stringify(c.input)),
      ),
    ).toBe(false);
  });

  it('answers 404 when the endpoint named is not the named tenant’s, or not the portal’s', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint();
    const own = await newEndpoint(tenant);

    // Act
    const mismatch = await api.call('GET', '/deliveries', {
      query: { tenantId: tenant, endpointId: endpoint },
    });
    const agreeing = await api.call('GET', '/deliveries', { query: { tenantId: tenant, endpointId: own } });
    const foreign = await api.call('GET', '/deliveries', {
      query: { endpointId: endpoint },
      as: portal(tenant),
    });

    // Assess
    expect(mismatch.status).toBe(404);
    expect(mismatch.body.error.message).toContain(endpoint);
    expect(agreeing.status).toBe(200);
    expect(foreign.status).toBe(404);
  });

  it('refuses a bad query and a cursor that is no delivery id', async () => {
    // Act
    const bad = await api.call('GET', '/deliveries', { query: { status: 'lost' } });
    const cursor = await api.call('GET', '/deliveries', { query: { cursor: cursorOf('nope') } });

    // Assess
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_query');
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.code).toBe('invalid_cursor');
  });
});

describe('GET /deliveries/{id}', () => {
  it('answers the record with its attempts, failed ones first, the last one added', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await api
      .store()
      .putAttempt(sent.id, { attempt: 1, at: '2026-12-06T11:00:00.000Z', statusCode: 500, durationMs: 9 });
    await api.store().recordOutcome({
      endpointId: endpoint,
      id: sent.id,
      eventId: sent.eventId,
      eventType: 'order.created',
      createdAtMs: sent.createdAtMs,
      status: 'delivered',
      attempt: { attempt: 2, at: '2026-12-06T11:01:00.000Z', statusCode: 200, durationMs: 7 },
      redrive: false,
    });

    // Act
    const answer = await api.call('GET', `/deliveries/${sent.id}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: sent.id, status: 'delivered', eventId: sent.eventId });
    expect(
      answer.body.attempts.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode]),
    ).toStrictEqual([
      [1, 500],
      [2, 200],
    ]);
  });

  it('answers a delivery with no record yet as pending, from its event', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);

    // Act
    const answer = await api.call('GET', `/deliveries/${sent.id}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id: sent.id,
      eventId: sent.eventId,
      endpointId: endpoint,
      status: 'pending',
      attempts: [],
      createdAt: new Date(sent.createdAtMs).toISOString(),
    });
  });

  it('answers 404 for a malformed id, an event that is not to that endpoint, or a wrong time part', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const other = await newEndpoint();
    const sent = await sendTo(endpoint);
    const toOther = deliveryId(sent.eventId, other, sent.createdAtMs);
    const wrongTime = deliveryId(sent.eventId, endpoint, sent.createdAtMs + 1);
    const noEvent = deliveryId(`evt_${'0'.repeat(26)}`, endpoint, sent.createdAtMs);

    // Act
    const answers = await Promise.all(
      ['dlv_bad', toOther, wrongTime, noEvent].map((id) => api.call('GET', `/deliveries/${id}`)),
    );

    // Assess
    expect(answers.map((a) => a.status)).toStrictEqual([404, 404, 404, 404]);
  });

  it('shows a portal session its tenant’s deliveries only, and none of a deleted endpoint', async () => {
    // Prepare
    const tenant = await newTenant();
    const own = await newEndpoint(tenant);
    const foreign = await newEndpoint();
    const ownSent = await sendTo(own, tenant);
    const foreignSent = await sendTo(foreign);
    const gone = await newEndpoint(tenant);
    const goneSent = await sendTo(gone, tenant);
    await api.call('DELETE', `/endpoints/${gone}`);

    // Act
    const mine = await api.call('GET', `/deliveries/${ownSent.id}`, { as: portal(tenant) });
    const theirs = await api.call('GET', `/deliveries/${foreignSent.id}`, { as: portal(tenant) });
    const deleted = await api.call('GET', `/deliveries/${goneSent.id}`, { as: portal(tenant) });
    const deletedByAdmin = await api.call('GET', `/deliveries/${goneSent.id}`);

    // Assess
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(404);
    expect(deleted.status).toBe(404);
    expect(deletedByAdmin.status).toBe(200);
  });
});

describe('POST /deliveries/{id}/retry', () => {
  it('queues the delivery again and marks it pending, once per cooldown', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await outcome(sent, 'dead');
    await api.drainDeliveryQueue();
    const now = lastSentAtMs + 60_000;
    api.frozenAtMs = now;

    // Act
    const first = await api.call('POST', `/deliveries/${sent.id}/retry`);
    const queued = await api.drainDeliveryQueue();
    const again = await api.call('POST', `/deliveries/${sent.id}/retry`);
    api.frozenAtMs = now + MANUAL_RETRY_COOLDOWN_SECONDS * 1000 - 1;
    const justBefore = await api.call('POST', `/deliveries/${sent.id}/retry`);
    // Exactly the cooldown later: no longer cooling down.
    api.frozenAtMs = now + MANUAL_RETRY_COOLDOWN_SECONDS * 1000;
    const after = await api.call('POST', `/deliveries/${sent.id}/retry`);
    const requeued = await api.drainDeliveryQueue();

    // Assess
    expect(first).toMatchObject({ status: 202, body: { id: sent.id, status: 'pending' } });
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      deliveryId: sent.id,
      eventId: sent.eventId,
      endpointId: endpoint,
      reason: 'retry',
      createdAtMs: sent.createdAtMs,
    });
    expect(JSON.parse(String(queued[0]?.body))).toMatchObject({ type: 'order.created' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('retry_in_progress');
    expect(justBefore.status).toBe(409);
    expect(after.status).toBe(202);
    expect(requeued.map((m) => m.deliveryId)).toStrictEqual([sent.id]);
    const record = await api.store().getDelivery(endpoint, sent.id, true);
    expect(record).toMatchObject({ status: 'pending', retryQueuedAt: expect.any(String) });
  });

  it('retries a delivery with no record yet, and refuses a delivered one', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const unrecorded = await sendTo(endpoint);
    const delivered = await sendTo(endpoint);
    await outcome(delivered, 'delivered');

    // Act
    const retried = await api.call('POST', `/deliveries/${unrecorded.id}/retry`);
    const refused = await api.call('POST', `/deliveries/${delivered.id}/retry`);

    // Assess
    expect(retried.status).toBe(202);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toStrictEqual({
      code: 'already_delivered',
      message: `delivery ${delivered.id} was delivered; there is nothing to retry`,
    });
  });

  it('refuses a disabled or deleted endpoint, and an unknown delivery', async () => {
    // Prepare
    const disabled = await newEndpoint();
    const deleted = await newEndpoint();
    const toDisabled = await sendTo(disabled);
    const toDeleted = await sendTo(deleted);
    await api.call('PATCH', `/endpoints/${disabled}`, { body: { enabled: false } });
    await api.call('DELETE', `/endpoints/${deleted}`);
    await api.drainDeliveryQueue();

    // Act
    const off = await api.call('POST', `/deliveries/${toDisabled.id}/retry`);
    const gone = await api.call('POST', `/deliveries/${toDeleted.id}/retry`);
    const unknown = await api.call(
      'POST',
      `/deliveries/${deliveryId(`evt_${'0'.repeat(26)}`, disabled, 1)}/retry`,
    );

    // Assess
    expect(off.status).toBe(409);
    expect(off.body.error).toStrictEqual({
      code: 'endpoint_disabled',
      message: `endpoint ${disabled} is disabled; enable it first`,
    });
    expect(gone.status).toBe(409);
    expect(gone.body.error).toStrictEqual({
      code: 'endpoint_deleted',
      message: `endpoint ${deleted} no longer exists`,
    });
    expect(unknown.status).toBe(404);
    expect(await api.drainDeliveryQueue()).toStrictEqual([]);
  });
});

describe('POST /endpoints/{id}/recover', () => {
  const since = '2026-01-01T00:00:00.000Z';

  it('queues the failed and dead deliveries, newest first, skipping those with a retry coming', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const dead = await sendTo(endpoint);
    const failed = await sendTo(endpoint);
    const scheduled = await sendTo(endpoint);
    const cooling = await sendTo(endpoint);
    const delivered = await sendTo(endpoint);
    const now = lastSentAtMs + 60_000;
    await outcome(dead, 'dead');
    // Its next attempt is due now: its own message is no longer coming.
    await outcome(failed, 'failed', { nextAttemptAt: new Date(now).toISOString() });
    await outcome(scheduled, 'failed', { nextAttemptAt: new Date(now + 60_000).toISOString() });
    await outcome(cooling, 'dead');
    await outcome(delivered, 'delivered');
    api.frozenAtMs = now - 1000;
    expect((await api.call('POST', `/deliveries/${cooling.id}/retry`)).status).toBe(202);
    await outcome(cooling, 'dead');
    await api.drainDeliveryQueue();
    api.frozenAtMs = now;

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });
    const queued = await api.drainDeliveryQueue();

    // Assess
    expect(answer).toMatchObject({
      status: 202,
      body: { endpointId: endpoint, queued: 2, skipped: 2, done: true, nextCursor: null },
    });
    expect(queued.map((m) => [m.deliveryId, m.reason])).toStrictEqual([
      [failed.id, 'recover'],
      [dead.id, 'recover'],
    ]);
    expect(await api.store().getDelivery(endpoint, dead.id, true)).toMatchObject({
      status: 'pending',
      retryQueuedAt: new Date(now).toISOString(),
    });
  });

  it('stops at the limit and resumes from its cursor', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const older = await sendTo(endpoint);
    const newer = await sendTo(endpoint);
    await outcome(older, 'failed');
    await outcome(newer, 'dead');
    await api.drainDeliveryQueue();

    // Act
    const first = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since, limit: '1' } });
    const firstQueued = await api.drainDeliveryQueue();
    const second = await api.call('POST', `/endpoints/${endpoint}/recover`, {
      query: { since, limit: '1', cursor: first.body.nextCursor },
    });
    const secondQueued = await api.drainDeliveryQueue();

    // Assess
    expect(first.body).toMatchObject({ queued: 1, skipped: 0, done: false, nextCursor: cursorOf(newer.id) });
    expect(firstQueued.map((m) => m.deliveryId)).toStrictEqual([newer.id]);
    expect(second.body).toMatchObject({ queued: 1, done: true, nextCursor: null });
    expect(secondQueued.map((m) => m.deliveryId)).toStrictEqual([older.id]);
  });

  it('recovers only what is since the time given', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const before = await sendTo(endpoint);
    const after = await sendTo(endpoint);
    await outcome(before, 'failed');
    await outcome(after, 'failed');
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, {
      query: { since: new Date(after.createdAtMs).toISOString() },
    });

    // Assess
    expect(answer.body).toMatchObject({ queued: 1, done: true });
    expect((await api.drainDeliveryQueue()).map((m) => m.deliveryId)).toStrictEqual([after.id]);
  });

  it('stops where a message did not go out, resuming before that chunk', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await outcome(sent, 'dead');
    await api.drainDeliveryQueue();
    sqs.intercept = async (command, send) =>
      command.command === 'SendMessageBatchCommand'
        ? {
            output: {
              Successful: [],
              Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }],
              $metadata: {},
            },
          }
        : send();

    // Act
    const fresh = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });
    const resumed = await api.call('POST', `/endpoints/${endpoint}/recover`, {
      query: { since, cursor: cursorOf(sent.id) },
    });
    const above = cursorOf(deliveryId(sent.eventId, endpoint, sent.createdAtMs + 60_000));
    const fromCursor = await api.call('POST', `/endpoints/${endpoint}/recover`, {
      query: { since, cursor: above },
    });

    // Assess
    expect(fresh.body).toMatchObject({
      queued: 0,
      done: false,
      nextCursor: cursorOf(`dlv_${'Z'.repeat(62)}`),
    });
    expect(resumed.body).toMatchObject({ queued: 0, done: true, nextCursor: null });
    expect(fromCursor.body).toMatchObject({ queued: 0, done: false, nextCursor: above });
    expect(await api.store().getDelivery(endpoint, sent.id, true)).toMatchObject({ status: 'dead' });
  });

  it('is done when the page holds exactly the deliveries left', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const older = await sendTo(endpoint);
    const newer = await sendTo(endpoint);
    await outcome(older, 'failed');
    await outcome(newer, 'dead');
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since, limit: '2' } });

    // Assess
    expect(answer.body).toMatchObject({ queued: 2, done: true, nextCursor: null });
  });

  it('goes on at exactly its time budget, and pages by the recover page size by default', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent: Sent[] = [];
    for (let i = 0; i < 11; i++) sent.push(await sendTo(endpoint));
    for (const each of sent) await outcome(each, 'dead');
    await api.drainDeliveryQueue();
    const startedAt = lastSentAtMs + 60_000;
    api.frozenAtMs = startedAt;
    sqs.intercept = (command, send) => {
      // The first chunk's send takes the whole budget, and not a millisecond more.
      if (command.command === 'SendMessageBatchCommand' && api.frozenAtMs === startedAt)
        api.frozenAtMs = startedAt + RECOVER_TIME_BUDGET_MS;
      return send();
    };

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });

    // Assess
    expect(answer.body).toMatchObject({ queued: 11, done: true, nextCursor: null });
    const queries = dynamo.sent.filter((c) => c.command === 'QueryCommand');
    expect(queries.map((c) => c.input.Limit)).toStrictEqual([RECOVER_PAGE_SIZE + 1, RECOVER_PAGE_SIZE + 1]);
  });

  it('stops after its time budget between chunks of ten', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent: Sent[] = [];
    for (let i = 0; i < 11; i++) sent.push(await sendTo(endpoint));
    for (const each of sent) await outcome(each, 'dead');
    await api.drainDeliveryQueue();
    sqs.intercept = (command, send) => {
      // The first chunk's send takes longer than the whole budget.
      if (command.command === 'SendMessageBatchCommand') api.clockOffsetMs += 6_000;
      return send();
    };

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });

    // Assess
    expect(answer.body).toMatchObject({ queued: 10, done: false, nextCursor: cursorOf(sent[1]?.id ?? '') });
    expect(await api.drainDeliveryQueue()).toHaveLength(10);
  });

  it('skips a delivery whose event is gone', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const sent = await sendTo(endpoint);
    await outcome(sent, 'dead');
    const ghost = {
      ...sent,
      eventId: `evt_${'1'.repeat(26)}`,
      id: deliveryId(`evt_${'1'.repeat(26)}`, endpoint, sent.createdAtMs),
    };
    await outcome(ghost, 'dead');
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });

    // Assess
    expect(answer.body).toMatchObject({ queued: 1, skipped: 1, done: true });
    expect((await api.drainDeliveryQueue()).map((m) => m.deliveryId)).toStrictEqual([sent.id]);
  });

  it('refuses a disabled endpoint', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.call('PATCH', `/endpoints/${endpoint}`, { body: { enabled: false } });

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/recover`, { query: { since } });

    // Assess
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('endpoint_disabled');
  });
});
