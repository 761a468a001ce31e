/**
 * Local mode's stand-in for API Gateway (local/gateway.ts): which function each request reaches,
 * as the deployed HTTP API routes it (lib/ingest-api.ts): GET of an open route to the pages
 * function without the authorizer, everything else through the authorizer (its answer cached per
 * header) to the API function.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { AUTHORIZER_CACHE_SECONDS, OPEN_ROUTES } from '../../lambdas/core/config.ts';
import { httpApiGateway } from '../../local/gateway.ts';

function event(method: string, rawPath: string, authorization?: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: authorization ? { authorization } : {},
    isBase64Encoded: false,
    requestContext: { http: { method }, requestId: 'r', domainName: 'localhost' },
  } as unknown as APIGatewayProxyEventV2;
}

function targets(authorized = true) {
  return {
    pages: vi.fn(async () => ({ statusCode: 200, body: 'page' })),
    api: vi.fn(async () => ({ statusCode: 200, body: 'api' })),
    authorizer: vi.fn(async () => ({ isAuthorized: authorized, context: { kind: 'admin', keyId: 'k' } })),
  };
}

describe('the local gateway', () => {
  it.each(OPEN_ROUTES)('sends GET %s to the pages function, asking no authorizer', async (path) => {
    // Prepare
    const functions = targets();
    const gateway = httpApiGateway(functions);

    // Act
    const answer = await gateway(event('GET', path));

    // Assess
    expect(answer.body).toBe('page');
    expect(functions.pages).toHaveBeenCalledTimes(1);
    expect(functions.api).not.toHaveBeenCalled();
    expect(functions.authorizer).not.toHaveBeenCalled();
  });

  it('sends another method on an open path, with a key, through the authorizer to the API function', async () => {
    // Prepare
    const functions = targets();
    const gateway = httpApiGateway(functions);

    // Act
    const answer = await gateway(event('POST', '/dashboard', 'Bearer whk_x'));

    // Assess
    expect(answer.body).toBe('api');
    expect(functions.pages).not.toHaveBeenCalled();
    expect(functions.authorizer).toHaveBeenCalledTimes(1);
    const [forwarded] = functions.api.mock.calls[0] as unknown as [APIGatewayProxyEventV2];
    expect(forwarded.requestContext).toMatchObject({ authorizer: { lambda: { kind: 'admin', keyId: 'k' } } });
  });

  it('answers 401 without a header and 403 for a refused one, invoking neither function', async () => {
    // Prepare
    const functions = targets(false);
    const gateway = httpApiGateway(functions);

    // Act
    const missing = await gateway(event('GET', '/endpoints'));
    const refused = await gateway(event('GET', '/endpoints', 'Bearer whk_x'));

    // Assess
    expect(missing.statusCode).toBe(401);
    expect(refused.statusCode).toBe(403);
    expect(functions.api).not.toHaveBeenCalled();
    expect(functions.pages).not.toHaveBeenCalled();
  });

  it('asks the authorizer once per header until its answer is AUTHORIZER_CACHE_SECONDS old', async () => {
    // Prepare
    let now = 1_000_000;
    const functions = targets();
    const gateway = httpApiGateway(functions, () => now);

    // Act
    await gateway(event('GET', '/endpoints', 'Bearer whk_x'));
    now += AUTHORIZER_CACHE_SECONDS * 1000 - 1;
    await gateway(event('GET', '/endpoints', 'Bearer whk_x'));
    const beforeExpiry = functions.authorizer.mock.calls.length;
    now += 1;
    await gateway(event('GET', '/endpoints', 'Bearer whk_x'));

    // Assess
    expect(beforeExpiry).toBe(1);
    expect(functions.authorizer).toHaveBeenCalledTimes(2);
    expect(functions.api).toHaveBeenCalledTimes(3);
  });
});
