/**
 * After a rotation the delivery worker signs with the new secret and, until the previous one
 * expires (24 h after the rotation; see lambdas/adapters/secrets.ts), with the previous one too:
 * a second signature in the same header. From that time on, on the worker's own clock, the
 * previous secret signs nothing. Checked with the public standardwebhooks library.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { HttpAnswer } from '../../lambdas/adapters/http-sender.ts';
import { generateSecret } from '../../lambdas/core/signing.ts';
import { DeliveryWorker } from '../../lambdas/delivery/worker.ts';
import {
  deliveryMessage,
  FakeQueue,
  FakeSecrets,
  FakeStore,
  MemoryLogger,
  seedEndpoint,
  sqsRecord,
} from './fakes.ts';

/** The headers and body of each request the worker sent. */
function recordingSender() {
  const requests: Array<{ headers: Record<string, string>; body: string }> = [];
  return {
    requests,
    post: async (_url: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> => {
      requests.push({ headers, body });
      return { statusCode: 200, excerpt: '', durationMs: 2 };
    },
  };
}

/** Sends one new delivery at `nowMs` (the worker's clock) and returns the request it made. */
async function deliverAt(
  nowMs: number,
  secrets: { current: string; previous: string; previousExpiresAt: number },
) {
  const store = new FakeStore();
  const fakeSecrets = new FakeSecrets();
  const sender = recordingSender();
  const endpoint = seedEndpoint(store, fakeSecrets, 'https://receiver.example/hook');
  fakeSecrets.secrets.set(endpoint.secretName, secrets);
  const worker = new DeliveryWorker({
    store,
    secrets: fakeSecrets,
    sender,
    queue: new FakeQueue(),
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/rotation',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/rotation-dlq',
    policy: { scheduleSeconds: [30], maxAttempts: 3 },
    logger: new MemoryLogger(),
    now: () => nowMs,
  });
  await worker.processBatch([sqsRecord(deliveryMessage(endpoint))]);
  expect(sender.requests).toHaveLength(1);
  return sender.requests[0]!;
}

const verifies = (secret: string, request: { headers: Record<string, string>; body: string }): boolean => {
  try {
    new Webhook(secret).verify(request.body, request.headers);
    return true;
  } catch {
    return false;
  }
};

describe('the previous secret after a rotation', () => {
  // The libraries check the timestamp against the real clock: the expiry is put near now.
  const previousExpiresAt = Date.now() + 60_000;
  const secrets = { current: generateSecret(), previous: generateSecret(), previousExpiresAt };

  it('signs alongside the new one until its expiry', async () => {
    // Act
    const request = await deliverAt(previousExpiresAt - 1, secrets);

    // Assess
    expect(request.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verifies(secrets.current, request)).toBe(true);
    expect(verifies(secrets.previous, request)).toBe(true);
  });

  it('signs nothing from its expiry on', async () => {
    // Act
    const atExpiry = await deliverAt(previousExpiresAt, secrets);
    const later = await deliverAt(previousExpiresAt + 30_000, secrets);

    // Assess
    for (const request of [atExpiry, later]) {
      expect(request.headers['webhook-signature']?.split(' ')).toHaveLength(1);
      expect(verifies(secrets.current, request)).toBe(true);
      expect(verifies(secrets.previous, request)).toBe(false);
    }
  });
});
