/**
 * `npx webhooks`: the operator CLI. {@link run} parses a command line, runs the command and
 * returns the exit code; `bin/webhooks.mjs` calls it with the process's arguments, tests call
 * it with their own arguments and {@link Io}.
 */
import { Command, CommanderError } from 'commander';
import { registerDeliveries } from './commands/deliveries.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerEndpoints } from './commands/endpoints.ts';
import { registerOperationalEvents } from './commands/operational-events.ts';
import { registerRedrive } from './commands/redrive.ts';
import { registerSend, registerSendBatch } from './commands/send.ts';
import { registerTenants } from './commands/tenants.ts';
import type { Io } from './context.ts';
import { describeError, EXIT_FAILURE, EXIT_USAGE, oneLine } from './errors.ts';
import { terminalSafe } from './terminal-safe.ts';

/** Set to 1 for stack traces of failures. */
export const DEBUG_ENV = 'WEBHOOKS_DEBUG';

/** The real process: stdout, stderr, the environment, Ctrl-C. */
export function processIo(): Io {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
    onInterrupt: (handler) => {
      let interrupted = false;
      const listener = () => {
        // A second Ctrl-C means now: exit as a signal-killed process would.
        if (interrupted) process.exit(130);
        interrupted = true;
        handler();
      };
      process.on('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
  };
}

/** The command tree. */
export function buildProgram(io: Io): Command {
  const program = new Command('webhooks')
    .description(
      'Operate the webhook delivery service: send events, manage endpoints, inspect deliveries and redrive the dead-letter queue.\n' +
        'Targets the deployed stack (--stack, default Webhooks; API key from its key secret, or WEBHOOKS_API_KEY) ' +
        'or the local runner (--local; API key from its state file only, never WEBHOOKS_API_KEY).',
    )
    .usage('<command> [options]')
    .helpCommand(false)
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) =>
        write(`webhooks: ${terminalSafe(oneLine(text.replace(/^error: /, '')))}\n`),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  $ npx webhooks endpoints create --local --url http://127.0.0.1:4000/webhooks
  $ npx webhooks send --local --type invoice.paid --data '{"invoiceId":"inv_1"}'
  $ npx webhooks deliveries list --local --endpoint ep_01J...
  $ npx webhooks dlq count --stack Webhooks
  $ npx webhooks redrive --stack Webhooks --endpoint ep_01J... --dry-run
  $ npx webhooks operational-events --stack Webhooks --type delivery.dead --since 24h

Every command takes --json (one JSON document on stdout) and --help. Failures exit non-zero
with a one-line reason on stderr; WEBHOOKS_DEBUG=1 adds the stack trace.`,
    );
  registerSend(program, io);
  registerSendBatch(program, io);
  registerEndpoints(program, io);
  registerDeliveries(program, io);
  registerDlq(program, io);
  registerRedrive(program, io);
  registerTenants(program, io);
  registerOperationalEvents(program, io);
  return program;
}

/** Runs one command line (without `node` and the script) and returns the exit code. */
export async function run(args: readonly string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end here too, with code 0; commander has printed its message already.
      if (error.exitCode === 0) return 0;
      return error.code === 'commander.executeSubCommandAsync' ? EXIT_FAILURE : EXIT_USAGE;
    }
    // The reason often quotes the API (its error message, a gateway's body): no control characters.
    io.err(`webhooks: ${terminalSafe(describeError(error))}\n`);
    if (io.env[DEBUG_ENV] === '1' && error instanceof Error && error.stack) {
      io.err(`${terminalSafe(error.stack)}\n`);
    }
    return (error as { exitCode?: number }).exitCode ?? EXIT_FAILURE;
  }
}
