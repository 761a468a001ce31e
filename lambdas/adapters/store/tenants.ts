/**
 * Tenant records, kept in the Endpoints table's `tenants` partition (lambdas/core/tenants.ts):
 * few, small and read with the endpoints they own, so they need no table of their own.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../../core/records.ts';
import { TENANTS_PARTITION, type TenantRecord } from '../../core/tenants.ts';
import { documents } from '../clients.ts';
import { encodeCursor, type TableName } from './tables.ts';

function toTenant(item: Record<string, unknown>): TenantRecord {
  const { pk: _pk, ...rest } = item;
  return rest as unknown as TenantRecord;
}

/** Operations on the tenant records of the Endpoints table named by `table`. */
export function tenantsRepository(table: TableName) {
  /** Creates or replaces a tenant; `createdAt` is kept from the record it replaces. Returns it and whether it is new. */
  async function putTenant(
    tenant: Omit<TenantRecord, 'createdAt'> & { createdAt?: string },
  ): Promise<{ tenant: TenantRecord; created: boolean }> {
    const existing = await getTenant(tenant.id);
    const stored: TenantRecord = { ...tenant, createdAt: existing?.createdAt ?? tenant.updatedAt };
    await documents.send(new PutCommand({ TableName: table(), Item: { pk: TENANTS_PARTITION, ...stored } }));
    return { tenant: stored, created: !existing };
  }

  async function getTenant(id: string): Promise<TenantRecord | undefined> {
    const { Item } = await documents.send(
      new GetCommand({ TableName: table(), Key: { pk: TENANTS_PARTITION, id }, ConsistentRead: true }),
    );
    return Item ? toTenant(Item) : undefined;
  }

  /** Tenants by id, one Query per page. */
  async function listTenants(limit: number, cursor?: Record<string, unknown>): Promise<Page<TenantRecord>> {
    const { Items = [], LastEvaluatedKey } = await documents.send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': TENANTS_PARTITION },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    const nextCursor = encodeCursor(LastEvaluatedKey);
    return { items: Items.map(toTenant), ...(nextCursor ? { nextCursor } : {}) };
  }

  async function deleteTenant(id: string): Promise<void> {
    await documents.send(new DeleteCommand({ TableName: table(), Key: { pk: TENANTS_PARTITION, id } }));
  }

  return { putTenant, getTenant, listTenants, deleteTenant };
}

/** The tenant records' operations. */
export type TenantsRepository = ReturnType<typeof tenantsRepository>;
