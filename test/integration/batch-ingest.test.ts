/**
 * `POST /events/batch` on moto: each event accepted or refused on its own, in request order,
 * with the answer `POST /events` would give it; the SQS sends packed across events; keys
 * replayed per event; a partial failure finished by the sweep or a retry, never duplicated.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH_BODY_BYTES, MAX_REQUEST_BODY_BYTES } from '../../lambdas/core/config.ts';
import { type Harness, type RecordedCall, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 2 };

let harness: Harness;
const receivers: TestReceiver[] = [];

beforeAll(async () => {
  harness = await startHarness({ policy: POLICY, record: true });
});

afterEach(() => {
  harness.interceptors.length = 0;
});

afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await harness?.stop();
});

async function receiverEndpoint(): Promise<{ target: TestReceiver; endpointId: string }> {
  const target = await startReceiver();
  receivers.push(target);
  const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
  expect(created.status).toBe(201);
  return { target, endpointId: created.body.id };
}

interface Item {
  status: number;
  id?: string;
  replayed?: boolean;
  retryAfterSeconds?: number;
  deliveries?: Array<{ id: string; endpointId: string; status: string }>;
  error?: { code: string; message: string };
}
type BatchAnswer = { items: Item[]; accepted: number; failed: number; error?: { code: string } };

const batch = (events: unknown[], headers?: Record<string, string>) =>
  harness.api<BatchAnswer>('POST', '/events/batch', { events }, headers);

/** The API's SDK calls from `from` on, by command name. */
function apiCommands(from: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of harness.calls.slice(from)) {
    if (call.fn === 'api') counts[call.command] = (counts[call.command] ?? 0) + 1;
  }
  return counts;
}

const webhookIds = (target: TestReceiver) => target.received.map((webhook) => webhook.headers['webhook-id']);

describe('each event on its own', () => {
  it('answers every event in request order: good ones 202 and delivered, bad ones refused with their own error', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const events = [
      { type: 'batch.one', data: { n: 1 }, endpointIds: [endpointId] },
      { type: 'batch.two', data: 'not an object', endpointIds: [endpointId] },
      { type: 'batch.three', data: {}, endpointIds: ['ep_00000000000000000000000000'] },
      { type: 'batch.four', data: { n: 4 }, endpointIds: [endpointId], idempotencyKey: `k-${Date.now()}` },
      { type: 'batch five', data: {}, extra: true },
    ];

    // Act
    const answer = await batch(events);
    const arrived = await target.waitFor(2);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 2, failed: 3 });
    const [one, two, three, four, five] = answer.body.items;
    expect(one).toMatchObject({
      status: 202,
      type: 'batch.one',
      deliveries: [{ endpointId, status: 'pending' }],
    });
    expect(two).toMatchObject({
      status: 400,
      error: { code: 'invalid_request', message: 'data: must be an object' },
    });
    expect(three).toMatchObject({ status: 422, error: { code: 'unknown_endpoint' } });
    expect(four).toMatchObject({ status: 202, type: 'batch.four' });
    expect(five?.status).toBe(400);
    expect(five?.error?.message).toContain('unknown field "extra"');
    expect(five?.error?.message).toContain('type:');
    expect(new Set(arrived.map((webhook) => webhook.headers['webhook-id']))).toEqual(
      new Set([one?.id, four?.id]),
    );
    for (const id of [one?.id, four?.id]) {
      const read = await harness.api<{ state: string; type: string }>('GET', `/events/${id}`);
      expect(read.status).toBe(200);
      expect(read.body.state).toBe('queued');
    }
  });

  it('packs the SQS sends across events: 25 one-endpoint events are 3 SendMessageBatch requests and 25 event puts', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const events = Array.from({ length: 25 }, (_, n) => ({
      type: 'batch.packed',
      data: { n, blob: 'x'.repeat(1000) },
      endpointIds: [endpointId],
    }));
    const before = harness.calls.length;

    // Act
    const answer = await batch(events);
    await target.waitFor(25);

    // Assess
    expect(answer.body.accepted).toBe(25);
    const commands = apiCommands(before);
    expect(commands.SendMessageBatchCommand).toBe(3);
    expect(commands.SendMessageCommand).toBeUndefined();
    expect(commands.PutItemCommand).toBe(25);
    // Unkeyed: stored once, as queued; no lifecycle updates.
    expect(commands.UpdateItemCommand).toBeUndefined();
    expect(new Set(webhookIds(target))).toEqual(new Set(answer.body.items.map((item) => item.id)));
  });

  it('fans an event without endpointIds out to the subscribed endpoints only, as POST /events does', async () => {
    // Prepare
    const subscribed = await receiverEndpoint();
    await harness.api('PATCH', `/endpoints/${subscribed.endpointId}`, { eventTypes: ['batch.fanout'] });
    const other = await receiverEndpoint();
    await harness.api('PATCH', `/endpoints/${other.endpointId}`, { eventTypes: ['batch.elsewhere'] });

    // Act
    const answer = await batch([{ type: 'batch.fanout', data: {} }]);
    await subscribed.target.waitFor(1);

    // Assess
    const endpoints = answer.body.items[0]?.deliveries?.map((delivery) => delivery.endpointId);
    expect(endpoints).toContain(subscribed.endpointId);
    expect(endpoints).not.toContain(other.endpointId);
    expect(other.target.received).toEqual([]);
  });
});

describe('keys', () => {
  it('replays a batch sent again: the same ids, replayed, and each event delivered once', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const stamp = Date.now();
    const events = [0, 1, 2].map((n) => ({
      type: 'batch.keyed',
      data: { n },
      endpointIds: [endpointId],
      idempotencyKey: `replay-${stamp}-${n}`,
    }));

    // Act
    const first = await batch(events);
    await target.waitFor(3);
    const again = await batch(events);

    // Assess
    expect(first.body.items.map((item) => item.status)).toEqual([202, 202, 202]);
    expect(again.body.items.map((item) => item.status)).toEqual([202, 202, 202]);
    expect(again.body.items.map((item) => item.replayed)).toEqual([true, true, true]);
    expect(again.body.items.map((item) => item.id)).toEqual(first.body.items.map((item) => item.id));
    expect(first.body.items.map((item) => item.replayed)).toEqual([undefined, undefined, undefined]);
    await harness.stack.sweep();
    expect(webhookIds(target).sort()).toEqual(first.body.items.map((item) => item.id).sort());
  });

  it('shares keys with POST /events, refuses a key reused with other data, and a key repeated in one batch', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const key = `shared-${Date.now()}`;
    const single = await harness.api<{ id: string }>(
      'POST',
      '/events',
      { type: 'batch.shared', data: { a: 1 }, endpointIds: [endpointId] },
      { 'idempotency-key': key },
    );

    // Act
    const answer = await batch([
      { type: 'batch.shared', data: { a: 1 }, endpointIds: [endpointId], idempotencyKey: key },
      { type: 'batch.shared', data: { a: 2 }, endpointIds: [endpointId], idempotencyKey: `${key}-b` },
      { type: 'batch.shared', data: { a: 2 }, endpointIds: [endpointId], idempotencyKey: `${key}-b` },
    ]);
    const reused = await batch([
      { type: 'batch.shared', data: { a: 'other' }, endpointIds: [endpointId], idempotencyKey: key },
    ]);
    await target.waitFor(2);

    // Assess
    expect(single.status).toBe(202);
    const [replay, fresh, repeated] = answer.body.items;
    expect(replay).toMatchObject({ status: 202, id: single.body.id, replayed: true });
    expect(fresh?.status).toBe(202);
    expect(repeated).toMatchObject({ status: 400, error: { code: 'duplicate_idempotency_key' } });
    expect(reused.body.items[0]).toMatchObject({ status: 422, error: { code: 'idempotency_key_reused' } });
    expect(new Set(webhookIds(target))).toEqual(new Set([single.body.id, fresh?.id]));
  });
});

describe('the envelope', () => {
  it.each([
    ['no events array', { items: [] }, 400, 'invalid_request'],
    ['an empty batch', { events: [] }, 400, 'invalid_request'],
    [
      '101 events',
      { events: Array.from({ length: 101 }, () => ({ type: 'a', data: {} })) },
      400,
      'invalid_request',
    ],
    ['events not an array', { events: { type: 'a', data: {} } }, 400, 'invalid_request'],
  ])('refuses %s with %i and stores nothing', async (_, body, status, code) => {
    const before = harness.calls.length;
    const answer = await harness.api<BatchAnswer>('POST', '/events/batch', body);
    expect(answer.status).toBe(status);
    expect(answer.body.error?.code).toBe(code);
    expect(
      Object.keys(apiCommands(before)).filter((command) => /Put|Update|SendMessage/.test(command)),
    ).toEqual([]);
  });

  it('refuses an Idempotency-Key header: each event carries its own', async () => {
    const answer = await batch([{ type: 'a', data: {} }], { 'idempotency-key': 'whole-batch' });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('idempotency_key_not_allowed');
  });

  it('takes a body past the single-event limit, holds each event to that limit, and refuses a body over its own', async () => {
    // Prepare: 3 events of 150 KiB (450 KiB in all) and one over the single-event limit.
    const { target, endpointId } = await receiverEndpoint();
    const big = (n: number) => ({
      type: 'batch.big',
      data: { n, blob: 'y'.repeat(150 * 1024) },
      endpointIds: [endpointId],
    });
    const tooBig = {
      type: 'batch.big',
      data: { blob: 'z'.repeat(MAX_REQUEST_BODY_BYTES) },
      endpointIds: [endpointId],
    };

    // Act
    const answer = await batch([big(1), tooBig, big(2), big(3)]);
    const over = await batch(
      Array.from({ length: Math.floor(MAX_BATCH_BODY_BYTES / (150 * 1024)) + 1 }, (_, n) => big(n)),
    );
    await target.waitFor(3);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.items.map((item) => item.status)).toEqual([202, 413, 202, 202]);
    expect(answer.body.items[1]?.error?.code).toBe('payload_too_large');
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('payload_too_large');
  });
});

describe('partial failures', () => {
  /** Fails the API's SendMessageBatch requests carrying a message of one of `eventIds`' events (by type). */
  function failSendsOf(type: string): () => number {
    let failed = 0;
    harness.interceptors.push((call: RecordedCall) => {
      if (call.fn !== 'api' || call.command !== 'SendMessageBatchCommand') return;
      if (JSON.stringify(call.input).includes(type)) {
        failed++;
        throw new Error('injected SQS outage for this chunk');
      }
    });
    return () => failed;
  }

  it('an unkeyed event whose messages did not go out is 503 with its id, stored for the sweep, and delivered once', async () => {
    // Prepare: 12 events, so two SendMessageBatch requests; the second (events 11 and 12) fails.
    const { target, endpointId } = await receiverEndpoint();
    const events = Array.from({ length: 12 }, (_, n) => ({
      type: n >= 10 ? 'batch.unlucky' : 'batch.lucky',
      data: { n },
      endpointIds: [endpointId],
    }));
    const failed = failSendsOf('batch.unlucky');

    // Act
    const answer = await batch(events);
    harness.interceptors.length = 0;
    const report = await harness.stack.sweep();
    await target.waitFor(12);

    // Assess
    expect(failed()).toBeGreaterThan(0);
    const statuses = answer.body.items.map((item) => item.status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(202));
    expect(statuses.slice(10)).toEqual([503, 503]);
    for (const item of answer.body.items.slice(10)) {
      expect(item.id).toMatch(/^msg_/);
      expect(item.error?.code).toBe('enqueue_failed');
      expect(item.retryAfterSeconds).toBe(1);
    }
    expect(report).toMatchObject({ found: 2, queued: 2 });
    expect(webhookIds(target).sort()).toEqual(answer.body.items.map((item) => item.id).sort());
  });

  it('a keyed event whose messages did not go out is 503; the same batch sent again finishes it and replays the rest', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const stamp = Date.now();
    const events = Array.from({ length: 12 }, (_, n) => ({
      type: n >= 10 ? 'batch.keyed-unlucky' : 'batch.keyed-lucky',
      data: { n },
      endpointIds: [endpointId],
      idempotencyKey: `partial-${stamp}-${n}`,
    }));
    failSendsOf('batch.keyed-unlucky');

    // Act
    const first = await batch(events);
    harness.interceptors.length = 0;
    const again = await batch(events);
    await target.waitFor(12);

    // Assess
    expect(first.body.items.slice(10).map((item) => item.status)).toEqual([503, 503]);
    expect(first.body.items[10]?.error?.message).toContain('retry with the same Idempotency-Key');
    expect(again.body.items.map((item) => item.status)).toEqual(Array(12).fill(202));
    expect(again.body.items.map((item) => item.id)).toEqual(first.body.items.map((item) => item.id));
    await harness.stack.sweep();
    expect(webhookIds(target).sort()).toEqual(first.body.items.map((item) => item.id).sort());
  });

  it('a keyed event the store would not take is 503 not_stored, and nothing of it is sent', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const stamp = Date.now();
    harness.interceptors.push((call: RecordedCall) => {
      if (
        call.fn === 'api' &&
        call.command === 'PutItemCommand' &&
        JSON.stringify(call.input).includes('batch.unstored')
      ) {
        throw new Error('injected DynamoDB failure');
      }
    });

    // Act
    const answer = await batch([
      { type: 'batch.stored', data: {}, endpointIds: [endpointId], idempotencyKey: `st-${stamp}-1` },
      { type: 'batch.unstored', data: {}, endpointIds: [endpointId], idempotencyKey: `st-${stamp}-2` },
    ]);
    await target.waitFor(1);
    harness.interceptors.length = 0;

    // Assess
    expect(answer.body.items.map((item) => item.status)).toEqual([202, 503]);
    expect(answer.body.items[1]?.error?.code).toBe('not_stored');
    await harness.stack.sweep();
    expect(webhookIds(target)).toEqual([answer.body.items[0]?.id]);
  });
});
