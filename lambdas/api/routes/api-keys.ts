/**
 * API keys (admin keys only): create one (`admin` or `send`), shown once; list them (never a
 * hash); revoke one, which stops working within a minute (the caches of API_KEY_CACHE_TTL_MS and
 * AUTHORIZER_CACHE_SECONDS). The last admin key cannot be revoked: nothing could make another.
 */
import { randomBytes } from 'node:crypto';
import { generateApiKey, hashApiKey, type StoredApiKey } from '../../core/api-keys.ts';
import { HttpError, notFound } from '../../core/errors.ts';
import { createApiKeySchema, parseJsonBody, parseOrThrow } from '../../core/validation.ts';
import type { ApiContext } from '../context.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';
import { publicApiKey } from '../views.ts';

export function apiKeyRoutes(ctx: ApiContext): Route[] {
  return [
    route('POST', '/api-keys', (r) => createKey(ctx, r)),
    route('GET', '/api-keys', async () => ({
      status: 200,
      body: { items: (await ctx.deps.apiKeys.get()).map(publicApiKey) },
    })),
    route('DELETE', '/api-keys/{id}', (_, p) => revokeKey(ctx, p.id ?? '')),
  ];
}

function writable(ctx: ApiContext) {
  const { add, revoke } = ctx.deps.apiKeys;
  if (!add || !revoke) throw new HttpError(501, 'not_supported', 'keys cannot be changed here');
  return { add: add.bind(ctx.deps.apiKeys), revoke: revoke.bind(ctx.deps.apiKeys) };
}

async function createKey(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const input = parseOrThrow(createApiKeySchema, parseJsonBody(request.body));
  const key = generateApiKey();
  const stored: StoredApiKey = {
    id: `key_${randomBytes(8).toString('hex')}`,
    sha256: hashApiKey(key),
    createdAt: new Date(ctx.now()).toISOString(),
    scope: input.scope,
    ...(input.name !== undefined ? { name: input.name } : {}),
  };
  await writable(ctx).add(stored);
  return { status: 201, body: { ...publicApiKey(stored), key } };
}

async function revokeKey(ctx: ApiContext, id: string): Promise<ApiResponse> {
  const keys = await ctx.deps.apiKeys.get();
  const target = keys.find((key) => key.id === id);
  if (!target) throw notFound('API key', id);
  const admins = keys.filter((key) => (key.scope ?? 'admin') === 'admin');
  if ((target.scope ?? 'admin') === 'admin' && admins.length === 1) {
    throw new HttpError(
      409,
      'last_admin_key',
      'this is the only admin key; create another before revoking it',
    );
  }
  if (!(await writable(ctx).revoke(id))) throw notFound('API key', id);
  return { status: 204 };
}
