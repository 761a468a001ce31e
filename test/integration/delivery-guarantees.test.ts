/**
 * Delivery guarantees on moto, one test per case of the issue that found them: an accepted
 * event is always queued (a replay finishes it, the event check and the sweep find it without
 * one), a retry never makes a second copy under another webhook-id, SQS's size limits hold by
 * construction, a delivered record stays delivered, re-enabling clears the failure run, and
 * recover is a resumable job that never starts a second retry chain.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../lambdas/adapters/store.ts';
import { EVENT_LEASE_SECONDS, MAX_REQUEST_BODY_BYTES } from '../../lambdas/core/config.ts';
import { deliveryId, idempotentEventId } from '../../lambdas/core/ids.ts';
import { encodeMessage } from '../../lambdas/core/payload.ts';
import { eventually, type Harness, type RecordedCall, startHarness } from '../support/harness.ts';
import { type Behaviour, startReceiver, type TestReceiver } from '../support/receiver.ts';

const POLICY = { scheduleSeconds: [1, 1], maxAttempts: 3 };

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

async function receiver(behaviour?: Behaviour): Promise<TestReceiver> {
  const started = await startReceiver(behaviour);
  receivers.push(started);
  return started;
}

async function endpointAt(url: string): Promise<string> {
  const created = await harness.api<{ id: string }>('POST', '/endpoints', { url });
  expect(created.status).toBe(201);
  return created.body.id;
}

type Accepted = { id: string; deliveries: Array<{ id: string; endpointId: string }> };

/** Fails every API SendMessageBatch whose entries include a message to one of `endpointIds`. */
function failSendsTo(endpointIds: readonly string[], times = Number.POSITIVE_INFINITY): () => number {
  let failed = 0;
  harness.interceptors.push((call: RecordedCall) => {
    if (call.fn !== 'api' || call.command !== 'SendMessageBatchCommand' || failed >= times) return;
    const entries = (call.input.Entries ?? []) as Array<{ MessageBody: string }>;
    if (entries.some((entry) => endpointIds.some((id) => entry.MessageBody.includes(id)))) {
      failed++;
      throw new Error('injected SQS outage for this chunk');
    }
  });
  return () => failed;
}

/** Makes every write the API would do after its event put fail: as if the function died there. */
function dieAfterEventPut(): void {
  harness.interceptors.push((call: RecordedCall) => {
    if (call.fn !== 'api') return;
    if (call.command === 'SendMessageBatchCommand') throw new Error('function died');
    if (call.command === 'UpdateItemCommand' && String(call.input.TableName).endsWith('-events')) {
      throw new Error('function died');
    }
  });
}

/**
 * The distinct webhook-ids a receiver saw. At-least-once delivery allows a copy of the same id
 * (moto can hand one message to two concurrent receives); a second id for one event is the bug.
 */
const webhookIds = (target: TestReceiver) => [
  ...new Set(target.received.map((webhook) => webhook.headers['webhook-id'])),
];

describe('1. an accepted event is always queued', () => {
  it('a replay with the same key of an event whose request died sends it, with the same ids (no 202 for nothing sent)', async () => {
    // Prepare: the first request stores the event, then "dies" before any message goes out.
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    const key = `died-${Date.now()}`;
    const event = { type: 'guarantee.died', data: { n: 1 }, endpointIds: [endpointId] };
    dieAfterEventPut();
    const first = await harness.api('POST', '/events', event, { 'idempotency-key': key });
    harness.interceptors.length = 0;
    const stored = await harness.api<{ state: string; deliveries: Array<{ status: string }> }>(
      'GET',
      `/events/${idempotentEventId(key)}`,
    );

    // Act: a retry while the lease is held, then one after it ran out.
    const whileLeased = await harness.api('POST', '/events', event, { 'idempotency-key': key });
    await new Promise((resolve) => setTimeout(resolve, EVENT_LEASE_SECONDS * 1000 + 500));
    const replay = await harness.api<Accepted>('POST', '/events', event, { 'idempotency-key': key });
    const [webhook] = await target.waitFor(1);

    // Assess
    expect(first.status).toBe(503);
    expect(stored.body).toMatchObject({ state: 'accepted', deliveries: [{ status: 'pending' }] });
    expect(whileLeased.status).toBe(409);
    expect(Number(whileLeased.headers.get('retry-after'))).toBeLessThanOrEqual(EVENT_LEASE_SECONDS);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(webhook?.headers['webhook-id']).toBe(replay.body.id);
    const read = await harness.api<{ state: string }>('GET', `/events/${replay.body.id}`);
    expect(read.body.state).toBe('queued');
  }, 40_000);

  it('an event left accepted with no retry at all is found by its event check and queued by the sweep', async () => {
    // Prepare
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    dieAfterEventPut();
    const first = await harness.api(
      'POST',
      '/events',
      { type: 'guarantee.orphan', data: {}, endpointIds: [endpointId] },
      {
        'idempotency-key': `orphan-${Date.now()}`,
      },
    );
    harness.interceptors.length = 0;
    expect(first.status).toBe(503);

    // Act: the check (2 s in tests) waits out the lease, then hands the event to the sweep.
    const swept = await eventually(
      async () => {
        const report = await harness.stack.sweep();
        return report.queued > 0 ? report : undefined;
      },
      30_000,
      'the sweep to queue the orphaned event',
    );
    const [webhook] = await target.waitFor(1);

    // Assess
    expect(swept).toMatchObject({ queued: 1, unsent: 0 });
    expect(String(webhook?.headers['webhook-id'])).toMatch(/^msg_/);
    expect(await harness.stack.sweep()).toMatchObject({ found: 0 });
  }, 40_000);
});

describe('2. a partial fan-out is finished, never duplicated under another webhook-id', () => {
  it('with a key: 503, then the retry sends only what is missing; every endpoint gets the event once', async () => {
    // Prepare: eleven endpoints, so the fan-out takes two SendMessageBatch requests.
    const targets = await Promise.all(Array.from({ length: 11 }, () => receiver()));
    const ids = await Promise.all(targets.map((target) => endpointAt(target.url)));
    const failed = failSendsTo([ids[10] as string]);
    const event = { type: 'guarantee.partial', data: { blob: 'x'.repeat(1000) }, endpointIds: ids };
    const key = `partial-${Date.now()}`;

    // Act
    const first = await harness.api<{ error: { message: string } }>('POST', '/events', event, {
      'idempotency-key': key,
    });
    harness.interceptors.length = 0;
    const retry = await harness.api<Accepted>('POST', '/events', event, { 'idempotency-key': key });
    await Promise.all(targets.map((target) => target.waitFor(1)));
    // Let any stray copy arrive before counting.
    await eventually(async () =>
      (await harness.queueCounts(harness.stack.resources.deliveryQueueUrl)).visible === 0 ? true : undefined,
    );

    // Assess
    expect(first.status).toBe(503);
    expect(failed()).toBeGreaterThan(0);
    expect(retry.status).toBe(202);
    for (const target of targets) expect(webhookIds(target)).toEqual([retry.body.id]);
    // The retry sent the one message that was missing, not all eleven again.
    const resent = harness.calls.filter(
      (call) =>
        call.fn === 'api' &&
        call.command === 'SendMessageBatchCommand' &&
        JSON.stringify(call.input).includes(retry.body.id),
    );
    expect(resent.at(-1)?.input.Entries).toHaveLength(1);
  }, 60_000);

  it('without a key: 503 naming the stored event, which the sweep finishes; nothing is sent twice', async () => {
    // Prepare
    const targets = await Promise.all(Array.from({ length: 11 }, () => receiver()));
    const ids = await Promise.all(targets.map((target) => endpointAt(target.url)));
    failSendsTo([ids[10] as string]);

    // Act
    const first = await harness.api<{ error: { code: string; message: string } }>('POST', '/events', {
      type: 'guarantee.partial.unkeyed',
      data: { n: 2 },
      endpointIds: ids,
    });
    harness.interceptors.length = 0;
    const eventId = /msg_[0-9A-Z]{26}/.exec(first.body.error.message)?.[0];
    const report = await harness.stack.sweep();
    await Promise.all(targets.map((target) => target.waitFor(1)));

    // Assess
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('enqueue_failed');
    expect(eventId).toBeDefined();
    expect(report).toMatchObject({ found: 1, queued: 1 });
    for (const target of targets) expect(webhookIds(target)).toEqual([eventId]);
    const read = await harness.api<{ state: string }>('GET', `/events/${eventId}`);
    expect(read.body.state).toBe('queued');
  }, 60_000);
});

describe('3. SQS size limits hold by construction', () => {
  it('delivers a 180 KiB event to eleven endpoints (2 MiB of messages in all), the body escaped once', async () => {
    // Prepare
    const targets = await Promise.all(Array.from({ length: 11 }, () => receiver()));
    const ids = await Promise.all(targets.map((target) => endpointAt(target.url)));
    // Each unit is 6 bytes as JSON (é is 2, and the quote and backslash are escaped once).
    const blob = 'é"\\'.repeat(Math.floor((180 * 1024) / 6));

    // Act
    const sent = await harness.api<Accepted>('POST', '/events', {
      type: 'guarantee.large',
      data: { blob },
      endpointIds: ids,
    });
    await Promise.all(targets.map((target) => target.waitFor(1)));

    // Assess
    expect(sent.status).toBe(202);
    for (const target of targets) expect(JSON.parse(target.received[0]?.body ?? '{}').data.blob).toBe(blob);
    const bodyBytes = Buffer.byteLength(targets[0]?.received[0]?.body ?? '');
    // Every batch request stayed within SQS's 1 MiB, and each message carries the body once.
    const batches = harness.calls.filter(
      (call) =>
        call.command === 'SendMessageBatchCommand' && JSON.stringify(call.input).includes(sent.body.id),
    );
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) {
      const bodies = (batch.input.Entries as Array<{ MessageBody: string }>).map(
        (entry) => entry.MessageBody,
      );
      expect(bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0)).toBeLessThanOrEqual(1024 * 1024);
      for (const body of bodies) {
        expect(Buffer.byteLength(body)).toBeLessThan(bodyBytes + 1024);
      }
    }
  }, 60_000);

  it('delivers U+FFFE and U+FFFF (which SQS refuses raw) so the receiver parses the same data', async () => {
    // Prepare
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    const text = 'a\uFFFEb\uFFFFc\u2028d';

    // Act
    const sent = await harness.api('POST', '/events', {
      type: 'guarantee.chars',
      data: { text },
      endpointIds: [endpointId],
    });
    const [webhook] = await target.waitFor(1);

    // Assess
    expect(sent.status).toBe(202);
    expect(JSON.parse(webhook?.body ?? '{}').data.text).toBe(text);
  });

  it('refuses a request over the documented limit with 413 and stores nothing', async () => {
    const before = harness.calls.length;
    const response = await harness.api('POST', '/events', {
      type: 'guarantee.huge',
      data: { blob: 'x'.repeat(MAX_REQUEST_BODY_BYTES) },
    });
    expect(response.status).toBe(413);
    const writes = harness.calls
      .slice(before)
      .filter((call) => /^(Put|Update|Delete)Item|^SendMessage/.test(call.command));
    expect(writes).toEqual([]);
  });
});

describe('4. a delivered record stays delivered', () => {
  it('a failure outcome written after delivered is refused by the store, and the record keeps its delivery', async () => {
    // Prepare: a delivered record.
    const store = new Store();
    const endpointId = await endpointAt('http://127.0.0.1:9/never');
    const createdAtMs = Date.now();
    const key = {
      endpointId,
      id: deliveryId('msg_00000000000000000000000001', endpointId, createdAtMs),
      eventId: 'msg_00000000000000000000000001',
      eventType: 'guarantee.regress',
      createdAtMs,
    };
    const at = new Date().toISOString();
    await store.recordOutcome({
      ...key,
      status: 'delivered',
      attempt: { attempt: 1, at, statusCode: 200, durationMs: 5 },
      redrive: false,
    });

    // Act: the other copy of the message got a 503 and records its failure.
    const lost = await store.recordOutcome({
      ...key,
      status: 'failed',
      attempt: { attempt: 2, at, statusCode: 503, durationMs: 5, error: 'receiver answered 503' },
      nextAttemptAt: new Date(Date.now() + 60_000).toISOString(),
      redrive: false,
    });
    const dead = await store.recordOutcome({
      ...key,
      status: 'dead',
      attempt: { attempt: 3, at, durationMs: 0, error: 'x' },
      redrive: false,
    });
    const record = await store.getDelivery(endpointId, key.id, true);
    const failedList = await harness.api<{ items: unknown[] }>(
      'GET',
      `/deliveries?endpointId=${endpointId}&status=failed`,
    );

    // Assess
    expect(lost).toBeUndefined();
    expect(dead).toBeUndefined();
    expect(record).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: at });
    expect(record?.nextAttemptAt).toBeUndefined();
    expect(failedList.body.items).toEqual([]);
  });

  it('two copies of one message, one answered 200 and one 503: delivered once, recorded delivered, nothing dead', async () => {
    // Prepare: the receiver answers the first request 200 and every later one 503.
    const target = await receiver((_, index) => (index === 0 ? { status: 200 } : { status: 503 }));
    const endpointId = await endpointAt(target.url);
    const sent = await harness.api<Accepted>('POST', '/events', {
      type: 'guarantee.copies',
      data: {},
      endpointIds: [endpointId],
    });
    const delivery = sent.body.deliveries[0]!;
    await target.waitFor(1);
    const event = await new Store().getEvent(sent.body.id);
    // Other tests leave their dead in the DLQ: nothing may be added to it here.
    const dlqBefore = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);

    // Act: a duplicate copy of the same message (as SQS, a redrive or a manual retry can make).
    await harness.sqs.send(
      new SendMessageCommand({
        QueueUrl: harness.stack.resources.deliveryQueueUrl,
        MessageBody: encodeMessage({
          deliveryId: delivery.id,
          eventId: sent.body.id,
          endpointId,
          eventType: 'guarantee.copies',
          createdAtMs: event?.createdAtMs ?? 0,
          body: target.received[0]?.body ?? '',
        }),
      }),
    );
    await eventually(async () =>
      (await harness.queueCounts(harness.stack.resources.deliveryQueueUrl)).visible +
        (await harness.queueCounts(harness.stack.resources.deliveryQueueUrl)).inFlight ===
      0
        ? true
        : undefined,
    );
    const read = await harness.api<{ status: string; attemptCount: number }>(
      'GET',
      `/deliveries/${delivery.id}`,
    );

    // Assess
    expect(read.body).toMatchObject({ status: 'delivered', attemptCount: 1 });
    const dlqAfter = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
    expect(dlqAfter.visible + dlqAfter.inFlight).toBe(dlqBefore.visible + dlqBefore.inFlight);
  });
});

describe('5. re-enabling starts a clean slate', () => {
  it('PATCH enabled:true clears the failure run and the circuit, not only the streak', async () => {
    // Prepare: an endpoint with a failure run and an open circuit, disabled.
    const store = new Store();
    const endpointId = await endpointAt('http://127.0.0.1:9/never');
    await store.addEndpointFailure(endpointId, '2026-01-01T00:00:00.000Z');
    await store.openCircuit(endpointId, Date.now() + 600_000);
    await harness.api('PATCH', `/endpoints/${endpointId}`, { enabled: false });

    // Act
    const enabled = await harness.api('PATCH', `/endpoints/${endpointId}`, { enabled: true });

    // Assess
    expect(enabled.body).toMatchObject({
      enabled: true,
      failureStreak: 0,
      failingSince: null,
      circuitOpenUntil: null,
      disabledReason: null,
    });
  });

  it('a success clears failingSince even when the streak is already 0', async () => {
    // Prepare
    const store = new Store();
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    await store.updateEndpoint(endpointId, { failureStreak: 0, failingSince: '2026-01-01T00:00:00.000Z' });

    // Act
    await harness.api('POST', '/events', { type: 'guarantee.clear', data: {}, endpointIds: [endpointId] });
    await target.waitFor(1);
    const endpoint = await eventually(async () => {
      const read = await store.getEndpoint(endpointId);
      return read?.failingSince === undefined ? read : undefined;
    });

    // Assess
    expect(endpoint).toMatchObject({ failureStreak: 0 });
  });
});

describe('7. recover is a resumable job', () => {
  it('queues dead deliveries page by page, skips one whose own retry is scheduled, and reports progress', async () => {
    // Prepare: three dead deliveries, then a fourth that failed once and has its retry ahead.
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 500, body: 'down' }));
    const endpointId = await endpointAt(target.url);
    const since = new Date(Date.now() - 1000).toISOString();
    const dead: string[] = [];
    for (let n = 0; n < 3; n++) {
      const sent = await harness.api<Accepted>('POST', '/events', {
        type: 'guarantee.recover',
        data: { n },
        endpointIds: [endpointId],
      });
      dead.push(sent.body.deliveries[0]!.id);
    }
    for (const id of dead) {
      await eventually(async () =>
        (await harness.api<{ status: string }>('GET', `/deliveries/${id}`)).body.status === 'dead'
          ? true
          : undefined,
      );
    }
    const store = new Store();
    const scheduledId = deliveryId('msg_00000000000000000000000002', endpointId, Date.now());
    await store.recordOutcome({
      endpointId,
      id: scheduledId,
      eventId: 'msg_00000000000000000000000002',
      eventType: 'guarantee.recover',
      createdAtMs: Date.now(),
      status: 'failed',
      attempt: { attempt: 1, at: new Date().toISOString(), durationMs: 1, statusCode: 500, error: 'down' },
      nextAttemptAt: new Date(Date.now() + 3_600_000).toISOString(),
      redrive: false,
    });
    await harness.api('PATCH', `/endpoints/${endpointId}`, { enabled: true });
    healthy = true;
    const before = target.received.length;

    // Act: pages of two.
    type Page = { queued: number; skipped: number; done: boolean; nextCursor: string | null };
    const path = `/endpoints/${endpointId}/recover?since=${encodeURIComponent(since)}&limit=2`;
    const first = await harness.api<Page>('POST', path);
    const second = await harness.api<Page>('POST', `${path}&cursor=${first.body.nextCursor}`);
    const third =
      second.body.done || !second.body.nextCursor
        ? undefined
        : await harness.api<Page>('POST', `${path}&cursor=${second.body.nextCursor}`);
    await target.waitFor(before + 3);

    // Assess
    expect(first.status).toBe(202);
    expect(first.body.done).toBe(false);
    const pages = [first.body, second.body, ...(third ? [third.body] : [])];
    expect(pages.reduce((sum, page) => sum + page.queued, 0)).toBe(3);
    expect(pages.reduce((sum, page) => sum + page.skipped, 0)).toBe(1);
    expect(pages.at(-1)?.done).toBe(true);
    for (const id of dead) {
      await eventually(async () =>
        (await harness.api<{ status: string }>('GET', `/deliveries/${id}`)).body.status === 'delivered'
          ? true
          : undefined,
      );
    }
    expect((await store.getDelivery(endpointId, scheduledId, true))?.status).toBe('failed');
  }, 60_000);

  it('enqueues before it marks: a failed mark leaves a message that is delivered, never a pending record with none', async () => {
    // Prepare: a dead delivery.
    let healthy = false;
    const target = await receiver(() => (healthy ? { status: 200 } : { status: 500 }));
    const endpointId = await endpointAt(target.url);
    const sent = await harness.api<Accepted>('POST', '/events', {
      type: 'guarantee.mark',
      data: {},
      endpointIds: [endpointId],
    });
    const id = sent.body.deliveries[0]!.id;
    await eventually(async () =>
      (await harness.api<{ status: string }>('GET', `/deliveries/${id}`)).body.status === 'dead'
        ? true
        : undefined,
    );
    await harness.api('PATCH', `/endpoints/${endpointId}`, { enabled: true });
    healthy = true;
    harness.interceptors.push((call) => {
      if (
        call.fn === 'api' &&
        call.command === 'UpdateItemCommand' &&
        JSON.stringify(call.input).includes('retryQueuedAt')
      ) {
        throw new Error('function died before the mark');
      }
    });

    // Act
    const retried = await harness.api('POST', `/deliveries/${id}/retry`);
    harness.interceptors.length = 0;

    // Assess
    expect(retried.status).toBe(500);
    const delivered = await eventually(async () => {
      const read = await harness.api<{ status: string }>('GET', `/deliveries/${id}`);
      return read.body.status === 'delivered' ? read.body : undefined;
    });
    expect(delivered.status).toBe('delivered');
  }, 40_000);
});

describe('8. the idempotency window', () => {
  it('a retry one second after the 202 gets the original answer at once, not a 409', async () => {
    const target = await receiver();
    const endpointId = await endpointAt(target.url);
    const event = { type: 'guarantee.replay', data: { n: 8 }, endpointIds: [endpointId] };
    const key = `replay-${Date.now()}`;

    const first = await harness.api<Accepted>('POST', '/events', event, { 'idempotency-key': key });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const replay = await harness.api<Accepted>('POST', '/events', event, { 'idempotency-key': key });
    const otherBody = await harness.api(
      'POST',
      '/events',
      { ...event, data: { n: 9 } },
      { 'idempotency-key': key },
    );
    await target.waitFor(1);

    expect(first.status).toBe(202);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(otherBody.status).toBe(422);
    expect(webhookIds(target)).toEqual([first.body.id]);
  });
});
