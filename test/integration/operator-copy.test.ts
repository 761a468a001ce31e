/**
 * The operator's copy of operational events (lambdas/delivery/operator-copy.ts) on moto, through
 * local mode with `WEBHOOKS_OPERATOR_ENDPOINT_ID` set: each operational event also arrives at the
 * operator endpoint as a signed webhook (type `webhooks.<detail-type>`, data the detail), sent
 * through the same pipeline (an event record, a delivery record, the attempt log), and never one
 * about the operator endpoint itself, so a failing operator endpoint cannot feed itself.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEndpointId } from '../../lambdas/core/ids.ts';
import { OPERATIONAL_EVENT_TYPES } from '../../lambdas/core/operational-events.ts';
import { operatorEventType } from '../../lambdas/delivery/operator-copy.ts';
import { createEndpointDirect, type DirectEndpoint } from '../support/direct-endpoints.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { type ReceivedWebhook, receiverPool, type TestReceiver } from '../support/receiver.ts';

const OPERATOR_ID = newEndpointId();

let harness: Harness;
let operator: DirectEndpoint;
let operatorReceiver: TestReceiver;
/** What the operator receiver answers: 200, or 500 while a test makes it fail. */
let operatorFails = false;
const receivers = receiverPool();

type Listed = { id: string; detailType: string; detail: Record<string, unknown> };

beforeAll(async () => {
  harness = await startHarness({
    policy: { scheduleSeconds: [1], maxAttempts: 1 },
    env: { WEBHOOKS_OPERATOR_ENDPOINT_ID: OPERATOR_ID },
  });
  operatorReceiver = await receivers.start(() => ({ status: operatorFails ? 500 : 200 }));
  operator = await createEndpointDirect(harness, operatorReceiver.url, {
    id: OPERATOR_ID,
    // Subscribed to the copies' types only: customers' events never fan out to it.
    extra: { eventTypes: OPERATIONAL_EVENT_TYPES.map(operatorEventType) },
  });
});

afterAll(async () => {
  await receivers.closeAll();
  await harness?.stop();
});

/** The operator receiver's webhooks of one type about one endpoint, once `count` arrived. */
function copiesAbout(endpointId: string, type: string, count: number): Promise<ReceivedWebhook[]> {
  return eventually(async () => {
    const copies = operatorReceiver.received.filter((webhook) => {
      const body = JSON.parse(webhook.body) as { type: string; data: { endpointId?: string } };
      return body.type === type && body.data.endpointId === endpointId;
    });
    return copies.length >= count ? copies : undefined;
  });
}

async function recorded(endpointId: string, detailType: string): Promise<Listed> {
  return eventually(async () => {
    const { body } = await harness.api<{ items: Listed[] }>(
      'GET',
      `/operational-events?type=${detailType}&limit=100`,
    );
    return body.items.find((item) => item.detail.endpointId === endpointId);
  });
}

describe('operational events copied to the operator endpoint', () => {
  it('a 410: endpoint.disabled and delivery.dead arrive signed, as webhooks.<detail-type>, with the detail', async () => {
    // Prepare
    const gone = await receivers.start(() => ({ status: 410 }));
    const customer = await harness.api<{ id: string }>('POST', '/endpoints', { url: gone.url });

    // Act
    const sent = await harness.api('POST', '/events', {
      type: 'invoice.paid',
      data: { n: 1 },
      endpointIds: [customer.body.id],
    });

    // Assert
    expect(sent.status).toBe(202);
    for (const detailType of ['endpoint.disabled', 'delivery.dead'] as const) {
      const [copy] = await copiesAbout(customer.body.id, operatorEventType(detailType), 1);
      const listed = await recorded(customer.body.id, detailType);
      const verified = new Webhook(operator.secret).verify(copy?.body ?? '', {
        'webhook-id': String(copy?.headers['webhook-id']),
        'webhook-timestamp': String(copy?.headers['webhook-timestamp']),
        'webhook-signature': String(copy?.headers['webhook-signature']),
      });
      expect(verified).toEqual({
        type: operatorEventType(detailType),
        timestamp: listed.detail.occurredAt,
        data: listed.detail,
      });
      // The copy's event id is the operational event's own (oev_X → msg_X).
      expect(copy?.headers['webhook-id']).toBe(`msg_${listed.id.slice('oev_'.length)}`);
      const event = await harness.api<{
        type: string;
        deliveries: Array<{ endpointId: string; status: string }>;
      }>('GET', `/events/msg_${listed.id.slice('oev_'.length)}`);
      expect(event.body.type).toBe(operatorEventType(detailType));
      expect(event.body.deliveries.map((delivery) => delivery.endpointId)).toEqual([OPERATOR_ID]);
    }
    const disabled = await copiesAbout(customer.body.id, operatorEventType('endpoint.disabled'), 1);
    expect(disabled).toHaveLength(1);
  });

  it('never copies an event about the operator endpoint itself: its own dead delivery goes to the bus record only', async () => {
    // Prepare: the operator receiver fails, and one attempt is the whole budget.
    operatorFails = true;

    // Act: an event straight to the operator endpoint, which dies there.
    const sent = await harness.api<{ deliveries: Array<{ id: string }> }>('POST', '/events', {
      type: operatorEventType('dlq.redriven'),
      data: { probe: true },
      endpointIds: [OPERATOR_ID],
    });
    const dead = await recorded(OPERATOR_ID, 'delivery.dead');
    const queueUrl = harness.stack.resources.deliveryQueueUrl;
    await eventually(async () => {
      const counts = await harness.queueCounts(queueUrl);
      return counts.visible === 0 && counts.inFlight === 0 ? true : undefined;
    });
    operatorFails = false;

    // Assert: recorded (and published), but no copy was ever stored or sent.
    expect(dead.detail.deliveryId).toBe(sent.body.deliveries[0]?.id);
    const copy = await harness.api('GET', `/events/msg_${dead.id.slice('oev_'.length)}`);
    expect(copy.status).toBe(404);
    const aboutItself = operatorReceiver.received.filter(
      (webhook) =>
        (JSON.parse(webhook.body) as { data: { endpointId?: string } }).data.endpointId === OPERATOR_ID,
    );
    expect(aboutItself).toEqual([]);
  });
});
