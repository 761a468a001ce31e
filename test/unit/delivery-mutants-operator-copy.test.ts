/**
 * The operator's copy of operational events (lambdas/delivery/operator-copy.ts) in-process, on a
 * small recording store and queue: the event record a copy stores, the message it queues and its
 * deadline, what it answers for each way a copy ends, and what it logs and counts when it cannot
 * copy. test/integration/operator-copy.test.ts checks the same end to end on moto; this file is
 * the one the `delivery` Stryker set runs (docs/mutation-testing.md).
 */
import { describe, expect, it } from 'vitest';
import { EVENT_LEASE_SECONDS } from '../../lambdas/core/config.ts';
import { deliveryId } from '../../lambdas/core/ids.ts';
import { type OperationalEvent, operationalEvent } from '../../lambdas/core/operational-events.ts';
import {
  buildWebhookBody,
  type DeliveryMessage,
  packBody,
  requestFingerprint,
} from '../../lambdas/core/payload.ts';
import type { EndpointRecord, EventRecord } from '../../lambdas/core/records.ts';
import {
  copyRecord,
  OPERATOR_COPIES_FAILED_METRIC,
  OperatorCopy,
  operatorEventType,
} from '../../lambdas/delivery/operator-copy.ts';

const NOW = Date.parse('2026-12-03T10:00:00.000Z');
const OPERATOR = 'ep_01JOPERATOR0000000000000000';
const OCCURRED = '2026-12-03T09:59:58.000Z';
const ID = 'oev_01JCOPY00000000000000000000';
const COPY_ID = 'msg_01JCOPY00000000000000000000';

const disabled = (endpointId: string): OperationalEvent =>
  operationalEvent('endpoint.disabled', {
    occurredAt: OCCURRED,
    endpointId,
    tenantId: 'tenant-a',
    reason: 'gone',
    description: 'receiver answered 410 Gone',
  });

const redriven: OperationalEvent = operationalEvent('dlq.redriven', { occurredAt: OCCURRED, mode: 'copied' });

interface Options {
  endpoint?: Partial<EndpointRecord> | 'missing';
  /** What `putEventIfAbsent` answers; default: created. */
  put?: { created: true } | { created: false; existing: EventRecord | undefined };
  /** Delivery ids the queue does not send. */
  unsent?: string[];
  claim?: boolean;
  fail?: Error;
}

function setup(options: Options = {}) {
  const calls: string[] = [];
  const puts: EventRecord[] = [];
  const enqueued: Array<{ messages: readonly DeliveryMessage[]; deadlineMs: number }> = [];
  const warnings: Array<{ message: string; extra: Record<string, unknown> }> = [];
  const counted: string[] = [];
  const marked: string[] = [];
  const released: Array<{ id: string; unsent: readonly string[] | undefined }> = [];
  const claims: Array<{ id: string; seen: number | undefined; until: number }> = [];
  const endpoint: EndpointRecord | undefined =
    options.endpoint === 'missing'
      ? undefined
      : {
          id: OPERATOR,
          url: 'https://operator.example/hook',
          enabled: true,
          secretName: `test/endpoints/${OPERATOR}`,
          createdAt: OCCURRED,
          updatedAt: OCCURRED,
          ...options.endpoint,
        };
  const copier = new OperatorCopy({
    endpointId: OPERATOR,
    store: {
      getEndpoint: async (id) => {
        calls.push(`getEndpoint ${id}`);
        if (options.fail) throw options.fail;
        return endpoint;
      },
      putEventIfAbsent: async (record) => {
        puts.push(record);
        return options.put ?? { created: true };
      },
      claimEvent: async (id, seen, until) => {
        claims.push({ id, seen, until });
        return options.claim ?? true;
      },
      markEventQueued: async (id) => {
        marked.push(id);
      },
      releaseEvent: async (id, _sweepAfterMs, unsent) => {
        released.push({ id, unsent });
      },
      getEvent: async () => undefined,
    },
    enqueue: async (messages, { deadlineMs }) => {
      enqueued.push({ messages, deadlineMs });
      return options.unsent ?? [];
    },
    now: () => NOW,
    warn: (message, extra) => warnings.push({ message, extra }),
    count: (metric) => counted.push(metric),
  });
  return { copier, calls, puts, enqueued, warnings, counted, marked, released, claims };
}

describe('the copy of an event', () => {
  it('is stored as an accepted, leased event of type webhooks.<detail-type> and queued to the operator endpoint', async () => {
    const t = setup({ endpoint: { tenantId: 'tenant-ops' } });
    const event = disabled('ep_01JCUSTOMER0000000000000000');

    const outcome = await t.copier.copy(ID, event);

    expect(outcome).toBe('queued');
    const type = 'webhooks.endpoint.disabled';
    const createdAtMs = Date.parse(OCCURRED);
    const body = buildWebhookBody(type, createdAtMs, event.detail);
    expect(t.puts).toEqual([
      {
        id: COPY_ID,
        type,
        createdAtMs,
        endpointIds: [OPERATOR],
        fingerprint: requestFingerprint([type, event.detail]),
        state: 'accepted',
        leaseUntilMs: NOW + EVENT_LEASE_SECONDS * 1000,
        tenantId: 'tenant-ops',
        ...packBody(body),
      },
    ]);
    expect(t.enqueued).toEqual([
      {
        messages: [
          {
            deliveryId: deliveryId(COPY_ID, OPERATOR, createdAtMs),
            eventId: COPY_ID,
            endpointId: OPERATOR,
            eventType: type,
            createdAtMs,
            body,
            tenantId: 'tenant-ops',
          },
        ],
        deadlineMs: NOW + 5_000,
      },
    ]);
    expect(t.marked).toEqual([COPY_ID]);
    expect(t.warnings).toEqual([]);
    expect(t.counted).toEqual([]);
  });

  it('of an event about no endpoint (a DLQ redrive) is copied too', async () => {
    const t = setup();
    expect(await t.copier.copy(ID, redriven)).toBe('queued');
    expect(t.puts.map((put) => put.type)).toEqual(['webhooks.dlq.redriven']);
  });

  it('names no tenant for an operator endpoint of the default tenant, or of none', async () => {
    for (const tenantId of ['default', undefined]) {
      const t = setup({ endpoint: { tenantId } });
      await t.copier.copy(ID, redriven);
      expect(t.puts[0]).not.toHaveProperty('tenantId');
      expect(t.enqueued[0]?.messages[0]).not.toHaveProperty('tenantId');
    }
  });

  it('not queued: unsent, the event handed to the sweep naming the operator endpoint', async () => {
    const createdAtMs = Date.parse(OCCURRED);
    const t = setup({ unsent: [deliveryId(COPY_ID, OPERATOR, createdAtMs)] });
    expect(await t.copier.copy(ID, redriven)).toBe('unsent');
    expect(t.released).toEqual([{ id: COPY_ID, unsent: [OPERATOR] }]);
    expect(t.marked).toEqual([]);
  });
});

describe('a copy of an event copied before', () => {
  const stored = (extra: Partial<EventRecord>): EventRecord => ({
    ...copyRecord(ID, redriven, OPERATOR, undefined, NOW - 60_000),
    ...extra,
  });

  it('already queued: queued, nothing sent again', async () => {
    const t = setup({ put: { created: false, existing: stored({ state: 'queued' }) } });
    expect(await t.copier.copy(ID, redriven)).toBe('queued');
    expect(t.enqueued).toEqual([]);
  });

  it('still leased by another copier: busy, nothing sent', async () => {
    const t = setup({ put: { created: false, existing: stored({ leaseUntilMs: NOW + 10_000 }) } });
    expect(await t.copier.copy(ID, redriven)).toBe('busy');
    expect(t.enqueued).toEqual([]);
    expect(t.claims).toEqual([]);
  });

  it('whose lease ran out: taken over and queued, with the same deadline', async () => {
    const lease = NOW - 1;
    const t = setup({ put: { created: false, existing: stored({ leaseUntilMs: lease }) } });
    expect(await t.copier.copy(ID, redriven)).toBe('queued');
    expect(t.claims).toEqual([{ id: COPY_ID, seen: lease, until: NOW + EVENT_LEASE_SECONDS * 1000 }]);
    expect(t.enqueued.map((call) => call.deadlineMs)).toEqual([NOW + 5_000]);
    expect(t.marked).toEqual([COPY_ID]);
  });

  it('that the store could not show: busy', async () => {
    const t = setup({ put: { created: false, existing: undefined } });
    expect(await t.copier.copy(ID, redriven)).toBe('busy');
    expect(t.enqueued).toEqual([]);
  });
});

describe('no copy', () => {
  it('of an event about the operator endpoint itself: not even the endpoint is read', async () => {
    const t = setup();
    expect(await t.copier.copy(ID, disabled(OPERATOR))).toBe('about-itself');
    expect(t.calls).toEqual([]);
    expect(t.puts).toEqual([]);
  });

  it('when the operator endpoint does not exist: warned, counted, nothing stored', async () => {
    const t = setup({ endpoint: 'missing' });
    expect(await t.copier.copy(ID, redriven)).toBe('no-endpoint');
    expect(t.calls).toEqual([`getEndpoint ${OPERATOR}`]);
    expect(t.puts).toEqual([]);
    expect(t.warnings).toEqual([
      {
        message: 'operator endpoint not found; operational event not copied',
        extra: { operatorEndpointId: OPERATOR, operationalEventId: ID },
      },
    ]);
    expect(t.counted).toEqual([OPERATOR_COPIES_FAILED_METRIC]);
    expect(OPERATOR_COPIES_FAILED_METRIC).toBe('OperatorCopiesFailed');
  });

  it('when the store fails: failed, warned by the error name only, counted, never thrown', async () => {
    const failure = Object.assign(new Error('secret text of the failure'), { name: 'ThrottlingException' });
    const t = setup({ fail: failure });
    expect(await t.copier.copy(ID, disabled('ep_01JCUSTOMER0000000000000000'))).toBe('failed');
    expect(t.warnings).toEqual([
      {
        message: 'operational event not copied to the operator endpoint',
        extra: {
          operatorEndpointId: OPERATOR,
          operationalEventId: ID,
          detailType: 'endpoint.disabled',
          error: 'ThrottlingException',
        },
      },
    ]);
    expect(t.counted).toEqual([OPERATOR_COPIES_FAILED_METRIC]);
  });
});

it('the type of a copy is webhooks. and the detail-type', () => {
  expect(operatorEventType('delivery.dead')).toBe('webhooks.delivery.dead');
});
