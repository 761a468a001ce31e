/**
 * Tenants: the customers of the operator, each with their own endpoints. Pure data and rules:
 * the id format, the tenant every request without one uses, and where each tenant's endpoints
 * live in the Endpoints table (one partition per tenant).
 */

/** The tenant of every request that names none, and of every endpoint made before tenants. */
export const DEFAULT_TENANT = 'default';

/** Operator-chosen tenant ids: letters, digits, `.`, `_` and `-`, at most 64, starting alphanumeric. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const isTenantId = (id: string): boolean => TENANT_ID_PATTERN.test(id);

/** A tenant, as stored and shown. */
export interface TenantRecord {
  readonly id: string;
  readonly name?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The Endpoints-table partition of a tenant's endpoints. The default tenant's is `endpoint`, the
 * partition every endpoint lived in before tenants, so those endpoints are the default tenant's
 * without any migration.
 */
export const endpointPartition = (tenantId: string): string =>
  tenantId === DEFAULT_TENANT ? 'endpoint' : `tenant#${tenantId}`;

/** The tenant whose endpoints a partition holds, or undefined for a partition of another kind. */
export function tenantOfPartition(pk: string): string | undefined {
  if (pk === 'endpoint') return DEFAULT_TENANT;
  return pk.startsWith('tenant#') ? pk.slice('tenant#'.length) : undefined;
}

/** The Endpoints-table partition that holds the tenant records themselves. */
export const TENANTS_PARTITION = 'tenants';
