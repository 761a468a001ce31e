/**
 * Targeting (`--local`, `--stack`) and the contract every command keeps: `--help` with an
 * example, exit codes, one-line failures. AWS is mocked here; nothing is contacted.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.ts';
import { resolveTarget } from '../../cli/target.ts';
import { freePort } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS, type LocalResources } from '../../local/provision.ts';
import { cli, collect, spawnCli, stateFileFor, tempDir } from './support.ts';

const cloudFormation = mockClient(CloudFormationClient);
const secrets = mockClient(SecretsManagerClient);
let dir: ReturnType<typeof tempDir>;

const OUTPUTS = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  ApiKeySecretName: 'webhooks/Webhooks/api-keys/initial',
  DeliveryQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/deliveries',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/dlq',
  EventsTableName: 'Webhooks-Events',
  DeliveriesTableName: 'Webhooks-Deliveries',
};

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => {
  cloudFormation.restore();
  secrets.restore();
  dir?.remove();
});

beforeEach(() => {
  cloudFormation.reset();
  secrets.reset();
  cloudFormation.on(DescribeStacksCommand, { StackName: 'Webhooks' }).resolves({
    Stacks: [
      {
        StackName: 'Webhooks',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'wh_key_from_secret\n' });
});

describe('resolveTarget --stack', () => {
  it('reads the stack outputs and the API key secret', async () => {
    // Act
    const target = await resolveTarget({ stack: 'Webhooks', region: 'eu-west-1' }, {});
    // Assess
    expect(target).toMatchObject({
      kind: 'stack',
      apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      deliveryQueueUrl: OUTPUTS.DeliveryQueueUrl,
      deadLetterQueueUrl: OUTPUTS.DeadLetterQueueUrl,
      tables: { Events: 'Webhooks-Events', Deliveries: 'Webhooks-Deliveries' },
      aws: { region: 'eu-west-1' },
    });
    expect(await target.apiKey()).toBe('wh_key_from_secret');
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: OUTPUTS.ApiKeySecretName,
    });
  });

  it('takes WEBHOOKS_API_KEY over the secret', async () => {
    const target = await resolveTarget(
      { stack: 'Webhooks', region: 'eu-west-1' },
      { WEBHOOKS_API_KEY: 'wh_env' },
    );

    expect(await target.apiKey()).toBe('wh_env');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('explains a stack that does not exist', async () => {
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'Nope' })
      .rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));

    await expect(resolveTarget({ stack: 'Nope', region: 'eu-west-1' }, {})).rejects.toThrow(
      'stack Nope not found in eu-west-1: deploy it with "npx cdk deploy", pass --stack NAME or --region, or use --local',
    );
  });

  it('names a missing output', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Other' }).resolves({
      Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });

    await expect(resolveTarget({ stack: 'Other', region: 'eu-west-1' }, {})).rejects.toThrow(
      /stack Other has no output ApiUrl/,
    );
  });

  it('explains a secret that cannot be read and how to do without it', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const target = await resolveTarget({ stack: 'Webhooks', region: 'eu-west-1' }, {});

    await expect(target.apiKey()).rejects.toThrow(
      'cannot read the API key from secret webhooks/Webhooks/api-keys/initial (AccessDeniedException: denied): set WEBHOOKS_API_KEY instead',
    );
  });
});

describe('resolveTarget --local', () => {
  const resources: LocalResources = {
    endpoints: {
      sqs: 'http://127.0.0.1:5000',
      dynamodb: 'http://127.0.0.1:5001',
      secretsManager: 'http://127.0.0.1:5002',
    },
    region: 'us-east-1',
    tables: { Events: 'e', Deliveries: 'd', Attempts: 'a', Endpoints: 'n' },
    deliveryQueueUrl: 'http://127.0.0.1:5000/123456789012/deliveries',
    deadLetterQueueUrl: 'http://127.0.0.1:5000/123456789012/dlq',
    apiKeysSecretId: 'keys',
    portalKeySecretId: 'portal',
    endpointSecretPrefix: 'secrets',
  };

  it('reads the state file: the SQS emulator of the per-service ones, with the emulator credentials', async () => {
    const path = stateFileFor(dir.path, resources, { apiUrl: 'http://127.0.0.1:3000/', apiKey: 'wh_local' });

    const target = await resolveTarget({ local: true, stateFile: path }, {});

    expect(target).toMatchObject({
      kind: 'local',
      apiUrl: 'http://127.0.0.1:3000',
      deadLetterQueueUrl: resources.deadLetterQueueUrl,
      aws: { endpoint: 'http://127.0.0.1:5000', region: 'us-east-1', credentials: EMULATOR_CREDENTIALS },
    });
    expect(await target.apiKey()).toBe('wh_local');
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('takes the key from the state file only, never from WEBHOOKS_API_KEY (a stack key)', async () => {
    const path = stateFileFor(dir.path, resources, { apiUrl: 'http://127.0.0.1:3000', apiKey: 'wh_local' });

    const target = await resolveTarget({ local: true, stateFile: path }, { WEBHOOKS_API_KEY: 'wh_stack' });

    expect(await target.apiKey()).toBe('wh_local');
  });

  it.each([
    'http://127.0.0.1:3000',
    'http://127.8.9.10:3000/',
    'http://127.1:3000',
    'http://localhost:3000',
    'http://[::1]:3000',
    'https://[0:0::1]',
  ])('accepts an API on loopback: %s', async (apiUrl) => {
    const path = stateFileFor(dir.path, resources, { apiUrl, apiKey: 'wh_local' });

    const target = await resolveTarget({ local: true, stateFile: path }, {});

    expect(target.apiUrl).toBe(apiUrl.replace(/\/$/, ''));
  });

  it.each([
    'http://10.0.0.1:3000',
    'http://192.168.1.20:3000',
    'https://abc123.execute-api.eu-west-1.amazonaws.com',
    'http://127.0.0.1.nip.io:3000',
    'http://localhost.example.com:3000',
    'http://[::ffff:127.0.0.1]:3000',
    'http://[fe80::1]:3000',
    'http://0.0.0.0:3000',
    'ftp://127.0.0.1/',
    'not a url',
  ])('refuses an API that is not on loopback: %s', async (apiUrl) => {
    const path = stateFileFor(dir.path, resources, { apiUrl, apiKey: 'wh_local' });

    await expect(resolveTarget({ local: true, stateFile: path }, {})).rejects.toThrow(
      `state file ${path} names the API ${JSON.stringify(apiUrl.replace(/\/+$/, ''))}, which is not on loopback: --local talks only to 127.0.0.0/8, localhost or [::1]`,
    );
  });

  it.each(['http://10.0.0.1:5000', 'https://sqs.us-east-1.amazonaws.com', 'http://127.0.0.1.nip.io:5000'])(
    'refuses a state file whose SQS emulator is not on loopback: %s',
    async (sqs) => {
      const path = stateFileFor(
        dir.path,
        { ...resources, endpoints: { ...resources.endpoints, sqs } },
        { apiUrl: 'http://127.0.0.1:3000', apiKey: 'wh_local' },
      );

      await expect(resolveTarget({ local: true, stateFile: path }, {})).rejects.toThrow(
        `state file ${path} names the sqs emulator ${JSON.stringify(sqs)}, which is not on loopback: --local talks only to 127.0.0.0/8, localhost or [::1]`,
      );
    },
  );

  it('refuses a state file that names no per-service emulators (one from before they were split)', async () => {
    const { endpoints: _, ...rest } = resources;
    const path = stateFileFor(
      dir.path,
      { ...rest, endpoint: 'http://127.0.0.1:5000' } as unknown as LocalResources,
      {
        apiUrl: 'http://127.0.0.1:3000',
        apiKey: 'wh_local',
      },
    );

    await expect(resolveTarget({ local: true, stateFile: path }, {})).rejects.toThrow(
      `state file ${path} has no endpoints.sqs: restart local mode with "npm run local"`,
    );
  });

  it('--local with a state file naming a remote API exits 1 in one line, sending nothing', async () => {
    const path = stateFileFor(dir.path, resources, {
      apiUrl: 'https://attacker.example',
      apiKey: 'wh_local',
    });
    let fetched = false;
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async () => {
      fetched = true;
      throw new Error('no request may be sent');
    }) as typeof fetch;
    try {
      const { code, stdout, stderr } = await cli(['endpoints', 'list', '--local', '--state-file', path]);

      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(
        /^webhooks: state file \S+ names the API "https:\/\/attacker\.example", which is not on loopback[^\n]*\n$/,
      );
      expect(fetched).toBe(false);
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it('finds the state file through WEBHOOKS_STATE_FILE', async () => {
    const path = stateFileFor(dir.path, resources);

    const target = await resolveTarget({ local: true }, { WEBHOOKS_STATE_FILE: path });

    expect(target.label).toBe(`local mode (${path})`);
  });
});

/** Every command that does something (no sub-commands of its own). */
function leafCommands(command: Command, path: string[] = []): string[][] {
  if (command.commands.length === 0) return [path];
  return command.commands.flatMap((child) => leafCommands(child, [...path, child.name()]));
}

describe('CLI contract', () => {
  const io = { out: () => {}, err: () => {}, env: {}, stderrIsTTY: false };
  const commands = leafCommands(buildProgram(io));

  it('has the commands of the design, batch sends, rate limits, tenants, keys, portal links and operational events included', () => {
    expect(commands.map((path) => path.join(' '))).toEqual([
      'send',
      'send-batch',
      'endpoints list',
      'endpoints show',
      'endpoints create',
      'endpoints options',
      'endpoints rate-limit',
      'endpoints enable',
      'endpoints disable',
      'endpoints recover',
      'endpoints rotate',
      'deliveries list',
      'deliveries show',
      'deliveries retry',
      'dlq count',
      'dlq peek',
      'redrive',
      'tenants list',
      'tenants show',
      'tenants put',
      'tenants delete',
      'keys create',
      'keys list',
      'keys revoke',
      'portal',
      'operational-events',
    ]);
  });

  it.each(commands.map((path) => [path.join(' '), path]))(
    '%s --help explains it with an example',
    async (_, path) => {
      const { code, stdout } = await cli([...path, '--help']);

      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: webhooks /);
      expect(stdout).toMatch(/\nExamples?:\n {2}\$ npx webhooks /);
      for (const option of ['--local', '--stack <name>', '--json']) expect(stdout).toContain(option);
    },
  );

  it('fails in one line, exit 1, with nothing on stdout, for a missing state file', async () => {
    const missing = `${dir.path}/missing.json`;
    const { code, stdout, stderr } = await collect(
      spawnCli(['dlq', 'count', '--local', '--state-file', missing, '--json']),
    );

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `webhooks: no local state at ${missing}: start local mode first with "npm run local"\n`,
    );
  });

  it('adds the stack trace with WEBHOOKS_DEBUG=1', async () => {
    const { code, stderr } = await cli(['dlq', 'count', '--state-file', `${dir.path}/missing.json`], {
      WEBHOOKS_DEBUG: '1',
    });

    expect(code).toBe(1);
    expect(stderr.split('\n')[0]).toMatch(/^webhooks: no local state at /);
    expect(stderr).toMatch(/\n {4}at /);
  });

  it('exits 2 with a one-line reason for a command line it cannot use', async () => {
    const cases = [
      ['redrive', '--local', '--stack', 'X'],
      ['redrive', '--max', 'many'],
      ['send', '--type', 'a.b'],
      ['deliveries', 'list', '--endpoint', 'ep_x', '--status', 'lost'],
      ['sned'],
    ];
    for (const args of cases) {
      const { code, stdout, stderr } = await cli(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr, args.join(' ')).toMatch(/^webhooks: [^\n]+\n$/);
    }
  });

  it('says what to check when the emulator does not answer', async () => {
    const port = await freePort();
    const path = stateFileFor(dir.path, {
      endpoints: {
        sqs: `http://127.0.0.1:${port}`,
        dynamodb: `http://127.0.0.1:${port}`,
        secretsManager: `http://127.0.0.1:${port}`,
      },
      region: 'us-east-1',
      tables: { Events: 'e', Deliveries: 'd', Attempts: 'a', Endpoints: 'n' },
      deliveryQueueUrl: `http://127.0.0.1:${port}/123456789012/deliveries`,
      deadLetterQueueUrl: `http://127.0.0.1:${port}/123456789012/dlq`,
      apiKeysSecretId: 'k',
      portalKeySecretId: 'p',
      endpointSecretPrefix: 's',
    });

    const { code, stderr } = await cli(['dlq', 'count', '--state-file', path]);

    expect(code).toBe(1);
    expect(stderr).toBe(
      `webhooks: cannot connect to 127.0.0.1:${port} (connection refused): is "npm run local" still running?\n`,
    );
  });

  it('refuses --data that is not JSON before calling anything', async () => {
    const path = stateFileFor(dir.path, {
      endpoints: {
        sqs: 'http://127.0.0.1:9',
        dynamodb: 'http://127.0.0.1:9',
        secretsManager: 'http://127.0.0.1:9',
      },
      region: 'us-east-1',
      tables: { Events: 'e', Deliveries: 'd', Attempts: 'a', Endpoints: 'n' },
      deliveryQueueUrl: 'q',
      deadLetterQueueUrl: 'd',
      apiKeysSecretId: 'k',
      portalKeySecretId: 'p',
      endpointSecretPrefix: 's',
    });

    const { code, stderr } = await cli(['send', '--state-file', path, '--type', 'a.b', '--data', '{nope']);

    expect(code).toBe(1);
    expect(stderr).toMatch(/^webhooks: --data is not valid JSON: [^\n]+\n$/);
  });
});
