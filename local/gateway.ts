/**
 * What API Gateway does in front of the functions, in local mode: a GET of an open route goes to
 * the pages function, with no authorizer; every other request needs an `Authorization` header
 * (the authorizer's identity source: 401 without invoking anything, as API Gateway answers), and
 * the authorizer function's answer for that header is cached for AUTHORIZER_CACHE_SECONDS and
 * passed on to the API function as the request's `requestContext.authorizer.lambda`, as on AWS.
 */
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { AUTHORIZER_CACHE_SECONDS, OPEN_ROUTES } from '../lambdas/core/config.ts';

type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEventV2,
) => Promise<APIGatewaySimpleAuthorizerWithContextResult<Record<string, string>>>;

/** The handlers behind the HTTP API: the pages function's, the API function's and the authorizer's. */
export interface GatewayTargets {
  /** The open routes' function (lambdas/pages/handler.ts). */
  readonly pages: ApiHandler;
  /** Every other route's (lambdas/api/handler.ts), behind the authorizer. */
  readonly api: ApiHandler;
  readonly authorizer: AuthorizerHandler;
}

/** One handler for every request, routed the way the deployed HTTP API routes it. */
export function httpApiGateway(
  { pages, api, authorizer }: GatewayTargets,
  now: () => number = Date.now,
): ApiHandler {
  const cache = new Map<string, { result: Record<string, string> | undefined; until: number }>();
  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    if (method === 'GET' && OPEN_ROUTES.includes(event.rawPath)) return pages(event);
    const header = event.headers?.authorization;
    if (!header) {
      return {
        statusCode: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Unauthorized' }),
      };
    }
    let cached = cache.get(header);
    if (!cached || cached.until <= now()) {
      const answer = await authorizer({
        version: '2.0',
        type: 'REQUEST',
        routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${method}${event.rawPath}`,
        identitySource: [header],
        routeKey: 'ANY /{proxy+}',
        rawPath: event.rawPath,
        rawQueryString: event.rawQueryString,
        headers: event.headers,
        requestContext: event.requestContext,
      } as unknown as APIGatewayRequestAuthorizerEventV2);
      cached = {
        result: answer.isAuthorized ? answer.context : undefined,
        until: now() + AUTHORIZER_CACHE_SECONDS * 1000,
      };
      cache.set(header, cached);
    }
    if (!cached.result) {
      return {
        statusCode: 403,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Forbidden' }),
      };
    }
    return api({
      ...event,
      requestContext: { ...event.requestContext, authorizer: { lambda: cached.result } },
    } as APIGatewayProxyEventV2);
  };
}
