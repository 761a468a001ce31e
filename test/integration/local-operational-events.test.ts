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
