/**
 * Custom headers and payload filters through the pages, in a real headless Chromium (Debian's,
 * driven by playwright-core) against the local stack on moto: the portal adds an endpoint with
 * a header and a filter, the dashboard edits an existing one's, both remove them. Each page
 * shows the header names and never a value (not in the page, not in any response it received),
 * the filter as text (markup in it stays characters), and the API's 400 (the header it names,
 * the filter's path) inside the form, without saving anything. Screenshots land in test-output/.
 */
import { mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness, TEST_API_KEY } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = 'test-output';
const UI_TIMEOUT_MS = 30_000;
/** Header values the pages must never show: distinctive, so a match anywhere is a leak. */
const PORTAL_KEY_VALUE = 'portal-header-value-7f3a9c';
const DASHBOARD_KEY_VALUE = 'dashboard-header-value-1b8e4d';
const DASHBOARD_TEAM_VALUE = 'dashboard-team-value-c05d2e';
/** A filter whose operand is markup and a script: shown as text, running nothing. */
const HOSTILE_NOTE = '<img src="x" onerror="window.__injected = 1"><b id="injected-bold">bold</b>';

interface Created {
  id: string;
  secret: string;
}

interface EndpointView {
  id: string;
  tenantId: string;
  url: string;
  filter: unknown;
  headerNames: string[];
}

let harness: Harness;
let receiver: TestReceiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageProblems: string[] = [];
/** Every response body the page received (read as it arrives). */
let responseBodies: Array<Promise<string>>;

const endpointRow = (id: string) => page.locator(`#endpoints-body tr[data-endpoint-id="${id}"]`);
const formError = () => page.locator('#endpoint-form-error');

async function endpoint(id: string): Promise<EndpointView> {
  const got = await harness.api<EndpointView>('GET', `/endpoints/${id}`);
  expect(got.status).toBe(200);
  return got.body;
}

/** Whether any of these strings is in the page's DOM or in a response it received. */
async function leaked(...values: string[]): Promise<string[]> {
  const html = await page.content();
  const inputs = await page
    .locator('input')
    .evaluateAll((nodes) => nodes.map((node) => (node as unknown as { value: string }).value));
  const bodies = await Promise.all(responseBodies);
  return values.filter(
    (value) =>
      html.includes(value) ||
      inputs.some((input) => input.includes(value)) ||
      bodies.some((b) => b.includes(value)),
  );
}

beforeAll(async () => {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  harness = await startHarness({ policy: { scheduleSeconds: [1], maxAttempts: 2 } });
  receiver = await startReceiver();
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
  expect([200, 201]).toContain((await harness.api('PUT', '/tenants/acme', { name: 'Acme Corp' })).status);
}, 120_000);

beforeEach(async () => {
  pageProblems.length = 0;
  responseBodies = [];
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.on('console', (message) => {
    // The 400s the test provokes on purpose are logged by Chromium as failed resource loads.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      pageProblems.push(message.text());
    }
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
  page.on('response', (response) => {
    responseBodies.push(response.text().catch(() => ''));
  });
});

afterEach(async () => {
  await context?.close();
});

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await harness?.stop();
});

describe('custom headers and payload filters in the pages', () => {
  it('portal: adds an endpoint with a header and a filter, shows only the name, shows 400s in the form, removes both', async () => {
    // Prepare
    const link = await harness.api<{ token: string }>('POST', '/tenants/acme/portal-sessions', {});
    expect(link.status).toBe(201);
    await page.goto(`${harness.stack.apiUrl}/portal#token=${link.body.token}`);
    await page.locator('#app').waitFor({ state: 'visible' });
    const url = receiver.url.replace('/webhooks', '/portal/webhooks');

    // Act: a refused header name.
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByLabel('URL').fill(url);
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header name 1').fill('X-Api-Key');
    await page.getByLabel('Header value 1').fill(PORTAL_KEY_VALUE);
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header name 2').fill('Host');
    await page.getByLabel('Header value 2').fill('evil.example');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess: the API's message in the form, the row it names marked, nothing created.
    await formError().filter({ hasText: 'header "Host" cannot be set' }).waitFor();
    expect(await formError().textContent()).toContain('invalid_header');
    expect(await page.getByLabel('Header name 2').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Header name 1').getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('#endpoint-form').isVisible()).toBe(true);
    expect((await harness.api<{ items: unknown[] }>('GET', '/endpoints?tenantId=acme')).body.items).toEqual(
      [],
    );

    // Act: the refused row removed; a filter that is not JSON, then one with a fault.
    await page.getByRole('button', { name: 'Remove header 2' }).click();
    await page.getByLabel('Payload filter').fill('{"data": ');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await formError().filter({ hasText: 'the filter is not JSON' }).waitFor();
    await page.getByLabel('Payload filter').fill('{"data": {"amount": {"$gte": "100"}}}');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess: the path of the fault, as the API names it.
    await formError().filter({ hasText: 'filter at data.amount.$gte: $gte takes a number' }).waitFor();
    expect(await page.getByLabel('Payload filter').getAttribute('aria-invalid')).toBe('true');

    // Act: a valid filter (with markup in an operand).
    const filter = { data: { amount: { $gte: 100 }, note: { $neq: HOSTILE_NOTE } } };
    await page.getByLabel('Payload filter').fill(JSON.stringify(filter));
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess: created with the name and the filter; the page lists the name, the filter as text.
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    const added = page.locator('#endpoints-body tr', { hasText: url });
    await added.waitFor();
    const id = (await added.getAttribute('data-endpoint-id')) ?? '';
    expect(await endpoint(id)).toMatchObject({ tenantId: 'acme', headerNames: ['X-Api-Key'], filter });
    expect(await added.locator('td.options .chip').allTextContents()).toEqual(['X-Api-Key']);
    expect(await added.locator('td.options code').textContent()).toBe(JSON.stringify(filter));
    expect(await added.locator('#injected-bold, img').count()).toBe(0);
    expect(await page.evaluate('window.__injected')).toBeUndefined();
    await page.screenshot({ path: `${OUTPUT_DIR}/portal-endpoint-options.png`, fullPage: true });

    // Assess: the header reaches the receiver, and the filter holds events back at ingest.
    const held = await harness.api<{ deliveries: unknown[] }>('POST', '/events', {
      type: 'invoice.paid',
      tenantId: 'acme',
      data: { amount: 50, note: 'x' },
    });
    expect(held.body.deliveries).toEqual([]);
    const passed = await harness.api<{ deliveries: unknown[] }>('POST', '/events', {
      type: 'invoice.paid',
      tenantId: 'acme',
      data: { amount: 150, note: 'x' },
    });
    expect(passed.body.deliveries).toHaveLength(1);
    const [webhook] = await receiver.waitFor(1, UI_TIMEOUT_MS);
    expect(webhook?.headers['x-api-key']).toBe(PORTAL_KEY_VALUE);

    // Act: edit; the headers removed, the filter emptied.
    await added.getByRole('button', { name: /^Edit/ }).click();
    expect(await page.locator('#headers-current').textContent()).toContain('X-Api-Key');
    expect(await page.getByLabel('Payload filter').inputValue()).toBe(JSON.stringify(filter));
    await page.getByLabel('Current headers').selectOption('remove');
    await page.getByLabel('Payload filter').fill('');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess
    await added.locator('td.options', { hasText: /^—$/ }).waitFor();
    expect(await endpoint(id)).toMatchObject({ headerNames: [], filter: null });
    expect(await leaked(PORTAL_KEY_VALUE)).toEqual([]);
    expect(pageProblems).toEqual([]);
  }, 120_000);

  it("dashboard: sets an existing endpoint's headers and filter, shows only the names, shows 400s in the form, removes both", async () => {
    // Prepare: an endpoint of tenant Acme, made through the API with no options.
    const url = receiver.url.replace('/webhooks', '/dashboard/webhooks');
    const created = await harness.api<Created>('POST', '/endpoints', { url, tenantId: 'acme' });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await page.goto(`${harness.stack.apiUrl}/dashboard`);
    await page.getByLabel('API key').fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#app').waitFor({ state: 'visible' });
    await eventually(
      async () =>
        (await page.locator('#filter-tenant option[value="acme"]').count()) > 0 ? true : undefined,
      UI_TIMEOUT_MS,
      'tenant acme listed',
    );
    await page.locator('#filter-tenant').selectOption('acme');
    const row = endpointRow(id);
    await row.waitFor();
    expect(await row.locator('td.options').textContent()).toBe('—');

    // Act: replace its (no) headers with two, and a filter.
    await row.getByRole('button', { name: /^Edit/ }).click();
    expect(await page.locator('#headers-current').textContent()).toBe('Now: none.');
    await page.getByLabel('Current headers').selectOption('replace');
    await page.getByLabel('Header name 1').fill('X-Api-Key');
    await page.getByLabel('Header value 1').fill(DASHBOARD_KEY_VALUE);
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header name 2').fill('X-Team');
    await page.getByLabel('Header value 2').fill(DASHBOARD_TEAM_VALUE);
    const filter = { type: { $in: ['invoice.paid', 'invoice.refunded'] } };
    await page.getByLabel('Payload filter').fill(JSON.stringify(filter));
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess: the names listed, nothing of the values.
    await row.locator('td.options .chip', { hasText: 'X-Team' }).waitFor();
    expect(await row.locator('td.options .chip').allTextContents()).toEqual(['X-Api-Key', 'X-Team']);
    expect(await row.locator('td.options code').textContent()).toBe(JSON.stringify(filter));
    expect(await endpoint(id)).toMatchObject({ headerNames: ['X-Api-Key', 'X-Team'], filter });

    // Act: replace them with a refused one.
    await row.getByRole('button', { name: /^Edit/ }).click();
    expect(await page.locator('#headers-current').textContent()).toBe(
      'Now: X-Api-Key, X-Team (values are never shown).',
    );
    await page.getByLabel('Current headers').selectOption('replace');
    await page.getByLabel('Header name 1').fill('Content-Type');
    await page.getByLabel('Header value 1').fill('text/plain');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess: the 400 in the form, naming it; the endpoint unchanged.
    await formError().filter({ hasText: 'header "Content-Type" cannot be set' }).waitFor();
    expect(await page.getByLabel('Header name 1').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#error').isHidden()).toBe(true);
    expect(await endpoint(id)).toMatchObject({ headerNames: ['X-Api-Key', 'X-Team'], filter });

    // Act: keep the headers; a filter with an unknown operator.
    await page.getByLabel('Current headers').selectOption('keep');
    await page.getByLabel('Payload filter').fill('{"data": {"amount": {"$near": 1}}}');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess
    await formError().filter({ hasText: 'filter at data.amount.$near: unknown operator' }).waitFor();
    expect(await endpoint(id)).toMatchObject({ headerNames: ['X-Api-Key', 'X-Team'], filter });
    await page.screenshot({ path: `${OUTPUT_DIR}/dashboard-endpoint-options.png`, fullPage: true });

    // Act: remove both.
    await page.getByLabel('Current headers').selectOption('remove');
    await page.getByLabel('Payload filter').fill('');
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess
    await row.locator('td.options', { hasText: /^—$/ }).waitFor();
    expect(await endpoint(id)).toMatchObject({ headerNames: [], filter: null });
    expect(await leaked(DASHBOARD_KEY_VALUE, DASHBOARD_TEAM_VALUE)).toEqual([]);
    expect(pageProblems).toEqual([]);
  }, 120_000);

  it('dashboard: adds an endpoint to the chosen tenant with a header, its secret shown once', async () => {
    // Prepare
    await page.goto(`${harness.stack.apiUrl}/dashboard`);
    await page.getByLabel('API key').fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#app').waitFor({ state: 'visible' });
    await eventually(
      async () =>
        (await page.locator('#filter-tenant option[value="acme"]').count()) > 0 ? true : undefined,
      UI_TIMEOUT_MS,
      'tenant acme listed',
    );
    await page.locator('#filter-tenant').selectOption('acme');
    const url = receiver.url.replace('/webhooks', '/dashboard/added');

    // Act
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByLabel('URL').fill(url);
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header name 1').fill('X-Api-Key');
    await page.getByLabel('Header value 1').fill(DASHBOARD_KEY_VALUE);
    await page.getByRole('button', { name: 'Save', exact: true }).click();

    // Assess
    await page.locator('#secret-box').waitFor({ state: 'visible' });
    expect(await page.locator('#secret-value').textContent()).toMatch(/^whsec_/);
    const added = page.locator('#endpoints-body tr', { hasText: url });
    await added.waitFor();
    const id = (await added.getAttribute('data-endpoint-id')) ?? '';
    expect(await endpoint(id)).toMatchObject({ tenantId: 'acme', headerNames: ['X-Api-Key'], filter: null });
    expect(await added.locator('td.options .chip').allTextContents()).toEqual(['X-Api-Key']);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    expect(await leaked(DASHBOARD_KEY_VALUE)).toEqual([]);
    expect(pageProblems).toEqual([]);
  }, 120_000);
});
