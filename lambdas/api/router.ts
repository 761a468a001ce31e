/**
 * The request and response shapes of the API, and its route table: each resource's module
 * (`routes/*.ts`) contributes its routes, and {@link matchRoute} picks one for a request.
 */
import { badRequest, HttpError } from '../core/errors.ts';

/** A request, as the adapters hand it over. Header names are lower case. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly trackingId: string;
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

export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: RouteHandler;
  /** Served without an API key (only the dashboard page and the API description, which hold no data). */
  readonly open: boolean;
}

/** A route from a template such as `/endpoints/{id}`. */
export function route(method: string, template: string, handler: RouteHandler, open = false): Route {
  const names: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}/?$`), names, handler, open };
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
