/**
 * The operator dashboard in a real headless Chromium (Debian's, driven by playwright-core)
 * against the local stack on moto: connect with the key, read why a delivery died (the
 * receiver's own error body, among its attempts), retry it once the receiver is healthy, and
 * redrive the dead-letter queue; list one tenant at a time, or every tenant's failed and dead
 * deliveries with their tenant ids; and receiver text with HTML in it is shown as text. Each test
 * has its own browser context (fresh sessionStorage) and connects itself, so none depends on
 * another. Screenshots land in test-output/ (git-ignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../lambdas/adapters/store.ts';
import { deliveryId, newEventId } from '../../lambdas/core/ids.ts';
import { eventually, type Harness, startHarness, TEST_API_KEY } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = 'test-output';
const RECEIVER_ERROR = 'ledger database unavailable (code LDB-503)';
const UI_TIMEOUT_MS = 30_000;

interface Sent {
  id: string;
  deliveries: Array<{ id: string; endpointId: string }>;
}

let harness: Harness;
let billing: TestReceiver;
let crm: TestReceiver;
/** Fails every request, whatever another test does to `billing`. */
let failing: TestReceiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Console errors and uncaught exceptions: a CSP violation or a script error shows up here. */
const pageProblems: string[] = [];

async function send(type: string, endpointId: string, data: unknown): Promise<Sent> {
  const sent = await harness.api<Sent>('POST', '/events', { type, data, endpointIds: [endpointId] });
  expect(sent.status).toBe(202);
  return sent.body;
}

async function deliveryStatus(id: string): Promise<string> {
  return (await harness.api<{ status: string }>('GET', `/deliveries/${id}`)).body.status;
}

const row = (deliveryId: string) => page.locator(`#deliveries-body tr[data-delivery-id="${deliveryId}"]`);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing (${CHROMIUM}); the dashboard test needs it: run \`apt-get install -y chromium\``,
    );
  }
  mkdirSync(OUTPUT_DIR, { recursive: true });
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 } });
  billing = await startReceiver(() => ({ status: 500, body: `receiver-error: ${RECEIVER_ERROR}` }));
  crm = await startReceiver();
  failing = await startReceiver(() => ({ status: 500, body: `receiver-error: ${RECEIVER_ERROR}` }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

beforeEach(async () => {
  pageProblems.length = 0;
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.on('console', (message) => {
    // A 400 the test provokes on purpose is logged by Chromium as a failed resource load.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      pageProblems.push(message.text());
    }
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
});

afterEach(async () => {
  await context?.close();
});

async function connect(): Promise<void> {
  await page.goto(`${harness.stack.apiUrl}/dashboard`);
  await page.getByLabel('API key').fill(TEST_API_KEY);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('#app').waitFor({ state: 'visible' });
}

afterAll(async () => {
  await browser?.close();
  await Promise.all([billing?.close(), crm?.close(), failing?.close()]);
  await harness?.stop();
});

describe('the operator dashboard', () => {
  it('shows why deliveries died, retries one and redrives the dead-letter queue', async () => {
    // Prepare: a billing receiver that fails every request, a CRM receiver that is fine.
    const billingEndpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: billing.url.replace('/webhooks', '/billing/webhooks'),
      description: 'billing',
    });
    const crmEndpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: crm.url.replace('/webhooks', '/crm/webhooks'),
    });
    await send('customer.created', crmEndpoint.body.id, { customerId: 'cus_1' });
    const invoice = await send('invoice.paid', billingEndpoint.body.id, { invoiceId: 'inv_1', amount: 4200 });
    const refund = await send('invoice.refunded', billingEndpoint.body.id, { invoiceId: 'inv_2' });
    const invoiceDelivery = invoice.deliveries[0]!.id;
    const refundDelivery = refund.deliveries[0]!.id;
    await eventually(
      async () =>
        (await deliveryStatus(invoiceDelivery)) === 'dead' &&
        (await deliveryStatus(refundDelivery)) === 'dead' &&
        (await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl)).visible === 2
          ? true
          : undefined,
      UI_TIMEOUT_MS,
      'both billing deliveries dead and in the DLQ',
    );

    // Act: connect.
    await connect();

    // Assess: endpoints, the DLQ and the dead deliveries are listed; the key is in the tab only.
    await page.locator('#endpoints-body', { hasText: '/billing/webhooks' }).waitFor();
    expect(await page.locator('#endpoints-body tr').count()).toBe(2);
    // The DLQ depth is read after the endpoints, so it is waited for rather than read at once.
    await page.locator('#dlq-count', { hasText: /^2$/ }).waitFor();
    await row(invoiceDelivery).locator('.badge', { hasText: 'dead' }).waitFor();
    await row(refundDelivery).locator('.badge', { hasText: 'dead' }).waitFor();
    expect(page.url()).not.toContain(TEST_API_KEY);
    expect(await page.evaluate('sessionStorage.getItem("webhooks.dashboard.apiKey")')).toBe(TEST_API_KEY);

    // Act: open the dead invoice's attempts.
    await row(invoiceDelivery).getByRole('button', { name: 'invoice.paid: show attempts' }).click();

    // Assess: both attempts, with the receiver's status and its own words.
    await page.locator('#detail-id', { hasText: invoiceDelivery }).waitFor();
    await page.locator('#attempts-body', { hasText: RECEIVER_ERROR }).waitFor();
    const attempts = page.locator('#attempts-body tr');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.nth(0).locator('td').nth(2).textContent()).toBe('500');
    await page.screenshot({ path: `${OUTPUT_DIR}/dashboard-attempts.png`, fullPage: true });

    // Act: the receiver is fixed; retry from the detail panel.
    billing.behave(() => ({ status: 200, body: 'ok' }));
    await page.locator('#detail').getByRole('button', { name: 'Retry' }).click();

    // Assess: the page follows the retry until the delivery is delivered.
    await page.locator('#detail-status .badge', { hasText: 'delivered' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await row(invoiceDelivery).locator('.badge', { hasText: 'delivered' }).waitFor();
    expect(await row(invoiceDelivery).getByRole('button', { name: /Retry/ }).count()).toBe(0);
    expect(await page.locator('#attempts-body tr').count()).toBe(3);

    // Act: a bad filter shows the API's error, code and message.
    await page.getByLabel('Event type', { exact: true }).fill('not a type!');
    await page.getByRole('button', { name: 'Apply filters' }).click();

    // Assess
    await page.locator('#error', { hasText: 'invalid_query' }).waitFor();
    expect(await page.locator('#error').textContent()).toMatch(/type/);
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await page.getByLabel('Event type', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await row(refundDelivery).waitFor();

    // Act: retry the refund while its endpoint is disabled.
    await harness.api('PATCH', `/endpoints/${billingEndpoint.body.id}`, { enabled: false });
    await row(refundDelivery).getByRole('button', { name: /Retry/ }).click();

    // Assess: the API's 409 is shown as it is, and nothing changed.
    await page.locator('#error', { hasText: 'endpoint_disabled' }).waitFor();
    expect(await page.locator('#error').textContent()).toContain('Retry refused');
    expect(await deliveryStatus(refundDelivery)).toBe('dead');
    await harness.api('PATCH', `/endpoints/${billingEndpoint.body.id}`, { enabled: true });

    // Act: redrive the DLQ (the refund, and the invoice's dead copy that the retry superseded).
    await page.getByRole('button', { name: 'Redrive' }).click();

    // Assess: moved, the DLQ drains, and the refund is delivered.
    await page.locator('#notice', { hasText: 'Moved 2 messages' }).waitFor();
    await page.locator('#dlq-count', { hasText: /^0$/ }).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await page.getByRole('button', { name: 'Redrive' }).isDisabled()).toBe(true);
    await row(refundDelivery).locator('.badge', { hasText: 'delivered' }).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await deliveryStatus(refundDelivery)).toBe('delivered');
    await row(refundDelivery).locator('td').first().click();
    await page.locator('#detail-id', { hasText: refundDelivery }).waitFor();
    await page.locator('#detail-status .badge', { hasText: 'delivered' }).waitFor();
    await page.screenshot({ path: `${OUTPUT_DIR}/dashboard.png`, fullPage: true });

    // Assess: no script error or policy violation along the way.
    expect(pageProblems).toEqual([]);
  }, 180_000);

  it('keeps the key for the tab across reloads and forgets it on request', async () => {
    // Prepare
    await connect();

    // Act
    await page.reload();

    // Assess
    await page.locator('#app').waitFor({ state: 'visible' });

    // Act
    await page.getByRole('button', { name: 'Forget key' }).click();

    // Assess
    await page.getByLabel('API key').waitFor({ state: 'visible' });
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('says so when the key is wrong', async () => {
    // Act
    await page.goto(`${harness.stack.apiUrl}/dashboard`);
    await page.getByLabel('API key').fill('whk_not-a-key');
    await page.getByRole('button', { name: 'Connect' }).click();

    // Assess
    await page.locator('#error', { hasText: 'unauthorized' }).waitFor();
    expect(await page.locator('#error').textContent()).toContain('The API key was refused');
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('shows receiver text with HTML and script in it as text, running nothing', async () => {
    // Prepare: a receiver whose error body is markup and script.
    const hostileBody =
      '<script>window.__injected = "script"</script><img src="x" onerror="window.__injected = \'img\'">' +
      '<b id="injected-bold">bold</b> &amp; done';
    const hostile = await startReceiver(() => ({
      status: 500,
      headers: { 'content-type': 'text/html' },
      body: hostileBody,
    }));
    try {
      const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
        url: hostile.url.replace('/webhooks', '/hostile/webhooks'),
      });
      const sent = await send('markup.test', endpoint.body.id, { n: 1 });
      const deliveryId = sent.deliveries[0]!.id;
      await eventually(
        async () => ((await deliveryStatus(deliveryId)) === 'dead' ? true : undefined),
        UI_TIMEOUT_MS,
        'the hostile delivery dead',
      );

      // Act
      await connect();
      await page.locator('#endpoints-body', { hasText: '/hostile/webhooks' }).waitFor();
      await row(deliveryId).getByRole('button', { name: 'markup.test: show attempts' }).click();
      await page.locator('#detail-id', { hasText: deliveryId }).waitFor();
      await page.locator('#attempts-body', { hasText: '<script>' }).waitFor();

      // Assess: the markup is there as characters; no element came of it and nothing ran.
      const attemptsText = await page.locator('#attempts-body').textContent();
      expect(attemptsText).toContain('<script>window.__injected = "script"</script>');
      expect(attemptsText).toContain('<b id="injected-bold">bold</b> &amp; done');
      expect(await page.locator('#attempts-body script, #attempts-body img, #attempts-body b').count()).toBe(
        0,
      );
      expect(await page.locator('#endpoints-body img, #endpoints-body i').count()).toBe(0);
      expect(await page.locator('#injected-bold').count()).toBe(0);
      expect(await page.evaluate('window.__injected')).toBeUndefined();
      expect(pageProblems).toEqual([]);

      // Clean up: what this test left must not change what another test counts.
      expect((await harness.api('DELETE', `/endpoints/${endpoint.body.id}`)).status).toBe(204);
      await eventually(
        async () =>
          (await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl)).visible >= 1
            ? true
            : undefined,
        UI_TIMEOUT_MS,
        'the hostile message in the DLQ',
      );
      await harness.sqs.send(new PurgeQueueCommand({ QueueUrl: harness.stack.resources.deadLetterQueueUrl }));
    } finally {
      await hostile.close();
    }
  }, 120_000);

  it("shows an endpoint's backlog: how many deliveries are held, why, and since when", async () => {
    // Prepare: an endpoint with two deliveries held (as an open circuit holds them).
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: billing.url.replace('/webhooks', '/held/webhooks'),
    });
    const store = new Store();
    const createdAtMs = Date.parse('2026-12-01T09:30:00.000Z');
    for (const n of [1, 2]) {
      const eventId = newEventId(createdAtMs + n);
      await store.holdDelivery(
        {
          endpointId: endpoint.body.id,
          id: deliveryId(eventId, endpoint.body.id, createdAtMs + n),
          eventId,
          eventType: 'held.test',
          createdAtMs: createdAtMs + n,
        },
        'circuit_open',
        Date.now(),
      );
    }
    await store.markBacklog(endpoint.body.id);

    // Act
    await connect();
    const held = page.locator('#endpoints-body tr', { hasText: '/held/webhooks' });
    await held.waitFor();

    // Assess
    expect(await held.locator('td.backlog').textContent()).toMatch(/^2 held \(circuit_open\), oldest /);
    const other = page.locator('#endpoints-body tr', { hasText: '/billing/webhooks' });
    if ((await other.count()) > 0) expect(await other.locator('td.backlog').textContent()).toBe('—');
    expect(pageProblems).toEqual([]);

    // Clean up
    expect((await harness.api('DELETE', `/endpoints/${endpoint.body.id}`)).status).toBe(204);
  }, 60_000);

  it('lists one tenant at a time and opens the portal as that tenant in a new tab', async () => {
    // Prepare: a tenant with an endpoint and a delivery of its own, and an endpoint of the default tenant.
    expect([200, 201]).toContain((await harness.api('PUT', '/tenants/initech', { name: 'Initech' })).status);
    const other = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: crm.url.replace('/webhooks', '/default-tenant/webhooks'),
    });
    const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: crm.url.replace('/webhooks', '/initech/webhooks'),
      tenantId: 'initech',
    });
    const sent = await harness.api<Sent>('POST', '/events', {
      type: 'tps.report',
      data: { n: 1 },
      tenantId: 'initech',
      endpointIds: [endpoint.body.id],
    });
    expect(sent.status).toBe(202);
    const deliveryId = sent.body.deliveries[0]!.id;
    await connect();
    await page.locator('#filter-tenant option[value="initech"]').waitFor({ state: 'attached' });
    await page.locator('#endpoints-body tr', { hasText: '/default-tenant/webhooks' }).waitFor();
    expect(await page.locator('#filter-tenant').inputValue()).toBe('default');
    expect(await page.locator('#endpoints-body').textContent()).not.toContain('/initech/webhooks');

    // Act
    await page.locator('#filter-tenant').selectOption('initech');

    // Assess: only the tenant's endpoint and deliveries are listed.
    await page
      .locator('#endpoints-body tr', { hasText: '/default-tenant/webhooks' })
      .waitFor({ state: 'detached' });
    await page.locator('#endpoints-body tr', { hasText: '/initech/webhooks' }).waitFor();
    await row(deliveryId).waitFor();
    expect(await page.locator('#endpoints-body tr').count()).toBe(1);
    expect(await page.locator('#deliveries-body tr').count()).toBe(1);

    // Act
    const opened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Open the portal as this tenant' }).click();
    const portal = await opened;

    // Assess: the portal of that tenant, its token out of the address bar.
    await portal.locator('#tenant-name', { hasText: 'Initech' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await portal.locator(`#deliveries-body tr[data-delivery-id="${deliveryId}"]`).waitFor();
    expect(portal.url()).toBe(`${harness.stack.apiUrl}/portal`);
    await page.locator('#notice', { hasText: 'Opened the portal of initech' }).waitFor();

    // Act: back to the default tenant.
    await page.locator('#filter-tenant').selectOption('default');

    // Assess
    await page.locator('#endpoints-body tr', { hasText: '/default-tenant/webhooks' }).waitFor();
    expect(await page.locator('#endpoints-body').textContent()).not.toContain('/initech/webhooks');
    await row(deliveryId).waitFor({ state: 'detached' });
    expect(pageProblems).toEqual([]);

    // Clean up
    expect((await harness.api('DELETE', `/endpoints/${endpoint.body.id}`)).status).toBe(204);
    expect((await harness.api('DELETE', `/endpoints/${other.body.id}`)).status).toBe(204);
  }, 60_000);
  it("lists every tenant's failed and dead deliveries, with their tenant ids, across tenants", async () => {
    // Prepare: two tenants, each with an endpoint whose receiver answers 500, and a delivery each.
    const sent: Array<{ tenantId: string; endpointId: string; deliveryId: string }> = [];
    for (const tenantId of ['globex', 'umbrella']) {
      expect([200, 201]).toContain(
        (await harness.api('PUT', `/tenants/${tenantId}`, { name: tenantId })).status,
      );
      const endpoint = await harness.api<{ id: string }>('POST', '/endpoints', {
        url: failing.url.replace('/webhooks', `/${tenantId}/webhooks`),
        tenantId,
      });
      expect(endpoint.body.id).toBeTruthy();
      const event = await harness.api<Sent>('POST', '/events', {
        type: 'order.failed',
        data: { tenantId },
        tenantId,
        endpointIds: [endpoint.body.id],
      });
      expect(event.status).toBe(202);
      sent.push({ tenantId, endpointId: endpoint.body.id, deliveryId: event.body.deliveries[0]!.id });
    }
    await eventually(
      async () => {
        for (const { deliveryId } of sent)
          if ((await deliveryStatus(deliveryId)) !== 'dead') return undefined;
        return true;
      },
      UI_TIMEOUT_MS,
      "both tenants' deliveries dead",
    );
    await connect();
    await page.locator('#filter-tenant option[value="umbrella"]').waitFor({ state: 'attached' });

    // Act: all tenants, dead deliveries.
    await page.locator('#filter-tenant').selectOption({ label: 'All tenants: failed and dead' });
    await page.locator('#choose-tenant').waitFor({ state: 'visible' });
    await page.locator('#filter-status').selectOption('dead');
    await page.getByRole('button', { name: 'Apply filters' }).click();

    // Assess: both tenants' deliveries, each with its tenant id; no tenant's endpoints.
    for (const { tenantId, deliveryId } of sent) {
      await row(deliveryId).waitFor();
      expect(await row(deliveryId).locator('td.tenant').textContent()).toBe(tenantId);
      await row(deliveryId).locator('.badge', { hasText: 'dead' }).waitFor();
      expect(await row(deliveryId).getByRole('button', { name: /Retry/ }).count()).toBe(1);
    }
    expect(await page.locator('#deliveries-tenant-col').isVisible()).toBe(true);
    expect(await page.locator('#endpoints-card').isHidden()).toBe(true);
    expect(await page.locator('#open-portal').isHidden()).toBe(true);
    expect(await page.locator('#filter-status option[value="delivered"]').isDisabled()).toBe(true);

    // Act: open one.
    const second = sent[1]!;
    await row(second.deliveryId).getByRole('button', { name: 'order.failed: show attempts' }).click();

    // Assess: the same detail panel, its tenant named, with the receiver's words and Retry.
    await page.locator('#detail-id', { hasText: second.deliveryId }).waitFor();
    await page.locator('#attempts-body', { hasText: RECEIVER_ERROR }).waitFor();
    expect(await page.locator('#detail-facts').textContent()).toContain(`Tenant${second.tenantId}`);
    expect(await page.locator('#detail').getByRole('button', { name: 'Retry' }).isVisible()).toBe(true);
    await page.screenshot({ path: `${OUTPUT_DIR}/dashboard-all-tenants.png`, fullPage: true });

    // Act: back to one tenant.
    await page.locator('#filter-tenant').selectOption('globex');

    // Assess: that tenant's endpoint again, and only its delivery, without a tenant column.
    await page.locator('#endpoints-body tr', { hasText: '/globex/webhooks' }).waitFor();
    await row(second.deliveryId).waitFor({ state: 'detached' });
    expect(await page.locator('#deliveries-tenant-col').isHidden()).toBe(true);
    await row(sent[0]!.deliveryId).waitFor();
    expect(await row(sent[0]!.deliveryId).locator('td.tenant').count()).toBe(0);
    expect(pageProblems).toEqual([]);

    // Clean up
    for (const { endpointId } of sent) {
      expect((await harness.api('DELETE', `/endpoints/${endpointId}`)).status).toBe(204);
    }
  }, 120_000);

  it('lists the latest operational events: what happened, to which endpoint, and why', async () => {
    // Prepare: an endpoint an operator disabled (endpoint.disabled, manual), and one whose only
    // delivery died (delivery.dead, budget spent), both recorded by the worker.
    const manual = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: crm.url.replace('/webhooks', '/disabled-by-hand/webhooks'),
    });
    await harness.api('PATCH', `/endpoints/${manual.body.id}`, { enabled: false });
    const dying = await harness.api<{ id: string }>('POST', '/endpoints', {
      url: failing.url.replace('/webhooks', '/ops-events/webhooks'),
    });
    const sent = await send('order.failed', dying.body.id, { n: 1 });
    await eventually(
      async () => ((await deliveryStatus(sent.deliveries[0]!.id)) === 'dead' ? true : undefined),
      UI_TIMEOUT_MS,
      'the delivery dead',
    );
    await eventually(
      async () => {
        const { body } = await harness.api<{ items: Array<{ detail: { endpointId?: string } }> }>(
          'GET',
          '/operational-events?limit=100',
        );
        const about = (id: string) => body.items.some((item) => item.detail.endpointId === id);
        return about(manual.body.id) && about(dying.body.id) ? true : undefined;
      },
      UI_TIMEOUT_MS,
      'both events recorded',
    );

    // Act
    await connect();
    const panel = page.locator('#operational-events-body');
    const disabledRow = panel.locator('tr', { hasText: 'disabled-by-hand' });
    const deadRow = panel.locator('tr', { hasText: 'delivery.dead' }).filter({ hasText: 'ops-events' });
    await disabledRow.waitFor({ timeout: UI_TIMEOUT_MS });
    await deadRow.waitFor({ timeout: UI_TIMEOUT_MS });

    // Assess: each row names the event, the endpoint by its URL (its id in the title), the
    // tenant, and the detail in words.
    expect(await disabledRow.locator('td').nth(1).textContent()).toBe('endpoint.disabled');
    expect(await disabledRow.locator('td').nth(2).locator('span').getAttribute('title')).toBe(manual.body.id);
    expect(await disabledRow.locator('td').nth(3).textContent()).toBe('default');
    expect(await disabledRow.locator('td').nth(4).textContent()).toMatch(/^manual, /);
    expect(await deadRow.locator('td').nth(4).textContent()).toBe(
      `budget_spent, 2 attempts, ${sent.deliveries[0]!.id}`,
    );
    expect(await page.locator('#operational-events-empty').isHidden()).toBe(true);
    expect(pageProblems).toEqual([]);
    for (const id of [manual.body.id, dying.body.id]) {
      expect((await harness.api('DELETE', `/endpoints/${id}`)).status).toBe(204);
    }
  }, 120_000);
});
