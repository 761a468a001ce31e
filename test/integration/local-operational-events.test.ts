/**
 * Local mode's operational events (issue 12): provisioned with them, the functions publish to the
 * SQS emulator's default EventBridge bus, whose rule sends every `source: webhooks` event to the
 * queue `webhooks-operational-events`, and local mode's log poller hands each one on as it
 * arrives there (`npm run local` prints it; test/cli/local-mode.test.ts reads the printed line).
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/core/schema.ts';
import type { DeliveredOperationalEvent } from '../../local/operational-event-log.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { schemaErrors } from '../support/operational-event-schemas.ts';
import { receiverPool } from '../support/receiver.ts';

let harness: Harness;
const logged: DeliveredOperationalEvent[] = [];
const receivers = receiverPool();

beforeAll(async () => {
  harness = await startHarness({
    policy: { scheduleSeconds: [1], maxAttempts: 2 },
    operationalEvents: { onOperationalEvent: (event) => logged.push(event) },
  });
});

afterAll(async () => {
  await receivers.closeAll();
  await harness?.stop();
});

/** The logged events about one endpoint, once `done` holds for them. */
function loggedAbout(endpointId: string, done: (events: DeliveredOperationalEvent[]) => boolean) {
  return eventually(async () => {
    const events = logged.filter((event) => event.detail.endpointId === endpointId);
    return done(events) ? events : undefined;
  });
}

const types = (events: DeliveredOperationalEvent[]) => events.map((event) => event['detail-type']);

describe('local mode publishes operational events to the emulator', () => {
  it('provisions the queue on the SQS emulator and gives the functions the default bus', async () => {
    // Act
    const { operationalEventsQueueUrl, operationalEventBus, endpoints } = harness.stack.resources;
    const { Attributes } = await harness.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: operationalEventsQueueUrl, AttributeNames: ['QueueArn'] }),
    );

    // Assess
    expect(operationalEventsQueueUrl?.startsWith(`${endpoints.sqs}/`)).toBe(true);
    expect(Attributes?.QueueArn).toMatch(/:webhooks-operational-events$/);
    expect(operationalEventBus).toBe('default');
    expect(process.env[ENV.operationalEventBus]).toBe('default');
    expect(process.env.AWS_ENDPOINT_URL_EVENTBRIDGE).toBe(endpoints.sqs);
  });

  it('an operator disabling an endpoint: endpoint.disabled (manual) reaches the queue and the log', async () => {
    // Prepare
    const receiver = await receivers.start(() => ({ status: 200 }));
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: receiver.url });
    expect(created.status).toBe(201);

    // Act
    const patched = await harness.api('PATCH', `/endpoints/${created.body.id}`, { enabled: false });

    // Assess
    expect(patched.status).toBe(200);
    const events = await loggedAbout(created.body.id, (seen) => seen.length >= 1);
    expect(types(events)).toEqual(['endpoint.disabled']);
    expect(events[0]?.source).toBe('webhooks');
    expect(events[0]?.detail).toMatchObject({ reason: 'manual', tenantId: 'default', version: 1 });
    expect(schemaErrors('endpoint.disabled', events[0]?.detail)).toEqual([]);
  });

  it('a receiver answering 410: endpoint.disabled (gone) and delivery.dead reach the log', async () => {
    // Prepare
    const receiver = await receivers.start(() => ({ status: 410 }));
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: receiver.url });
    expect(created.status).toBe(201);

    // Act
    const sent = await harness.api('POST', '/events', { type: 'invoice.paid', data: { n: 1 } });

    // Assess
    expect(sent.status).toBe(202);
    const events = await loggedAbout(created.body.id, (seen) => seen.length >= 2);
    expect(types(events).sort()).toEqual(['delivery.dead', 'endpoint.disabled']);
    const disabled = events.find((event) => event['detail-type'] === 'endpoint.disabled');
    const dead = events.find((event) => event['detail-type'] === 'delivery.dead');
    expect(disabled?.detail).toMatchObject({ reason: 'gone', endpointId: created.body.id });
    expect(dead?.detail).toMatchObject({ cause: 'gone', eventType: 'invoice.paid' });
    for (const event of events) expect(schemaErrors(event['detail-type'], event.detail)).toEqual([]);
  });
});

type Listed = { id: string; detailType: string; occurredAt: string; detail: Record<string, unknown> };
type Listing = { items: Listed[]; nextCursor: string | null };

describe('GET /operational-events reads back what the worker recorded', () => {
  it('lists an endpoint’s events newest first, each with its id and the detail that was published', async () => {
    // Prepare
    const receiver = await receivers.start(() => ({ status: 410 }));
    const created = await harness.api<{ id: string }>('POST', '/endpoints', { url: receiver.url });
    await harness.api('POST', '/events', { type: 'invoice.paid', data: { n: 2 } });
    const published = await loggedAbout(created.body.id, (seen) => seen.length >= 2);

    // Act
    const listed = await eventually(async () => {
      const page = await harness.api<Listing>('GET', '/operational-events?limit=100');
      const about = page.body.items.filter((item) => item.detail.endpointId === created.body.id);
      return about.length >= 2 ? { page, about } : undefined;
    });

    // Assert
    expect(listed.page.status).toBe(200);
    expect(listed.about.map((item) => item.detailType).sort()).toEqual([
      'delivery.dead',
      'endpoint.disabled',
    ]);
    for (const item of listed.about) {
      expect(item.id).toMatch(/^oev_/);
      expect(item.occurredAt).toBe(item.detail.occurredAt);
      const same = published.find((event) => event['detail-type'] === item.detailType);
      expect(item.detail).toEqual(same?.detail);
    }
    const times = listed.page.body.items.map((item) => item.occurredAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('records a handed-over event once when its queue message arrives twice', async () => {
    // Prepare: a dlq.redriven the API would have handed over, sent twice under one id.
    const { encodeOperationalEvent } = await import('../../lambdas/core/payload.ts');
    const { newOperationalEventId } = await import('../../lambdas/core/ids.ts');
    const { operationalEvent } = await import('../../lambdas/core/operational-events.ts');
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const id = newOperationalEventId();
    const taskHandle = `task-${id}`;
    const body = encodeOperationalEvent(
      id,
      operationalEvent('dlq.redriven', {
        occurredAt: new Date().toISOString(),
        mode: 'move-task',
        taskHandle,
      }),
    );
    const queueUrl = harness.stack.resources.deliveryQueueUrl;

    // Act
    for (let copy = 0; copy < 2; copy++) {
      await harness.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageGroupId: 'operational-events',
        }),
      );
    }
    await eventually(async () => {
      const counts = await harness.queueCounts(queueUrl);
      return counts.visible === 0 && counts.inFlight === 0 ? true : undefined;
    });
    // A later event, so that once it is in the log every publication of the copies is too.
    const marker = await harness.api<{ id: string }>('POST', '/endpoints', { url: 'http://127.0.0.1:9/x' });
    await harness.api('PATCH', `/endpoints/${marker.body.id}`, { enabled: false });
    await loggedAbout(marker.body.id, (seen) => seen.length >= 1);

    // Assert
    const page = await harness.api<Listing>('GET', '/operational-events?type=dlq.redriven&limit=100');
    expect(page.body.items.filter((item) => item.id === id)).toHaveLength(1);
    expect(page.body.items.every((item) => item.detailType === 'dlq.redriven')).toBe(true);
    expect(logged.filter((event) => event.detail.taskHandle === taskHandle)).toHaveLength(1);
  });

  it('pages with nextCursor, never repeating an event', async () => {
    // Prepare: three events of its own (whatever earlier tests left).
    for (let n = 0; n < 3; n++) {
      const made = await harness.api<{ id: string }>('POST', '/endpoints', {
        url: 'http://127.0.0.1:9/paged',
      });
      await harness.api('PATCH', `/endpoints/${made.body.id}`, { enabled: false });
      await loggedAbout(made.body.id, (seen) => seen.length >= 1);
    }

    // Act
    const all = await harness.api<Listing>('GET', '/operational-events?limit=100');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `limit=1&cursor=${cursor}` : 'limit=1';
      const page: { body: Listing } = await harness.api<Listing>('GET', `/operational-events?${query}`);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length <= all.body.items.length);

    // Assert
    expect(all.body.items.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual(all.body.items.map((item) => item.id));
  });

  it('refuses a send-only key, an unknown type or field, a since beyond the records, a foreign cursor', async () => {
    // Prepare
    const key = await harness.api<{ key: string }>('POST', '/api-keys', { scope: 'send' });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a new key works after ≤ 1 s
    const longAgo = new Date(Date.now() - 31 * 86_400_000).toISOString();

    // Act
    const answers = {
      send: await harness.api('GET', '/operational-events', undefined, {
        authorization: `Bearer ${key.body.key}`,
      }),
      type: await harness.api('GET', '/operational-events?type=endpoint.deleted'),
      field: await harness.api('GET', '/operational-events?endpoint=ep_1'),
      since: await harness.api('GET', `/operational-events?since=${longAgo}`),
      cursor: await harness.api('GET', '/operational-events?cursor=bm90LWEta2V5'),
    };

    // Assert
    const codes = Object.fromEntries(
      Object.entries(answers).map(([name, answer]) => [
        name,
        [answer.status, (answer.body as { error?: { code?: string } }).error?.code],
      ]),
    );
    expect(codes).toEqual({
      send: [403, 'forbidden'],
      type: [400, 'invalid_query'],
      field: [400, 'invalid_query'],
      since: [400, 'invalid_query'],
      cursor: [400, 'invalid_cursor'],
    });
  });
});
