/**
 * Portal sessions: an admin key makes a link for one tenant (`POST /tenants/{id}/portal-sessions`
 * → `{url, token, expiresAt}`, the token in the URL's fragment, which browsers never send to a
 * server); the portal page asks `GET /portal/session` who it is for.
 */
import { HttpError } from '../../core/errors.ts';
import { parseJsonBody, parseOrThrow, portalSessionSchema } from '../../core/validation.ts';
import { type ApiContext, principalOf } from '../context.ts';
import { issuePortalToken } from '../portal-tokens.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';

/** A portal link lasts an hour unless the request says otherwise. */
const DEFAULT_SESSION_SECONDS = 60 * 60;

export function portalRoutes(ctx: ApiContext): Route[] {
  return [
    route('POST', '/tenants/{tenantId}/portal-sessions', (r, p) => createSession(ctx, r, p.tenantId ?? '')),
    route('GET', '/portal/session', (r) => currentSession(ctx, r), 'portal'),
  ];
}

async function createSession(ctx: ApiContext, request: ApiRequest, tenantId: string): Promise<ApiResponse> {
  const input = parseOrThrow(portalSessionSchema, request.body?.trim() ? parseJsonBody(request.body) : {});
  const tenant = await ctx.tenantOr404(tenantId);
  const { token, expiresAtMs } = await issuePortalToken(
    await ctx.deps.portalKey.get(),
    tenant.id,
    ctx.now(),
    input.expiresInSeconds ?? DEFAULT_SESSION_SECONDS,
  );
  const origin = request.origin ?? '';
  return {
    status: 201,
    body: {
      tenantId: tenant.id,
      url: `${origin}/portal#token=${token}`,
      token,
      expiresAt: new Date(expiresAtMs).toISOString(),
    },
  };
}

async function currentSession(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const principal = principalOf(request);
  if (principal.kind !== 'portal') {
    throw new HttpError(400, 'not_a_portal_session', 'this route answers for a portal session token only');
  }
  const tenant = await ctx.tenantOr404(principal.tenantId);
  return {
    status: 200,
    body: {
      tenantId: tenant.id,
      tenantName: tenant.name ?? tenant.id,
      expiresAt: new Date(principal.expiresAtMs).toISOString(),
    },
  };
}
