/**
 * The polling API on moto: GET /deliveries and GET /events filter by endpoint, status, type
 * and since, newest first, with cursors, and every listing is a DynamoDB Query (never a Scan).
 */
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

let harness: Harness;
let target: TestReceiver;
const endpointIds: string[] = [];
const sent: Array<{ id: string; type: string; at: number }> = [];

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 }, record: true });
  target = await startReceiver();
  for (let i = 0; i < 2; i++) {
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });
    endpointIds.push(created.body.id);
  }
  for (let i = 0; i < 6; i++) {
    const type = i % 2 === 0 ? 'invoice.paid' : 'order.shipped';
    const response = await harness.api<{ id: string }>('POST', '/events', { type, data: { i } });
    sent.push({ id: response.body.id, type, at: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await target.waitFor(12);
  await eventually(async () => {
    const { body } = await harness.api<{ items: Listed[] }>('GET', '/deliveries?limit=100&status=delivered');
    return body.items.length === 12 ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  await target?.close();
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

describe('GET /deliveries', () => {
  it('lists across endpoints newest first, and pages through all of them without repeats', async () => {
    // Act
    const listed = await pages('/deliveries', 5);

    // Assess
    const ids = listed.flat().map((d) => d.id);
    expect(listed.map((page) => page.length)).toEqual([5, 5, 2]);
    expect(new Set(ids).size).toBe(12);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(listed[0]?.[0]?.eventId).toBe(sent.at(-1)?.id);
  });

  it('filters by endpoint, type, status and since', async () => {
    // Act
    const byEndpoint = await harness.api<{ items: Listed[] }>(
      'GET',
      `/deliveries?endpointId=${endpointIds[0]}`,
    );
    const byType = await harness.api<{ items: Listed[] }>('GET', '/deliveries?type=order.shipped');
    const failed = await harness.api<{ items: Listed[] }>('GET', '/deliveries?status=failed');
    const since = Math.floor((sent[3]?.at ?? 0) / 1000) + 1;
    const recent = await harness.api<{ items: Listed[] }>(
      'GET',
      `/deliveries?since=${new Date(since * 1000).toISOString()}`,
    );

    // Assess
    expect(byEndpoint.body.items).toHaveLength(6);
    expect(byEndpoint.body.items.every((d) => d.endpointId === endpointIds[0])).toBe(true);
    expect(byType.body.items).toHaveLength(6);
    expect(byType.body.items.every((d) => d.eventType === 'order.shipped')).toBe(true);
    expect(failed.body.items).toEqual([]);
    expect(recent.body.items.every((d) => Date.parse(d.createdAt) >= since * 1000)).toBe(true);
  });

  it('refuses a cursor it did not issue', async () => {
    const response = await harness.api('GET', '/deliveries?cursor=bm90LWEtY3Vyc29y');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'invalid_cursor' } });
  });
});

describe('GET /events', () => {
  it('lists each event once, newest first, with its deliveries, across pages', async () => {
    // Act
    const listed = (await pages('/events', 4)) as unknown as Array<
      Array<{ id: string; type: string; deliveries: unknown[] }>
    >;

    // Assess
    const events = listed.flat();
    expect(events.map((event) => event.id)).toEqual([...sent].reverse().map((event) => event.id));
    expect(events.every((event) => event.deliveries.length === 2)).toBe(true);
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
});

it('never scans a table', () => {
  expect(harness.calls.some((call) => call.command === 'QueryCommand')).toBe(true);
  expect(harness.calls.filter((call) => call.command === 'ScanCommand')).toEqual([]);
});
