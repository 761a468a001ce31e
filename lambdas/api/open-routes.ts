/**
 * The routes served without a credential ({@link OPEN_ROUTES}): the operator dashboard, the
 * consumer portal page and the API description. They hold no data, need no AWS client and are
 * most of what an API bundle would otherwise carry that the API's own routes never use (the
 * pages and the description, 39 KB compressed). Deployed, they are a function of their own
 * (lambdas/pages/handler.ts), so the API function's bundle leaves them out; in process (tests)
 * {@link ApiApp} takes them as its `openRoutes` option.
 */
import type { OPEN_ROUTES } from '../core/config.ts';
import { dashboardPage, portalPage } from './dashboard.ts';
import { openApiDocument } from './openapi-document.ts';
import { type Route, route } from './router.ts';

/**
 * The open routes. The stack sends exactly {@link OPEN_ROUTES} to the pages function
 * (test/unit/pages-function.test.ts checks the two lists agree).
 */
export function openRoutes(): readonly Route[] {
  return [
    route('GET', '/dashboard', async () => dashboardPage(), 'open'),
    route('GET', '/portal', async () => portalPage(), 'open'),
    route('GET', '/openapi.json', async () => openApiDocument(), 'open'),
  ];
}
