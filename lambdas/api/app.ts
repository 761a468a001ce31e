/**
 * The HTTP API, independent of how requests arrive: the Lambda handler (API Gateway HTTP API,
 * payload 2.0) and the local server both turn a request into an {@link ApiRequest} and call
 * {@link ApiApp.handle}. Each resource's routes live in their own module under `routes/`;
 * this file only checks the body size and the caller, and dispatches.
 *
 * The credential check itself (./authorize.ts, with jose for portal tokens) is injected, not
 * imported: deployed, the authorizer function runs it and the API function only reads its answer,
 * so the API's bundle leaves it out. So are the open routes (./open-routes.ts: the pages and the
 * API description), which deployed are the pages function's (lambdas/pages/handler.ts).
 */
import { MAX_BATCH_BODY_BYTES, MAX_REQUEST_BODY_BYTES, OPEN_ROUTES } from '../core/config.ts';
import { HttpError } from '../core/errors.ts';
import { type Denial, denialError, deny, type Principal } from '../core/principal.ts';
import { payloadTooLarge } from '../core/validation.ts';
import type { AuthorizeDeps } from './authorize.ts';
import { ApiContext, type ApiDeps } from './context.ts';
import {
  type ApiRequest,
  type ApiResponse,
  allows,
  matchRoute,
  methodNotAllowed,
  type Route,
  route,
} from './router.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { dlqRoutes } from './routes/dlq.ts';
import { endpointRoutes } from './routes/endpoints.ts';
import { eventRoutes } from './routes/events.ts';
import { operationalEventRoutes } from './routes/operational-events.ts';
import { portalRoutes } from './routes/portal.ts';
import { tenantRoutes } from './routes/tenants.ts';

export type { ApiDeps } from './context.ts';
export type { ApiRequest, ApiResponse } from './router.ts';

/** The authorizer's code (./authorize.ts's `authorize`): who an `Authorization` header names. */
export type Authorize = (header: string | undefined, deps: AuthorizeDeps) => Promise<Principal | Denial>;

/** What the app serves besides the API's own routes, and how it finds a request's caller. */
export interface ApiAppOptions {
  /**
   * Runs the authorizer's code in process (in-process tests). The deployed handler passes none:
   * API Gateway's authorizer has answered for every route that needs a caller.
   * @default none: such a request is refused with 401
   */
  readonly authorize?: Authorize;
  /**
   * Routes served without a credential (./open-routes.ts's `openRoutes()`, in process). The
   * deployed API function passes none: API Gateway sends those paths' GET to the pages function.
   * @default GET on those paths is answered 404 (it never arrives here), any other method 405
   */
  readonly openRoutes?: readonly Route[];
}

/**
 * Without the open routes, their paths still answer another method as the API does (405, `Allow:
 * GET`): API Gateway sends only their GET to the pages function, and everything else on them here.
 */
const openPathsServedElsewhere = (): Route[] =>
  OPEN_ROUTES.map((path) =>
    route('GET', path, async () => {
      throw new HttpError(404, 'not_found', `GET ${path} is served by the pages function, not this one`);
    }),
  );

/** The API's routes and their logic. */
export class ApiApp {
  private readonly ctx: ApiContext;
  private readonly routes: readonly Route[];
  private readonly authorize: Authorize | undefined;

  constructor(deps: ApiDeps, options: ApiAppOptions = {}) {
    this.ctx = new ApiContext(deps);
    this.authorize = options.authorize;
    this.routes = [
      ...endpointRoutes(this.ctx),
      ...eventRoutes(this.ctx),
      ...deliveryRoutes(this.ctx),
      ...dlqRoutes(this.ctx),
      ...tenantRoutes(this.ctx),
      ...portalRoutes(this.ctx),
      ...apiKeyRoutes(this.ctx),
      ...operationalEventRoutes(this.ctx),
      ...(options.openRoutes ?? openPathsServedElsewhere()),
    ];
  }

  /** Authenticates, routes and runs a request. Throws {@link HttpError} for client errors. */
  async handle(request: ApiRequest): Promise<ApiResponse> {
    const limit = /^\/events\/batch\/?$/.test(request.path) ? MAX_BATCH_BODY_BYTES : MAX_REQUEST_BODY_BYTES;
    if (request.body !== undefined && Buffer.byteLength(request.body) > limit) throw payloadTooLarge(limit);
    const match = matchRoute(this.routes, request);
    if (match.route?.access === 'open') return match.route.handler(request, match.params());
    const principal = await this.authenticate(request);
    if (!match.route) throw methodNotAllowed(request, match.allowed);
    if (!allows(match.route.access, principal.kind)) {
      throw new HttpError(
        403,
        'forbidden',
        principal.kind === 'portal'
          ? 'a portal session cannot use this route'
          : `a ${principal.kind}-only key cannot use this route; it needs an admin key`,
      );
    }
    return match.route.handler({ ...request, principal }, match.params());
  }

  /**
   * The caller: what the authorizer found (on AWS, and in local mode), else the injected
   * authorizer's code run here, else nobody. A portal session past its expiry is refused even
   * while API Gateway's cached answer for it lasts.
   */
  private async authenticate(request: ApiRequest): Promise<Principal> {
    const auth =
      request.auth ??
      (this.authorize
        ? await this.authorize(request.headers.authorization, {
            apiKeys: this.ctx.deps.apiKeys,
            portalKey: this.ctx.deps.portalKey,
            now: this.ctx.now,
          })
        : deny('unauthorized', 'no authorizer answered for this request'));
    if (auth.kind === 'denied') throw denialError(auth);
    if (auth.kind === 'portal' && auth.expiresAtMs <= this.ctx.now()) {
      throw denialError({ kind: 'denied', code: 'token_expired', message: 'this portal link has expired' });
    }
    return auth;
  }
}
