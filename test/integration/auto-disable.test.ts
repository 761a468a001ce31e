/**
 * An endpoint that keeps failing for longer than the configured time (5 days by default;
 * 2 s here) is disabled, which the API shows, and its messages are parked in the DLQ.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

let harness: Harness;
let target: TestReceiver;

beforeAll(async () => {
  harness = await startHarness({
    policy: { scheduleSeconds: [1], maxAttempts: 20 },
    env: { WEBHOOKS_DISABLE_AFTER_SECONDS: '2', WEBHOOKS_BREAKER_THRESHOLD: '100' },
  });
  target = await startReceiver(() => ({ status: 503, body: 'maintenance' }));
});

afterAll(async () => {
  await target?.close();
  await harness?.stop();
});

it('disables an endpoint that fails without a success for too long and parks its message', async () => {
  // Prepare
  const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: target.url });

  // Act
  const sent = await harness.api<{ deliveries: Array<{ id: string }> }>('POST', '/events', {
    type: 'disable.test',
    data: {},
    endpointIds: [endpoint.body.id],
  });
  const disabled = await eventually(async () => {
    const { body } = await harness.api<{ enabled: boolean; disabledReason: string; failingSince: string }>(
      'GET',
      `/endpoints/${endpoint.body.id}`,
    );
    return body.enabled ? undefined : body;
  }, 20_000);

  // Assess
  expect(disabled.disabledReason).toMatch(/failing without a success since/);
  expect(Date.parse(disabled.failingSince)).toBeLessThan(Date.now() - 2000);
  const dead = await eventually(async () => {
    const { body } = await harness.api<{ status: string }>(
      'GET',
      `/deliveries/${sent.body.deliveries[0]!.id}`,
    );
    return body.status === 'dead' ? body : undefined;
  }, 20_000);
  expect(dead.status).toBe('dead');
  const dlq = await eventually(async () => {
    const counts = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
    return counts.visible + counts.inFlight > 0 ? counts : undefined;
  });
  expect(dlq.visible + dlq.inFlight).toBe(1);
  const refused = await harness.api('POST', '/events', {
    type: 'disable.test',
    data: {},
    endpointIds: [endpoint.body.id],
  });
  expect(refused.status).toBe(422);
}, 60_000);
