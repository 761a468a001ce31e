/**
 * Pages function: the routes served without a credential (OPEN_ROUTES: `GET /dashboard`, `GET
 * /portal`, `GET /openapi.json`), API Gateway HTTP API (payload format 2.0) in. They hold no
 * data and call no AWS service, so this function has no client, no table, no secret and a role
 * that only writes its logs; the API function's bundle, which serves everything else, carries
 * none of the pages. Responses are the API's (lambdas/api/respond.ts): the same headers, the
 * `Trackingid`, the request log line.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Logger } from '../adapters/telemetry.ts';
import type { ApiRequest, ApiResponse } from '../api/app.ts';
import { openRoutes } from '../api/open-routes.ts';
import { toApiRequest } from '../api/request.ts';
import { toHttpResponse } from '../api/respond.ts';
import { matchRoute, methodNotAllowed } from '../api/router.ts';

const logger = new Logger({ serviceName: 'webhooks-pages' });
const routes = openRoutes();

/** The open routes alone: a path or method they do not serve is 404 or 405, as in the API. */
export const pages = {
  async handle(request: ApiRequest): Promise<ApiResponse> {
    const match = matchRoute(routes, request);
    if (!match.route) throw methodNotAllowed(request, match.allowed);
    return match.route.handler(request, match.params());
  },
};

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const request = toApiRequest(event);
  return toHttpResponse(
    pages,
    request,
    logger.createChild({ persistentKeys: { trackingId: request.trackingId } }),
  );
};
