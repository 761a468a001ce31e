/**
 * The request and response shapes of the API, and its route table: each resource's module
 * (`routes/*.ts`) contributes its routes, and {@link matchRoute} picks one for a request.
 */
import { badRequest, HttpError } from '../core/errors.ts';
import type { Denial, Principal } from '../core/principal.ts';

/** A request, as the adapters hand it over. Header names are lower case. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly trackingId: string;
  /**
   * Who the authorizer found the caller to be, or why it refused them (on AWS, from the
   * authorizer's context; in local mode, from the same code run before the API). When absent,
   * ApiApp runs the authorizer's code itself.
   */
  readonly auth?: Principal | Denial;
  /** Set by ApiApp once the request is authenticated. */
  readonly principal?: Principal;
  /** The API's own origin (`https://<domain>`), for the links it makes (portal sessions). */
  readonly origin?: string;
}

/** A response before serialisation. */
export interface ApiResponse {
  readonly status: number;
  /** Serialised as JSON, unless `contentType` is set: then it is a string, sent as it is. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

export type Params = Readonly<Record<string, string>>;
export type RouteHandler = (request: ApiRequest, params: Params) => Promise<ApiResponse>;

/**
 * Who may call a route: `open` anyone (only the pages and the API description, which hold no
 * data); `admin` admin keys only; `send` admin and send-only keys; `portal` admin keys and portal
 * sessions (which the route limits to their tenant).
 */
export type Access = 'open' | 'admin' | 'send' | 'portal';

export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: RouteHandler;
  readonly access: Access;
}

/** A route from a template such as `/endpoints/{id}`. */
export function route(
  method: string,
  template: string,
  handler: RouteHandler,
  access: Access = 'admin',
): Route {
  const names: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}/?$`), names, handler, access };
}

/** Whether a principal of this kind may call a route with this access. */
export function allows(access: Access, kind: Principal['kind']): boolean {
  if (access === 'open' || kind === 'admin') return true;
  return access === kind;
}

/** The 405 for a known path asked with another method, naming the methods it has. */
export function methodNotAllowed(request: ApiRequest, allowed: readonly string[]): HttpError {
  return new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${request.path}`, {
    Allow: allowed.join(', '),
  });
}

/** The matching route and its decoded path parameters; 404 for no path, 405 for another method. */
export function matchRoute(
  routes: readonly Route[],
  request: ApiRequest,
): { route: Route | undefined; allowed: string[]; params: () => Params } {
  const matches = routes.filter((candidate) => candidate.pattern.test(request.path));
  if (matches.length === 0) throw new HttpError(404, 'not_found', `no route for ${request.path}`);
  const match = matches.find((candidate) => candidate.method === request.method);
  return {
    route: match,
    allowed: matches.map((candidate) => candidate.method),
    params: () => {
      const values = match?.pattern.exec(request.path)?.slice(1) ?? [];
      const params: Record<string, string> = {};
      match?.names.forEach((name, index) => {
        try {
          params[name] = decodeURIComponent(values[index] ?? '');
        } catch {
          throw badRequest('invalid_path', `the ${name} in the path is not valid percent-encoding`);
        }
      });
      return params;
    },
  };
}
