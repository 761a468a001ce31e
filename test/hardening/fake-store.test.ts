/**
 * The hardening tests drive the delivery worker over FakeStore (./fakes.ts); they prove what
 * would be stored only if the fake keeps the real store's conditions and removals. This file
 * runs the same sequences of store calls against FakeStore and against the real Store on moto
 * (DynamoDB's own condition and update semantics) and requires the same answers and the same
 * records: a failure never overwrites `delivered`, `dead` and `delivered` drop `nextAttemptAt`,
 * an outcome ends a hold and a wait outside the queue, a hold never touches `delivered`, only
 * one of two contending probe or release claims wins, and a success clears the failure run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryRecord, type EndpointRecord, Store } from '../../lambdas/adapters/store.ts';
import { deliveryId, newEndpointId, newEventId } from '../../lambdas/core/ids.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { FakeStore } from './fakes.ts';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 } });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
});

/** The calls the sequences make: what the worker and the backlog release use. */
type AnyStore = Pick<
  Store,
  | 'getEndpoint'
  | 'getDelivery'
  | 'recordOutcome'
  | 'holdDelivery'
  | 'unholdDelivery'
  | 'claimProbe'
  | 'openCircuit'
  | 'addEndpointFailure'
  | 'resetEndpointFailures'
  | 'markBacklog'
  | 'noteBacklogEmpty'
  | 'clearBacklog'
  | 'claimRelease'
  | 'bookRelease'
  | 'endRelease'
>;

const DELIVERY_FIELDS = [
  'status',
  'attempts',
  'nextAttemptAt',
  'waitKey',
  'waitAt',
  'heldReason',
  'heldAtMs',
  'deliveredAt',
  'redrives',
  'scheduleBase',
] as const;

const ENDPOINT_FIELDS = [
  'failureStreak',
  'failingSince',
  'circuitOpenUntil',
  'releaseLeaseUntil',
  'releasedUntilMs',
  'backlogShard',
  'backlogEmptySinceMs',
] as const;

function project<T extends object>(record: T | undefined, fields: readonly string[]) {
  if (!record) return undefined;
  const kept: Record<string, unknown> = {};
  for (const field of fields) {
    const value = (record as Record<string, unknown>)[field];
    if (value !== undefined) kept[field] = value;
  }
  return kept;
}

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();
const attempt = (n: number, statusCode?: number) => ({
  attempt: n,
  at: at(n * 1000),
  durationMs: 5,
  ...(statusCode === undefined ? {} : { statusCode }),
});

/** A fresh endpoint and one delivery key of a fresh event to it, in `store`. */
async function fixture(store: Store | FakeStore) {
  const endpointId = newEndpointId();
  const endpoint: EndpointRecord = {
    id: endpointId,
    url: 'https://receiver.example/hook',
    enabled: true,
    secretName: `test/endpoints/${endpointId}`,
    createdAt: at(0),
    updatedAt: at(0),
  };
  if (store instanceof FakeStore) store.addEndpoint(endpoint);
  else await store.putEndpoint(endpoint);
  const eventId = newEventId(T0);
  const key = {
    endpointId,
    id: deliveryId(eventId, endpointId, T0),
    eventId,
    eventType: 'fake.check',
    createdAtMs: T0,
  };
  return { endpointId, key };
}

type Sequence = (store: AnyStore, ids: Awaited<ReturnType<typeof fixture>>) => Promise<unknown[]>;

/** Runs `sequence` against a FakeStore and the real store; returns both logs. */
async function both(sequence: Sequence): Promise<{ fake: unknown[]; real: unknown[] }> {
  const fake = new FakeStore();
  const real = new Store();
  // Each store gets its own ids: they are written as placeholders before the logs are compared.
  const run = async (store: Store | FakeStore) => {
    const ids = await fixture(store);
    const log = JSON.stringify(await sequence(store, ids), (_key, value) =>
      value === undefined ? null : value,
    );
    return JSON.parse(
      log.replaceAll(ids.key.id, '<delivery>').replaceAll(ids.endpointId, '<endpoint>'),
    ) as unknown[];
  };
  return { fake: await run(fake), real: await run(real) };
}

const delivery = async (store: AnyStore, key: { endpointId: string; id: string }) =>
  project<DeliveryRecord>(await store.getDelivery(key.endpointId, key.id, true), DELIVERY_FIELDS);

const endpoint = async (store: AnyStore, id: string) =>
  project<EndpointRecord>(await store.getEndpoint(id), ENDPOINT_FIELDS);

describe('FakeStore against the real store on moto', () => {
  it('records outcomes alike: a long wait, then dead without nextAttemptAt or wait; a redrive with its schedule base', async () => {
    const { fake, real } = await both(async (store, { key }) => {
      const log: unknown[] = [];
      log.push(
        await store.recordOutcome({
          ...key,
          status: 'failed',
          attempt: attempt(1, 500),
          nextAttemptAt: at(3_600_000),
          dueAtMs: T0 + 3_600_000,
          redrive: false,
        }),
        await delivery(store, key),
        await store.recordOutcome({
          ...key,
          status: 'failed',
          attempt: attempt(2, 500),
          nextAttemptAt: at(60_000),
          redrive: false,
        }),
        await delivery(store, key),
        await store.recordOutcome({ ...key, status: 'dead', attempt: attempt(3, 500), redrive: false }),
        await delivery(store, key),
        await store.recordOutcome({
          ...key,
          status: 'failed',
          attempt: attempt(4, 500),
          nextAttemptAt: at(5_000),
          scheduleBase: 3,
          redrive: true,
        }),
        await delivery(store, key),
      );
      return log;
    });
    expect(fake).toEqual(real);
    expect(real[5]).toEqual({ status: 'dead', attempts: 3 });
  });

  it('never lets a failure overwrite delivered, and drops nextAttemptAt when delivered', async () => {
    const { fake, real } = await both(async (store, { key }) => {
      const log: unknown[] = [];
      log.push(
        await store.recordOutcome({
          ...key,
          status: 'failed',
          attempt: attempt(1, 503),
          nextAttemptAt: at(10_000),
          redrive: false,
        }),
        await store.recordOutcome({ ...key, status: 'delivered', attempt: attempt(2, 200), redrive: false }),
        await delivery(store, key),
        await store.recordOutcome({
          ...key,
          status: 'failed',
          attempt: attempt(3, 500),
          nextAttemptAt: at(20_000),
          redrive: false,
        }),
        await store.recordOutcome({ ...key, status: 'dead', attempt: attempt(3, 500), redrive: false }),
        await delivery(store, key),
      );
      return log;
    });
    expect(fake).toEqual(real);
    expect(real[3]).toBeNull();
    expect(real[5]).toEqual({ status: 'delivered', attempts: 2, deliveredAt: at(2000) });
  });

  it('holds alike: a new record is pending with no attempt, an outcome ends the hold, a stale unhold changes nothing, delivered is never held', async () => {
    const { fake, real } = await both(async (store, { key }) => {
      const log: unknown[] = [];
      log.push(
        await store.holdDelivery(key, 'circuit_open', T0 + 1),
        await delivery(store, key),
        await store.unholdDelivery(key.endpointId, key.id, T0 + 999),
        await delivery(store, key),
        await store.holdDelivery(key, 'rate_limited', T0 + 2),
        await store.unholdDelivery(key.endpointId, key.id, T0 + 2),
        await delivery(store, key),
        await store.holdDelivery(key, 'circuit_open', T0 + 3),
        await store.recordOutcome({ ...key, status: 'delivered', attempt: attempt(1, 200), redrive: false }),
        await delivery(store, key),
        await store.holdDelivery(key, 'circuit_open', T0 + 4),
        await delivery(store, key),
      );
      return log;
    });
    expect(fake).toEqual(real);
    expect(real[1]).toMatchObject({ status: 'pending', attempts: 0, heldReason: 'circuit_open' });
    expect(real[10]).toBe(false);
  });

  it('lets only one of two contending probe claims win, from the value both saw', async () => {
    const { fake, real } = await both(async (store, { endpointId }) => {
      const log: unknown[] = [];
      log.push(
        await store.claimProbe(endpointId, undefined, T0 + 10),
        await store.claimProbe(endpointId, undefined, T0 + 20),
        await endpoint(store, endpointId),
        await store.openCircuit(endpointId, T0 + 100),
        await store.claimProbe(endpointId, T0 + 100, T0 + 200),
        await store.claimProbe(endpointId, T0 + 100, T0 + 300),
        await endpoint(store, endpointId),
      );
      return log;
    });
    expect(fake).toEqual(real);
    expect(real).toEqual([
      true,
      false,
      { circuitOpenUntil: T0 + 10 },
      null,
      true,
      false,
      { circuitOpenUntil: T0 + 200 },
    ]);
  });

  it('counts and clears a failure run alike, the circuit and the release lease with it', async () => {
    const { fake, real } = await both(async (store, { endpointId }) => {
      const log: unknown[] = [];
      log.push(
        await store.resetEndpointFailures(endpointId),
        await endpoint(store, endpointId),
        await store.addEndpointFailure(endpointId, at(1000)),
        await store.addEndpointFailure(endpointId, at(2000)),
        await store.openCircuit(endpointId, T0 + 60_000),
        await store.claimRelease(endpointId, T0, T0 + 5000),
        await endpoint(store, endpointId),
        await store.resetEndpointFailures(endpointId),
        await endpoint(store, endpointId),
        await store.addEndpointFailure('ep_00000000000000000000000000', at(3000)),
      );
      return log;
    });
    expect(fake).toEqual(real);
    expect(real[1]).toEqual({});
    expect(real[3]).toEqual({ failureStreak: 2, failingSince: at(1000) });
    expect(real[8]).toEqual({ failureStreak: 0 });
  });

  it('lists, releases and unlists a backlog alike, with one releaser at a time', async () => {
    const { fake, real } = await both(async (store, { endpointId }) => {
      const log: unknown[] = [];
      log.push(
        await store.markBacklog(endpointId),
        await store.markBacklog(endpointId),
        await store.claimRelease(endpointId, T0, T0 + 20_000),
        await store.claimRelease(endpointId, T0 + 1000, T0 + 21_000),
        await store.bookRelease(endpointId, T0 + 30_000, T0 + 25_000),
        await endpoint(store, endpointId),
        await store.claimRelease(endpointId, T0 + 26_000, T0 + 40_000),
        await store.noteBacklogEmpty(endpointId, T0 + 50_000),
        await store.noteBacklogEmpty(endpointId, T0 + 60_000),
        await store.markBacklog(endpointId),
        await store.noteBacklogEmpty(endpointId, T0 + 70_000),
        await store.clearBacklog(endpointId, T0 + 50_000),
        await endpoint(store, endpointId),
        await store.clearBacklog(endpointId, T0 + 70_000),
        await endpoint(store, endpointId),
        await store.endRelease(endpointId),
      );
      return log;
    });
    expect(fake).toEqual(real);
    expect(real.slice(0, 4)).toEqual([true, false, true, false]);
    expect(real[14]).toEqual({ releasedUntilMs: T0 + 30_000 });
  });
});
