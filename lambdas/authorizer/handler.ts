/**
 * API Gateway Lambda authorizer (HTTP API, payload 2.0, simple responses). Its identity source is
 * the `Authorization` header, so a request without one is refused by API Gateway without invoking
 * anything; results are cached per header value for AUTHORIZER_CACHE_SECONDS (lib/ingest-api.ts).
 *
 * A credential that is wrong, expired or revoked is let through with a `denied` context, so that
 * the API function answers it with a clear JSON 401 (`unauthorized`, `token_expired`,
 * `invalid_token`) rather than API Gateway's bare 403.
 */
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { ApiKeyStore, PortalKey } from '../adapters/credentials.ts';
import { requireEnv } from '../adapters/env.ts';
import { authorize } from '../api/authorize.ts';
import { toAuthorizerContext } from '../core/principal.ts';
import { ENV } from '../core/schema.ts';

const deps = {
  apiKeys: new ApiKeyStore(requireEnv(ENV.apiKeysSecretId)),
  portalKey: new PortalKey(requireEnv(ENV.portalKeySecretId)),
  now: Date.now,
};

export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<Record<string, string>>> => {
  const header = event.headers?.authorization ?? event.headers?.Authorization;
  return { isAuthorized: true, context: toAuthorizerContext(await authorize(header, deps)) };
};
