/**
 * `GET /dashboard`: the operator page, the one route served without an API key. It holds no
 * data: the page asks the operator for a key and calls the API with it, from the same origin.
 *
 * The page is static, so its inline style and script are allowed by their SHA-256 hashes,
 * computed once here: nothing else may run or style it, it may talk only to its own origin,
 * and Trusted Types with no policy make every HTML-parsing sink (innerHTML and friends) throw,
 * so receiver-supplied text can only ever become text.
 */
import { createHash } from 'node:crypto';
import type { ApiResponse } from './app.ts';
import { DASHBOARD_SCRIPT, DASHBOARD_STYLE, dashboardHtml } from './dashboard-page.ts';

const cspHash = (source: string): string =>
  `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/** The page's content security policy. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(DASHBOARD_SCRIPT)}`,
  `style-src ${cspHash(DASHBOARD_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const PAGE = dashboardHtml(DASHBOARD_STYLE, DASHBOARD_SCRIPT);

/** The dashboard page with its security headers. */
export function dashboardPage(): ApiResponse {
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: PAGE,
    headers: {
      'content-security-policy': DASHBOARD_CSP,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    },
  };
}
