/**
 * `GET /dashboard` (the operator page) and `GET /portal` (one tenant's page, opened from a
 * portal link): two of the three routes served without a credential (the API description is the
 * third). They hold no data: the dashboard asks the operator for a key, the portal reads its
 * token from the link's fragment, and both call the API with it, from the same origin, as
 * `Authorization: Bearer`.
 *
 * The pages are static (built from lambdas/api/pages/ by scripts/dashboard.ts), so each one's
 * inline style and script are allowed by their SHA-256 hashes: nothing else may run or style
 * it, it may talk only to its own origin, and Trusted Types with no policy make every
 * HTML-parsing sink (innerHTML and friends) throw, so receiver-supplied text can only ever
 * become text. The bundle carries both pages in one brotli stream, with their policies computed
 * ahead (lambdas/api/pages-document.ts); it is decompressed on the first request for a page,
 * not at cold start.
 */
import { brotliDecompressSync } from 'node:zlib';
import type { ApiResponse } from './app.ts';
import { DASHBOARD_CSP, DASHBOARD_LENGTH, PAGES_BROTLI, PORTAL_CSP } from './pages-document.ts';

export { DASHBOARD_CSP, PORTAL_CSP };

let pages: { dashboard: string; portal: string } | undefined;

/** Both pages, decompressed once, on the first request for either. */
function decompressed(): { dashboard: string; portal: string } {
  if (!pages) {
    const text = brotliDecompressSync(Buffer.from(PAGES_BROTLI, 'base64')).toString('utf8');
    pages = { dashboard: text.slice(0, DASHBOARD_LENGTH), portal: text.slice(DASHBOARD_LENGTH) };
  }
  return pages;
}

function htmlPage(body: string, csp: string): ApiResponse {
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body,
    headers: {
      'content-security-policy': csp,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    },
  };
}

/** The dashboard page with its security headers. */
export const dashboardPage = (): ApiResponse => htmlPage(decompressed().dashboard, DASHBOARD_CSP);

/** The portal page with the same headers (its own policy). */
export const portalPage = (): ApiResponse => htmlPage(decompressed().portal, PORTAL_CSP);
