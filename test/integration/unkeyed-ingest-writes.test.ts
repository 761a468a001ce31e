/**
 * Events sent without an Idempotency-Key, on moto, with failures injected in the emulator's
 * place (issue 13): the event put goes out beside the messages, not after them, and whatever of
 * the two fails, the stored record says what the sweep must still send, the caller's answer is
 * the one it always was, and every endpoint gets the event once, under one webhook-id.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../lambdas/adapters/store.ts';
import { type Harness, type RecordedCall, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 2 };

let harness: Harness;
let store: Store;
const receivers: TestReceiver[] = [];

beforeAll(async () => {
  harness = await startHarness({ policy: POLICY, record: true });
  store = new Store();
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

/**
 * Eleven endpoints: an event to all of them is two SendMessageBatch requests (ten, then one),
 * so failing the one to `unlucky` leaves the other ten sent.
 */
async function fanOut(): Promise<{
  lucky: Array<{ target: TestReceiver; endpointId: string }>;
  unlucky: { target: TestReceiver; endpointId: string };
  ids: string[];
}> {
  const all = await Promise.all(Array.from({ length: 11 }, () => receiverEndpoint()));
  const lucky = all.slice(0, 10);
  const unlucky = all[10] as { target: TestReceiver; endpointId: string };
  return { lucky, unlucky, ids: all.map((one) => one.endpointId) };
}

const isApiEventPut = (call: RecordedCall): boolean =>
  call.fn === 'api' && call.command === 'PutItemCommand' && String(call.input.TableName).endsWith('-events');

const isApiSend = (call: RecordedCall): boolean =>
  call.fn === 'api' && call.command === 'SendMessageBatchCommand';

/** Fails the API's SendMessageBatch requests carrying a message to `endpointId`. */
function failSendsTo(endpointId: string): () => number {
  let failed = 0;
  harness.interceptors.push((call) => {
    if (isApiSend(call) && JSON.stringify(call.input).includes(endpointId)) {
      failed++;
      throw new Error('injected SQS outage for this chunk');
    }
  });
  return () => failed;
}

/** Fails the first `times` event puts of events of `type` (every one by default). */
function failEventPutsOf(type: string, times = Number.POSITIVE_INFINITY): () => number {
  let failed = 0;
  harness.interceptors.push((call) => {
    if (isApiEventPut(call) && JSON.stringify(call.input).includes(type) && failed < times) {
      failed++;
      throw new Error('injected DynamoDB failure');
    }
  });
  return () => failed;
}

const webhookIds = (target: TestReceiver) => [
  ...new Set(target.received.map((webhook) => webhook.headers['webhook-id'])),
];

type Failed = { error: { code: string; message: string } };
const eventIdIn = (message: string | undefined) => /msg_[0-9A-Z]{26}/.exec(message ?? '')?.[0];

describe('POST /events without a key', () => {
  it('sends the event put before its messages have gone out (the two are concurrent)', async () => {
    // Prepare: at each send, note whether this event's put was already on its way.
    const { target, endpointId } = await receiverEndpoint();
    const putBeforeSend: boolean[] = [];
    harness.interceptors.push((call) => {
      if (!isApiSend(call) || !JSON.stringify(call.input).includes('unkeyed.order')) return;
      putBeforeSend.push(
        harness.calls.some(
          (earlier) => isApiEventPut(earlier) && JSON.stringify(earlier.input).includes('unkeyed.order'),
        ),
      );
    });

    // Act
    const sent = await harness.api<{ id: string }>('POST', '/events', {
      type: 'unkeyed.order',
      data: {},
      endpointIds: [endpointId],
    });
    await target.waitFor(1);

    // Assess
    expect(sent.status).toBe(202);
    expect(putBeforeSend).toEqual([true]);
    expect((await store.getEvent(sent.body.id))?.state).toBe('queued');
    expect(webhookIds(target)).toEqual([sent.body.id]);
  });

  it('a send that fails while the put succeeds: 503, stored accepted with the endpoint unsent, and the sweep sends only that one', async () => {
    // Prepare
    const { lucky, unlucky, ids } = await fanOut();
    const failed = failSendsTo(unlucky.endpointId);

    // Act
    const first = await harness.api<Failed>('POST', '/events', {
      type: 'unkeyed.send-fails',
      data: {},
      endpointIds: ids,
    });
    harness.interceptors.length = 0;
    const eventId = eventIdIn(first.body.error.message) as string;
    const stored = await store.getEvent(eventId);
    const report = await harness.stack.sweep();
    await Promise.all([...lucky, unlucky].map((one) => one.target.waitFor(1)));

    // Assess
    expect(failed()).toBeGreaterThan(0);
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('enqueue_failed');
    expect(stored).toMatchObject({
      state: 'accepted',
      unsentEndpointIds: [unlucky.endpointId],
      sweepShard: expect.any(String),
      sweepAfterMs: expect.any(Number),
    });
    expect(report).toMatchObject({ found: 1, queued: 1 });
    for (const one of [...lucky, unlucky]) expect(webhookIds(one.target)).toEqual([eventId]);
    expect((await store.getEvent(eventId))?.state).toBe('queued');
  });

  it('a put that fails while every send succeeds: 202 and delivered, as before (an error would make the caller send it twice)', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    const failed = failEventPutsOf('unkeyed.put-fails');

    // Act
    const sent = await harness.api<{ id: string }>('POST', '/events', {
      type: 'unkeyed.put-fails',
      data: {},
      endpointIds: [endpointId],
    });
    await target.waitFor(1);
    harness.interceptors.length = 0;

    // Assess
    expect(failed()).toBe(1);
    expect(sent.status).toBe(202);
    expect(await store.getEvent(sent.body.id)).toBeUndefined();
    expect(webhookIds(target)).toEqual([sent.body.id]);
  });

  it('the put and a send both failing once: the sweep state is still stored (503), and the sweep sends what is missing', async () => {
    // Prepare
    const { lucky, unlucky, ids } = await fanOut();
    const putsFailed = failEventPutsOf('unkeyed.both-fail', 1);
    failSendsTo(unlucky.endpointId);

    // Act
    const first = await harness.api<Failed>('POST', '/events', {
      type: 'unkeyed.both-fail',
      data: {},
      endpointIds: ids,
    });
    harness.interceptors.length = 0;
    const eventId = eventIdIn(first.body.error.message) as string;
    const stored = await store.getEvent(eventId);
    const report = await harness.stack.sweep();
    await Promise.all([...lucky, unlucky].map((one) => one.target.waitFor(1)));

    // Assess
    expect(putsFailed()).toBe(1);
    expect(first.status).toBe(503);
    expect(stored).toMatchObject({ state: 'accepted', unsentEndpointIds: [unlucky.endpointId] });
    expect(report).toMatchObject({ found: 1, queued: 1 });
    for (const one of [...lucky, unlucky]) expect(webhookIds(one.target)).toEqual([eventId]);
  });

  it('every write failing with a send failed: 500, as before, and nothing is listed for the sweep', async () => {
    // Prepare
    const { lucky, unlucky, ids } = await fanOut();
    failEventPutsOf('unkeyed.all-writes-fail');
    harness.interceptors.push((call) => {
      if (
        call.fn === 'api' &&
        call.command === 'UpdateItemCommand' &&
        String(call.input.TableName).endsWith('-events')
      ) {
        throw new Error('injected DynamoDB failure');
      }
    });
    failSendsTo(unlucky.endpointId);

    // Act
    const first = await harness.api<Failed>('POST', '/events', {
      type: 'unkeyed.all-writes-fail',
      data: {},
      endpointIds: ids,
    });
    harness.interceptors.length = 0;
    await Promise.all(lucky.map((one) => one.target.waitFor(1)));
    const report = await harness.stack.sweep();

    // Assess
    expect(first.status).toBe(500);
    expect(report).toMatchObject({ found: 0 });
    expect(unlucky.target.received).toHaveLength(0);
  });
});

type Item = { status: number; id?: string; error?: { code: string; message: string } };
type BatchAnswer = { items: Item[] };

describe('POST /events/batch without keys', () => {
  it('sends the event puts beside the messages, several at once', async () => {
    // Prepare: 30 events to one endpoint (three SendMessageBatch requests).
    const { target, endpointId } = await receiverEndpoint();
    const events = Array.from({ length: 30 }, (_, n) => ({
      type: 'batch-unkeyed.order',
      data: { n },
      endpointIds: [endpointId],
    }));
    const putsBeforeFirstSend: number[] = [];
    harness.interceptors.push((call) => {
      if (!isApiSend(call) || !JSON.stringify(call.input).includes('batch-unkeyed.order')) return;
      putsBeforeFirstSend.push(
        harness.calls.filter(
          (earlier) =>
            isApiEventPut(earlier) && JSON.stringify(earlier.input).includes('batch-unkeyed.order'),
        ).length,
      );
    });

    // Act
    const answer = await harness.api<BatchAnswer>('POST', '/events/batch', { events });
    await target.waitFor(30);

    // Assess
    expect(answer.body.items.map((item) => item.status)).toEqual(Array(30).fill(202));
    expect(putsBeforeFirstSend[0]).toBeGreaterThan(0);
    const stored = await Promise.all(answer.body.items.map((item) => store.getEvent(item.id as string)));
    expect(stored.map((event) => event?.state)).toEqual(Array(30).fill('queued'));
  });

  it('sends that fail for one event while its put succeeds: 503, stored for the sweep, delivered once', async () => {
    // Prepare
    const lucky = await receiverEndpoint();
    const unlucky = await receiverEndpoint();
    failSendsTo(unlucky.endpointId);

    // Act
    const answer = await harness.api<BatchAnswer>('POST', '/events/batch', {
      // Eleven messages: the unlucky event's is alone in the second SendMessageBatch.
      events: [
        ...Array.from({ length: 10 }, (_, n) => ({
          type: 'batch-unkeyed.lucky',
          data: { n },
          endpointIds: [lucky.endpointId],
        })),
        { type: 'batch-unkeyed.unlucky', data: {}, endpointIds: [unlucky.endpointId] },
      ],
    });
    harness.interceptors.length = 0;
    const ones = answer.body.items.slice(0, 10);
    const two = answer.body.items[10];
    const stored = await store.getEvent(two?.id as string);
    const report = await harness.stack.sweep();
    await Promise.all([lucky.target.waitFor(10), unlucky.target.waitFor(1)]);

    // Assess
    expect(answer.body.items.map((item) => item.status)).toEqual([...Array(10).fill(202), 503]);
    expect(stored).toMatchObject({ state: 'accepted', unsentEndpointIds: [unlucky.endpointId] });
    expect((await store.getEvent(ones[0]?.id as string))?.state).toBe('queued');
    expect(report).toMatchObject({ found: 1, queued: 1 });
    expect(webhookIds(lucky.target).sort()).toEqual(ones.map((item) => item.id).sort());
    expect(webhookIds(unlucky.target)).toEqual([two?.id]);
  });

  it('a put that fails once for an event whose sends also failed: still stored for the sweep (503), delivered once', async () => {
    // Prepare
    const lucky = await receiverEndpoint();
    const unlucky = await receiverEndpoint();
    const putsFailed = failEventPutsOf('batch-unkeyed.both', 1);
    failSendsTo(unlucky.endpointId);

    // Act
    const answer = await harness.api<BatchAnswer>('POST', '/events/batch', {
      events: [
        ...Array.from({ length: 10 }, (_, n) => ({
          type: 'batch-unkeyed.fine',
          data: { n },
          endpointIds: [lucky.endpointId],
        })),
        { type: 'batch-unkeyed.both', data: {}, endpointIds: [unlucky.endpointId] },
      ],
    });
    harness.interceptors.length = 0;
    const two = answer.body.items[10];
    const stored = await store.getEvent(two?.id as string);
    const report = await harness.stack.sweep();
    await unlucky.target.waitFor(1);

    // Assess
    expect(putsFailed()).toBe(1);
    expect(answer.body.items.map((item) => item.status)).toEqual([...Array(10).fill(202), 503]);
    expect(stored).toMatchObject({ state: 'accepted', unsentEndpointIds: [unlucky.endpointId] });
    expect(report).toMatchObject({ found: 1, queued: 1 });
    expect(webhookIds(unlucky.target)).toEqual([two?.id]);
  });

  it('a put that fails while the sends succeed: 202 and delivered, with no record', async () => {
    // Prepare
    const { target, endpointId } = await receiverEndpoint();
    failEventPutsOf('batch-unkeyed.unstored');

    // Act
    const answer = await harness.api<BatchAnswer>('POST', '/events/batch', {
      events: [{ type: 'batch-unkeyed.unstored', data: {}, endpointIds: [endpointId] }],
    });
    await target.waitFor(1);
    harness.interceptors.length = 0;

    // Assess
    expect(answer.body.items.map((item) => item.status)).toEqual([202]);
    expect(await store.getEvent(answer.body.items[0]?.id as string)).toBeUndefined();
    expect(webhookIds(target)).toEqual([answer.body.items[0]?.id]);
  });
});
