/**
 * What `npm run local` takes from its environment for the API key, and what it prints when it
 * is up. Pure, so the banner is tested without starting anything.
 */
import { generateApiKey } from '../lambdas/core/api-keys.ts';
import type { RetryPolicy } from '../lambdas/core/config.ts';

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
  readonly emulator: string;
  /** Whether local mode started the emulator (else it reuses `AWS_ENDPOINT_URL`). */
  readonly motoStarted: boolean;
  readonly policy: RetryPolicy;
  readonly stateFile: string;
  /** Whether `WEBHOOKS_API_KEY` is set (it is ignored here; the banner says so). */
  readonly stackKeySet: boolean;
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
  Emulator:   ${info.emulator}${info.motoStarted ? ' (moto, started here)' : ' (reused from AWS_ENDPOINT_URL)'}
  Retries:    ${info.policy.maxAttempts} attempts, delays ${info.policy.scheduleSeconds.join(',')} s
  State file: ${info.stateFile} (read by: npx webhooks <command> --local)
${
  info.stackKeySet
    ? `\n${STACK_API_KEY_ENV} is set and ignored here: it is the CLI's key for a deployed stack. Local mode's key is ${LOCAL_API_KEY_ENV}.\n`
    : ''
}
Local mode delivers to loopback addresses (127.0.0.1, localhost) only, and also over plain http.
On AWS, endpoints must be public https URLs.

Try it (in another terminal: npm run receiver):
  KEY=$(${readKey})
  curl -s -X POST ${info.apiUrl}/endpoints -H "x-api-key: $KEY" -H 'content-type: application/json' \\
    -d '{"url":"http://127.0.0.1:4000/webhooks"}'
  curl -s -X POST ${info.apiUrl}/events -H "x-api-key: $KEY" -H 'content-type: application/json' \\
    -d '{"type":"invoice.paid","data":{"invoiceId":"inv_1","amount":4200}}'

Ctrl-C stops everything.`;
}
