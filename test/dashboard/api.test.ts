/**
 * The pages' API side on the moto emulator: the dashboard and the portal over HTTP without a key (and their
 * security headers), the key still required everywhere else, and `POST /dlq/redrive` falling
 * back from StartMessageMoveTask (which moto lacks) to copying dead deliveries back, which
 * are then delivered with their original webhook-id.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

let harness: Harness;
let receiver: TestReceiver;

beforeAll(async () => {
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 } });
  receiver = await startReceiver(() => ({ status: 503, body: 'down for maintenance' }));
});

afterAll(async () => {
  await receiver?.close();
  await harness?.stop();
});

describe('GET /dashboard and GET /portal', () => {
  it.each(['/dashboard', '/portal'])(
    '%s: a self-contained HTML page without a key, with a strict content security policy',
    async (path) => {
      // Act
      const response = await fetch(`${harness.stack.apiUrl}${path}`);
      const html = await response.text();

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('trackingid')).toMatch(/\S+/);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
      const csp = response.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'none'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ]) {
        expect(csp).toContain(directive);
      }
      expect(csp).not.toContain('unsafe-eval');
      expect(html).toMatch(/^<!doctype html>/);
      // Self-contained: nothing loaded from anywhere else.
      expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
      expect(html).not.toMatch(/@import|url\(/i);
      // The one inline script and the one stylesheet are exactly the ones the policy allows.
      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1] ?? '');
      expect(scripts).toHaveLength(1);
      expect(styles).toHaveLength(1);
      const hash = (source: string) => `'sha256-${createHash('sha256').update(source).digest('base64')}'`;
      expect(csp).toContain(`script-src ${hash(scripts[0] ?? '')}`);
      expect(csp).toContain(`style-src ${hash(styles[0] ?? '')}`);
      expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    },
  );

  it('keeps every other route behind the key', async () => {
    // Act
    const probes = await Promise.all(
      [
        ['GET', '/endpoints'],
        ['GET', '/deliveries'],
        ['GET', '/dlq'],
        ['POST', '/dlq/redrive'],
        ['POST', '/dashboard'],
      ].map(async ([method, path]) => {
        const response = await harness.api(method ?? '', path ?? '', undefined, { authorization: '' });
        return `${method} ${path} ${response.status}`;
      }),
    );

    // Assess
    expect(probes).toEqual([
      'GET /endpoints 401',
      'GET /deliveries 401',
      'GET /dlq 401',
      'POST /dlq/redrive 401',
      'POST /dashboard 401',
    ]);
  });
});

describe('POST /dlq/redrive on the emulator', () => {
  it('copies dead deliveries back to the delivery queue, where they are delivered again', async () => {
    // Prepare: three events die at a receiver that is down.
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', { url: receiver.url });
    const events = [];
    for (let n = 0; n < 3; n++) {
      const sent = await harness.api<{ id: string; deliveries: Array<{ id: string }> }>('POST', '/events', {
        type: 'redrive.test',
        data: { n },
        endpointIds: [endpoint.body.id],
      });
      events.push(sent.body);
    }
    const dlq = harness.stack.resources.deadLetterQueueUrl;
    await eventually(
      async () => ((await harness.queueCounts(dlq)).visible === 3 ? true : undefined),
      30_000,
      'three dead-lettered messages',
    );
    receiver.behave(() => ({ status: 200, body: 'ok' }));
    const before = receiver.received.length;

    // Act
    const redriven = await harness.api('POST', '/dlq/redrive');

    // Assess
    expect(redriven.status).toBe(200);
    expect(redriven.body).toEqual({ mode: 'copied', moved: 3 });
    expect((await harness.queueCounts(dlq)).visible).toBe(0);
    for (const event of events) {
      const delivery = await eventually(async () => {
        const { body } = await harness.api<{ status: string; redrives: number }>(
          'GET',
          `/deliveries/${event.deliveries[0]?.id}`,
        );
        return body.status === 'delivered' ? body : undefined;
      });
      expect(delivery.redrives).toBe(1);
    }
    const redelivered = receiver.received.slice(before).map((webhook) => webhook.headers['webhook-id']);
    expect(redelivered.sort()).toEqual(events.map((event) => event.id).sort());
    const again = await harness.api('POST', '/dlq/redrive');
    expect(again.body).toEqual({ mode: 'copied', moved: 0 });
  });
});
