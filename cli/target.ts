/**
 * Which deployment a command talks to, resolved in one place: the local runner (`--local`,
 * through the state file `npm run local` writes) or a deployed stack (`--stack NAME`, through
 * its CloudFormation outputs). Commands get the API's URL and key, the queue URLs and the SDK
 * configuration from here and never look anything up themselves.
 */
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import ipaddr from 'ipaddr.js';
import type { TableDefinition } from '../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS } from '../local/provision.ts';
import { type LocalState, readState, STATE_FILE_ENV, stateFilePath } from '../local/state-file.ts';
import { CliError, describeError } from './errors.ts';

export { STATE_FILE_ENV };

/** The stack name `bin/app.ts` deploys unless told otherwise. */
export const DEFAULT_STACK_NAME = 'Webhooks';

/**
 * The API key of a deployed stack, instead of reading the stack's key secret. Never read with
 * `--local`: local mode's key comes from its state file only (`npm run local` takes it from
 * `WEBHOOKS_LOCAL_API_KEY`), so a stack's key is never sent to a local runner, nor the other way.
 */
export const API_KEY_ENV = 'WEBHOOKS_API_KEY';

/** Target options every command takes. */
export interface TargetOptions {
  readonly local?: boolean;
  readonly stack?: string;
  readonly region?: string;
  /** Path of the local state file; implies `local`. */
  readonly stateFile?: string;
}

/** What the AWS SDK clients of a command are built with. */
export interface AwsClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** A resolved deployment. */
export interface Target {
  readonly kind: 'local' | 'stack';
  /** For messages: `local mode (/path/.webhooks-local.json)` or `stack Webhooks`. */
  readonly label: string;
  /** Base URL of the HTTP API, without a trailing slash. */
  readonly apiUrl: string;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly tables: Partial<Record<TableDefinition['id'], string>>;
  readonly aws: AwsClientConfig;
  /** What to add to a connection error (`is "npm run local" still running?`). */
  readonly unreachableHint: string;
  /** The API key: the state file's (local); `WEBHOOKS_API_KEY`, else the stack's key secret. */
  apiKey(): Promise<string>;
}

/** Picks and resolves the target the options name. */
export async function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Target> {
  if (options.local || options.stateFile) {
    return localTarget(options.stateFile ?? stateFilePath(env));
  }
  return stackTarget(options.stack ?? DEFAULT_STACK_NAME, options.region, env);
}

function requireField(state: Partial<LocalState>, key: keyof LocalState, path: string): string {
  const value = state[key];
  if (typeof value !== 'string' || value === '') {
    throw new CliError(`state file ${path} has no ${key}: restart local mode with "npm run local"`);
  }
  return value;
}

/**
 * Whether `url` is an http(s) URL on a loopback address: 127.0.0.0/8, `localhost` or `[::1]`.
 * The WHATWG parser has already turned other spellings of an IPv4 address (`127.1`, `0x7f.1`)
 * into dotted decimal.
 */
export function isLoopbackUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  const host = parsed.hostname;
  if (host === 'localhost') return true;
  if (host === '[::1]') return true;
  return ipaddr.IPv4.isValidFourPartDecimal(host) && ipaddr.IPv4.parse(host).range() === 'loopback';
}

/**
 * The emulator of `service` the state file names (local mode runs one per service; the CLI's
 * commands call SQS only). Like the API, it must be on loopback.
 */
function emulatorEndpoint(state: Partial<LocalState>, service: 'sqs', path: string): string {
  const url = state.endpoints?.[service];
  if (typeof url !== 'string' || url === '') {
    throw new CliError(
      `state file ${path} has no endpoints.${service}: restart local mode with "npm run local"`,
    );
  }
  if (!isLoopbackUrl(url)) {
    throw new CliError(
      `state file ${path} names the ${service} emulator ${JSON.stringify(url)}, which is not on loopback: --local talks only to 127.0.0.0/8, localhost or [::1]`,
    );
  }
  return url;
}

/**
 * The local runner, from the state file `npm run local` writes. The API key is the state
 * file's, whatever the environment says, and the API must be on loopback: a state file that
 * names another host (edited, or planted in a checkout) does not get the key sent there. So
 * must the SQS emulator be, so that no queue's messages are read from or sent to another host.
 */
export function localTarget(path: string): Target {
  let state: Partial<LocalState>;
  try {
    state = readState(path);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (!state || typeof state !== 'object') {
    throw new CliError(`state file ${path} is not a local state: restart local mode with "npm run local"`);
  }
  const apiUrl = requireField(state, 'apiUrl', path).replace(/\/+$/, '');
  if (!isLoopbackUrl(apiUrl)) {
    throw new CliError(
      `state file ${path} names the API ${JSON.stringify(apiUrl)}, which is not on loopback: --local talks only to 127.0.0.0/8, localhost or [::1]`,
    );
  }
  const apiKey = requireField(state, 'apiKey', path);
  const sqsEndpoint = emulatorEndpoint(state, 'sqs', path);
  return {
    kind: 'local',
    label: `local mode (${path})`,
    apiUrl,
    deliveryQueueUrl: requireField(state, 'deliveryQueueUrl', path),
    deadLetterQueueUrl: requireField(state, 'deadLetterQueueUrl', path),
    tables: state.tables ?? {},
    aws: {
      endpoint: sqsEndpoint,
      region: requireField(state, 'region', path),
      credentials: EMULATOR_CREDENTIALS,
    },
    unreachableHint: 'is "npm run local" still running?',
    apiKey: async () => apiKey,
  };
}

const TABLE_OUTPUTS: Record<TableDefinition['id'], string> = {
  Events: 'EventsTableName',
  Deliveries: 'DeliveriesTableName',
  Attempts: 'AttemptsTableName',
  Endpoints: 'EndpointsTableName',
};

/** Explains the usual reasons DescribeStacks fails, in one line. */
function stackLookupError(error: unknown, stackName: string, region: string | undefined): CliError {
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message ?? '';
  const where = region ? ` in ${region}` : '';
  if (name === 'ValidationError' && /does not exist/i.test(message)) {
    return new CliError(
      `stack ${stackName} not found${where}: deploy it with "npx cdk deploy", pass --stack NAME or --region, or use --local`,
    );
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new CliError(`no AWS credentials to read stack ${stackName}: set AWS_PROFILE or use --local`);
  }
  if (/region is missing/i.test(message)) {
    return new CliError('no AWS region: set AWS_REGION or pass --region');
  }
  return new CliError(`cannot read stack ${stackName}: ${describeError(error)}`);
}

/** A deployed stack, from its CloudFormation outputs. */
export async function stackTarget(
  stackName: string,
  region: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Target> {
  const aws: AwsClientConfig = region ? { region } : {};
  const cloudFormation = new CloudFormationClient(aws);
  let outputs: Output[];
  try {
    const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks[0]?.Outputs ?? [];
  } catch (error) {
    throw stackLookupError(error, stackName, region ?? env.AWS_REGION);
  } finally {
    cloudFormation.destroy();
  }
  const values = new Map(outputs.map((output) => [output.OutputKey, output.OutputValue]));
  const output = (key: string): string => {
    const value = values.get(key);
    if (!value) {
      throw new CliError(
        `stack ${stackName} has no output ${key}: is it a webhooks stack, deployed by this version?`,
      );
    }
    return value;
  };
  const tables: Partial<Record<TableDefinition['id'], string>> = {};
  for (const [id, key] of Object.entries(TABLE_OUTPUTS) as [TableDefinition['id'], string][]) {
    const value = values.get(key);
    if (value) tables[id] = value;
  }
  const apiUrl = output('ApiUrl').replace(/\/+$/, '');
  let apiKey: Promise<string> | undefined;
  return {
    kind: 'stack',
    label: `stack ${stackName}`,
    apiUrl,
    deliveryQueueUrl: output('DeliveryQueueUrl'),
    deadLetterQueueUrl: output('DeadLetterQueueUrl'),
    tables,
    aws,
    unreachableHint: 'check your network and the stack outputs',
    apiKey: () => {
      const fromEnv = env[API_KEY_ENV];
      if (fromEnv) return Promise.resolve(fromEnv);
      apiKey ??= readApiKeySecret(output('ApiKeySecretName'), aws);
      return apiKey;
    },
  };
}

async function readApiKeySecret(secretName: string, aws: AwsClientConfig): Promise<string> {
  const secrets = new SecretsManagerClient(aws);
  try {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretName }));
    const key = SecretString?.trim();
    if (!key) throw new CliError(`secret ${secretName} holds no API key`);
    return key;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read the API key from secret ${secretName} (${describeError(error)}): set ${API_KEY_ENV} instead`,
    );
  } finally {
    secrets.destroy();
  }
}
