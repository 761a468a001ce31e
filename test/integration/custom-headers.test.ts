/**
 * Custom headers per endpoint (issue 12) on moto: kept in the endpoint's secret (through
 * create, setHeaders and rotate), sent to a loopback receiver under the signature, refused
 * names dropped at send time too, and no value on any log line of the whole run.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointSecrets } from '../../lambdas/adapters/secrets.ts';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import { buildWebhookBody, type DeliveryMessage, encodeMessage } from '../../lambdas/core/payload.ts';
import { createEndpointDirect } from '../support/direct-endpoints.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type CapturedLogs, captureLogs } from '../support/log-capture.ts';
import { receiverPool } from '../support/receiver.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 3 };

/** Values that must never be written to a log: each is unique enough to be searched for. */
const API_KEY_VALUE = 'gw-key-7f3a9c1e5b';
const AUTH_VALUE = 'Bearer tok-4d2e8a6f0c';
const ROTATED_VALUE = 'gw-key-after-rotate-91b7';

let harness: Harness;
let logs: CapturedLogs;
let secrets: EndpointSecrets;
const receivers = receiverPool();

beforeAll(async () => {
  logs = captureLogs();
  // DEBUG: every line the worker can write is written.
  harness = await startHarness({ policy: POLICY, env: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } });
  secrets = new EndpointSecrets(harness.stack.resources.endpointSecretPrefix);
});

afterAll(async () => {
  logs?.stop();
  await receivers.closeAll();
  await harness?.stop();
});

async function send(endpointId: string): Promise<DeliveryMessage> {
  const createdAtMs = Date.now();
  const eventId = newEventId(createdAtMs);
  const message: DeliveryMessage = {
    deliveryId: deliveryId(eventId, endpointId, createdAtMs),
    eventId,
    endpointId,
    eventType: 'invoice.paid',
    createdAtMs,
    body: buildWebhookBody('invoice.paid', createdAtMs, { amount: 1 }),
    trackingId: 'trk-headers',
  };
  await harness.sqs.send(
    new SendMessageCommand({
      QueueUrl: harness.stack.resources.deliveryQueueUrl,
      MessageBody: encodeMessage(message),
    }),
  );
  return message;
}

describe('custom headers', () => {
  it('arrive at the receiver with every delivery, under a signature that still verifies', async () => {
    // Prepare: the first attempt fails, so the failure's log lines are part of the run.
    const receiver = await receivers.start((_, index) => ({ status: index === 0 ? 503 : 200 }));
    const endpoint = await createEndpointDirect(harness, receiver.url, {
      headers: { 'X-Api-Key': API_KEY_VALUE, Authorization: AUTH_VALUE },
    });

    // Act
    await send(endpoint.id);
    const [first, second] = await receiver.waitFor(2);

    // Assess
    for (const webhook of [first, second]) {
      expect(webhook?.headers['x-api-key']).toBe(API_KEY_VALUE);
      expect(webhook?.headers.authorization).toBe(AUTH_VALUE);
      expect(webhook?.headers['content-type']).toBe('application/json');
      expect(() =>
        new Webhook(endpoint.secret).verify(webhook?.body ?? '', {
          'webhook-id': String(webhook?.headers['webhook-id']),
          'webhook-timestamp': String(webhook?.headers['webhook-timestamp']),
          'webhook-signature': String(webhook?.headers['webhook-signature']),
        }),
      ).not.toThrow();
    }
  });

  it('are replaced by setHeaders and kept by a rotation, which changes only the signing key', async () => {
    // Prepare
    const receiver = await receivers.start();
    const endpoint = await createEndpointDirect(harness, receiver.url, { headers: { 'X-Old': 'old-value' } });

    // Act
    await secrets.setHeaders(endpoint.record.secretName, { 'X-Api-Key': ROTATED_VALUE });
    const rotated = await secrets.rotate(
      endpoint.record.secretName,
      'whsec_bmV3LXNpZ25pbmcta2V5LTMyLWJ5dGVzISEhIQ==',
      Date.now(),
    );
    // A fresh reader, as another function instance would be: what is stored, not a cached copy.
    const stored = await new EndpointSecrets(harness.stack.resources.endpointSecretPrefix).get(
      endpoint.record.secretName,
    );

    // Assess
    expect(rotated.headers).toEqual({ 'X-Api-Key': ROTATED_VALUE });
    expect(stored).toEqual({
      current: 'whsec_bmV3LXNpZ25pbmcta2V5LTMyLWJ5dGVzISEhIQ==',
      previous: endpoint.secret,
      previousExpiresAt: rotated.previousExpiresAt,
      headers: { 'X-Api-Key': ROTATED_VALUE },
    });
    await secrets.setHeaders(endpoint.record.secretName, {});
    const cleared = await new EndpointSecrets(harness.stack.resources.endpointSecretPrefix).get(
      endpoint.record.secretName,
    );
    expect(cleared).not.toHaveProperty('headers');
    expect(cleared.current).toBe(rotated.current);
  });

  it('that the rules refuse are not sent even when a secret holds them (written by hand)', async () => {
    // Prepare: a secret edited outside the API, with headers POST /endpoints would refuse.
    const receiver = await receivers.start();
    const endpoint = await createEndpointDirect(harness, receiver.url, {
      headers: {
        Host: 'metadata.internal',
        'Webhook-Signature': 'v1,forged',
        'Content-Type': 'text/plain',
        'X-Fine': 'fine-value',
      },
    });

    // Act
    await send(endpoint.id);
    const [webhook] = await receiver.waitFor(1);

    // Assess
    expect(webhook?.headers['x-fine']).toBe('fine-value');
    expect(webhook?.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(webhook?.headers['content-type']).toBe('application/json');
    expect(String(webhook?.headers['webhook-signature'])).toMatch(/^v1,/);
    expect(String(webhook?.headers['webhook-signature'])).not.toContain('forged');
  });

  it('never appear on any log line of the run (values searched for in everything written)', async () => {
    // Assess: the run above wrote the worker's lines (DEBUG and up) for deliveries with headers.
    const workerLines = logs.lines.filter((line) => line.service === 'webhooks-delivery');
    expect(workerLines.some((line) => line.trackingId === 'trk-headers')).toBe(true);
    for (const value of [API_KEY_VALUE, AUTH_VALUE, ROTATED_VALUE, 'tok-4d2e8a6f0c']) {
      expect(logs.raw.filter((line) => line.includes(value))).toEqual([]);
    }
  });
});
