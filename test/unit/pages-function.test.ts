/**
 * The pages function (lambdas/pages/handler.ts): the open routes alone, as API Gateway sends them
 * (payload 2.0), with the API's response headers; and the list the stack routes to it
 * (OPEN_ROUTES) is the list it serves.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, PORTAL_CSP } from '../../lambdas/api/dashboard.ts';
import { openRoutes } from '../../lambdas/api/open-routes.ts';
import { matchRoute } from '../../lambdas/api/router.ts';
import { OPEN_ROUTES } from '../../lambdas/core/config.ts';
import { handler } from '../../lambdas/pages/handler.ts';

function event(method: string, rawPath: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${rawPath}`,
    rawPath,
    rawQueryString: '',
    headers: { host: 'api.example', 'x-forwarded-proto': 'https' },
    isBase64Encoded: false,
    requestContext: {
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-pages-1',
      domainName: 'api.example',
    },
  } as unknown as APIGatewayProxyEventV2;
}

describe('the pages function', () => {
  it('serves exactly the paths the stack routes to it, each on GET', () => {
    // Act: which of the open paths (and which methods) its routes answer.
    const served = openRoutes().map((route) => {
      const path = OPEN_ROUTES.find((candidate) => route.pattern.test(candidate));
      return `${route.method} ${path} ${route.access}`;
    });

    // Assess
    expect(served).toEqual(OPEN_ROUTES.map((path) => `GET ${path} open`));
    expect(() =>
      matchRoute(openRoutes(), {
        method: 'GET',
        path: '/endpoints',
        headers: {},
        query: {},
        trackingId: 't',
      }),
    ).toThrow(expect.objectContaining({ status: 404 }));
  });

  it.each([
    ['/dashboard', 'text/html; charset=utf-8', DASHBOARD_CSP, '<!doctype html>'],
    ['/portal', 'text/html; charset=utf-8', PORTAL_CSP, '<!doctype html>'],
  ])('answers GET %s with the page, its policy and the API headers', async (path, type, csp, start) => {
    // Act
    const response = await handler(event('GET', path));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': type,
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      Trackingid: 'req-pages-1',
    });
    expect(String(response.body).toLowerCase().startsWith(start)).toBe(true);
  });

  it('answers GET /openapi.json with the committed document', async () => {
    // Act
    const response = await handler(event('GET', '/openapi.json'));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', Trackingid: 'req-pages-1' });
    expect(JSON.parse(String(response.body))).toMatchObject({ openapi: '3.1.0' });
  });

  it('answers another method with 405 and Allow, and another path with 404, as the API does', async () => {
    // Act
    const wrongMethod = await handler(event('POST', '/dashboard'));
    const wrongPath = await handler(event('GET', '/endpoints'));

    // Assess
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers).toMatchObject({ Allow: 'GET' });
    expect(JSON.parse(String(wrongMethod.body))).toEqual({
      error: { code: 'method_not_allowed', message: 'POST is not allowed on /dashboard' },
    });
    expect(wrongPath.statusCode).toBe(404);
    expect(JSON.parse(String(wrongPath.body))).toMatchObject({ error: { code: 'not_found' } });
  });
});
