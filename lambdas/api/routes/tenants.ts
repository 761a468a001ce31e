/**
 * Tenants (admin keys only): upsert one with an operator-chosen id, list, read, delete. Deleting
 * a tenant deletes its endpoints and their secrets; its deliveries and attempts expire by TTL.
 */
import { DEFAULT_PAGE_SIZE } from '../../core/config.ts';
import { HttpError, notFound } from '../../core/errors.ts';
import { DEFAULT_TENANT, isTenantId } from '../../core/tenants.ts';
import { listTenantsSchema, parseJsonBody, parseOrThrow, putTenantSchema } from '../../core/validation.ts';
import type { ApiContext } from '../context.ts';
import { type ApiRequest, type ApiResponse, type Route, route } from '../router.ts';
import { publicTenant } from '../views.ts';
import { pageBody } from './pages.ts';

export function tenantRoutes(ctx: ApiContext): Route[] {
  return [
    route('PUT', '/tenants/{tenantId}', (r, p) => putTenant(ctx, r, p.tenantId ?? '')),
    route('GET', '/tenants', (r) => listTenants(ctx, r)),
    route('GET', '/tenants/{tenantId}', async (_, p) => ({
      status: 200,
      body: publicTenant(await ctx.tenantOr404(p.tenantId ?? '')),
    })),
    route('DELETE', '/tenants/{tenantId}', (_, p) => deleteTenant(ctx, p.tenantId ?? '')),
  ];
}

/** The tenant id in a path, or 400 (PUT makes tenants, so a bad id is bad input, not "not found"). */
function tenantIdOf(raw: string): string {
  if (!isTenantId(raw)) {
    throw new HttpError(
      400,
      'invalid_tenant_id',
      'a tenant id is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return raw;
}

async function putTenant(ctx: ApiContext, request: ApiRequest, raw: string): Promise<ApiResponse> {
  const id = tenantIdOf(raw);
  const input = parseOrThrow(putTenantSchema, request.body?.trim() ? parseJsonBody(request.body) : {});
  const { tenant, created } = await ctx.deps.store.putTenant({
    id,
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    updatedAt: new Date(ctx.now()).toISOString(),
  });
  ctx.endpointsChanged(id);
  return { status: created ? 201 : 200, body: publicTenant(tenant) };
}

async function listTenants(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const query = parseOrThrow(listTenantsSchema, request.query, 'invalid_query');
  const cursor = query.cursor ? ctx.cursor(query.cursor, ['pk', 'id']) : undefined;
  if (cursor && cursor.pk !== 'tenants') {
    throw new HttpError(400, 'invalid_cursor', 'cursor is not one this API issued for this query');
  }
  const page = await ctx.deps.store.listTenants(query.limit ?? DEFAULT_PAGE_SIZE, cursor);
  return { status: 200, body: pageBody(page, publicTenant) };
}

async function deleteTenant(ctx: ApiContext, raw: string): Promise<ApiResponse> {
  if (raw === DEFAULT_TENANT) {
    throw new HttpError(
      409,
      'default_tenant',
      'the default tenant cannot be deleted; delete its endpoints instead',
    );
  }
  const tenant = isTenantId(raw) ? await ctx.deps.store.getTenant(raw) : undefined;
  if (!tenant) throw notFound('tenant', raw);
  // The record first: no event is accepted for the tenant while its endpoints are being removed.
  await ctx.deps.store.deleteTenant(tenant.id);
  ctx.endpointsChanged(tenant.id);
  const endpoints = await ctx.deps.store.tenantEndpoints(tenant.id);
  for (const endpoint of endpoints) {
    const deleted = await ctx.deps.store.deleteEndpoint(endpoint.id);
    if (deleted) await ctx.deps.secrets.delete(deleted.secretName);
  }
  return { status: 204 };
}
