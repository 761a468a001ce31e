/**
 * An API Gateway HTTP API event (payload format 2.0) as the app's request: the API function's
 * and the pages function's shared first step.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { fromAuthorizerContext } from '../core/principal.ts';
import type { ApiRequest } from './router.ts';

/**
 * Turns an API Gateway event into the app's request shape, with what the authorizer found
 * (`requestContext.authorizer.lambda`; absent on the open routes, which have no authorizer).
 */
export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    headers,
    query: event.queryStringParameters ?? {},
    ...(body !== undefined ? { body } : {}),
    trackingId: event.requestContext.requestId,
    // API Gateway sets x-forwarded-proto (https); so does local mode's server (http).
    origin: `${headers['x-forwarded-proto'] === 'http' ? 'http' : 'https'}://${event.requestContext.domainName}`,
    ...authOf(event),
  };
}

function authOf(event: APIGatewayProxyEventV2) {
  const context = (event.requestContext as { authorizer?: { lambda?: unknown } }).authorizer?.lambda;
  const auth = fromAuthorizerContext(context);
  return auth ? { auth } : {};
}
