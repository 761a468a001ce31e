/**
 * lambdas/api/pages-document.ts is what scripts/dashboard.ts builds now from lambdas/api/pages/,
 * each page is served byte for byte as
 * built, under a policy whose hashes are those of the page's own one style and one script, and
 * the built script is the bundle of the page's TypeScript (no import left, no HTML sink).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../lambdas/api/app.ts';
import { DASHBOARD_CSP, dashboardPage, PORTAL_CSP, portalPage } from '../../lambdas/api/dashboard.ts';
import { buildPage, PAGES, PAGES_MODULE, renderPagesModule } from '../../scripts/dashboard.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

const served: Record<string, { page: () => ApiResponse; csp: string }> = {
  dashboard: { page: dashboardPage, csp: DASHBOARD_CSP },
  portal: { page: portalPage, csp: PORTAL_CSP },
};

describe('lambdas/api/pages-document.ts', () => {
  it('is what scripts/dashboard.ts writes now', () => {
    expect(
      readFileSync(PAGES_MODULE, 'utf8') === renderPagesModule(),
      'lambdas/api/pages-document.ts is stale: run npx tsx scripts/dashboard.ts and commit it',
    ).toBe(true);
  });
});

describe.each(PAGES)('the served %s page', (name) => {
  const { page, csp } = served[name]!;

  it('is the built page, byte for byte, as HTML, every time it is asked for', () => {
    const built = buildPage(name);
    const first = page();
    const second = page();
    expect(first.status).toBe(200);
    expect(first.contentType).toBe('text/html; charset=utf-8');
    expect(first.body === built.html, `the served ${name} page differs from its build`).toBe(true);
    expect(second.body).toBe(first.body);
    expect(first.body).toContain(`<script>${built.script}</script>`);
    expect(first.body).toContain(`<style>${built.style}</style>`);
    expect([...String(first.body).matchAll(/<script\b/g)]).toHaveLength(1);
    expect([...String(first.body).matchAll(/<style\b/g)]).toHaveLength(1);
  });

  it('allows exactly the inline style and script the page carries, by hash', () => {
    const built = buildPage(name);
    const { headers } = page();
    expect(headers?.['content-security-policy']).toBe(csp);
    expect(csp).toContain(`script-src 'sha256-${sha256(built.script)}';`);
    expect(csp).toContain(`style-src 'sha256-${sha256(built.style)}';`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).toContain("trusted-types 'none'");
    expect(headers).toMatchObject({
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  });

  it('carries its TypeScript bundled: one self-contained script that sends the credential as Bearer', () => {
    const { script } = buildPage(name);
    expect(script).not.toMatch(/\bimport\s*[{(*'"]|\brequire\(/);
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(script).toContain('Bearer ');
    expect(script).not.toContain('x-api-key');
  });
});
