/**
 * The backlog release's times and bookkeeping, step by step against a recording store (the
 * store's own conditions are covered on moto in test/integration/isolation.test.ts and on the
 * fakes in test/hardening/isolation.test.ts): how long it holds the release lease, when it comes
 * back, which deliveries it takes off the backlog, and what it sends with which delays.
 */
import { describe, expect, it } from 'vitest';
import type { DeliveryRecord, EndpointRecord, EventRecord } from '../../lambdas/adapters/store.ts';
import { BACKLOG_EMPTY_GRACE_MS } from '../../lambdas/core/config.ts';
import type { DeliveryMessage } from '../../lambdas/core/payload.ts';
import { type BacklogDeps, releaseBacklog, releaseRateOf } from '../../lambdas/delivery/backlog.ts';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const BREAKER = { failureThreshold: 3, openSeconds: 60, disableAfterSeconds: 86_400 };
const EP = 'ep_1';

const endpointRecord = (fields: Partial<EndpointRecord> = {}): EndpointRecord => ({
  id: EP,
  url: 'https://r.example/hook',
  enabled: true,
  secretName: 's',
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-01T00:00:00.000Z',
  ...fields,
});

const held = (n: number, eventId = `msg_${n}`): DeliveryRecord => ({
  endpointId: EP,
  id: `dlv_${n}`,
  eventId,
  eventType: 'a',
  status: 'pending',
  attempts: 1,
  createdAtMs: T0 - 60_000,
  heldAtMs: T0 - 1000 * n,
});

function setup(options: {
  endpoint?: EndpointRecord;
  claim?: boolean;
  /** What each heldDeliveries call answers, in turn (then nothing). */
  answers?: DeliveryRecord[][];
  missingEvents?: string[];
  unsent?: string[];
  emptySince?: number;
  random?: number;
}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const sends: Array<{ messages: readonly DeliveryMessage[]; deadlineMs: number; delays: number[] }> = [];
  const answers = [...(options.answers ?? [])];
  const deps: BacklogDeps = {
    store: {
      claimRelease: async (id, now, until) => {
        calls.push(['claimRelease', id, now, until]);
        return options.claim ?? true;
      },
      getEndpoint: async () => options.endpoint,
      heldDeliveries: async (id, limit) => {
        calls.push(['heldDeliveries', id, limit]);
        return (answers.shift() ?? []).slice(0, limit);
      },
      getEvent: async (id) => {
        calls.push(['getEvent', id]);
        return options.missingEvents?.includes(id)
          ? undefined
          : ({
              id,
              type: 'a',
              createdAtMs: T0,
              endpointIds: [EP],
              fingerprint: 'f',
              body: `{"id":"${id}"}`,
            } as EventRecord);
      },
      unholdDelivery: async (endpointId, id, heldAtMs) => {
        calls.push(['unholdDelivery', endpointId, id, heldAtMs]);
      },
      bookRelease: async (id, bookedUntil, leaseUntil) => {
        calls.push(['bookRelease', id, bookedUntil, leaseUntil]);
      },
      noteBacklogEmpty: async (id, now) => {
        calls.push(['noteBacklogEmpty', id, now]);
        return options.emptySince ?? now;
      },
      clearBacklog: async (id, since) => {
        calls.push(['clearBacklog', id, since]);
      },
    },
    enqueue: async (messages, { deadlineMs, delaySeconds }) => {
      sends.push({ messages, deadlineMs, delays: messages.map((_, index) => delaySeconds(index)) });
      return options.unsent ?? [];
    },
    requeueRelease: async (id, delaySeconds) => {
      calls.push(['requeueRelease', id, delaySeconds]);
    },
    breaker: BREAKER,
    releasePerSecond: 2,
    now: () => T0,
    random: () => options.random ?? 0,
  };
  const named = (name: string) => calls.filter(([call]) => call === name).map(([, ...args]) => args);
  return { deps, calls, sends, named };
}

describe('releaseBacklog', () => {
  it('holds the lease until a second before the window ends, and does nothing when another worker has it', async () => {
    const t = setup({ claim: false, endpoint: endpointRecord() });
    expect(await releaseBacklog(t.deps, EP)).toEqual({ endpointId: EP, outcome: 'busy', released: 0 });
    expect(t.named('claimRelease')).toEqual([[EP, T0, T0 + 19_000]]);
    expect(t.calls).toHaveLength(1);
    expect(t.sends).toEqual([]);
  });

  it('while the circuit is open, keeps the lease until just before it turns half-open and comes back then', async () => {
    const t = setup({
      endpoint: endpointRecord({ failureStreak: 3, circuitOpenUntil: T0 + 30_000, releasedUntilMs: T0 - 5 }),
    });
    expect(await releaseBacklog(t.deps, EP)).toEqual({ endpointId: EP, outcome: 'open', released: 0 });
    expect(t.named('bookRelease')).toEqual([[EP, T0 - 5, T0 + 29_500]]);
    expect(t.named('requeueRelease')).toEqual([[EP, 30]]);
    expect(t.sends).toEqual([]);
  });

  it('half-open, sends the oldest held delivery as the probe at once and waits an open period', async () => {
    const t = setup({
      endpoint: endpointRecord({ failureStreak: 3, circuitOpenUntil: T0 - 1 }),
      answers: [[held(1), held(2)]],
    });
    expect(await releaseBacklog(t.deps, EP)).toEqual({ endpointId: EP, outcome: 'probe', released: 1 });
    expect(t.named('heldDeliveries')).toEqual([[EP, 1]]);
    expect(t.sends).toHaveLength(1);
    expect(t.sends[0]?.messages.map((m) => [m.deliveryId, m.reason, m.body])).toEqual([
      ['dlv_1', 'probe', '{"id":"msg_1"}'],
    ]);
    expect(t.sends[0]?.delays).toEqual([0]);
    expect(t.sends[0]?.deadlineMs).toBe(T0 + 10_000);
    expect(t.named('unholdDelivery')).toEqual([[EP, 'dlv_1', T0 - 1000]]);
    expect(t.named('bookRelease')).toEqual([[EP, 0, T0 + 59_500]]);
    expect(t.named('requeueRelease')).toEqual([[EP, 60]]);
  });

  it('sends nothing while its seconds are booked a window or more ahead, and comes back when they are within one', async () => {
    const ahead = setup({ endpoint: endpointRecord({ releasedUntilMs: T0 + 25_000 }), answers: [[held(1)]] });
    expect(await releaseBacklog(ahead.deps, EP)).toEqual({ endpointId: EP, outcome: 'booked', released: 0 });
    expect(ahead.named('bookRelease')).toEqual([[EP, T0 + 25_000, T0 + 5_500]]);
    expect(ahead.named('requeueRelease')).toEqual([[EP, 6]]);
    expect(ahead.sends).toEqual([]);

    const exactly = setup({
      endpoint: endpointRecord({ releasedUntilMs: T0 + 20_000 }),
      answers: [[held(1)]],
    });
    expect((await releaseBacklog(exactly.deps, EP)).outcome).toBe('booked');
    expect(exactly.named('requeueRelease')).toEqual([[EP, 1]]);

    const within = setup({
      endpoint: endpointRecord({ releasedUntilMs: T0 + 19_999 }),
      answers: [[held(1)]],
    });
    expect((await releaseBacklog(within.deps, EP)).released).toBe(1);
  });

  it('continues from booked seconds without the fresh start jitter', async () => {
    const t = setup({
      endpoint: endpointRecord({ releasedUntilMs: T0 + 3_000 }),
      answers: [[held(1), held(2), held(3)]],
      random: 0.9,
    });
    await releaseBacklog(t.deps, EP);
    // Rate 2: two in the first free second, the third in the next.
    expect(t.sends[0]?.delays).toEqual([3, 3, 4]);
    expect(t.named('bookRelease')).toEqual([[EP, T0 + 5_000, T0 + 4_000]]);
  });

  it('starts a fresh release up to a second late at random', async () => {
    const t = setup({ endpoint: endpointRecord(), answers: [[held(1), held(2), held(3)]], random: 0.9 });
    await releaseBacklog(t.deps, EP);
    expect(t.sends[0]?.delays).toEqual([1, 1, 2]);
    expect(t.named('bookRelease')).toEqual([[EP, T0 + 2_900, T0 + 1_900]]);
  });

  it('reads each event once, takes expired and sent deliveries off the backlog and keeps the unsent', async () => {
    const t = setup({
      endpoint: endpointRecord(),
      answers: [[held(1, 'msg_a'), held(2, 'msg_a'), held(3, 'msg_gone'), held(4, 'msg_b')]],
      missingEvents: ['msg_gone'],
      unsent: ['dlv_4'],
    });
    const report = await releaseBacklog(t.deps, EP);
    expect(report.released).toBe(3);
    expect(t.named('getEvent')).toEqual([['msg_a'], ['msg_gone'], ['msg_b']]);
    expect(t.sends[0]?.messages.map((m) => m.deliveryId)).toEqual(['dlv_1', 'dlv_2', 'dlv_4']);
    expect(t.named('unholdDelivery').map(([, id]) => id)).toEqual(['dlv_1', 'dlv_2', 'dlv_3']);
  });

  it('sends nothing when every held delivery expired with its event, and takes them off', async () => {
    const t = setup({ endpoint: endpointRecord(), answers: [[held(1)]], missingEvents: ['msg_1'] });
    expect((await releaseBacklog(t.deps, EP)).released).toBe(1);
    expect(t.sends).toEqual([]);
    expect(t.named('unholdDelivery')).toEqual([[EP, 'dlv_1', T0 - 1000]]);
  });

  it('found empty, queues a release again for a hold that came meanwhile rather than unlisting', async () => {
    const t = setup({
      endpoint: endpointRecord(),
      answers: [[], [held(9)]],
      emptySince: T0 - BACKLOG_EMPTY_GRACE_MS,
    });
    expect(await releaseBacklog(t.deps, EP)).toEqual({ endpointId: EP, outcome: 'drained', released: 0 });
    expect(t.named('requeueRelease')).toEqual([[EP, 1]]);
    expect(t.named('clearBacklog')).toEqual([]);
  });

  it('found empty for the grace period with no late hold, unlists the endpoint', async () => {
    const t = setup({ endpoint: endpointRecord(), emptySince: T0 - BACKLOG_EMPTY_GRACE_MS });
    await releaseBacklog(t.deps, EP);
    expect(t.named('clearBacklog')).toEqual([[EP, T0 - BACKLOG_EMPTY_GRACE_MS]]);
    const early = setup({ endpoint: endpointRecord(), emptySince: T0 - BACKLOG_EMPTY_GRACE_MS + 1 });
    await releaseBacklog(early.deps, EP);
    expect(early.named('clearBacklog')).toEqual([]);
  });
});

describe('releaseRateOf', () => {
  it("is the endpoint's positive rateLimit, else the default", () => {
    expect(releaseRateOf(endpointRecord({ rateLimit: 7 }), 25)).toBe(7);
    expect(releaseRateOf(endpointRecord({ rateLimit: -5 }), 25)).toBe(25);
    expect(releaseRateOf(endpointRecord(), 25)).toBe(25);
    expect(releaseRateOf(undefined, 25)).toBe(25);
  });
});
