/**
 * `webhooks tenants ...`, `webhooks keys ...` and `webhooks portal <tenantId>`: the tenants, the
 * API keys (shown once, when made) and a portal link for one tenant's developers.
 */
import type { Command } from 'commander';
import { action, type Io, withCommonOptions } from '../context.ts';
import { fields, formatTime, table, truncate } from '../format.ts';

interface TenantView {
  readonly id: string;
  readonly name: string | null;
  readonly metadata: Record<string, string>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface KeyView {
  readonly id: string;
  readonly scope: string;
  readonly name: string | null;
  readonly createdAt: string | null;
}

const tenantPath = (id: string) => `/tenants/${encodeURIComponent(id)}`;

export function registerTenants(program: Command, io: Io): void {
  const tenants = program
    .command('tenants')
    .helpCommand(false)
    .description('the tenants (the customers whose endpoints receive webhooks): list, show, put, delete');

  withCommonOptions(tenants.command('list').description('list every tenant'), [
    'npx webhooks tenants list --local',
  ]).action(
    action(io, async (context) => {
      const api = await context.api();
      const items: TenantView[] = [];
      let cursor: string | null = null;
      do {
        const query: Record<string, string> = { limit: '100', ...(cursor ? { cursor } : {}) };
        const { body } = await api.request<{ items: TenantView[]; nextCursor: string | null }>(
          'GET',
          '/tenants',
          {
            query,
          },
        );
        items.push(...body.items);
        cursor = body.nextCursor;
      } while (cursor);
      context.print({ items }, () =>
        table(
          ['ID', 'NAME', 'CREATED'],
          items.map((tenant) => [tenant.id, truncate(tenant.name ?? '', 40), formatTime(tenant.createdAt)]),
        ),
      );
    }),
  );

  withCommonOptions(
    tenants.command('show').argument('<tenantId>', 'tenant id').description('show one tenant'),
    ['npx webhooks tenants show acme --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      const { body } = await (await context.api()).request<TenantView>('GET', tenantPath(id));
      context.print(body, () => describeTenant(body));
    }),
  );

  withCommonOptions(
    tenants
      .command('put')
      .argument('<tenantId>', 'tenant id: letters, digits, . _ -, at most 64')
      .option('--name <name>', 'display name')
      .description('create a tenant, or replace its name'),
    ['npx webhooks tenants put acme --name "Acme Inc." --local'],
  ).action(
    action(io, async (context, [id = ''], options) => {
      const body = options.name === undefined ? {} : { name: String(options.name) };
      const result = await (await context.api()).request<TenantView>('PUT', tenantPath(id), { body });
      context.print(result.body, () => describeTenant(result.body));
    }),
  );

  withCommonOptions(
    tenants
      .command('delete')
      .argument('<tenantId>', 'tenant id')
      .description('delete a tenant, its endpoints and their secrets (its history expires by itself)'),
    ['npx webhooks tenants delete acme --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      await (await context.api()).request('DELETE', tenantPath(id));
      context.print({ deleted: id }, () => `deleted tenant ${id}\n`);
    }),
  );

  const keys = program
    .command('keys')
    .helpCommand(false)
    .description('API keys: create (admin or send-only; shown once), list, revoke');

  withCommonOptions(
    keys
      .command('create')
      .option('--scope <scope>', 'admin (everything) or send (POST /events and reading back its own)', 'send')
      .option('--name <name>', 'what the key is for')
      .description('make a key; it is shown once, store it at once'),
    ['npx webhooks keys create --scope send --name billing-service --local'],
  ).action(
    action(io, async (context, _, options) => {
      const body = { scope: String(options.scope), ...(options.name ? { name: String(options.name) } : {}) };
      const { body: made } = await (await context.api()).request<KeyView & { key: string }>(
        'POST',
        '/api-keys',
        {
          body,
        },
      );
      context.print(
        made,
        () =>
          `${fields([
            ['id', made.id],
            ['scope', made.scope],
            ['key', made.key],
          ])}\nthe key is not shown again\n`,
      );
    }),
  );

  withCommonOptions(keys.command('list').description('list the keys (never the keys themselves)'), [
    'npx webhooks keys list --local',
  ]).action(
    action(io, async (context) => {
      const { body } = await (await context.api()).request<{ items: KeyView[] }>('GET', '/api-keys');
      context.print(body, () =>
        table(
          ['ID', 'SCOPE', 'NAME', 'CREATED'],
          body.items.map((key) => [key.id, key.scope, key.name ?? '', formatTime(key.createdAt)]),
        ),
      );
    }),
  );

  withCommonOptions(
    keys
      .command('revoke')
      .argument('<id>', 'key id (key_...)')
      .description('revoke a key: refused within a minute'),
    ['npx webhooks keys revoke key_0123456789abcdef --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      await (await context.api()).request('DELETE', `/api-keys/${encodeURIComponent(id)}`);
      context.print({ revoked: id }, () => `revoked ${id}; it stops working within a minute\n`);
    }),
  );

  withCommonOptions(
    program
      .command('portal')
      .argument('<tenantId>', 'tenant id')
      .option('--hours <n>', 'how long the link works, 1 to 24', '1')
      .description("print a link to the consumer portal for one tenant's developers"),
    ['npx webhooks portal acme --local', 'npx webhooks portal acme --hours 24 --json'],
  ).action(
    action(io, async (context, [id = ''], options) => {
      const hours = Number(options.hours);
      if (!Number.isInteger(hours) || hours < 1 || hours > 24)
        throw new Error('--hours must be a whole number from 1 to 24');
      const { body } = await (await context.api()).request<{ url: string; expiresAt: string }>(
        'POST',
        `${tenantPath(id)}/portal-sessions`,
        { body: { expiresInSeconds: hours * 3600 } },
      );
      context.print(body, () => `${body.url}\nworks until ${formatTime(body.expiresAt)}\n`);
    }),
  );
}

function describeTenant(tenant: TenantView): string {
  return `${fields([
    ['id', tenant.id],
    ['name', tenant.name ?? ''],
    ['created', formatTime(tenant.createdAt)],
    ['updated', formatTime(tenant.updatedAt)],
    ...Object.entries(tenant.metadata).map(([key, value]) => [`metadata.${key}`, value] as const),
  ])}\n`;
}
