/**
 * The tenant, key and portal commands through the local product (moto and the API server of
 * `startLocalStack()`), as an operator would run them: put, show, list and delete a tenant; make,
 * list and revoke an API key; print a portal link for one tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/local-stack.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { cli, stateFileFor, tempDir } from './support.ts';

const API_KEY = 'wh_test_cli_tenant_key_0123456789';

interface TenantView {
  id: string;
  name: string | null;
  createdAt: string;
}

interface KeyView {
  id: string;
  scope: string;
  name: string | null;
  key?: string;
}

let moto: MotoServer;
let stack: LocalStack;
let dir: ReturnType<typeof tempDir>;
let stateFile: string;

beforeAll(async () => {
  moto = await startMoto();
  stack = await startLocalStack({
    endpoint: moto.endpoint,
    apiKey: API_KEY,
    policy: { scheduleSeconds: [1], maxAttempts: 1 },
    port: 0,
    prefix: `cli-tenants-${process.pid}`,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  dir = tempDir();
  stateFile = stateFileFor(dir.path, stack.resources, { apiUrl: stack.apiUrl, apiKey: API_KEY });
});

afterAll(async () => {
  await stack?.stop();
  await moto?.stop();
  dir?.remove();
});

/** Runs a command against the local stack and parses its `--json` output. */
async function json<T>(...args: string[]): Promise<T> {
  const result = await cli([...args, '--state-file', stateFile, '--json']);
  expect(result.stderr, args.join(' ')).toBe('');
  expect(result.code, args.join(' ')).toBe(0);
  return JSON.parse(result.stdout) as T;
}

async function human(...args: string[]): Promise<string> {
  const result = await cli([...args, '--state-file', stateFile]);
  expect(result.stderr, args.join(' ')).toBe('');
  expect(result.code, args.join(' ')).toBe(0);
  return result.stdout;
}

describe('tenant, key and portal commands against the local stack', () => {
  it('tenants put makes a tenant that show and list find', async () => {
    const put = await json<TenantView>('tenants', 'put', 'acme', '--name', 'Acme Inc.');
    expect(put).toMatchObject({ id: 'acme', name: 'Acme Inc.' });

    expect(await json<TenantView>('tenants', 'show', 'acme')).toMatchObject({
      id: 'acme',
      name: 'Acme Inc.',
    });
    const { items } = await json<{ items: TenantView[] }>('tenants', 'list');
    expect(items.map((tenant) => tenant.id)).toContain('acme');

    const text = await human('tenants', 'list');
    expect(text).toMatch(/^ID\s+NAME\s+CREATED\n/);
    expect(text).toMatch(/\nacme\s+Acme Inc\.\s+\S+/);
  });

  it('tenants delete removes a tenant: show then exits 1 with not_found', async () => {
    await json<TenantView>('tenants', 'put', 'doomed');

    expect(await json<{ deleted: string }>('tenants', 'delete', 'doomed')).toEqual({ deleted: 'doomed' });

    const shown = await cli(['tenants', 'show', 'doomed', '--state-file', stateFile]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toBe('');
    expect(shown.stderr).toMatch(/^webhooks: not_found \(HTTP 404\): [^\n]+\n$/);
    const { items } = await json<{ items: TenantView[] }>('tenants', 'list');
    expect(items.map((tenant) => tenant.id)).not.toContain('doomed');
  });

  it('keys create shows the key once; list shows no key or hash; revoke removes it', async () => {
    const made = await json<KeyView>('keys', 'create', '--scope', 'send', '--name', 'billing-service');
    expect(made).toMatchObject({ scope: 'send', name: 'billing-service' });
    expect(made.id).toMatch(/^key_/);
    expect(made.key).toMatch(/^whk_/);

    const listed = await cli(['keys', 'list', '--state-file', stateFile, '--json']);
    expect(listed.code).toBe(0);
    const { items } = JSON.parse(listed.stdout) as { items: KeyView[] };
    expect(items.find((key) => key.id === made.id)).toMatchObject({ scope: 'send', name: 'billing-service' });
    expect(listed.stdout).not.toContain(made.key ?? '');
    expect(listed.stdout).not.toMatch(/[0-9a-f]{64}/);
    expect(items.every((key) => key.key === undefined)).toBe(true);

    expect(await json<{ revoked: string }>('keys', 'revoke', made.id)).toEqual({ revoked: made.id });
    const after = await json<{ items: KeyView[] }>('keys', 'list');
    expect(after.items.map((key) => key.id)).not.toContain(made.id);
  });

  it('portal prints a link to the portal with the token in its fragment', async () => {
    await json<TenantView>('tenants', 'put', 'acme');
    const before = Date.now();

    const link = await json<{ url: string; expiresAt: string; tenantId: string }>(
      'portal',
      'acme',
      '--hours',
      '2',
    );

    expect(link.tenantId).toBe('acme');
    expect(link.url).toMatch(new RegExp(`^${stack.apiUrl.replace(/[.]/g, '\\.')}/portal#token=\\S+$`));
    const expiresAt = Date.parse(link.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 2 * 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 2 * 3600_000 + 1000);
  });

  it('portal --hours 25 is refused with a message saying what is allowed', async () => {
    const refused = await cli(['portal', 'acme', '--hours', '25', '--state-file', stateFile, '--json']);

    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe('webhooks: --hours must be a whole number from 1 to 24\n');
  });

  it('endpoints create and options set a tenant, custom headers and a filter; show names the headers only', async () => {
    await json('tenants', 'put', 'hooks-co');
    const created = await json<{ id: string; tenantId: string; headerNames: string[]; filter: unknown }>(
      'endpoints',
      'create',
      '--url',
      'https://example.com/hooks',
      '--tenant',
      'hooks-co',
      '--header',
      'X-Api-Key: s3cret-value',
      '--filter',
      '{"data": {"amount": {"$gte": 100}}}',
    );
    expect(created).toMatchObject({
      tenantId: 'hooks-co',
      headerNames: ['X-Api-Key'],
      filter: { data: { amount: { $gte: 100 } } },
    });
    const listed = await json<{ items: { id: string }[] }>('endpoints', 'list', '--tenant', 'hooks-co');
    expect(listed.items.map((endpoint) => endpoint.id)).toEqual([created.id]);
    const ofDefault = await json<{ items: { id: string }[] }>('endpoints', 'list');
    expect(ofDefault.items.map((endpoint) => endpoint.id)).not.toContain(created.id);
    const shown = await human('endpoints', 'show', created.id);
    expect(shown).toContain('X-Api-Key');
    expect(shown).not.toContain('s3cret-value');
    const changed = await json<{ headerNames: string[]; filter: unknown }>(
      'endpoints',
      'options',
      created.id,
      '--no-headers',
      '--filter',
      'off',
    );
    expect(changed).toMatchObject({ headerNames: [], filter: null });
    const refused = await cli([
      'endpoints',
      'options',
      created.id,
      '--filter',
      '{"data": {"$gte": "x"}}',
      '--state-file',
      stateFile,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^webhooks: invalid_filter \(HTTP 400\): /);
  });
});
