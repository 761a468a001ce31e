/**
 * `POST /events/batch` (lambdas/api/batch-ingest.ts and its route in lambdas/api/routes/events.ts)
 * through the API app built in process against moto: each event's own answer in request order,
 * the records stored (keyed and unkeyed), the messages and event checks queued, replays and
 * conflicts of keys, and what is left to the sweep when messages or records do not go out.
 * Written to kill the module's Stryker mutants (docs/mutation-testing.md).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../lambdas/adapters/store.ts';
import { EVENT_LEASE_SECONDS, MAX_REQUEST_BODY_BYTES } from '../../lambdas/core/config.ts';
import { idempotentEventId } from '../../lambdas/core/ids.ts';
import { SENDER, useApiRoutes } from '../support/api-routes-mutants.ts';
import { type CommandRecorder, recordCommands, uniqueName } from '../support/mutants-aws.ts';

const api = useApiRoutes('batch');
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

async function newEndpoint(): Promise<string> {
  const answer = await api.call('POST', '/endpoints', { body: { url: 'https://example.com/hook' } });
  expect(answer.status).toBe(201);
  return answer.body.id;
}

const batch = (events: unknown[], options: { headers?: Record<string, string> } = {}) =>
  api.call('POST', '/events/batch', { body: { events }, ...options });
const storedEvent = async (id: string) => (await api.store().getEvent(id)) as EventRecord;
const eventPuts = () =>
  dynamo.sent
    .filter((c) => c.command === 'PutItemCommand' && c.input.TableName === api.resources().tables.Events)
    .map((c) => c.input.Item as Record<string, unknown>);

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

describe('POST /events/batch', () => {
  it('answers each event in request order, stores each and sends every message together', async () => {
    // Prepare
    const a = await newEndpoint();
    const b = await newEndpoint();
    await api.drainDeliveryQueue();
    const key = uniqueName('key');
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const answer = await batch(
      [
        { type: 'one.a', data: { n: 1 }, endpointIds: [a] },
        { type: 'bad type!', data: {} },
        { type: 'two.b', data: { n: 2 }, endpointIds: [a, b], idempotencyKey: key },
      ],
      {},
    );
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.accepted).toBe(2);
    expect(answer.body.failed).toBe(1);
    const [first, refused, third] = answer.body.items;
    expect(first).toMatchObject({
      status: 202,
      type: 'one.a',
      deliveries: [{ endpointId: a, status: 'pending' }],
    });
    expect(first.replayed).toBeUndefined();
    expect(refused).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    expect(refused.id).toBeUndefined();
    expect(third).toMatchObject({ status: 202, id: idempotentEventId(key), type: 'two.b' });
    expect(await storedEvent(first.id)).toMatchObject({ state: 'queued', type: 'one.a' });
    expect((await storedEvent(first.id)).idempotent).toBeUndefined();
    expect(await storedEvent(third.id)).toMatchObject({ state: 'queued', idempotent: true });
    const keyedPut = eventPuts().find((item) => item.id === third.id);
    expect(keyedPut).toMatchObject({ state: 'accepted', leaseUntilMs: now + EVENT_LEASE_SECONDS * 1000 });
    expect(sqs.names().filter((name) => name === 'SendMessageBatchCommand')).toHaveLength(1);
    expect(messages.filter((m) => m.kind === 'event-check')).toStrictEqual([
      { kind: 'event-check', eventId: third.id },
    ]);
    expect(
      messages
        .filter((m) => m.deliveryId)
        .map((m) => `${m.eventId}>${m.endpointId}`)
        .sort(),
    ).toStrictEqual([`${first.id}>${a}`, `${third.id}>${a}`, `${third.id}>${b}`].sort());
  });

  it('keeps the sender on each record and the time of the request', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const answer = await api.call('POST', '/events/batch', {
      body: {
        events: [
          { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: uniqueName('k') },
          { type: 'a.b', data: {}, endpointIds: [endpoint] },
        ],
      },
      as: SENDER,
    });

    // Assess
    for (const item of answer.body.items) {
      expect(await storedEvent(item.id)).toMatchObject({
        senderKeyId: SENDER.kind === 'send' ? SENDER.keyId : '',
        createdAtMs: now,
        trackingId: expect.stringMatching(/^t-/),
      });
    }
  });

  it('refuses a key repeated in the batch, an event over the size limit, and a batch-wide key', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const big = 'x'.repeat(MAX_REQUEST_BODY_BYTES);

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: key },
      { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: key },
      { type: 'a.b', data: { big }, endpointIds: [endpoint] },
    ]);
    const headerKey = await batch([{ type: 'a.b', data: {} }], { headers: { 'idempotency-key': 'k' } });

    // Assess
    expect(answer.body.items.map((item: { status: number }) => item.status)).toStrictEqual([202, 400, 413]);
    expect(answer.body.items[1].error).toStrictEqual({
      code: 'duplicate_idempotency_key',
      message: 'idempotencyKey: the same key as event 0 of this batch; each event needs its own',
    });
    expect(headerKey.status).toBe(400);
    expect(headerKey.body.error.code).toBe('idempotency_key_not_allowed');
  });

  it('refuses an event whose targets are refused, alone', async () => {
    // Prepare
    const endpoint = await newEndpoint();

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: ['ep_00000000000000000000000000'] },
      { type: 'a.b', data: {}, endpointIds: [endpoint] },
    ]);

    // Assess
    expect(answer.body.items[0]).toStrictEqual({
      status: 422,
      error: { code: 'unknown_endpoint', message: 'no endpoint ep_00000000000000000000000000' },
    });
    expect(answer.body.items[1].status).toBe(202);
  });

  it('fails the whole request when a read fails, before anything is written', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    dynamo.intercept = async (command, send) => {
      if (command.command === 'GetItemCommand' && command.input.TableName === api.resources().tables.Events)
        throw new Error('table unavailable');
      return send();
    };

    // Act
    const failed = batch([
      { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: uniqueName('k') },
    ]);

    // Assess
    await expect(failed).rejects.toThrow('table unavailable');
    expect(eventPuts()).toStrictEqual([]);
  });

  it('replays a key stored before, and refuses one reused with another body', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    const other = uniqueName('key');
    const event = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    const first = await batch([
      { ...event, idempotencyKey: key },
      { ...event, idempotencyKey: other },
    ]);
    await api.drainDeliveryQueue();

    // Act
    const again = await batch([
      { ...event, idempotencyKey: key },
      { ...event, data: { changed: true }, idempotencyKey: other },
    ]);

    // Assess
    expect(again.body.items[0]).toStrictEqual({ ...first.body.items[0], replayed: true });
    expect(again.body.items[1]).toMatchObject({ status: 422, error: { code: 'idempotency_key_reused' } });
    expect(again.body).toMatchObject({ accepted: 1, failed: 1 });
    expect(await api.drainDeliveryQueue()).toStrictEqual([]);
  });

  it('answers a key another request stored meanwhile as its replay, or 409 when it cannot be read', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const readable = uniqueName('key');
    const unreadable = uniqueName('key');
    const event = { type: 'a.b', data: {}, endpointIds: [endpoint] };
    await batch([
      { ...event, idempotencyKey: readable },
      { ...event, idempotencyKey: unreadable },
    ]);
    const firstReads = new Set<string>();
    dynamo.intercept = async (command, send) => {
      if (command.command !== 'GetItemCommand' || command.input.TableName !== api.resources().tables.Events)
        return send();
      const id = String((command.input.Key as { id: string }).id);
      // The batch's first read of each finds nothing; the unreadable one is never found.
      if (!firstReads.has(id) || id === idempotentEventId(unreadable)) {
        firstReads.add(id);
        return { output: { $metadata: {} } };
      }
      return send();
    };

    // Act
    const again = await batch([
      { ...event, idempotencyKey: readable },
      { ...event, idempotencyKey: unreadable },
    ]);

    // Assess
    expect(again.body.items[0]).toMatchObject({ status: 202, replayed: true });
    expect(again.body.items[1]).toMatchObject({
      status: 409,
      retryAfterSeconds: 1,
      error: { code: 'request_in_progress' },
    });
  });

  it('refuses a keyed event whose put fails, sending nothing for it', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    const key = uniqueName('key');
    await api.drainDeliveryQueue();
    dynamo.intercept = async (command, send) => {
      if (
        command.command === 'PutItemCommand' &&
        (command.input.Item as { id?: string }).id === idempotentEventId(key)
      )
        throw new Error('throttled');
      return send();
    };

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: key },
      { type: 'a.b', data: {}, endpointIds: [endpoint] },
    ]);
    const messages = await api.drainDeliveryQueue();

    // Assess
    expect(answer.body.items[0]).toStrictEqual({
      status: 503,
      error: {
        code: 'not_stored',
        message: 'the event could not be stored and nothing was sent; send it again with the same key',
      },
    });
    expect(answer.body.items[1].status).toBe(202);
    expect(messages.filter((m) => m.eventId === idempotentEventId(key) && m.deliveryId)).toStrictEqual([]);
  });

  it('answers each event 202 when the event checks cannot be scheduled, and warns once', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    sqs.intercept = async (command, send) => {
      if (command.command === 'SendMessageCommand' || JSON.stringify(command.input).includes('event-check'))
        throw new Error('queue unavailable');
      return send();
    };

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: uniqueName('k') },
      { type: 'a.b', data: {}, endpointIds: [endpoint], idempotencyKey: uniqueName('k') },
    ]);

    // Assess
    expect(answer.body.items.map((item: { status: number }) => item.status)).toStrictEqual([202, 202]);
    expect(api.warnings).toStrictEqual([{ message: 'event checks not scheduled', extra: { events: 2 } }]);
  });

  it('leaves events whose messages did not go out to the sweep, keyed and unkeyed, with 503', async () => {
    // Prepare
    const ok = await newEndpoint();
    const refused = await newEndpoint();
    const key = uniqueName('key');
    await api.drainDeliveryQueue();
    refuseMessagesTo(refused);
    const now = Date.now();
    api.frozenAtMs = now;

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: [ok, refused] },
      { type: 'a.b', data: {}, endpointIds: [refused], idempotencyKey: key },
      { type: 'a.b', data: {}, endpointIds: [ok] },
    ]);

    // Assess
    const [unkeyed, keyed, fine] = answer.body.items;
    expect(unkeyed).toMatchObject({ status: 503, id: expect.stringMatching(/^msg_/), retryAfterSeconds: 1 });
    expect(unkeyed.error.code).toBe('enqueue_failed');
    expect(keyed).toMatchObject({ status: 503, id: idempotentEventId(key) });
    expect(fine.status).toBe(202);
    expect(answer.body).toMatchObject({ accepted: 1, failed: 2 });
    expect(await storedEvent(unkeyed.id)).toMatchObject({
      state: 'accepted',
      unsentEndpointIds: [refused],
      sweepAfterMs: now,
      sweepShard: expect.any(String),
    });
    expect(await storedEvent(keyed.id)).toMatchObject({ state: 'accepted', unsentEndpointIds: [refused] });
    expect((await storedEvent(fine.id)).state).toBe('queued');
  });

  it('takes every message as unsent when the queue throws', async () => {
    // Prepare
    const a = await newEndpoint();
    const b = await newEndpoint();
    api.enqueueInstead = async () => {
      throw new Error('queue exploded');
    };

    // Act
    const answer = await batch([{ type: 'a.b', data: {}, endpointIds: [a, b] }]);

    // Assess
    expect(answer.body.items[0].status).toBe(503);
    expect((await storedEvent(answer.body.items[0].id)).unsentEndpointIds).toStrictEqual([a, b]);
  });

  it('answers 202 and warns when an unkeyed record was not stored though its messages went out', async () => {
    // Prepare
    const endpoint = await newEndpoint();
    dynamo.intercept = async (command, send) => {
      if (command.command === 'PutItemCommand' && command.input.TableName === api.resources().tables.Events)
        throw new Error('throttled');
      return send();
    };

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: [endpoint] },
      { type: 'a.b', data: {}, endpointIds: [endpoint] },
    ]);

    // Assess
    expect(answer.body.items.map((item: { status: number }) => item.status)).toStrictEqual([202, 202]);
    expect(api.warnings).toStrictEqual(
      answer.body.items.map((item: { id: string }) => ({
        message: 'event queued but its record was not stored',
        extra: { eventId: item.id },
      })),
    );
  });

  it('answers 500 for an unkeyed event neither fully sent nor stored for the sweep', async () => {
    // Prepare
    const ok = await newEndpoint();
    const refused = await newEndpoint();
    refuseMessagesTo(refused);
    dynamo.intercept = async (command, send) => {
      if (command.command === 'PutItemCommand' && command.input.TableName === api.resources().tables.Events)
        throw new Error('throttled');
      return send();
    };

    // Act
    const answer = await batch([
      { type: 'a.b', data: {}, endpointIds: [ok] },
      { type: 'a.b', data: {}, endpointIds: [refused] },
    ]);

    // Assess
    const [sent, lost] = answer.body.items;
    expect(sent.status).toBe(202);
    expect(lost).toMatchObject({ status: 500, error: { code: 'partially_queued' } });
    expect(lost.error.message).toMatch(/^event msg_\w+: some of its deliveries were queued/);
    expect(api.warnings.map((w) => w.extra.eventId)).toStrictEqual([sent.id]);
  });

  it('refuses a batch of more than 100 events or none', async () => {
    // Act
    const tooMany = await batch(Array.from({ length: 101 }, () => ({ type: 'a.b', data: {} })));
    const none = await batch([]);

    // Assess
    expect(tooMany.status).toBe(400);
    expect(none.status).toBe(400);
  });
});
