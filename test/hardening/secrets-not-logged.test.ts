/**
 * No secret ever reaches the logs. A full flow (create an endpoint, rotate its secret, send an
 * event that fails once, is retried and delivered) runs with the handlers logging at DEBUG
 * while everything written to stdout and stderr is captured. The logs must hold neither the
 * API key (nor its stored hash), nor any endpoint secret in any encoding, nor any signature
 * sent; and they must hold the ids an operator searches by.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { eventually, type Harness, startHarness, TEST_API_KEY } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

let tripwire: Tripwire;
let harness: Harness;
let target: TestReceiver;
const captured: string[] = [];
const restores: Array<() => void> = [];

function capture(stream: NodeJS.WriteStream): void {
  const spy = vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write);
  restores.push(() => spy.mockRestore());
}

beforeAll(async () => {
  tripwire = installLoopbackTripwire();
  process.env.TEST_LOG_LEVEL = 'DEBUG';
  capture(process.stdout);
  capture(process.stderr);
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 3 } });
  target = await startReceiver((_, index) =>
    index === 0 ? { status: 500, body: 'not yet' } : { status: 200 },
  );
});

afterAll(async () => {
  for (const restore of restores) restore();
  delete process.env.TEST_LOG_LEVEL;
  await target?.close();
  await harness?.stop();
  tripwire?.uninstall();
});

/** Every form in which a `whsec_` secret could leak. */
function secretForms(secret: string): string[] {
  const encoded = secret.slice('whsec_'.length);
  const raw = Buffer.from(encoded, 'base64');
  return [secret, encoded, raw.toString('base64url'), raw.toString('hex')];
}

it('logs no API key, secret or signature, and logs the ids an operator searches by', async () => {
  // Prepare
  const created = await harness.api<{ id: string; secret: string }>('POST', '/endpoints', {
    url: target.url,
  });
  const rotated = await harness.api<{ secret: string }>(
    'POST',
    `/endpoints/${created.body.id}/secret/rotate`,
  );
  expect(created.status).toBe(201);
  expect(rotated.status).toBe(200);

  // Act: the first attempt fails (500), the retry a second later succeeds.
  const sent = await harness.api<{ id: string; deliveries: Array<{ id: string }> }>('POST', '/events', {
    type: 'secrets.test',
    data: { hello: 'world' },
  });
  const deliveryId = sent.body.deliveries[0]!.id;
  await eventually(async () => {
    const { body } = await harness.api<{ status: string }>('GET', `/deliveries/${deliveryId}`);
    return body.status === 'delivered' ? true : undefined;
  });
  await harness.api('GET', '/endpoints', undefined, { authorization: 'Bearer whk_wrong-key' });
  const logs = captured.join('');

  // Assess: nothing secret.
  expect(target.received).toHaveLength(2);
  const forbidden = [
    TEST_API_KEY,
    createHash('sha256').update(TEST_API_KEY).digest('hex'),
    ...secretForms(created.body.secret),
    ...secretForms(rotated.body.secret),
    'whsec_',
    ...target.received.flatMap((webhook) => {
      const header = String(webhook.headers['webhook-signature']);
      return [header, ...header.split(' ').map((signature) => signature.slice('v1,'.length))];
    }),
  ];
  for (const value of forbidden)
    expect(logs.includes(value), `logs contain ${value.slice(0, 12)}…`).toBe(false);

  // Assess: the request's Trackingid and the delivery's ids are there to search by.
  const lines = logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const trackingId = sent.headers.get('trackingid');
  expect(lines.some((line) => line.trackingId === trackingId && line.eventId === sent.body.id)).toBe(true);
  const deliveryLines = lines.filter((line) => line.deliveryId === deliveryId);
  expect(deliveryLines.map((line) => line.message)).toEqual(
    expect.arrayContaining(['attempt failed; retry scheduled', 'delivered']),
  );
  for (const line of deliveryLines) {
    expect(line).toMatchObject({ eventId: sent.body.id, endpointId: created.body.id });
  }
  expect(tripwire.stopped).toEqual([]);
});
