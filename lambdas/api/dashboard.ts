/**
 * `GET /dashboard`: the operator page, the one route served without an API key. It holds no
 * data: the page asks the operator for a key and calls the API with it, from the same origin.
 *
 * The page is static (lambdas/api/dashboard-page.ts spells it out), so its inline style and
 * script are allowed by their SHA-256 hashes: nothing else may run or style it, it may talk
 * only to its own origin, and Trusted Types with no policy make every HTML-parsing sink
 * (innerHTML and friends) throw, so receiver-supplied text can only ever become text. The
 * bundle carries the page brotli-compressed, with the policy computed ahead
 * (lambdas/api/dashboard-document.ts, written by scripts/dashboard.ts); it is decompressed on
 * the first request for it, not at cold start.
 */
import { brotliDecompressSync } from 'node:zlib';
import type { ApiResponse } from './app.ts';
import { DASHBOARD_CSP, DASHBOARD_PAGE_BROTLI } from './dashboard-document.ts';

export { DASHBOARD_CSP };

let page: string | undefined;

/** The page, decompressed once, on its first request. */
function dashboardHtml(): string {
  page ??= brotliDecompressSync(Buffer.from(DASHBOARD_PAGE_BROTLI, 'base64')).toString('utf8');
  return page;
}

/** The dashboard page with its security headers. */
export function dashboardPage(): ApiResponse {
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: dashboardHtml(),
    headers: {
      'content-security-policy': DASHBOARD_CSP,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    },
  };
}
