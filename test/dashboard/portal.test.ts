/**
 * The consumer portal in a real headless Chromium (Debian's, driven by playwright-core) against
 * the local stack on moto, opened from a portal link for tenant Acme as a tenant's developer
 * would: it lists Acme's endpoints and deliveries only, shows a failed attempt's response as
 * text (a receiver body with HTML and a script in it runs nothing), retries it until it is
 * delivered, rotates a secret (shown once) and sends a test event, and reaches nothing
 * of tenant Globex whatever ids the requests or the address name. A link that has expired or
 * was altered leaves a page that says so and nothing else. Screenshots land in test-output/
 * (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PortalKey } from '../../lambdas/adapters/credentials.ts';
import { issuePortalToken } from '../../lambdas/api/portal-tokens.ts';
import { eventually, type Harness, startHarness } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = 'test-output';
const UI_TIMEOUT_MS = 30_000;
const TOKEN_STORAGE = 'webhooks.portal.token';
/** What Acme's receiver answers while it is broken: markup and a script, to be shown as text. */
const HOSTILE_BODY =
  '<script>window.__injected = "script"</script><img src="x" onerror="window.__injected = \'img\'">' +
  '<b id="injected-bold">ledger down</b> &amp; retry later';

interface Sent {
  id: string;
  deliveries: Array<{ id: string; endpointId: string }>;
}

interface Created {
  id: string;
  secret: string;
}

interface PortalLink {
  url: string;
  token: string;
  expiresAt: string;
}

let harness: Harness;
let acmeReceiver: TestReceiver;
let globexReceiver: TestReceiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let acmeEndpoint: Created;
let globexEndpoint: Created;
let acmeDelivery: string;
let globexDelivery: string;
/** Console errors and uncaught exceptions: a CSP violation or a script error shows up here. */
const pageProblems: string[] = [];

async function send(type: string, tenantId: string, endpointId: string, data: unknown): Promise<Sent> {
  const sent = await harness.api<Sent>('POST', '/events', {
    type,
    data,
    tenantId,
    endpointIds: [endpointId],
  });
  expect(sent.status).toBe(202);
  return sent.body;
}

async function deliveryStatus(id: string): Promise<string> {
  return (await harness.api<{ status: string }>('GET', `/deliveries/${id}`)).body.status;
}

async function portalLink(tenantId: string, body: unknown = {}): Promise<PortalLink> {
  const link = await harness.api<PortalLink>('POST', `/tenants/${tenantId}/portal-sessions`, body);
  expect(link.status).toBe(201);
  return link.body;
}

/** Opens the portal as its link does: the page at /portal, the token in the fragment. */
async function openPortal(token: string): Promise<void> {
  await page.goto(`${harness.stack.apiUrl}/portal#token=${token}`);
}

const deliveryRow = (id: string) => page.locator(`#deliveries-body tr[data-delivery-id="${id}"]`);
const endpointRow = (id: string) => page.locator(`#endpoints-body tr[data-endpoint-id="${id}"]`);

/** A request from inside the page with the portal's own token, as a curious user would send it. */
async function fromPage(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return page.evaluate(
    async ({ method, path, storage, json }) => {
      const response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${sessionStorage.getItem(storage) ?? ''}`,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(json === undefined ? {} : { body: json }),
      });
      return { status: response.status, body: await response.text() };
    },
    { method, path, storage: TOKEN_STORAGE, json: body === undefined ? undefined : JSON.stringify(body) },
  );
}

beforeAll(async () => {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 } });
  acmeReceiver = await startReceiver(() => ({
    status: 500,
    headers: { 'content-type': 'text/html' },
    body: HOSTILE_BODY,
  }));
  globexReceiver = await startReceiver();
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

  // Two tenants, one endpoint each; Acme's receiver fails, so its delivery dies.
  for (const [id, name] of [
    ['acme', 'Acme Corp'],
    ['globex', 'Globex'],
  ] as const) {
    expect([200, 201]).toContain((await harness.api('PUT', `/tenants/${id}`, { name })).status);
  }
  const acme = await harness.api<Created>('POST', '/endpoints', {
    url: acmeReceiver.url.replace('/webhooks', '/acme/webhooks'),
    tenantId: 'acme',
    eventTypes: ['invoice.paid', 'webhook.test'],
  });
  const globex = await harness.api<Created>('POST', '/endpoints', {
    url: globexReceiver.url.replace('/webhooks', '/globex/webhooks'),
    tenantId: 'globex',
  });
  expect([acme.status, globex.status]).toEqual([201, 201]);
  acmeEndpoint = acme.body;
  globexEndpoint = globex.body;
  acmeDelivery = (await send('invoice.paid', 'acme', acmeEndpoint.id, { invoiceId: 'inv_1' })).deliveries[0]!
    .id;
  globexDelivery = (await send('order.shipped', 'globex', globexEndpoint.id, { orderId: 'ord_1' }))
    .deliveries[0]!.id;
  await eventually(
    async () =>
      (await deliveryStatus(acmeDelivery)) === 'dead' &&
      (await deliveryStatus(globexDelivery)) === 'delivered'
        ? true
        : undefined,
    UI_TIMEOUT_MS,
    "Acme's delivery dead and Globex's delivered",
  );
}, 120_000);

beforeEach(async () => {
  pageProblems.length = 0;
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.on('console', (message) => {
    // A 401 or 404 the test provokes on purpose is logged by Chromium as a failed resource load.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      pageProblems.push(message.text());
    }
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
});

afterEach(async () => {
  await context?.close();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([acmeReceiver?.close(), globexReceiver?.close()]);
  await harness?.stop();
});

describe('the consumer portal', () => {
  it("shows one tenant's deliveries, a failed attempt's response as text, and retries it", async () => {
    // Prepare
    const link = await portalLink('acme');

    // Act
    await openPortal(link.token);

    // Assess: the tenant's header, the token gone from the address bar but kept for the tab.
    await page.locator('#tenant-name', { hasText: 'Acme Corp' }).waitFor();
    await page.locator('#session-expiry', { hasText: 'Link valid until' }).waitFor();
    expect(page.url()).toBe(`${harness.stack.apiUrl}/portal`);
    expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_STORAGE)})`)).toBe(link.token);

    // Assess: Acme's endpoint and delivery, nothing of Globex.
    await endpointRow(acmeEndpoint.id).waitFor();
    await deliveryRow(acmeDelivery).locator('.badge', { hasText: 'dead' }).waitFor();
    expect(await page.locator('#endpoints-body tr').count()).toBe(1);
    expect(await page.locator('#deliveries-body tr').count()).toBe(1);
    expect(await page.locator('body').textContent()).not.toContain('globex');

    // Act / Assess: the filters (since, endpoint, status) narrow the list.
    const apply = () => page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#filter-since').fill('2099-01-01T00:00');
    await apply();
    await deliveryRow(acmeDelivery).waitFor({ state: 'detached' });
    expect(await page.locator('#deliveries-empty').isVisible()).toBe(true);
    await page.locator('#filter-since').fill('');
    await page.locator('#filter-endpoint').selectOption(acmeEndpoint.id);
    await page.locator('#filter-status').selectOption('dead');
    await apply();
    await deliveryRow(acmeDelivery).locator('.badge', { hasText: 'dead' }).waitFor();
    await page.locator('#filter-status').selectOption('delivered');
    await apply();
    await deliveryRow(acmeDelivery).waitFor({ state: 'detached' });
    await page.locator('#filter-status').selectOption('');
    await apply();
    await deliveryRow(acmeDelivery).waitFor();

    // Act: open the dead delivery's attempts.
    await deliveryRow(acmeDelivery).getByRole('button', { name: 'invoice.paid: show attempts' }).click();

    // Assess: both attempts, status 500 and the receiver's body as characters; nothing ran.
    await page.locator('#detail-id', { hasText: acmeDelivery }).waitFor();
    await page.locator('#attempts-body', { hasText: '<script>' }).waitFor();
    const attempts = page.locator('#attempts-body tr');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.nth(0).locator('td').nth(2).textContent()).toBe('500');
    expect(await attempts.nth(0).locator('td').nth(3).textContent()).toMatch(/^\d+ ms$|^\d+\.\d+ s$/);
    expect(await attempts.nth(0).locator('pre.excerpt').textContent()).toBe(HOSTILE_BODY);
    expect(await page.locator('#attempts-body script, #attempts-body img, #attempts-body b').count()).toBe(0);
    expect(await page.locator('#injected-bold').count()).toBe(0);
    expect(await page.evaluate('window.__injected')).toBeUndefined();
    await page.screenshot({ path: `${OUTPUT_DIR}/portal-attempts.png`, fullPage: true });

    // Act: the receiver is fixed; retry from the detail panel.
    acmeReceiver.behave(() => ({ status: 200, body: 'ok' }));
    await page.locator('#detail').getByRole('button', { name: 'Retry' }).click();

    // Assess: the page follows the retry until the delivery is delivered.
    await page.locator('#detail-status .badge', { hasText: 'delivered' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await deliveryRow(acmeDelivery).locator('.badge', { hasText: 'delivered' }).waitFor();
    expect(await page.locator('#attempts-body tr').count()).toBe(3);
    expect(await deliveryStatus(acmeDelivery)).toBe('delivered');
    await page.screenshot({ path: `${OUTPUT_DIR}/portal.png`, fullPage: true });
    expect(pageProblems).toEqual([]);
  }, 120_000);

  it('rotates a secret and shows the new one once; sends a test event', async () => {
    // Prepare
    await openPortal((await portalLink('acme')).token);
    const row = endpointRow(acmeEndpoint.id);
    await row.waitFor();

    // Act
    await row.getByRole('button', { name: /^Rotate secret/ }).click();

    // Assess: a new secret, not the one the endpoint was created with.
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    const secret = (await page.locator('#secret-value').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(acmeEndpoint.secret);

    // Act: send a test event from the portal.
    const before = acmeReceiver.received.length;
    await row.getByRole('button', { name: /^Send test event/ }).click();

    // Assess: it arrives, signed; the endpoint's first secret still verifies it (the old secret
    // keeps signing through the overlap, so the receiver has time to switch).
    await page.locator('#notice', { hasText: 'Sent a test event' }).waitFor();
    const webhook = await eventually(
      async () =>
        acmeReceiver.received.slice(before).find((received) => received.body.includes('webhook.test')),
      UI_TIMEOUT_MS,
      'the test event at the receiver',
    );
    expect(() =>
      new Webhook(acmeEndpoint.secret).verify(webhook.body, webhook.headers as Record<string, string>),
    ).not.toThrow();

    // Act: dismiss it, then reload.
    await page.getByRole('button', { name: 'I have saved it' }).click();
    expect(await page.locator('#secret-box').isHidden()).toBe(true);
    await page.reload();
    await row.waitFor();

    // Assess: shown once: it is nowhere on the page or in the tab's storage any more.
    expect(await page.locator('#secret-box').isHidden()).toBe(true);
    expect(await page.locator('body').textContent()).not.toContain(secret);
    expect(
      await page.evaluate('JSON.stringify(sessionStorage) + JSON.stringify(localStorage)'),
    ).not.toContain(secret);
    expect(pageProblems).toEqual([]);
  }, 90_000);

  it('adds, edits, disables, enables and deletes an endpoint, and recovers failed deliveries since a time', async () => {
    // Prepare
    await openPortal((await portalLink('acme')).token);
    await endpointRow(acmeEndpoint.id).waitFor();
    const url = acmeReceiver.url.replace('/webhooks', '/acme/second');

    // Act: add one for two event types.
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByLabel('URL').fill(url);
    await page.getByLabel('Event types').fill('invoice.paid, invoice.refunded');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess: listed for Acme, its secret shown once, stored under Acme.
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    expect(await page.locator('#secret-value').textContent()).toMatch(/^whsec_/);
    const added = page.locator('#endpoints-body tr', { hasText: url });
    await added.waitFor();
    const addedId = (await added.getAttribute('data-endpoint-id')) ?? '';
    expect((await harness.api('GET', `/endpoints/${addedId}`)).body).toMatchObject({
      url,
      eventTypes: ['invoice.paid', 'invoice.refunded'],
      tenantId: 'acme',
    });
    expect(await added.locator('td.types').textContent()).toBe('invoice.paid, invoice.refunded');

    // Act: edit its event types and description.
    await added.getByRole('button', { name: /^Edit/ }).click();
    await page.getByLabel('Event types').fill('');
    await page.getByLabel('Description').fill('second receiver');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess
    await added.locator('td.types', { hasText: /^all$/ }).waitFor();
    await added.getByText('second receiver').waitFor();
    expect((await harness.api('GET', `/endpoints/${addedId}`)).body).toMatchObject({
      eventTypes: ['*'],
      description: 'second receiver',
    });

    // Act / Assess: disable, then enable.
    await added.getByRole('button', { name: /^Disable/ }).click();
    await added.locator('.badge', { hasText: 'disabled' }).waitFor();
    expect((await harness.api('GET', `/endpoints/${addedId}`)).body).toMatchObject({ enabled: false });
    await added.getByRole('button', { name: /^Enable/ }).click();
    await added.locator('.badge', { hasText: 'enabled' }).waitFor();
    expect((await harness.api('GET', `/endpoints/${addedId}`)).body).toMatchObject({ enabled: true });

    // Act: delete asks for a confirmation first.
    await added.getByRole('button', { name: /^Delete/ }).click();
    expect((await harness.api('GET', `/endpoints/${addedId}`)).status).toBe(200);
    await added.getByRole('button', { name: /^Confirm delete/ }).click();

    // Assess
    await added.waitFor({ state: 'detached' });
    expect((await harness.api('GET', `/endpoints/${addedId}`)).status).toBe(404);

    // Prepare: a delivery to Acme's first endpoint that dies while its receiver fails.
    acmeReceiver.behave(() => ({ status: 503, body: 'down' }));
    const since = new Date(Date.now() - 60_000);
    const dead = (await send('invoice.paid', 'acme', acmeEndpoint.id, { invoiceId: 'inv_2' })).deliveries[0]!
      .id;
    await eventually(
      async () => ((await deliveryStatus(dead)) === 'dead' ? true : undefined),
      UI_TIMEOUT_MS,
      'the second Acme delivery dead',
    );
    acmeReceiver.behave(() => ({ status: 200, body: 'ok' }));

    // Act: recover since a minute before it.
    const local = new Date(since.getTime() - since.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.locator('#recover-since').fill(local);
    await page.locator('#recover-endpoint').selectOption(acmeEndpoint.id);
    await page.getByRole('button', { name: 'Recover since' }).click();

    // Assess: queued again and delivered.
    await page.locator('#notice', { hasText: /^Queued 1 delivery to .*acme\/webhooks again/ }).waitFor();
    await eventually(
      async () => ((await deliveryStatus(dead)) === 'delivered' ? true : undefined),
      UI_TIMEOUT_MS,
      'the recovered delivery delivered',
    );
    expect(pageProblems).toEqual([]);
  }, 120_000);

  it('reaches nothing of another tenant, whatever ids the requests or the address name', async () => {
    // Prepare
    await openPortal((await portalLink('acme')).token);
    await endpointRow(acmeEndpoint.id).waitFor();

    // Act: Globex's ids, in every route a portal session may call.
    const probes = await Promise.all(
      [
        ['GET', `/endpoints/${globexEndpoint.id}`],
        ['PATCH', `/endpoints/${globexEndpoint.id}`],
        ['DELETE', `/endpoints/${globexEndpoint.id}`],
        ['POST', `/endpoints/${globexEndpoint.id}/secret/rotate`],
        ['POST', `/endpoints/${globexEndpoint.id}/test`],
        ['POST', `/endpoints/${globexEndpoint.id}/recover?since=2020-01-01T00:00:00Z`],
        ['GET', `/deliveries/${globexDelivery}`],
        ['POST', `/deliveries/${globexDelivery}/retry`],
        ['GET', `/deliveries?endpointId=${globexEndpoint.id}`],
      ].map(
        async ([method, path]) =>
          `${method} ${path} ${(await fromPage(method!, path!, method === 'PATCH' ? { enabled: false } : undefined)).status}`,
      ),
    );
    const listed = await fromPage('GET', '/endpoints?tenantId=globex');
    const tenants = await fromPage('GET', '/tenants/globex');

    // Assess: as if Globex's things did not exist; the listings name only Acme's; admin routes refused.
    expect(probes).toEqual(
      [
        `GET /endpoints/${globexEndpoint.id}`,
        `PATCH /endpoints/${globexEndpoint.id}`,
        `DELETE /endpoints/${globexEndpoint.id}`,
        `POST /endpoints/${globexEndpoint.id}/secret/rotate`,
        `POST /endpoints/${globexEndpoint.id}/test`,
        `POST /endpoints/${globexEndpoint.id}/recover?since=2020-01-01T00:00:00Z`,
        `GET /deliveries/${globexDelivery}`,
        `POST /deliveries/${globexDelivery}/retry`,
        `GET /deliveries?endpointId=${globexEndpoint.id}`,
      ].map((probe) => `${probe} 404`),
    );
    expect(listed.body).not.toContain(globexEndpoint.id);
    expect(tenants.status).toBe(403);
    expect((await harness.api('GET', `/endpoints/${globexEndpoint.id}`)).status).toBe(200);
    expect(await deliveryStatus(globexDelivery)).toBe('delivered');

    // Act: the address names Globex (a query the page might be thought to read).
    await page.goto(`${harness.stack.apiUrl}/portal?tenantId=globex&endpointId=${globexEndpoint.id}`);

    // Assess: still Acme's portal, Acme's things only.
    await page.locator('#tenant-name', { hasText: 'Acme Corp' }).waitFor();
    await endpointRow(acmeEndpoint.id).waitFor();
    expect(await page.locator('#endpoints-body tr').count()).toBe(1);
    expect(await page.locator('body').textContent()).not.toContain(globexEndpoint.id);
    expect(pageProblems).toEqual([]);
  }, 60_000);

  it('says a link that was altered is not valid, and shows nothing else', async () => {
    // Prepare: Acme's token with its payload swapped for one naming Globex (signature kept).
    const [header, payload, signature] = (await portalLink('acme')).token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'globex' })).toString('base64url');

    // Act
    await openPortal(`${header}.${forged}.${signature}`);

    // Assess
    await page.getByRole('heading', { name: 'This link is not valid' }).waitFor({ state: 'visible' });
    expect(await page.locator('#app').count()).toBe(0);
    expect(await page.locator('table, form, button').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.locator('body').textContent()).not.toMatch(/globex|acme/i);
    expect(pageProblems).toEqual([]);
  });

  it('says a link that has expired has expired, and shows nothing else', async () => {
    // Prepare: a token this stack signed for Acme an hour ago, valid for 30 minutes.
    const key = await new PortalKey(harness.stack.resources.portalKeySecretId).get();
    const { token } = await issuePortalToken(key, 'acme', Date.now() - 3_600_000, 1800);
    const session = await harness.api('GET', '/portal/session', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(session.body).toMatchObject({ error: { code: 'token_expired' } });

    // Act
    await openPortal(token);

    // Assess
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor({ state: 'visible' });
    expect(await page.locator('#app').count()).toBe(0);
    expect(await page.locator('table, form, button').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(page.url()).toBe(`${harness.stack.apiUrl}/portal`);
    await page.screenshot({ path: `${OUTPUT_DIR}/portal-expired.png` });
    expect(pageProblems).toEqual([]);
  });

  it('says so when the link expires while the page is open, and shows nothing else', async () => {
    // Prepare: the browser's clock a minute before the link's expiry.
    const link = await portalLink('acme', { expiresInSeconds: 300 });
    await page.clock.install({ time: Date.parse(link.expiresAt) - 60_000 });
    await openPortal(link.token);
    await endpointRow(acmeEndpoint.id).waitFor();

    // Act
    await page.clock.runFor(61_000);

    // Assess
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor({ state: 'visible' });
    expect(await page.locator('#app').count()).toBe(0);
    expect(await page.locator('table, form, button').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.locator('body').textContent()).not.toMatch(/acme/i);
    expect(pageProblems).toEqual([]);
  });

  it('says a link without a token is not valid', async () => {
    // Act
    await page.goto(`${harness.stack.apiUrl}/portal`);

    // Assess
    await page.getByRole('heading', { name: 'This link is not valid' }).waitFor({ state: 'visible' });
    expect(await page.locator('#app').count()).toBe(0);
    expect(pageProblems).toEqual([]);
  });
});
