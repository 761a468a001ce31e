/**
 * `npm run local` and the CLI's `--local` keep their key apart from a deployed stack's:
 * local mode reads `WEBHOOKS_LOCAL_API_KEY` (never `WEBHOOKS_API_KEY`), prints its key at
 * most once, and the CLI with `--local` uses the state file's key whatever `WEBHOOKS_API_KEY`
 * says. Runs the real `local/run.ts` as a child process on a moto server of its own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { LOCAL_API_KEY_ENV, localApiKey, startupBanner } from '../../local/startup.ts';
import type { LocalState } from '../../local/state-file.ts';
import { cli, REPO_ROOT, tempDir, until } from './support.ts';

const POLICY = { scheduleSeconds: [1], maxAttempts: 1 };

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('startupBanner', () => {
  const info = {
    apiUrl: 'http://127.0.0.1:3000',
    dashboardUrl: 'http://127.0.0.1:3000/dashboard',
    emulators: {
      sqs: 'http://127.0.0.1:5000',
      dynamodb: 'http://127.0.0.1:5001',
      secretsManager: 'http://127.0.0.1:5002',
    },
    started: ['sqs', 'dynamodb', 'secretsManager'] as const,
    policy: POLICY,
    stateFile: "/tmp/it's here/.webhooks-local.json",
    stackKeySet: false,
  };

  it('shows a generated key once, and curl lines that read it from the state file', () => {
    const text = startupBanner({ ...info, apiKey: { key: 'whk_generated', source: 'generated' } });

    expect(occurrences(text, 'whk_generated')).toBe(1);
    expect(text).toContain('  API key:    whk_generated (generated)\n');
    expect(text).toContain('-H "Authorization: Bearer $KEY"');
    const line = /\n {2}(KEY=\$\(.+\))\n/.exec(text)?.[1] ?? '';
    expect(line).toContain('node -p');
  });

  it('does not show a key that came from WEBHOOKS_LOCAL_API_KEY', () => {
    const text = startupBanner({ ...info, apiKey: { key: 'wh_mine', source: 'env' } });

    expect(text).not.toContain('wh_mine');
    expect(text).toContain('  API key:    from WEBHOOKS_LOCAL_API_KEY (not shown)\n');
  });

  it('says that WEBHOOKS_API_KEY is ignored when it is set', () => {
    const text = startupBanner({ ...info, apiKey: { key: 'k', source: 'env' }, stackKeySet: true });

    expect(text).toContain(
      "WEBHOOKS_API_KEY is set and ignored here: it is the CLI's key for a deployed stack. Local mode's key is WEBHOOKS_LOCAL_API_KEY.",
    );
  });

  it("names each service's emulator, and which were started here", () => {
    const text = startupBanner({
      ...info,
      apiKey: { key: 'k', source: 'env' },
      started: ['sqs', 'dynamodb'],
    });

    expect(text).toContain('  Emulators:  SQS              http://127.0.0.1:5000 (moto, started here)\n');
    expect(text).toContain('              DynamoDB         http://127.0.0.1:5001 (moto, started here)\n');
    expect(text).toContain(
      '              Secrets Manager  http://127.0.0.1:5002 (reused from AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL)\n',
    );
  });

  it('localApiKey reads WEBHOOKS_LOCAL_API_KEY and nothing else', () => {
    expect(localApiKey({ WEBHOOKS_LOCAL_API_KEY: 'wh_mine', WEBHOOKS_API_KEY: 'wh_stack' })).toEqual({
      key: 'wh_mine',
      source: 'env',
    });
    const generated = localApiKey({ WEBHOOKS_API_KEY: 'wh_stack' });
    expect(generated.source).toBe('generated');
    expect(generated.key).toMatch(/^whk_[\w-]{43}$/);
  });
});

describe('npm run local and --local', () => {
  let moto: MotoServer;
  let dir: ReturnType<typeof tempDir>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    dir = tempDir();
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await moto?.stop();
    dir?.remove();
  });

  /** Starts `tsx local/run.ts` and waits for its banner; `stop()` sends SIGTERM and waits. */
  async function startLocalMode(name: string, env: NodeJS.ProcessEnv) {
    const stateFile = join(dir.path, `${name}.json`);
    const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['local/run.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        AWS_ENDPOINT_URL: moto.endpoint,
        WEBHOOKS_STATE_FILE: stateFile,
        WEBHOOKS_RETRY_SCHEDULE: '1',
        WEBHOOKS_MAX_ATTEMPTS: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`local mode exited ${child.exitCode}:\n${output}`);
        return output.includes('Ctrl-C stops everything.') ? true : undefined;
      },
      60_000,
      'local mode to start',
    );
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalState;
    return {
      stateFile,
      state,
      output: () => output,
      stop: async () => {
        child.kill('SIGTERM');
        return exited;
      },
    };
  }

  it('a generated key: printed once, the curl line reads it back, --local ignores WEBHOOKS_API_KEY', async () => {
    // Prepare: WEBHOOKS_API_KEY, a stack key, set in the shell as an operator would have it.
    const local = await startLocalMode('generated', { WEBHOOKS_API_KEY: 'wh_stack_key' });
    const key = local.state.apiKey;
    expect(key).toMatch(/^whk_/);
    expect(local.state.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(local.output()).toContain('WEBHOOKS_API_KEY is set and ignored here');

    // Act: the CLI with --local, WEBHOOKS_API_KEY still set (and wrong for local mode).
    const listed = await cli(['endpoints', 'list', '--local', '--json'], {
      WEBHOOKS_STATE_FILE: local.stateFile,
      WEBHOOKS_API_KEY: 'wh_stack_key',
    });
    // The banner's own line that reads the key back, run as a shell would.
    const line = /\n {2}KEY=\$\((.+)\)\n/.exec(local.output())?.[1] ?? '';
    const readBack = spawnSync('sh', ['-c', line], { encoding: 'utf8' });
    const exitCode = await local.stop();

    // Assess
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ items: [] });
    expect(readBack.stdout.trim()).toBe(key);
    expect(occurrences(local.output(), key)).toBe(1);
    expect(local.output()).not.toContain('wh_stack_key');
    expect(exitCode).toBe(0);
    expect(existsSync(local.stateFile)).toBe(false);
  });

  it('starts a moto server per service it is not given, names them in the state file, and stops only those', async () => {
    // Prepare: no AWS_ENDPOINT_URL; Secrets Manager's emulator given through its own variable.
    const local = await startLocalMode('per-service', {
      AWS_ENDPOINT_URL: '',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    });
    const { endpoints } = local.state;

    // Act: the CLI finds the queues through the state file, and Ctrl-C stops local mode.
    const counted = await cli(['dlq', 'count', '--local', '--json'], {
      WEBHOOKS_STATE_FILE: local.stateFile,
    });
    const exitCode = await local.stop();

    // Assess: two servers of its own on loopback, the given one reused and left running.
    expect(endpoints.secretsManager).toBe(moto.endpoint);
    expect(endpoints.sqs).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoints.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set([endpoints.sqs, endpoints.dynamodb, moto.endpoint]).size).toBe(3);
    expect(local.state.deliveryQueueUrl.startsWith(`${endpoints.sqs}/`)).toBe(true);
    expect(local.output()).toContain(`SQS              ${endpoints.sqs} (moto, started here)`);
    expect(counted.stderr).toBe('');
    expect(JSON.parse(counted.stdout)).toMatchObject({ queueUrl: local.state.deadLetterQueueUrl, total: 0 });
    expect(exitCode).toBe(0);
    for (const stopped of [endpoints.sqs, endpoints.dynamodb]) {
      await expect(fetch(`${stopped}/moto-api/`)).rejects.toThrow();
    }
    expect((await fetch(`${moto.endpoint}/moto-api/`)).status).toBeLessThan(500);
  });

  it('prints each operational event as it reaches the queue its state file names', async () => {
    // Prepare
    const local = await startLocalMode('operational-events', {});
    const headers = {
      authorization: `Bearer ${local.state.apiKey}`,
      'content-type': 'application/json',
    };
    const created = await fetch(`${local.state.apiUrl}/endpoints`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ url: 'http://127.0.0.1:9/webhooks' }),
    });
    const { id } = (await created.json()) as { id: string };

    // Act: an operator disables it.
    const patched = await fetch(`${local.state.apiUrl}/endpoints/${id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ enabled: false }),
    });
    const line = await until(
      async () =>
        local
          .output()
          .split('\n')
          .find((text) => text.startsWith('operational event: endpoint.disabled ') && text.includes(id)),
      30_000,
      'the endpoint.disabled line',
    );
    await local.stop();

    // Assess
    expect(patched.status).toBe(200);
    expect(local.state.operationalEventsQueueUrl?.startsWith(`${moto.endpoint}/`)).toBe(true);
    expect(local.state.operationalEventsQueueUrl).toMatch(/\/webhooks-operational-events$/);
    expect(local.output()).toContain(`then ${local.state.operationalEventsQueueUrl}; each printed here`);
    const detail = JSON.parse(line.slice('operational event: endpoint.disabled '.length));
    expect(detail).toMatchObject({ version: 1, endpointId: id, tenantId: 'default', reason: 'manual' });
  });

  it('a key from WEBHOOKS_LOCAL_API_KEY: used, never printed; WEBHOOKS_API_KEY is not used', async () => {
    const local = await startLocalMode('from-env', {
      [LOCAL_API_KEY_ENV]: 'wh_local_key_0123456789',
      WEBHOOKS_API_KEY: 'wh_stack_key',
    });

    const api = await fetch(`${local.state.apiUrl}/endpoints`, {
      headers: { authorization: 'Bearer wh_local_key_0123456789' },
    });
    const withStackKey = await fetch(`${local.state.apiUrl}/endpoints`, {
      headers: { authorization: 'Bearer wh_stack_key' },
    });
    await local.stop();

    expect(local.state.apiKey).toBe('wh_local_key_0123456789');
    expect(api.status).toBe(200);
    expect(withStackKey.status).toBe(401);
    expect(local.output()).not.toContain('wh_local_key_0123456789');
    expect(local.output()).not.toContain('wh_stack_key');
  });
});
