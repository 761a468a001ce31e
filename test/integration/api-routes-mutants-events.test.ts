/**
 * `POST /events` and the event routes (lambdas/api/routes/events.ts, lambdas/api/ingest.ts,
 * lambdas/api/event-queueing.ts) through the API app built in process against moto: the fan-out's
 * targets, the stored event record, its delivery messages and event check on the queue, the
 * Idempotency-Key's replays and conflicts, what is left to the sweep when messages do not go
 * out, a test event, and reading events back. Written to kill the routes' Stryker mutants
 * (docs/mutation-testing.md).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../lambdas/adapters/store.ts';
import { EVENT_LEASE_SECONDS } from '../../lambdas/core/config.ts';
import { deliveryId, idempotentEventId } from '../../lambdas/core/ids.ts';
import { ADMIN, portal, SENDER, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('events');
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

async function newTenant(): Promise<string> {
  const id = uniqueName('t').toLowerCase();
  expect((await api.call('PUT', `/tenants/${id}`, { body: {} })).status).toBeLessThan(300);
  return id;
}

async function newEndpoint(body: Record<string, unknown> = {}): Promise<string> {
  const answer = await api.call('POST', '/endpoints', { body: { url: 'https://example.com/hook', ...body } });
  expect(answer.status).toBe(201);
  return answer.body.id;
}

/** The items put in the Events table since the last reset, as the repository gave them. */
const eventPuts = () =>
  dynamo.sent
    .filter((c) => c.command === 'PutItemCommand' && c.input.TableName === api.resources().tables.Events)
    .map((c) => c.input.Item as Record<string, unknown>);

const storedEvent = async (id: string) => (await api.store().getEvent(id)) as EventRecord;
const targets = (answer: { body: { deliveries: { endpointId: string }[] } }) =>
  answer.body.deliveries.map((delivery) => delivery.endpointId).sort();

/** Fails every entry of every SendMessageBatch for `endpointId` (all of enqueue's rounds). */
function refuseMessagesTo(endpointId: string) {
  sqs.intercept = async (command, send) => {
    if (command.command !== 'SendMessageBatchCommand') return send();
    const entries = command.input.Entries as { Id: string; MessageGroupId: string }[];
    const refused = entries.filter((entry) => entry.MessageGroupId === endpointId);
    const kept = entries.filter((entry) => entry.MessageGroupId !== endpointId);
    const sent = kept.length > 0 ? await send({ ...command.input, Entries: kept }) : undefined;
    return {
      output: {
        Successful: (sent?.output as { Successful?: unknown[] } | undefined)?.Successful ?? [],
        Failed: refused.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError' })),
        $metadata: {},
      },
    };
  };
}

describe('POST /events without a key', () => {
  it('stores the event queued and sends one message per target, carrying the request’s origin', async () => {
    // Prepare
    const tenant = await newTenant();
    const a = await newEndpoint({ tenantId: tenant });
    const b = await newEndpoint({ tenantId: tenant });
    await api.drainDeliveryQueue();
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const answer = await api.call('POST', '/events', {
      body: { type: 'order.created', data: { total: 5 }, tenantId: tenant },
      as: SENDER,
    });
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(answer.status).toBe(202);
    const id = answer.body.id as string;
    expect(answer.body).toStrictEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'order.created',
      createdAt: new Date(now).toISOString(),
      deliveries: expect.arrayContaining([
        { id: deliveryId(id, a, now), endpointId: a, status: 'pending' },
        { id: deliveryId(id, b, now), endpointId: b, status: 'pending' },
      ]),
    });
    const record = await storedEvent(id);
    expect(record).toMatchObject({
      id,
      type: 'order.created',
      tenantId: tenant,
      createdAtMs: now,
      state: 'queued',
      senderKeyId: SENDER.kind === 'send' ? SENDER.keyId : '',
      trackingId: expect.stringMatching(/^t-/),
    });
    expect(record.idempotent).toBeUndefined();
    expect(record.sweepShard).toBeUndefined();
    expect(record.leaseUntilMs).toBeUndefined();
    expect(messages).toHaveLength(2);
    const message = messages.find((m) => m.endpointId === a);
    expect(message).toMatchObject({
      deliveryId: deliveryId(id, a, now),
      eventId: id,
      eventType: 'order.created',
      createdAtMs: now,
      tenantId: tenant,
      trackingId: record.trackingId,
    });
    expect(JSON.parse(String(message?.body))).toMatchObject({ type: 'order.created', data: { total: 5 } });
  });

  it('keeps no tenant on an event of the default tenant, nor a sender for an admin key', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, endpointIds: [endpoint], tenantId: 'default' },
      as: ADMIN,
    });

    // Assess
    const record = await storedEvent(answer.body.id);
    expect(record.tenantId).toBeUndefined();
    expect(record.senderKeyId).toBeUndefined();
    const [message] = await api.drainDeliveryQueue();
    expect(message?.tenantId).toBeUndefined();
  });

  it('fans out to the enabled endpoints subscribed to the type whose filter it passes', async () => {
    // Prepare
    const tenant = await newTenant();
    const all = await newEndpoint({ tenantId: tenant });
    const star = await newEndpoint({ tenantId: tenant, eventTypes: ['*'] });
    const typed = await newEndpoint({ tenantId: tenant, eventTypes: ['order.created'] });
    await newEndpoint({ tenantId: tenant, eventTypes: ['order.paid'] });
    const filtered = await newEndpoint({ tenantId: tenant, filter: { data: { total: { $gt: 10 } } } });
    await newEndpoint({ tenantId: tenant, filter: { data: { total: { $gt: 100 } } } });
    const disabled = await newEndpoint({ tenantId: tenant });
    await api.call('PATCH', `/endpoints/${disabled}`, { body: { enabled: false } });
    const broken = await newEndpoint({ tenantId: tenant });
    await api.store().updateEndpoint(broken, { filter: { nonsense: true } }, []);

    // Act
    const answer = await api.call('POST', '/events', {
      body: { type: 'order.created', data: { total: 50 }, tenantId: tenant },
    });
    const again = await api.call('POST', '/events', {
      body: { type: 'order.created', data: { total: 50 }, tenantId: tenant },
    });

    // Assess
    expect(answer.status).toBe(202);
    expect(targets(answer)).toStrictEqual([all, star, typed, filtered].sort());
    expect(targets(again)).toStrictEqual([all, star, typed, filtered].sort());
  });

  it('refuses an unknown tenant, unknown, foreign and disabled endpoints named, with nothing stored', async () => {
    // Prepare
    const tenant = await newTenant();
    const own = await newEndpoint({ tenantId: tenant });
    const foreign = await newEndpoint();
    const off = await newEndpoint({ tenantId: tenant });
    await api.call('PATCH', `/endpoints/${off}`, { body: { enabled: false } });
    const missing = 'ep_00000000000000000000000000';
    dynamo.reset();

    // Act
    const noTenant = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: 'nobody' },
    });
    const noTenantNamed = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: 'nobody', endpointIds: [own] },
    });
    const unknown = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: tenant, endpointIds: [own, missing] },
    });
    const notOurs = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: tenant, endpointIds: [own, foreign] },
    });
    const disabled = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, tenantId: tenant, endpointIds: [off, own] },
    });

    // Assess
    const unknownTenant = {
      code: 'unknown_tenant',
      message: 'no tenant "nobody"; create it with PUT /tenants/{id}',
    };
    expect(noTenant).toMatchObject({ status: 422, body: { error: unknownTenant } });
    expect(noTenantNamed).toMatchObject({ status: 422, body: { error: unknownTenant } });
    expect(unknown).toMatchObject({
      status: 422,
      body: { error: { code: 'unknown_endpoint', message: `no endpoint ${missing}` } },
    });
    expect(notOurs).toMatchObject({
      status: 422,
      body: {
        error: {
          code: 'endpoint_not_in_tenant',
          message: `endpoint ${foreign} is not one of tenant "${tenant}"'s`,
        },
      },
    });
    expect(disabled).toMatchObject({
      status: 422,
      body: { error: { code: 'endpoint_disabled', message: `endpoint ${off} is disabled; enable it first` } },
    });
    expect(dynamo.names()).not.toContain('PutItemCommand');
  });

  it('sends to the endpoints named of the default tenant', async () => {
    // Prepare
    const a = await newEndpoint();
    const b = await newEndpoint();

    // Act
    const answer = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, endpointIds: [a, b] },
    });

    // Assess
    expect(answer.status).toBe(202);
    expect(targets(answer)).toStrictEqual([a, b].sort());
  });

  it('stores an event to no endpoint, with no message', async () => {
    // Prepare
    const tenant = await newTenant();
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body.deliveries).toStrictEqual([]);
    expect((await storedEvent(answer.body.id)).state).toBe('queued');
    expect(sqs.names()).toStrictEqual([]);
  });

  it('leaves the event to the sweep when a message does not go out, and answers 503', async () => {
    // Prepare
    const tenant = await newTenant();
    const ok = await newEndpoint({ tenantId: tenant });
    const refused = await newEndpoint({ tenantId: tenant });
    await api.drainDeliveryQueue();
    refuseMessagesTo(refused);
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const answer = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });

    // Assess
    expect(answer.status).toBe(503);
    expect(answer.headers).toStrictEqual({ 'Retry-After': '1' });
    const id = answer.body.error.message.split(' ')[1];
    expect(answer.body.error).toStrictEqual({
      code: 'enqueue_failed',
      message: `event ${id} is stored but not every delivery could be queued; it is queued within minutes. Do not resend it: without an Idempotency-Key a resend is a second event`,
    });
    expect(await storedEvent(id)).toMatchObject({
      state: 'accepted',
      unsentEndpointIds: [refused],
      sweepShard: expect.any(String),
      sweepAfterMs: now,
    });
    sqs.intercept = undefined;
    expect((await api.drainDeliveryQueue()).map((m) => m.endpointId)).toStrictEqual([ok]);
  });

  it('answers 202 when every message went out but the record could not be stored, and warns', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    dynamo.intercept = async (command, send) => {
      if (command.command === 'PutItemCommand') throw new Error('table unavailable');
      return send();
    };

    // Act
    const answer = await api.call('POST', '/events', {
      body: { type: 'a.b', data: {}, endpointIds: [endpoint] },
    });

    // Assess
    expect(answer.status).toBe(202);
    expect(api.warnings).toStrictEqual([
      { message: 'event queued but its record was not stored', extra: { eventId: answer.body.id } },
    ]);
  });

  it('overwrites the record for the sweep when the queue throws, and fails the request', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    api.enqueueInstead = async () => {
      throw new Error('queue exploded');
    };

    // Act
    const failed = api.call('POST', '/events', { body: { type: 'a.b', data: {}, endpointIds: [endpoint] } });

    // Assess
    await expect(failed).rejects.toThrow('queue exploded');
    const put = eventPuts();
    expect(put).toHaveLength(2);
    const id = String(put[1]?.id);
    expect(put[0]).toMatchObject({ id, state: 'queued' });
    expect(await storedEvent(id)).toMatchObject({
      state: 'accepted',
      unsentEndpointIds: [endpoint],
      sweepShard: expect.any(String),
    });
    expect(api.warnings).toStrictEqual([]);
  });

  it('warns when the queue throws and the record cannot be handed to the sweep either', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    api.enqueueInstead = async () => {
      throw new Error('queue exploded');
    };
    dynamo.intercept = async (command, send) => {
      if (command.command === 'PutItemCommand') throw new Error('table unavailable');
      return send();
    };

    // Act
    const failed = api.call('POST', '/events', { body: { type: 'a.b', data: {}, endpointIds: [endpoint] } });

    // Assess
    await expect(failed).rejects.toThrow('queue exploded');
    expect(api.warnings).toStrictEqual([
      { message: 'event not handed to the sweep', extra: { eventId: expect.stringMatching(/^msg_/) } },
    ]);
  });
});

describe('POST /events with an Idempotency-Key', () => {
  const keyed = (key: string, body: Record<string, unknown>) =>
    api.call('POST', '/events', { body, headers: { 'idempotency-key': key } });

  it('stores the event leased, schedules its check, sends, and marks it queued', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    await api.drainDeliveryQueue();
    const key = uniqueName('key');
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const answer = await keyed(key, { type: 'a.b', data: { n: 1 }, endpointIds: [endpoint] });
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.headers).toStrictEqual({});
    expect(answer.body.id).toBe(idempotentEventId(key));
    expect(eventPuts()).toMatchObject([
      { idempotent: true, state: 'accepted', leaseUntilMs: now + EVENT_LEASE_SECONDS * 1000 },
    ]);
    const record = await storedEvent(answer.body.id);
    expect(record).toMatchObject({ idempotent: true, state: 'queued' });
    expect(record.leaseUntilMs).toBeUndefined();
    expect(messages).toEqual(
      expect.arrayContaining([
        { kind: 'event-check', eventId: answer.body.id },
        expect.objectContaining({ endpointId: endpoint, eventId: answer.body.id, eventType: 'a.b' }),
      ]),
    );
    expect(messages).toHaveLength(2);
  });

  it('answers a repeat with the original, replayed, without sending again', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const first = await keyed(key, { type: 'a.b', data: { n: 1 }, endpointIds: [endpoint] });
    await api.drainDeliveryQueue();

    // Act
    const again = await keyed(key, { type: 'a.b', data: { n: 1 }, endpointIds: [endpoint] });

    // Assess
    expect(again.status).toBe(202);
    expect(again.headers).toStrictEqual({ 'Idempotent-Replayed': 'true' });
    expect(again.body).toStrictEqual(first.body);
    expect(await api.drainDeliveryQueue()).toStrictEqual([]);
  });

  it('takes the default tenant named as none, but another tenant or other targets as another body', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint();
    await newEndpoint({ tenantId: tenant });
    const key = uniqueName('key');
    await keyed(key, { type: 'a.b', data: {} });

    // Act
    const sameTenant = await keyed(key, { type: 'a.b', data: {}, tenantId: 'default' });
    const otherTenant = await keyed(key, { type: 'a.b', data: {}, tenantId: tenant });
    const otherTargets = await keyed(key, { type: 'a.b', data: {}, endpointIds: [endpoint] });
    const otherData = await keyed(key, { type: 'a.b', data: { x: 1 } });
    const otherType = await keyed(key, { type: 'a.c', data: {} });

    // Assess
    expect(sameTenant.status).toBe(202);
    for (const answer of [otherTenant, otherTargets, otherData, otherType]) {
      expect(answer.status).toBe(422);
      expect(answer.body.error).toStrictEqual({
        code: 'idempotency_key_reused',
        message: 'this Idempotency-Key was used with a different request body; use a new key for a new event',
      });
    }
  });

  it('answers 409 with the lease left while another request holds the event', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const now = Date.now();
    api.frozenAtMs = now;
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const first = await keyed(key, body);
    // The first request still holds it: accepted, leased for 4.5 s more.
    await api
      .store()
      .putEvent({ ...(await storedEvent(first.body.id)), state: 'accepted', leaseUntilMs: now + 4_500 });

    // Act
    const busy = await keyed(key, body);

    // Assess
    expect(busy.status).toBe(409);
    expect(busy.headers).toStrictEqual({ 'Retry-After': '5' });
    expect(busy.body.error).toStrictEqual({
      code: 'request_in_progress',
      message: 'the first request with this Idempotency-Key is still being processed; retry in 5 s',
    });
  });

  it('leaves a keyed event to the sweep when a message does not go out, and a retry finishes it', async () => {
    // Prepare
    const ok = await newEndpoint();
    const refused = await newEndpoint();
    await api.drainDeliveryQueue();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [ok, refused] };
    refuseMessagesTo(refused);

    // Act
    const failed = await keyed(key, body);
    const released = await storedEvent(idempotentEventId(key));
    sqs.intercept = undefined;
    await api.drainDeliveryQueue();
    const retried = await keyed(key, body);
    const resent = await api.drainDeliveryQueue();

    // Assess
    expect(failed.status).toBe(503);
    expect(failed.body.error.message).toBe(
      `event ${idempotentEventId(key)} is stored but not every delivery could be queued; retry with the same Idempotency-Key to finish it now, or it is queued within minutes`,
    );
    expect(released).toMatchObject({ state: 'accepted', unsentEndpointIds: [refused] });
    expect(released.leaseUntilMs).toBeUndefined();
    expect(retried.status).toBe(202);
    expect(retried.headers).toStrictEqual({ 'Idempotent-Replayed': 'true' });
    expect(resent.map((m) => m.endpointId)).toStrictEqual([refused]);
    expect((await storedEvent(idempotentEventId(key))).state).toBe('queued');
  });

  it('takes over an event whose lease ran out and sends every message when none is known unsent', async () => {
    // Prepare
    const a = await newEndpoint();
    const b = await newEndpoint();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [a, b] };
    const first = await keyed(key, body);
    const now = Date.now();
    await api
      .store()
      .putEvent({ ...(await storedEvent(first.body.id)), state: 'accepted', leaseUntilMs: now - 1 });
    await api.drainDeliveryQueue();
    api.frozenAtMs = now;

    // Act
    const retried = await keyed(key, body);
    const resent = await api.drainDeliveryQueue();

    // Assess
    expect(retried.status).toBe(202);
    expect(resent.map((m) => m.endpointId).sort()).toStrictEqual([a, b].sort());
    expect((await storedEvent(first.body.id)).state).toBe('queued');
  });

  it('takes over an event whose lease ends exactly now', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const first = await keyed(key, body);
    const now = Date.now();
    await api
      .store()
      .putEvent({ ...(await storedEvent(first.body.id)), state: 'accepted', leaseUntilMs: now });
    await api.drainDeliveryQueue();
    api.frozenAtMs = now;

    // Act
    const retried = await keyed(key, body);

    // Assess
    expect(retried.status).toBe(202);
    expect((await api.drainDeliveryQueue()).map((m) => m.endpointId)).toStrictEqual([endpoint]);
  });

  it('answers 409 after three rounds of losing the take-over, or when the event is gone', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const lost = uniqueName('key');
    const gone = uniqueName('key');
    for (const key of [lost, gone]) {
      const first = await keyed(key, body);
      await api
        .store()
        .putEvent({ ...(await storedEvent(first.body.id)), state: 'accepted', leaseUntilMs: 1 });
    }
    const claimFails = () =>
      Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
    let goneReads = 0;
    dynamo.intercept = async (command, send) => {
      const text = JSON.stringify(command.input);
      if (command.command === 'UpdateItemCommand' && text.includes('leaseUntilMs = :lease'))
        throw claimFails();
      // The take-over's read of the second one finds it deleted meanwhile.
      if (command.command === 'GetItemCommand' && text.includes(idempotentEventId(gone)) && goneReads++ > 0)
        return { output: { $metadata: {} } };
      return send();
    };

    // Act
    const busy = await keyed(lost, body);
    const claims = dynamo.sent.filter((c) =>
      JSON.stringify(c.input).includes('leaseUntilMs = :lease'),
    ).length;
    const vanished = await keyed(gone, body);

    // Assess
    expect(busy.status).toBe(409);
    expect(busy.headers).toStrictEqual({ 'Retry-After': '1' });
    expect(claims).toBe(3);
    expect(vanished.status).toBe(409);
    expect(vanished.headers).toStrictEqual({ 'Retry-After': '1' });
  });

  it('warns when a keyed event cannot be handed to the sweep, or marked queued', async () => {
    // Prepare
    const ok = await newEndpoint();
    const refused = await newEndpoint();
    const unreleased = uniqueName('key');
    const unmarked = uniqueName('key');
    refuseMessagesTo(refused);
    dynamo.intercept = async (command, send) => {
      const text = JSON.stringify(command.input);
      if (
        command.command === 'UpdateItemCommand' &&
        (text.includes('sweepShard = :shard') || text.includes(':queued'))
      )
        throw new Error('table unavailable');
      return send();
    };

    // Act
    const notReleased = await keyed(unreleased, { type: 'a.b', data: {}, endpointIds: [refused] });
    const notMarked = await keyed(unmarked, { type: 'a.b', data: {}, endpointIds: [ok] });

    // Assess
    expect(notReleased.status).toBe(503);
    expect(notMarked.status).toBe(202);
    expect(api.warnings).toStrictEqual([
      {
        message: 'event not handed to the sweep; its lease will run out instead',
        extra: { eventId: idempotentEventId(unreleased) },
      },
      {
        message: 'event queued but not marked so; it may be queued again',
        extra: { eventId: idempotentEventId(unmarked) },
      },
    ]);
  });

  it('answers the stored event when another request stored it between the read and the put', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const first = await keyed(key, body);
    let reads = 0;
    dynamo.intercept = async (command, send) => {
      // The first read of the event finds nothing: the other request's put lands just after it.
      if (
        command.command === 'GetItemCommand' &&
        JSON.stringify(command.input).includes(first.body.id) &&
        reads++ === 0
      )
        return { output: { $metadata: {} } };
      return send();
    };

    // Act
    const again = await keyed(key, body);

    // Assess
    expect(again.status).toBe(202);
    expect(again.headers).toStrictEqual({ 'Idempotent-Replayed': 'true' });
    expect(again.body.id).toBe(first.body.id);
  });

  it('answers 409 when the event stored by another request cannot be read back', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const body = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const first = await keyed(key, body);
    dynamo.intercept = async (command, send) =>
      command.command === 'GetItemCommand' && JSON.stringify(command.input).includes(first.body.id)
        ? { output: { $metadata: {} } }
        : send();

    // Act
    const again = await keyed(key, body);

    // Assess
    expect(again.status).toBe(409);
    expect(again.headers).toStrictEqual({ 'Retry-After': '1' });
  });

  it('answers 202 when the event check cannot be scheduled, and warns', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    sqs.intercept = async (command, send) => {
      if (command.command === 'SendMessageCommand') throw new Error('queue unavailable');
      return send();
    };

    // Act
    const answer = await keyed(key, { type: 'a.b', data: {}, endpointIds: [endpoint] });

    // Assess
    expect(answer.status).toBe(202);
    expect(api.warnings).toStrictEqual([
      { message: 'event check not scheduled', extra: { eventId: idempotentEventId(key) } },
    ]);
  });

  it('refuses a malformed key', async () => {
    // Act
    const answer = await keyed('', { type: 'a.b', data: {} });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_idempotency_key');
  });
});

describe('POST /endpoints/{id}/test', () => {
  it('sends a webhook.test event to that endpoint only, in its tenant', async () => {
    // Prepare
    const tenant = await newTenant();
    const endpoint = await newEndpoint({ tenantId: tenant });
    await newEndpoint({ tenantId: tenant });
    await api.drainDeliveryQueue();

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/test`, { as: portal(tenant) });
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body.type).toBe('webhook.test');
    expect(targets(answer)).toStrictEqual([endpoint]);
    expect((await storedEvent(answer.body.id)).tenantId).toBe(tenant);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(String(messages[0]?.body))).toMatchObject({
      type: 'webhook.test',
      data: { message: 'a test event sent from the API', endpointId: endpoint },
    });
  });

  it('sends one to an endpoint of the default tenant without a tenant, and 404 for an unknown one', async () => {
    // Prepare
    const endpoint = await newEndpoint();

    // Act
    const answer = await api.call('POST', `/endpoints/${endpoint}/test`);
    const unknown = await api.call('POST', '/endpoints/ep_00000000000000000000000000/test');

    // Assess
    expect(answer.status).toBe(202);
    expect((await storedEvent(answer.body.id)).tenantId).toBeUndefined();
    expect(unknown.status).toBe(404);
  });
});

describe('GET /events/{id}', () => {
  it('answers the event, its data and each delivery, recorded or pending', async () => {
    // Prepare
    const a = await newEndpoint();
    const b = await newEndpoint();
    const sent = await api.call('POST', '/events', {
      body: { type: 'a.b', data: { n: 7 }, endpointIds: [a, b] },
      as: SENDER,
    });
    const id = sent.body.id as string;
    const createdAtMs = Date.parse(sent.body.createdAt);
    await api.store().recordOutcome({
      endpointId: a,
      id: deliveryId(id, a, createdAtMs),
      eventId: id,
      eventType: 'a.b',
      createdAtMs,
      status: 'delivered',
      attempt: { attempt: 1, at: new Date().toISOString(), statusCode: 200, durationMs: 3 },
      redrive: false,
    });

    // Act
    const answer = await api.call('GET', `/events/${id}`, { as: SENDER });
    const otherSender = await api.call('GET', `/events/${id}`, { as: { kind: 'send', keyId: 'key_other' } });
    const admin = await api.call('GET', `/events/${id}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id,
      type: 'a.b',
      tenantId: 'default',
      state: 'queued',
      data: { n: 7 },
    });
    const statuses = Object.fromEntries(
      answer.body.deliveries.map((d: { endpointId: string; status: string }) => [d.endpointId, d.status]),
    );
    expect(statuses).toStrictEqual({ [a]: 'delivered', [b]: 'pending' });
    expect(otherSender.status).toBe(404);
    expect(admin.status).toBe(200);
  });

  it('answers 404 for a malformed id and an unknown one', async () => {
    // Act
    const malformed = await api.call('GET', '/events/nope');
    const unknown = await api.call('GET', `/events/evt_${'0'.repeat(26)}`);

    // Assess
    expect(malformed.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(dynamo.sent.some((c) => JSON.stringify(c.input).includes('"nope"'))).toBe(false);
  });
});

describe('GET /events', () => {
  it('lists events newest first through their deliveries, one entry per event, paged', async () => {
    // Prepare
    const tenant = await newTenant();
    const a = await newEndpoint({ tenantId: tenant });
    const b = await newEndpoint({ tenantId: tenant });
    const events: { id: string; createdAtMs: number }[] = [];
    for (let i = 0; i < 3; i++) {
      api.frozenAtMs = Date.now() + i * 1000;
      const sent = await api.call('POST', '/events', { body: { type: 'a.b', data: {}, tenantId: tenant } });
      events.push({ id: sent.body.id, createdAtMs: api.frozenAtMs });
      for (const endpoint of [a, b]) {
        await api.store().recordOutcome({
          endpointId: endpoint,
          id: deliveryId(sent.body.id, endpoint, api.frozenAtMs),
          eventId: sent.body.id,
          eventType: 'a.b',
          createdAtMs: api.frozenAtMs,
          status: 'delivered',
          attempt: { attempt: 1, at: new Date().toISOString(), statusCode: 200, durationMs: 3 },
          redrive: false,
        });
      }
    }
    api.frozenAtMs = undefined;

    // Act
    const first = await api.call('GET', '/events', { query: { tenantId: tenant, limit: '2' } });
    const second = await api.call('GET', '/events', {
      query: { tenantId: tenant, limit: '2', cursor: first.body.nextCursor },
    });
    const all = await api.call('GET', '/events', { query: { tenantId: tenant } });

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { id: string }) => e.id)).toStrictEqual([events[2]?.id, events[1]?.id]);
    expect(first.body.items[0]).toMatchObject({
      type: 'a.b',
      createdAt: new Date(events[2]?.createdAtMs ?? 0).toISOString(),
    });
    expect(first.body.items[0].deliveries).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(second.body.items.map((e: { id: string }) => e.id)).toStrictEqual([events[0]?.id]);
    expect(second.body.nextCursor).toBeNull();
    expect(all.body.items).toHaveLength(3);
    expect(all.body.nextCursor).toBeNull();
  });
});
