/**
 * README claims on moto, through the HTTP API: fan-out reaches only enabled endpoints whose
 * eventTypes match (absent or ["*"] means all); a secret is shown at creation and rotation and
 * never by a read; a dead delivery has no nextAttemptAt; recover queues the dead deliveries of
 * an endpoint since a time and nothing else, failed ones whose retry is not coming too, at most
 * 100 per call, and refuses a disabled endpoint; an endpoint
 * whose record cannot be written leaves no secret behind. Each test makes its own endpoints.
 */
import type { ServerResponse } from 'node:http';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../lambdas/adapters/store.ts';
import { RECOVER_PAGE_SIZE } from '../../lambdas/core/config.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { receiverPool } from '../support/receiver.ts';
import { subscribersOf } from '../support/subscribers.ts';

interface Delivery {
  id: string;
  eventId: string;
  status: string;
  attemptCount: number;
  nextAttemptAt?: string | null;
}

let harness: Harness;
const receivers = receiverPool();

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 }, record: true });
}, 60_000);

afterAll(async () => {
  await receivers.closeAll();
  await harness?.stop();
});

const receiver = receivers.start;

async function createEndpoint(url: string, extra: Record<string, unknown> = {}) {
  const created = await harness.api<{ id: string; secret: string }>('POST', '/endpoints', { url, ...extra });
  expect(created.status).toBe(201);
  return created.body;
}

async function send(type: string, data: unknown, endpointIds?: string[]) {
  const sent = await harness.api<{ id: string; deliveries: Array<{ id: string; endpointId: string }> }>(
    'POST',
    '/events',
    { type, data, ...(endpointIds ? { endpointIds } : {}) },
  );
  expect(sent.status).toBe(202);
  return sent.body;
}

const delivery = async (id: string) => (await harness.api<Delivery>('GET', `/deliveries/${id}`)).body;

const reaches = (id: string, status: string) =>
  eventually(
    async () => ((await delivery(id))?.status === status ? true : undefined),
    30_000,
    `${id} ${status}`,
  );

describe('fan-out', () => {
  it('sends an event without endpointIds to every enabled endpoint whose eventTypes match, and to no other', async () => {
    // Prepare: the endpoints earlier tests left subscribed are expected too.
    const others = await subscribersOf(harness, 'fanout.paid');
    const target = await receiver();
    const url = (name: string) => target.url.replace('/webhooks', `/${name}`);
    const absent = await createEndpoint(url('absent'));
    const star = await createEndpoint(url('star'), { eventTypes: ['*'] });
    const exact = await createEndpoint(url('exact'), { eventTypes: ['other.type', 'fanout.paid'] });
    const otherType = await createEndpoint(url('other'), { eventTypes: ['fanout.refunded'] });
    const disabled = await createEndpoint(url('disabled'));
    const disabledStar = await createEndpoint(url('disabled-star'), { eventTypes: ['*'] });
    for (const { id } of [disabled, disabledStar]) {
      expect((await harness.api('PATCH', `/endpoints/${id}`, { enabled: false })).status).toBe(200);
    }

    // Act
    const sent = await send('fanout.paid', { n: 1 });

    // Assess
    const expected = [absent.id, star.id, exact.id];
    expect(sent.deliveries.map((d) => d.endpointId).sort()).toEqual([...others, ...expected].sort());
    await target.waitFor(3);
    for (const d of sent.deliveries.filter((d) => expected.includes(d.endpointId))) {
      await reaches(d.id, 'delivered');
    }
    expect(target.received.map((webhook) => webhook.path).sort()).toEqual(['/absent', '/exact', '/star']);
    for (const { id } of [otherType, disabled, disabledStar]) {
      const listed = await harness.api<{ items: unknown[] }>('GET', `/deliveries?endpointId=${id}`);
      expect(listed.body.items).toEqual([]);
    }
  });
});

describe('signing secrets', () => {
  it('shows the secret at creation and rotation only, never on a read', async () => {
    // Prepare
    const target = await receiver();
    const created = await createEndpoint(target.url, { description: 'secret check' });
    expect(created.secret).toMatch(/^whsec_/);

    // Act
    const rotated = await harness.api<{ secret: string }>('POST', `/endpoints/${created.id}/secret/rotate`);
    const reads = [
      await harness.api('GET', `/endpoints/${created.id}`),
      await harness.api('GET', '/endpoints?limit=100'),
      await harness.api('PATCH', `/endpoints/${created.id}`, { description: 'changed' }),
      await harness.api('GET', '/deliveries?limit=100'),
      await harness.api('GET', '/events?limit=100'),
    ];

    // Assess
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    for (const read of reads) {
      expect(read.status).toBe(200);
      const text = JSON.stringify(read.body);
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain(rotated.body.secret);
      expect(text).not.toMatch(/whsec_|"secret"/);
    }
  });

  it('removes the secret again when the endpoint record cannot be written', async () => {
    // Prepare: the Endpoints put fails once.
    let failed = false;
    harness.interceptors.push((call) => {
      if (!failed && call.command === 'PutItemCommand' && /endpoints$/i.test(String(call.input.TableName))) {
        failed = true;
        throw Object.assign(new Error('injected: DynamoDB unavailable'), { name: 'InternalServerError' });
      }
    });
    const before = harness.calls.length;

    // Act
    const response = await harness.api('POST', '/endpoints', { url: 'https://put-fails.example/hook' });

    // Assess: an error, no endpoint, and the secret it created is scheduled for deletion.
    expect(failed).toBe(true);
    expect(response.status).toBeGreaterThanOrEqual(500);
    const calls = harness.calls.slice(before);
    const createdSecret = calls.find((call) => call.command === 'CreateSecretCommand')?.input.Name;
    expect(createdSecret).toEqual(expect.any(String));
    expect(
      calls.filter((call) => call.command === 'DeleteSecretCommand').map((call) => call.input.SecretId),
    ).toEqual([createdSecret]);
    const secrets = new SecretsManagerClient({
      endpoint: harness.moto.endpoints.secretsManager,
      region: 'us-east-1',
      credentials: EMULATOR_CREDENTIALS,
    });
    try {
      await expect(
        secrets.send(new GetSecretValueCommand({ SecretId: String(createdSecret) })),
      ).rejects.toThrow();
    } finally {
      secrets.destroy();
    }
    const listed = await harness.api<{ items: Array<{ url: string }> }>('GET', '/endpoints?limit=100');
    expect(listed.body.items.map((endpoint) => endpoint.url)).not.toContain('https://put-fails.example/hook');
  });
});

describe('delivery statuses', () => {
  it('gives a dead delivery no nextAttemptAt, whether its budget ran out or it died at once', async () => {
    // Prepare: one receiver always fails (two attempts: failed, then dead); one is gone (410).
    const failing = await receiver(() => ({ status: 500, body: 'down' }));
    const gone = await receiver(() => ({ status: 410, body: 'gone' }));
    const budget = await createEndpoint(failing.url);
    const permanent = await createEndpoint(gone.url);

    // Act
    const spent = await send('dead.budget', { n: 1 }, [budget.id]);
    const died = await send('dead.gone', { n: 1 }, [permanent.id]);
    await reaches(spent.deliveries[0]!.id, 'dead');
    await reaches(died.deliveries[0]!.id, 'dead');

    // Assess
    const afterBudget = await delivery(spent.deliveries[0]!.id);
    const afterGone = await delivery(died.deliveries[0]!.id);
    expect(afterBudget.attemptCount).toBe(2);
    expect(afterBudget.nextAttemptAt ?? null).toBeNull();
    expect(afterGone.attemptCount).toBe(1);
    expect(afterGone.nextAttemptAt ?? null).toBeNull();
    const listed = await harness.api<{ items: Delivery[] }>(
      'GET',
      `/deliveries?endpointId=${budget.id}&status=dead`,
    );
    expect(listed.body.items.map((d) => d.nextAttemptAt ?? null)).toEqual([null]);
  });
});

describe('POST /endpoints/{id}/recover', () => {
  it('queues the dead deliveries since the time and nothing else, and refuses a disabled endpoint', async () => {
    // Prepare: a receiver that fails "fail" events until healed and always takes "ok" ones.
    let healed = false;
    const target = await receiver((webhook) => {
      const mode = (JSON.parse(webhook.body) as { data: { mode: string } }).data.mode;
      return healed || mode === 'ok' ? { status: 200, body: 'ok' } : { status: 500, body: 'down' };
    });
    const endpoint = await createEndpoint(target.url);
    const old = await send('recover.test', { mode: 'fail', n: 0 }, [endpoint.id]);
    await reaches(old.deliveries[0]!.id, 'dead');
    const since = new Date(Date.now() + 5).toISOString();
    while (Date.now() <= Date.parse(since)) await new Promise((resolve) => setTimeout(resolve, 2));
    const dead1 = await send('recover.test', { mode: 'fail', n: 1 }, [endpoint.id]);
    const dead2 = await send('recover.test', { mode: 'fail', n: 2 }, [endpoint.id]);
    const fine = await send('recover.test', { mode: 'ok', n: 3 }, [endpoint.id]);
    for (const sent of [dead1, dead2]) await reaches(sent.deliveries[0]!.id, 'dead');
    await reaches(fine.deliveries[0]!.id, 'delivered');
    const receivedBefore = target.received.length;

    // Act 1: recover while the endpoint is disabled.
    await harness.api('PATCH', `/endpoints/${endpoint.id}`, { enabled: false });
    const refused = await harness.api('POST', `/endpoints/${endpoint.id}/recover?since=${since}`);
    // The queue drains (the disable's endpoint.disabled goes through it to the worker): had the
    // refused recover queued a delivery, the receiver would have had it by then.
    await eventually(async () => {
      const counts = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
      return counts.visible === 0 && counts.inFlight === 0 ? true : undefined;
    });

    // Assess 1
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'endpoint_disabled' } });
    expect(target.received.length).toBe(receivedBefore);
    expect((await delivery(dead1.deliveries[0]!.id)).status).toBe('dead');

    // Act 2: enabled again and healed, recover.
    await harness.api('PATCH', `/endpoints/${endpoint.id}`, { enabled: true });
    healed = true;
    const recovered = await harness.api<{ queued: number; skipped: number }>(
      'POST',
      `/endpoints/${endpoint.id}/recover?since=${since}`,
    );

    // Assess 2: the two dead since the time are delivered; the older dead one and the delivered one are untouched.
    expect(recovered.status).toBe(202);
    expect(recovered.body).toMatchObject({ queued: 2, skipped: 0 });
    for (const sent of [dead1, dead2]) await reaches(sent.deliveries[0]!.id, 'delivered');
    await eventually(async () => {
      const counts = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
      return counts.visible + counts.inFlight === 0 ? true : undefined;
    });
    expect(target.received.length - receivedBefore).toBe(2);
    expect((await delivery(old.deliveries[0]!.id)).status).toBe('dead');
    expect((await delivery(fine.deliveries[0]!.id)).attemptCount).toBe(1);
  });
});

describe('POST /endpoints/{id}/recover, scope and cap', () => {
  type Page = { queued: number; skipped: number; done: boolean; nextCursor: string | null };

  it('queues a failed delivery whose retry is no longer coming, and skips one whose retry is ahead', async () => {
    // Prepare: two dead deliveries, rewritten as failed the way the store records a failure:
    // one whose next attempt time has passed (its message was lost), one whose retry is ahead.
    let healed = false;
    const target = await receiver(() => (healed ? { status: 200 } : { status: 500, body: 'down' }));
    const endpoint = await createEndpoint(target.url);
    const since = new Date(Date.now() - 1000).toISOString();
    const lost = await send('recover.failed', { n: 1 }, [endpoint.id]);
    const ahead = await send('recover.failed', { n: 2 }, [endpoint.id]);
    for (const sent of [lost, ahead]) await reaches(sent.deliveries[0]!.id, 'dead');
    const store = new Store();
    for (const [sent, nextAttemptAtMs] of [
      [lost, Date.now() - 60_000],
      [ahead, Date.now() + 3_600_000],
    ] as const) {
      const record = await store.getDelivery(endpoint.id, sent.deliveries[0]!.id, true);
      await store.recordOutcome({
        endpointId: endpoint.id,
        id: sent.deliveries[0]!.id,
        eventId: sent.id,
        eventType: 'recover.failed',
        createdAtMs: Number(record?.createdAtMs),
        status: 'failed',
        attempt: { attempt: 3, at: new Date().toISOString(), durationMs: 1, statusCode: 500, error: 'down' },
        nextAttemptAt: new Date(nextAttemptAtMs).toISOString(),
        redrive: false,
      });
    }
    expect((await delivery(lost.deliveries[0]!.id)).status).toBe('failed');
    healed = true;
    const receivedBefore = target.received.length;

    // Act
    const recovered = await harness.api<Page>('POST', `/endpoints/${endpoint.id}/recover?since=${since}`);

    // Assess: the lost one is sent and delivered; the one with its retry ahead is left to it.
    expect(recovered.status).toBe(202);
    expect(recovered.body).toMatchObject({ queued: 1, skipped: 1, done: true, nextCursor: null });
    await reaches(lost.deliveries[0]!.id, 'delivered');
    expect(target.received.length - receivedBefore).toBe(1);
    expect((await delivery(ahead.deliveries[0]!.id)).status).toBe('failed');
  });

  it(`queues at most ${RECOVER_PAGE_SIZE} deliveries per call, newest first, and the rest on the next call`, async () => {
    // Prepare: 101 dead deliveries. The receiver holds its first requests until every event is
    // accepted, then answers 410: the first 410 disables the endpoint, and every delivery is
    // parked dead (answered 410, or not sent to a disabled endpoint). Then it is re-enabled and healed.
    let mode: 'hold' | 'gone' | 'ok' = 'hold';
    const held: ServerResponse[] = [];
    const target = await receiver(() =>
      mode === 'hold'
        ? (response: ServerResponse) => {
            held.push(response);
          }
        : { status: mode === 'gone' ? 410 : 200, body: mode },
    );
    const endpoint = await createEndpoint(target.url);
    const since = new Date(Date.now() - 1000).toISOString();
    const oldest = await send('recover.cap', { n: 0 }, [endpoint.id]);
    const batch = await harness.api<{ accepted: number }>('POST', '/events/batch', {
      events: Array.from({ length: RECOVER_PAGE_SIZE }, (_, n) => ({
        type: 'recover.cap',
        data: { n: n + 1 },
        endpointIds: [endpoint.id],
      })),
    });
    mode = 'gone';
    for (const response of held) response.writeHead(410).end('gone');
    expect(batch.status).toBe(200);
    expect(batch.body.accepted).toBe(RECOVER_PAGE_SIZE);
    const dead = async () => {
      let count = 0;
      let cursor: string | null = null;
      do {
        const page: { body: { items: unknown[]; nextCursor: string | null } } = await harness.api(
          'GET',
          `/deliveries?endpointId=${endpoint.id}&status=dead&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        );
        count += page.body.items.length;
        cursor = page.body.nextCursor;
      } while (cursor);
      return count;
    };
    await eventually(
      async () => ((await dead()) === RECOVER_PAGE_SIZE + 1 ? true : undefined),
      60_000,
      '101 dead',
    );
    expect((await harness.api('PATCH', `/endpoints/${endpoint.id}`, { enabled: true })).status).toBe(200);
    mode = 'ok';
    const receivedBefore = target.received.length;

    // Act: one call, then as many as it takes (a call also stops after 5 s, which a loaded
    // machine can reach before the count: then the first call queues fewer).
    const path = `/endpoints/${endpoint.id}/recover?since=${since}`;
    const first = await harness.api<Page>('POST', path);
    const oldestAfterFirst = (await delivery(oldest.deliveries[0]!.id)).status;
    const pages = [first.body];
    while (!pages.at(-1)?.done && pages.length < 20) {
      pages.push((await harness.api<Page>('POST', `${path}&cursor=${pages.at(-1)?.nextCursor}`)).body);
    }

    // Assess: no call queues more than the cap, the first stops short of all 101, newest first
    // (the oldest is left for a later call), and together they queue each delivery once.
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ skipped: 0, done: false });
    expect(first.body.queued).toBeGreaterThan(0);
    expect(Math.max(...pages.map((page) => page.queued))).toBeLessThanOrEqual(RECOVER_PAGE_SIZE);
    expect(oldestAfterFirst).toBe('dead');
    expect(pages.at(-1)).toMatchObject({ done: true, nextCursor: null });
    expect(pages.reduce((sum, page) => sum + page.queued, 0)).toBe(RECOVER_PAGE_SIZE + 1);
    await reaches(oldest.deliveries[0]!.id, 'delivered');
    const webhookIds = () =>
      new Set(target.received.slice(receivedBefore).map((w) => w.headers['webhook-id']));
    await eventually(
      async () => (webhookIds().size === RECOVER_PAGE_SIZE + 1 ? true : undefined),
      60_000,
      'every recovered delivery received',
    );
  }, 120_000);
});
