/**
 * The throughput benchmark's stand-ins (bench/lib/fake-deps.ts) must answer everything the
 * delivery worker asks on the happy path: when the worker gained a store call the fakes lacked,
 * every record was parked as poisoned and the bench printed 0 deliveries/s instead of failing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchWorker, fakeDeps } from '../../bench/lib/fake-deps.ts';
import { sqsRecord, webhookBody } from '../../bench/lib/payloads.ts';
import { WebhookSender } from '../../lambdas/adapters/http-sender.ts';
import { deliveryId, newEndpointId, newEventId } from '../../lambdas/core/ids.ts';
import { generateSecret } from '../../lambdas/core/signing.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

describe("the throughput bench's fakes", () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  it('let the worker deliver a batch, each record once, none failed, deferred or parked', async () => {
    // Prepare
    const now = new Date().toISOString();
    const id = newEndpointId();
    const endpoint = {
      id,
      url: receiver.url,
      enabled: true,
      secretName: `bench/${id}`,
      createdAt: now,
      updatedAt: now,
    };
    const deps = fakeDeps([endpoint], new Map([[endpoint.secretName, { current: generateSecret() }]]));
    const sender = new WebhookSender({ guard: { allowLoopback: true } });
    const worker = benchWorker(deps, sender, { debug() {}, info() {}, warn() {}, error() {} });
    const batch = Array.from({ length: 3 }, (_, index) => {
      const createdAtMs = Date.now();
      const eventId = newEventId(createdAtMs);
      return sqsRecord({
        deliveryId: deliveryId(eventId, id, createdAtMs),
        eventId,
        endpointId: id,
        eventType: 'invoice.paid',
        createdAtMs,
        body: webhookBody(index),
      });
    });

    // Act
    const response = await worker.processBatch(batch);
    await sender.close();

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(deps.counters).toEqual({ delivered: 3, failed: 0, deferred: 0, deadLettered: 0 });
    expect(receiver.received).toHaveLength(3);
  });
});
