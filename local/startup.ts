/**
 * What `npm run local` takes from its environment for the API key, and what it prints when it
 * is up. Pure, so the banner is tested without starting anything.
 */
import { generateApiKey } from '../lambdas/core/api-keys.ts';
import type { RetryPolicy } from '../lambdas/core/config.ts';
import {
  EMULATED_SERVICES,
  type EmulatedService,
  SERVICE_ENDPOINT_ENV,
  type ServiceEndpoints,
} from './moto.ts';

/**
 * The local runner's API key. Its own name: `WEBHOOKS_API_KEY` is the CLI's key for a deployed
 * stack, and local mode never reads it, so a stack's key cannot end up in a local state file
 * (nor a local key be sent to a stack).
 */
export const LOCAL_API_KEY_ENV = 'WEBHOOKS_LOCAL_API_KEY';

/** The CLI's key for a deployed stack; named here only to say that local mode ignores it. */
const STACK_API_KEY_ENV = 'WEBHOOKS_API_KEY';

/** The key local mode runs with, and where it came from. */
export interface LocalApiKey {
  readonly key: string;
  readonly source: 'env' | 'generated';
}

/** `WEBHOOKS_LOCAL_API_KEY` if set, else a new random key. */
export function localApiKey(env: NodeJS.ProcessEnv = process.env): LocalApiKey {
  const fromEnv = env[LOCAL_API_KEY_ENV];
  return fromEnv ? { key: fromEnv, source: 'env' } : { key: generateApiKey(), source: 'generated' };
}

/** What the banner shows. */
export interface StartupInfo {
  readonly apiUrl: string;
  readonly apiKey: LocalApiKey;
  readonly dashboardUrl: string;
  /** Each service's emulator. */
  readonly emulators: ServiceEndpoints;
  /** The services whose moto server local mode started (the others came from the environment). */
  readonly started: readonly EmulatedService[];
  readonly policy: RetryPolicy;
  readonly stateFile: string;
  /** Whether `WEBHOOKS_API_KEY` is set (it is ignored here; the banner says so). */
  readonly stackKeySet: boolean;
  /** The queue the emulator's EventBridge rule sends operational events to, if provisioned. */
  readonly operationalEventsQueueUrl?: string;
}

/** The services as the AWS SDK names them. */
const SERVICE_NAMES: Readonly<Record<EmulatedService, string>> = {
  sqs: 'SQS',
  dynamodb: 'DynamoDB',
  secretsManager: 'Secrets Manager',
};

/** One line per service: its emulator, and whether it was started here or reused. */
function emulatorLines(info: StartupInfo): string {
  const width = Math.max(...EMULATED_SERVICES.map((service) => SERVICE_NAMES[service].length));
  return EMULATED_SERVICES.map((service, index) => {
    const where = info.started.includes(service)
      ? 'moto, started here'
      : `reused from ${SERVICE_ENDPOINT_ENV[service]} or AWS_ENDPOINT_URL`;
    const label = index === 0 ? '  Emulators:  ' : '              ';
    return `${label}${SERVICE_NAMES[service].padEnd(width)}  ${info.emulators[service]} (${where})`;
  }).join('\n');
}

/** A POSIX shell word for `text`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The banner `npm run local` prints. The key appears at most once: a generated key on its
 * own line, a key from the environment not at all. The curl lines read it back from the state
 * file instead of repeating it, so they work as they are in another terminal.
 */
export function startupBanner(info: StartupInfo): string {
  const key =
    info.apiKey.source === 'env' ? `from ${LOCAL_API_KEY_ENV} (not shown)` : `${info.apiKey.key} (generated)`;
  const readKey = `node -p ${shellQuote(`require(${JSON.stringify(info.stateFile)}).apiKey`)}`;
  return `
Webhooks local mode is running.
  API:        ${info.apiUrl}
  API key:    ${key}
  Dashboard:  ${info.dashboardUrl}
${emulatorLines(info)}
  Retries:    ${info.policy.maxAttempts} attempts, delays ${info.policy.scheduleSeconds.join(',')} s
  State file: ${info.stateFile} (read by: npx webhooks <command> --local)
${
  info.operationalEventsQueueUrl
    ? `  Events:     operational events to EventBridge (default bus), then ${info.operationalEventsQueueUrl}; each printed here\n`
    : ''
}${
  info.stackKeySet
    ? `\n${STACK_API_KEY_ENV} is set and ignored here: it is the CLI's key for a deployed stack. Local mode's key is ${LOCAL_API_KEY_ENV}.\n`
    : ''
}
Local mode delivers to loopback addresses (127.0.0.1, localhost) only, and also over plain http.
On AWS, endpoints must be public https URLs.

Try it (in another terminal: npm run receiver):
  KEY=$(${readKey})
  curl -s -X POST ${info.apiUrl}/endpoints -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \\
    -d '{"url":"http://127.0.0.1:4000/webhooks"}'
  curl -s -X POST ${info.apiUrl}/events -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \\
    -d '{"type":"invoice.paid","data":{"invoiceId":"inv_1","amount":4200}}'

Ctrl-C stops everything.`;
}
