/**
 * lambdas/api/dashboard-document.ts is what scripts/dashboard.ts writes from
 * lambdas/api/dashboard-page.ts, and GET /dashboard serves the source's page byte for byte,
 * under a policy whose hashes are those of the page's own style and script.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, dashboardPage } from '../../lambdas/api/dashboard.ts';
import { DASHBOARD_SCRIPT, DASHBOARD_STYLE } from '../../lambdas/api/dashboard-page.ts';
import { DASHBOARD_MODULE, dashboardSourcePage, renderDashboardModule } from '../../scripts/dashboard.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

describe('the served dashboard', () => {
  it('is what scripts/dashboard.ts writes now', () => {
    expect(
      readFileSync(DASHBOARD_MODULE, 'utf8') === renderDashboardModule(),
      'lambdas/api/dashboard-document.ts is stale: run npx tsx scripts/dashboard.ts and commit it',
    ).toBe(true);
  });

  it("is the source's page, byte for byte, as HTML, every time it is asked for", () => {
    const first = dashboardPage();
    const second = dashboardPage();
    expect(first.status).toBe(200);
    expect(first.contentType).toBe('text/html; charset=utf-8');
    expect(first.body === dashboardSourcePage(), 'the served page differs from dashboard-page.ts').toBe(true);
    expect(second.body).toBe(first.body);
    expect(first.body).toContain(`<script>${DASHBOARD_SCRIPT}</script>`);
  });

  it('allows exactly the inline style and script the page carries, by hash', () => {
    const { headers } = dashboardPage();
    expect(headers?.['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain(`script-src 'sha256-${sha256(DASHBOARD_SCRIPT)}';`);
    expect(DASHBOARD_CSP).toContain(`style-src 'sha256-${sha256(DASHBOARD_STYLE)}';`);
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).toContain("trusted-types 'none'");
  });
});
