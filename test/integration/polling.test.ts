/**
 * The polling API on moto: GET /deliveries and GET /events filter by endpoint, status, type
 * and since, newest first, with cursors, and every listing is a DynamoDB Query (never a Scan).
 *
 * The fixture has every status but pending: twelve deliveries delivered (six events to two
 * healthy endpoints), one failed (its receiver answers 500; the next attempt is ten minutes
 * away) and one dead (its receiver answers 410). Every test reads the fixture and changes
 * nothing, so the tests do not depend on each other's order.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

interface Listed {
  id: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: string;
  createdAt: string;
}

interface Sent {
  id: string;
  type: string;
  /** Taken just before the event was posted: the event's createdAt is at or after it. */
  before: number;
  endpointIds: string[];
}

let harness: Harness;
const receivers: TestReceiver[] = [];
const healthyIds: string[] = [];
let failingId: string;
let goneId: string;
const sent: Sent[] = [];

async function send(type: string, endpointIds: string[]): Promise<void> {
  const before = Date.now();
  const response = await harness.api<{ id: string }>('POST', '/events', {
    type,
    data: { n: sent.length },
    endpointIds,
  });
  expect(response.status).toBe(202);
  sent.push({ id: response.body.id, type, before, endpointIds });
  // Distinct milliseconds, so a `since` between two events separates them.
  while (Date.now() <= before + 2) await new Promise((resolve) => setTimeout(resolve, 1));
}

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [600], maxAttempts: 3 }, record: true });
  const healthy = await startReceiver();
  const failing = await startReceiver(() => ({ status: 500, body: 'down' }));
  const gone = await startReceiver(() => ({ status: 410, body: 'gone' }));
  receivers.push(healthy, failing, gone);
  for (let i = 0; i < 2; i++) {
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: healthy.url });
    healthyIds.push(created.body.id);
  }
  failingId = (await harness.api<{ id: string }>('POST', '/endpoints', { url: failing.url })).body.id;
  goneId = (await harness.api<{ id: string }>('POST', '/endpoints', { url: gone.url })).body.id;

  for (let i = 0; i < 6; i++) await send(i % 2 === 0 ? 'invoice.paid' : 'order.shipped', healthyIds);
  await send('payment.failed', [failingId]);
  await send('account.closed', [goneId]);

  await healthy.waitFor(12);
  await eventually(async () => {
    const { body } = await harness.api<{ items: Listed[] }>('GET', '/deliveries?limit=100');
    return body.items.length === 14 ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await harness?.stop();
});

async function pages(path: string, limit: number): Promise<Listed[][]> {
  const all: Listed[][] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const url: string = `${path}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const { status, body } = await harness.api<{ items: Listed[]; nextCursor: string | null }>('GET', url);
    expect(status).toBe(200);
    all.push(body.items);
    cursor = body.nextCursor;
  } while (cursor && all.length < 50);
  return all;
}

async function list(path: string): Promise<Listed[]> {
  const { status, body } = await harness.api<{ items: Listed[] }>('GET', path);
  expect(status).toBe(200);
  return body.items;
}

/** The (event, endpoint) pairs of the sent events matching `keep`, as sorted keys. */
function expectedPairs(keep: (event: Sent) => boolean, endpoint?: string): string[] {
  return sent
    .filter(keep)
    .flatMap((event) =>
      event.endpointIds.filter((id) => !endpoint || id === endpoint).map((id) => `${event.id}|${id}`),
    )
    .sort();
}
const pairsOf = (items: Listed[]): string[] => items.map((d) => `${d.eventId}|${d.endpointId}`).sort();

describe('GET /deliveries', () => {
  it('lists across endpoints newest first, and pages through all of them without repeats', async () => {
    // Act
    const listed = await pages('/deliveries', 5);

    // Assess
    const ids = listed.flat().map((d) => d.id);
    expect(listed.map((page) => page.length)).toEqual([5, 5, 4]);
    expect(new Set(ids).size).toBe(14);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(listed[0]?.[0]?.eventId).toBe(sent.at(-1)?.id);
    expect(pairsOf(listed.flat())).toEqual(expectedPairs(() => true));
  });

  it('filters by endpoint: exactly that endpoint’s deliveries', async () => {
    const items = await list(`/deliveries?endpointId=${healthyIds[0]}`);

    expect(pairsOf(items)).toEqual(expectedPairs(() => true, healthyIds[0]));
    expect(items).toHaveLength(6);
  });

  it('filters by type: exactly the deliveries of events of that type', async () => {
    const items = await list('/deliveries?type=order.shipped');

    expect(pairsOf(items)).toEqual(expectedPairs((event) => event.type === 'order.shipped'));
    expect(items).toHaveLength(6);
  });

  it.each([
    ['delivered', () => expectedPairs((event) => ['invoice.paid', 'order.shipped'].includes(event.type))],
    ['failed', () => expectedPairs((event) => event.type === 'payment.failed')],
    ['dead', () => expectedPairs((event) => event.type === 'account.closed')],
    ['pending', () => []],
  ])('filters by status %s: exactly the deliveries in that status', async (status, expected) => {
    // Act
    const items = await list(`/deliveries?status=${status}`);

    // Assess
    expect(pairsOf(items)).toEqual(expected());
    expect(items.every((d) => d.status === status)).toBe(true);
  });

  it('combines endpoint and status filters', async () => {
    expect(await list(`/deliveries?endpointId=${failingId}&status=failed`)).toHaveLength(1);
    expect(await list(`/deliveries?endpointId=${failingId}&status=delivered`)).toEqual([]);
    expect(await list(`/deliveries?endpointId=${healthyIds[1]}&status=failed`)).toEqual([]);
  });

  it('filters by since (ISO-8601, to the millisecond): exactly the deliveries of events created from then on', async () => {
    // Prepare: a cutoff between the third and the fourth event.
    const cutoff = sent[3]!.before;

    // Act
    const items = await list(`/deliveries?since=${new Date(cutoff).toISOString()}&limit=100`);

    // Assess: five events from the fourth on (three to two endpoints, then one each).
    expect(pairsOf(items)).toEqual(expectedPairs((event) => event.before >= cutoff));
    expect(items).toHaveLength(8);
    expect(items.every((d) => Date.parse(d.createdAt) >= cutoff)).toBe(true);
  });

  it('filters by since in Unix seconds', async () => {
    // Prepare: the second the first event was created in, and the second after the last one.
    const first = Math.floor(sent[0]!.before / 1000);
    const afterAll = Math.floor(Date.now() / 1000) + 1;

    // Act
    const everything = await list(`/deliveries?since=${first}&limit=100`);
    const nothing = await list(`/deliveries?since=${afterAll}&limit=100`);

    // Assess
    expect(everything).toHaveLength(14);
    expect(nothing).toEqual([]);
  });

  it('refuses a cursor it did not issue', async () => {
    const response = await harness.api('GET', '/deliveries?cursor=bm90LWEtY3Vyc29y');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'invalid_cursor' } });
  });

  it('pages through any filter at any page size to exactly the unpaged listing (cursors round-trip)', async () => {
    const filters = fc.constantFrom(
      '',
      `endpointId=${healthyIds[0]}`,
      'type=invoice.paid',
      'status=delivered',
      `since=${new Date(sent[2]!.before).toISOString()}`,
      `endpointId=${healthyIds[1]}&type=order.shipped`,
    );
    await fc.assert(
      fc.asyncProperty(filters, fc.integer({ min: 1, max: 9 }), async (filter, limit) => {
        // Act
        const paged = await pages(`/deliveries?${filter}`, limit);
        const whole = await list(`/deliveries?${filter}${filter ? '&' : ''}limit=100`);

        // Assess
        expect(paged.every((page) => page.length <= limit)).toBe(true);
        expect(paged.flat().map((d) => d.id)).toEqual(whole.map((d) => d.id));
      }),
      { numRuns: 12 },
    );
  });
});

describe('GET /events', () => {
  it('lists each event once, newest first, with its deliveries, across pages', async () => {
    // Act
    const listed = (await pages('/events', 3)) as unknown as Array<
      Array<{ id: string; type: string; deliveries: unknown[] }>
    >;

    // Assess
    const events = listed.flat();
    expect(events.map((event) => event.id)).toEqual([...sent].reverse().map((event) => event.id));
    expect(events.map((event) => event.deliveries.length)).toEqual(
      [...sent].reverse().map((event) => event.endpointIds.length),
    );
  });

  it('filters by type', async () => {
    const { body } = await harness.api<{ items: Array<{ id: string; type: string }> }>(
      'GET',
      '/events?type=invoice.paid',
    );
    expect(body.items.map((event) => event.id)).toEqual(
      sent
        .filter((event) => event.type === 'invoice.paid')
        .reverse()
        .map((event) => event.id),
    );
  });

  it('filters by the status of their deliveries', async () => {
    const dead = await harness.api<{ items: Array<{ id: string }> }>('GET', '/events?status=dead');
    const failed = await harness.api<{ items: Array<{ id: string }> }>('GET', '/events?status=failed');

    expect(dead.body.items.map((event) => event.id)).toEqual([sent.at(-1)!.id]);
    expect(failed.body.items.map((event) => event.id)).toEqual([sent.at(-2)!.id]);
  });
});

it('never scans a table', async () => {
  // Act: one listing of each kind, so the check does not rest on what other tests ran.
  await list('/deliveries?limit=3');
  await list(`/deliveries?status=failed`);
  await harness.api('GET', '/events?limit=3');

  // Assess
  expect(harness.calls.some((call) => call.command === 'QueryCommand')).toBe(true);
  expect(harness.calls.filter((call) => call.command === 'ScanCommand')).toEqual([]);
});
