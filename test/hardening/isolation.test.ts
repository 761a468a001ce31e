/**
 * Isolation rules of the delivery worker and the backlog release, on the in-memory store (which
 * keeps the real store's conditions and removals): an open circuit holds deliveries out of the
 * queue instead of deferring them in flight, the budget counts attempts actually sent, slow
 * answers count against the circuit, a rateLimit sends everything through the backlog, and the
 * release sends a backlog on oldest first at its rate, with the probe first.
 */
import { describe, expect, it } from 'vitest';
import type { HttpAnswer } from '../../lambdas/adapters/http-sender.ts';
import type { EndpointRecord } from '../../lambdas/adapters/store.ts';
import {
  BACKLOG_EMPTY_GRACE_MS,
  BACKLOG_RELEASE_WINDOW_SECONDS,
  MAX_IN_FLIGHT_PER_ENDPOINT,
  SLOW_ANSWER_MS,
} from '../../lambdas/core/config.ts';
import { type DeliveryMessage, encodeRelease } from '../../lambdas/core/payload.ts';
import { releaseBacklog } from '../../lambdas/delivery/backlog.ts';
import { DeliveryWorker } from '../../lambdas/delivery/worker.ts';
import {
  deliveryMessage,
  FakeQueue,
  FakeSecrets,
  FakeStore,
  MemoryLogger,
  seedEndpoint,
  sqsRecord,
} from './fakes.ts';

const BREAKER = { failureThreshold: 3, openSeconds: 60, disableAfterSeconds: 5 * 24 * 3600 };
const T0 = Date.parse('2026-12-01T00:00:00.000Z');

function setup(
  answer: Partial<HttpAnswer> & { statusCode: number } = { statusCode: 200 },
  /** Replaces the canned answer: each request's answer, when it comes. */
  respond?: () => Promise<HttpAnswer>,
) {
  let clock = T0;
  const store = new FakeStore();
  const secrets = new FakeSecrets();
  const queue = new FakeQueue();
  const sent: string[] = [];
  const endpoint = seedEndpoint(store, secrets, 'https://receiver.example/hook');
  const metrics: string[] = [];
  const worker = new DeliveryWorker({
    store,
    secrets,
    sender: {
      post: async (_url, headers) => {
        sent.push(String(headers['webhook-id']));
        return respond ? respond() : { excerpt: '', durationMs: 3, ...answer };
      },
    },
    queue,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/isolation',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/isolation-dlq',
    policy: { scheduleSeconds: [5, 10, 30], maxAttempts: 4 },
    breaker: BREAKER,
    isolation: { releasePerSecond: 10 },
    logger: new MemoryLogger(),
    random: () => 0.5,
    now: () => clock,
    metric: (name, _unit, value) => {
      for (let n = 0; n < value; n++) metrics.push(name);
    },
  });
  const patch = (fields: Partial<EndpointRecord>) =>
    store.endpoints.set(endpoint.id, { ...(store.endpoints.get(endpoint.id) as EndpointRecord), ...fields });
  return {
    store,
    queue,
    worker,
    endpoint,
    sent,
    metrics,
    patch,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

/** A message seen `receiveCount` times, as SQS would report it. */
const received = (message: DeliveryMessage, receiveCount = 1) => sqsRecord(message, { receiveCount });

describe('an open circuit holds, it does not defer', () => {
  it('holds the delivery in the backlog: nothing sent, nothing in flight, no attempt counted', async () => {
    // Prepare
    const t = setup();
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 + 60_000 });
    const message = deliveryMessage(t.endpoint);

    // Act
    const result = await t.worker.processBatch([received(message)]);

    // Assess: the message is deleted (no batch failure, no visibility change)...
    expect(result.batchItemFailures).toEqual([]);
    expect(t.queue.deferred).toEqual([]);
    expect(t.sent).toEqual([]);
    // ...and the delivery waits in its endpoint's backlog, pending, with no attempt.
    expect(t.store.deliveries.get(message.deliveryId)).toMatchObject({
      status: 'pending',
      attempts: 0,
      waitKey: `held#${t.endpoint.id}`,
      heldReason: 'circuit_open',
    });
    expect(t.store.endpoints.get(t.endpoint.id)?.backlogShard).toBe('held');
    // The first hold lists the endpoint and queues its release once.
    expect(t.queue.releases).toEqual([{ endpointId: t.endpoint.id, delaySeconds: 0 }]);
    expect(t.metrics).toContain('HeldCircuitOpen');
  });

  it('a held delivery keeps its budget: released later, its first attempt is attempt 1', async () => {
    const t = setup({ statusCode: 500 });
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 + 60_000 });
    const message = deliveryMessage(t.endpoint);
    await t.worker.processBatch([received(message, 30)]);

    // The circuit closes; the delivery comes back released, after 30 receives of history.
    t.patch({ failureStreak: 0, circuitOpenUntil: undefined });
    const result = await t.worker.processBatch([received({ ...message, reason: 'released' }, 1)]);

    // Attempt 1 of 4 failed: retried, not dead, and out of the backlog.
    expect(t.sent).toHaveLength(1);
    expect(result.batchItemFailures).toHaveLength(1);
    expect(t.store.deliveries.get(message.deliveryId)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(t.store.deliveries.get(message.deliveryId)?.waitKey).toBeUndefined();
  });

  it('a half-open circuit lets one probe through; the others of the batch are held', async () => {
    const t = setup();
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 - 1 });
    const first = deliveryMessage(t.endpoint, { n: 1 });
    const second = deliveryMessage(t.endpoint, { n: 2 });

    await t.worker.processBatch([received(first), received(second)]);

    expect(t.sent).toHaveLength(1);
    const statuses = [first, second]
      .map((message) => t.store.deliveries.get(message.deliveryId)?.status)
      .sort();
    expect(statuses).toEqual(['delivered', 'pending']);
    const heldOne = [first, second].find(
      (message) => t.store.deliveries.get(message.deliveryId)?.status === 'pending',
    );
    expect(t.store.deliveries.get(heldOne?.deliveryId ?? '')?.heldReason).toBe('circuit_open');
  });

  it("a probe's success closes the circuit and queues the backlog's release", async () => {
    const t = setup();
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 - 1, backlogShard: 'held' });
    const probe = deliveryMessage(t.endpoint);

    await t.worker.processBatch([received({ ...probe, reason: 'probe' })]);

    const endpoint = t.store.endpoints.get(t.endpoint.id);
    expect(endpoint?.failureStreak).toBe(0);
    expect(endpoint?.circuitOpenUntil).toBeUndefined();
    expect(t.queue.releases).toEqual([{ endpointId: t.endpoint.id, delaySeconds: 0 }]);
  });

  it('a redriven delivery (its record dead) tests an open circuit at once instead of waiting it out', async () => {
    const t = setup();
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 + 600_000 });
    const message = deliveryMessage(t.endpoint);
    t.store.deliveries.set(message.deliveryId, {
      endpointId: t.endpoint.id,
      id: message.deliveryId,
      eventId: message.eventId,
      eventType: message.eventType,
      createdAtMs: message.createdAtMs,
      status: 'dead',
      attempts: 4,
    });

    await t.worker.processBatch([received(message)]);

    expect(t.sent).toEqual([message.eventId]);
    expect(t.store.deliveries.get(message.deliveryId)).toMatchObject({ status: 'delivered', attempts: 5 });
  });
});

describe('a record that waited for a slot', () => {
  it('checks the circuit again once it has the slot: opened meanwhile by the others, it is held, not sent', async () => {
    // Prepare: every request hangs until the test answers it (500), one at a time.
    const answers: Array<(answer: HttpAnswer) => void> = [];
    const t = setup(undefined, () => new Promise((resolve) => answers.push(resolve)));
    const messages = Array.from({ length: MAX_IN_FLIGHT_PER_ENDPOINT * 2 }, (_, n) =>
      deliveryMessage(t.endpoint, { n }),
    );
    const settled = () => new Promise((resolve) => setTimeout(resolve, 0));
    const fail = async (index: number) => {
      answers[index]?.({ statusCode: 500, excerpt: 'down', durationMs: 3 });
      await settled();
    };

    // Act: the first slots' requests fail, one after the other, until the circuit opens; each
    // answer hands its slot to a waiting record before its failure is counted.
    const batch = t.worker.processBatch(messages.map((message) => received(message)));
    await settled();
    const inFlightAtFirst = t.sent.length;
    for (let index = 0; index < BREAKER.failureThreshold; index++) await fail(index);
    const circuitOpenUntil = t.store.endpoints.get(t.endpoint.id)?.circuitOpenUntil;
    const sentWhenOpened = t.sent.length;
    // The circuit is open; the slots now free up for the records still waiting.
    for (let index = BREAKER.failureThreshold; index < MAX_IN_FLIGHT_PER_ENDPOINT * 2; index++) {
      await fail(index);
    }
    await batch;

    // Assess: the slot limit held the rest back, and the circuit opened after the threshold.
    expect(inFlightAtFirst).toBe(MAX_IN_FLIGHT_PER_ENDPOINT);
    expect(circuitOpenUntil).toBe(T0 + BREAKER.openSeconds * 1000);
    // Nothing was sent after the circuit opened: the records that got a slot since are held.
    expect(t.sent).toHaveLength(sentWhenOpened);
    const held = messages.filter(
      (message) => t.store.deliveries.get(message.deliveryId)?.heldReason === 'circuit_open',
    );
    expect(held).toHaveLength(messages.length - sentWhenOpened);
    for (const message of held) {
      expect(t.store.deliveries.get(message.deliveryId)).toMatchObject({ status: 'pending', attempts: 0 });
    }
    expect(t.metrics.filter((name) => name === 'HeldCircuitOpen')).toHaveLength(held.length);
    expect(t.metrics.filter((name) => name === 'DeliveryAttempts')).toHaveLength(sentWhenOpened);
  });

  it('a failure to read the endpoint at that check is no attempt: the record comes back soon, unsent', async () => {
    const answers: Array<(answer: HttpAnswer) => void> = [];
    const t = setup(undefined, () => new Promise((resolve) => answers.push(resolve)));
    // One record more than the slots the first failures free before the circuit opens.
    const messages = Array.from(
      { length: MAX_IN_FLIGHT_PER_ENDPOINT + BREAKER.failureThreshold + 1 },
      (_, n) => deliveryMessage(t.endpoint, { n }),
    );
    const records = messages.map((message) => received(message));
    const settled = () => new Promise((resolve) => setTimeout(resolve, 0));
    const batch = t.worker.processBatch(records);
    await settled();
    // The first failures open the circuit, and drop the worker's copy of the endpoint; the
    // store then fails, so the record waiting for a slot cannot look at the circuit.
    for (let index = 0; index < BREAKER.failureThreshold; index++) {
      answers[index]?.({ statusCode: 500, excerpt: 'down', durationMs: 3 });
      await settled();
    }
    t.store.getEndpoint = async () => {
      throw new Error('simulated DynamoDB failure');
    };
    for (let index = BREAKER.failureThreshold; index < answers.length; index++) {
      answers[index]?.({ statusCode: 500, excerpt: 'down', durationMs: 3 });
      await settled();
    }
    const result = await batch;

    // The last record waited for a slot: never sent, nothing recorded, back in 10 s.
    const last = messages.at(-1) as DeliveryMessage;
    const lastRecord = records.at(-1) as ReturnType<typeof received>;
    expect(t.sent).toHaveLength(messages.length - 1);
    expect(t.sent).not.toContain(last.eventId);
    expect(t.store.deliveries.get(last.deliveryId)).toBeUndefined();
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toContain(lastRecord.messageId);
    expect(t.queue.deferred.find((entry) => entry.receiptHandle === lastRecord.receiptHandle)?.seconds).toBe(
      10,
    );
  });
});

describe('the budget counts attempts sent, in the current schedule', () => {
  it('a redriven dead delivery starts a new schedule: its failure is retried, with the base recorded', async () => {
    const t = setup({ statusCode: 500 });
    const message = deliveryMessage(t.endpoint);
    t.store.deliveries.set(message.deliveryId, {
      endpointId: t.endpoint.id,
      id: message.deliveryId,
      eventId: message.eventId,
      eventType: message.eventType,
      createdAtMs: message.createdAtMs,
      status: 'dead',
      attempts: 4,
    });

    const result = await t.worker.processBatch([received(message)]);

    expect(result.batchItemFailures).toHaveLength(1);
    expect(t.store.deliveries.get(message.deliveryId)).toMatchObject({
      status: 'failed',
      attempts: 5,
      scheduleBase: 4,
      redrives: 1,
    });
    // Position 1 of the new schedule: the first delay (5 s), not the budget's end.
    expect(t.queue.deferred.at(-1)?.seconds).toBe(5);
  });

  it('after the base, the budget ends at the same count: attempts 8 of base 4 is the last', async () => {
    const t = setup({ statusCode: 500 });
    const message = deliveryMessage(t.endpoint);
    t.store.deliveries.set(message.deliveryId, {
      endpointId: t.endpoint.id,
      id: message.deliveryId,
      eventId: message.eventId,
      eventType: message.eventType,
      createdAtMs: message.createdAtMs,
      status: 'failed',
      attempts: 7,
      scheduleBase: 4,
    });

    const result = await t.worker.processBatch([received(message, 2)]);

    expect(result.batchItemFailures).toEqual([]);
    expect(t.store.deliveries.get(message.deliveryId)).toMatchObject({ status: 'dead', attempts: 8 });
    expect(t.queue.deadLettered).toHaveLength(1);
  });
});

describe('slow answers count against the circuit', () => {
  it('a 2xx slower than the threshold is delivered but adds to the failure streak, and opens the circuit', async () => {
    const t = setup({ statusCode: 200, durationMs: SLOW_ANSWER_MS + 1 });
    for (let n = 0; n < BREAKER.failureThreshold; n++) {
      await t.worker.processBatch([received(deliveryMessage(t.endpoint, { n }))]);
    }

    const endpoint = t.store.endpoints.get(t.endpoint.id);
    expect([...t.store.deliveries.values()].every((delivery) => delivery.status === 'delivered')).toBe(true);
    expect(endpoint?.failureStreak).toBe(BREAKER.failureThreshold);
    expect(endpoint?.circuitOpenUntil).toBe(T0 + BREAKER.openSeconds * 1000);
    expect(t.metrics.filter((name) => name === 'SlowAnswers')).toHaveLength(BREAKER.failureThreshold);
  });

  it('an answer just under the threshold ends a failure run as any success does', async () => {
    const t = setup({ statusCode: 200, durationMs: SLOW_ANSWER_MS });
    t.patch({ failureStreak: 2 });

    await t.worker.processBatch([received(deliveryMessage(t.endpoint))]);

    expect(t.store.endpoints.get(t.endpoint.id)?.failureStreak).toBe(0);
  });
});

describe('rateLimit', () => {
  it('holds every delivery not released by the releaser, and sends what the releaser sends', async () => {
    const t = setup();
    t.patch({ rateLimit: 5 });
    const message = deliveryMessage(t.endpoint);

    await t.worker.processBatch([received(message)]);
    expect(t.sent).toEqual([]);
    expect(t.store.deliveries.get(message.deliveryId)?.heldReason).toBe('rate_limited');

    await t.worker.processBatch([received({ ...message, reason: 'released' })]);
    expect(t.sent).toEqual([message.eventId]);
  });
});

describe('releasing a backlog', () => {
  function held(t: ReturnType<typeof setup>, count: number): DeliveryMessage[] {
    const messages: DeliveryMessage[] = [];
    for (let n = 0; n < count; n++) {
      const message = { ...deliveryMessage(t.endpoint, { n }), createdAtMs: T0 + n };
      const withId = {
        ...message,
        deliveryId: `${String(T0 + n).padStart(13, '0')}_${message.eventId}_${t.endpoint.id}`,
      };
      messages.push(withId);
      t.store.events.set(withId.eventId, {
        id: withId.eventId,
        type: withId.eventType,
        createdAtMs: withId.createdAtMs,
        endpointIds: [t.endpoint.id],
        fingerprint: 'f',
        body: withId.body,
      });
      void t.store.holdDelivery(
        {
          endpointId: withId.endpointId,
          id: withId.deliveryId,
          eventId: withId.eventId,
          eventType: withId.eventType,
          createdAtMs: withId.createdAtMs,
        },
        'circuit_open',
        T0,
      );
    }
    t.patch({ backlogShard: 'held' });
    return messages;
  }

  const deps = (t: ReturnType<typeof setup>, releasePerSecond = 10) => ({
    store: t.store,
    enqueue: t.queue.enqueue,
    requeueRelease: t.queue.release,
    breaker: BREAKER,
    releasePerSecond,
    now: t.now,
    random: () => 0.5,
  });

  it('closed: a window of the oldest, spread at the rate with jitter, taken off the backlog; the next release queued', async () => {
    const t = setup();
    const messages = held(t, 250);

    const report = await releaseBacklog(deps(t), t.endpoint.id);

    const window = 10 * BACKLOG_RELEASE_WINDOW_SECONDS;
    expect(report).toEqual({ endpointId: t.endpoint.id, outcome: 'released', released: window });
    expect(t.queue.sent.map((entry) => entry.message.deliveryId)).toEqual(
      messages.slice(0, window).map((message) => message.deliveryId),
    );
    expect(t.queue.sent.every((entry) => entry.message.reason === 'released')).toBe(true);
    // At most the rate in any one second of delay: 10 per second, over the window.
    const perSecond = new Map<number, number>();
    for (const entry of t.queue.sent) {
      const second = Math.floor(entry.delaySeconds);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(10);
    // Starting afresh, the release starts up to a second late (jitter: 0.5 s here).
    expect(Math.min(...t.queue.sent.map((entry) => entry.delaySeconds))).toBe(1);
    expect(Math.max(...t.queue.sent.map((entry) => entry.delaySeconds))).toBe(BACKLOG_RELEASE_WINDOW_SECONDS);
    expect(await t.store.heldDeliveries(t.endpoint.id, 1000)).toHaveLength(250 - window);
    // The next release comes when the booked seconds are over (the window, plus the jitter).
    expect(t.queue.releases).toEqual([
      { endpointId: t.endpoint.id, delaySeconds: BACKLOG_RELEASE_WINDOW_SECONDS + 1 },
    ]);
  });

  it('a release that reaches its send late moves its seconds on, instead of sending the missed ones at once', async () => {
    const t = setup();
    held(t, 60);
    // The backlog's Query takes 2.5 s (a loaded table): the first booked second is past by then.
    const slow = {
      ...deps(t),
      store: Object.assign(Object.create(t.store) as typeof t.store, {
        heldDeliveries: async (...args: Parameters<typeof t.store.heldDeliveries>) => {
          const found = await t.store.heldDeliveries(...args);
          t.advance(2500);
          return found;
        },
      }),
    };

    const sentAt = t.now() + 2500;
    const report = await releaseBacklog(slow, t.endpoint.id);

    expect(report).toMatchObject({ released: 60 });
    const perSecond = new Map<number, number>();
    for (const entry of t.queue.sent)
      perSecond.set(entry.delaySeconds, (perSecond.get(entry.delaySeconds) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(10);
    expect([...perSecond.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    // The booking moved on with it: the next release starts after the sixth second from the send.
    const endpoint = await t.store.getEndpoint(t.endpoint.id);
    expect(endpoint?.releasedUntilMs).toBe(sentAt + 6000);
  });

  it('a second releaser while the first holds the lease sends nothing', async () => {
    const t = setup();
    held(t, 500);
    const first = await releaseBacklog(deps(t), t.endpoint.id);

    const second = await releaseBacklog(deps(t), t.endpoint.id);
    t.advance(BACKLOG_RELEASE_WINDOW_SECONDS * 1000);
    const next = await releaseBacklog(deps(t), t.endpoint.id);

    expect(first.outcome).toBe('released');
    expect(second).toMatchObject({ outcome: 'busy', released: 0 });
    // When the window is over (the queued release arrives), the lease has run out.
    expect(next.outcome).toBe('released');
  });

  it('the last window empties the backlog; the endpoint leaves the byBacklog index a minute later, with no hold between', async () => {
    const t = setup();
    held(t, 4);

    const report = await releaseBacklog(deps(t), t.endpoint.id);
    const listedAfterFirst = t.store.endpoints.get(t.endpoint.id)?.backlogShard;
    t.advance(BACKLOG_EMPTY_GRACE_MS);
    await releaseBacklog(deps(t), t.endpoint.id);

    expect(report).toMatchObject({ outcome: 'drained', released: 4 });
    expect(listedAfterFirst).toBe('held');
    expect(t.store.endpoints.get(t.endpoint.id)?.backlogShard).toBeUndefined();
    expect(t.queue.releases).toEqual([]);
  });

  it('a hold between two empty releases keeps the endpoint listed', async () => {
    const t = setup();
    held(t, 1);
    await releaseBacklog(deps(t), t.endpoint.id);
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 + 3_600_000 });
    await t.worker.processBatch([received(deliveryMessage(t.endpoint))]);
    t.patch({ failureStreak: 0, circuitOpenUntil: undefined });
    t.advance(BACKLOG_EMPTY_GRACE_MS);

    // The held one is found and released; had the index missed it, the mark would still stop the clear.
    await t.store.clearBacklog(t.endpoint.id, T0);

    expect(t.store.endpoints.get(t.endpoint.id)?.backlogShard).toBe('held');
  });

  it('open: nothing sent, the release comes back when the circuit turns half-open', async () => {
    const t = setup();
    held(t, 4);
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 + 42_000 });

    const report = await releaseBacklog(deps(t), t.endpoint.id);

    expect(report.outcome).toBe('open');
    expect(t.queue.sent).toEqual([]);
    expect(t.queue.releases).toEqual([{ endpointId: t.endpoint.id, delaySeconds: 42 }]);
  });

  it('half-open: the oldest goes out alone, as the probe', async () => {
    const t = setup();
    const messages = held(t, 4);
    t.patch({ failureStreak: 3, circuitOpenUntil: T0 - 1 });

    const report = await releaseBacklog(deps(t), t.endpoint.id);

    expect(report).toMatchObject({ outcome: 'probe', released: 1 });
    expect(t.queue.sent.map((entry) => [entry.message.deliveryId, entry.message.reason])).toEqual([
      [messages[0]?.deliveryId, 'probe'],
    ]);
  });

  it("an endpoint's own rateLimit sets the release rate", async () => {
    const t = setup();
    held(t, 100);
    t.patch({ rateLimit: 2 });

    await releaseBacklog(deps(t), t.endpoint.id);

    expect(t.queue.sent).toHaveLength(2 * BACKLOG_RELEASE_WINDOW_SECONDS);
  });

  it('a disabled endpoint drains too (into the DLQ, through the worker): nothing held stays held', async () => {
    const t = setup();
    held(t, 3);
    t.patch({ enabled: false });

    const report = await releaseBacklog(deps(t), t.endpoint.id);
    await t.worker.processBatch(t.queue.sent.map((entry) => received(entry.message)));

    expect(report.outcome).toBe('drained');
    expect(t.queue.deadLettered).toHaveLength(3);
    expect(await t.store.heldDeliveries(t.endpoint.id, 10)).toEqual([]);
  });

  it('the worker carries out a release message', async () => {
    const t = setup();
    held(t, 2);

    await t.worker.processBatch([sqsRecord(encodeRelease(t.endpoint.id))]);

    expect(t.queue.sent).toHaveLength(2);
    expect(t.metrics.filter((name) => name === 'BacklogReleased')).toHaveLength(2);
  });
});
