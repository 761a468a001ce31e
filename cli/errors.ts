/**
 * How failures reach the operator: one line on stderr, `webhooks: <reason>`, and a non-zero
 * exit code. Pure.
 */

/** Exit codes: 1 for a failure, 2 for a command line the CLI could not make sense of. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** A run stopped by Ctrl-C, as shells report a SIGINT death. */
export const EXIT_INTERRUPTED = 130;

/** A failure whose message is already fit to show as it is. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
};

/** The Node network error code behind `error` (fetch wraps it in `cause`), if any. */
export function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code in NETWORK_CODES) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Collapses whitespace so a multi-line message fits the one line the CLI prints. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The reason to print for any thrown value: a {@link CliError}'s message as is, a network
 * failure in words, an AWS SDK error as `Name: message`.
 */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return oneLine(error.message);
  const code = networkCode(error);
  if (code) {
    const address = /\b(\d{1,3}(?:\.\d{1,3}){3}:\d+|[\w.-]+:\d+)\b/.exec(String((error as Error).message));
    return `cannot connect${address ? ` to ${address[1]}` : ''} (${NETWORK_CODES[code]})`;
  }
  if (error instanceof Error) {
    const name = error.name && !['Error', 'TypeError', 'CliError'].includes(error.name) ? error.name : '';
    const message = oneLine(error.message || String(error));
    return name && !message.startsWith(name) ? `${name}: ${message}` : message || name || 'unknown error';
  }
  return oneLine(String(error));
}
