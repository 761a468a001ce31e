/**
 * The HTTP API, independent of how requests arrive: the Lambda handler (API Gateway HTTP API,
 * payload 2.0) and the local server both turn a request into an {@link ApiRequest} and call
 * {@link ApiApp.handle}. Each resource's routes live in their own module under `routes/`;
 * this file only checks the body size and the API key and dispatches.
 */
import { matchApiKey } from '../core/api-keys.ts';
import { MAX_BATCH_BODY_BYTES, MAX_REQUEST_BODY_BYTES } from '../core/config.ts';
import { HttpError } from '../core/errors.ts';
import { payloadTooLarge } from '../core/validation.ts';
import { ApiContext, type ApiDeps } from './context.ts';
import { dashboardPage } from './dashboard.ts';
import { openApiDocument } from './openapi-document.ts';
import { type ApiRequest, type ApiResponse, matchRoute, type Route, route } from './router.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { dlqRoutes } from './routes/dlq.ts';
import { endpointRoutes } from './routes/endpoints.ts';
import { eventRoutes } from './routes/events.ts';

export type { ApiDeps } from './context.ts';
export type { ApiRequest, ApiResponse } from './router.ts';

/** The API's routes and their logic. */
export class ApiApp {
  private readonly ctx: ApiContext;
  private readonly routes: readonly Route[];

  constructor(deps: ApiDeps) {
    this.ctx = new ApiContext(deps);
    this.routes = [
      ...endpointRoutes(this.ctx),
      ...eventRoutes(this.ctx),
      ...deliveryRoutes(this.ctx),
      ...dlqRoutes(this.ctx),
      route('GET', '/dashboard', async () => dashboardPage(), true),
      route('GET', '/openapi.json', async () => openApiDocument(), true),
    ];
  }

  /** Authenticates, routes and runs a request. Throws {@link HttpError} for client errors. */
  async handle(request: ApiRequest): Promise<ApiResponse> {
    const limit = /^\/events\/batch\/?$/.test(request.path) ? MAX_BATCH_BODY_BYTES : MAX_REQUEST_BODY_BYTES;
    if (request.body !== undefined && Buffer.byteLength(request.body) > limit) throw payloadTooLarge(limit);
    const match = matchRoute(this.routes, request);
    if (!match.route?.open) await this.authenticate(request);
    if (!match.route) {
      throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${request.path}`, {
        Allow: match.allowed.join(', '),
      });
    }
    return match.route.handler(request, match.params());
  }

  private async authenticate(request: ApiRequest): Promise<void> {
    const keys = await this.ctx.deps.apiKeys.get();
    if (!matchApiKey(request.headers['x-api-key'], keys)) {
      throw new HttpError(401, 'unauthorized', 'a valid x-api-key header is required');
    }
  }
}
