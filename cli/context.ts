/**
 * What a command runs with: where its output goes, the target it talks to (resolved once,
 * on first use), and the clients built from that target. Also the options every command
 * shares, so `--local`, `--stack` and `--json` read the same everywhere.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Command, Option } from 'commander';
import { ApiClient } from './api-client.ts';
import { CliError, describeError, networkCode } from './errors.ts';
import { resolveTarget, STATE_FILE_ENV, type Target, type TargetOptions } from './target.ts';
import { terminalSafe } from './terminal-safe.ts';

/** The process around a command; tests pass their own. */
export interface Io {
  /** stdout: results (one JSON document with `--json`). */
  out(text: string): void;
  /** stderr: progress, notes and the one-line failure reason. */
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (a progress bar rather than periodic lines). */
  readonly stderrIsTTY: boolean;
  /**
   * Calls `handler` on Ctrl-C instead of exiting, until the returned function is called.
   * Absent when there is no way to be interrupted (tests).
   */
  onInterrupt?(handler: () => void): () => void;
}

/** The options of every command. */
export interface CommonOptions extends TargetOptions {
  readonly json?: boolean;
}

export class CommandContext {
  private targetPromise: Promise<Target> | undefined;
  private sqsClient: SQSClient | undefined;

  constructor(
    readonly io: Io,
    readonly options: CommonOptions,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  target(): Promise<Target> {
    this.targetPromise ??= resolveTarget(this.options, this.io.env).then((target) => {
      this.resolved = target;
      return target;
    });
    return this.targetPromise;
  }

  /** The target, once resolved (for hints in error messages). */
  resolved: Target | undefined;

  async api(): Promise<ApiClient> {
    const target = await this.target();
    return new ApiClient(target.apiUrl, () => target.apiKey(), { unreachableHint: target.unreachableHint });
  }

  async sqs(): Promise<SQSClient> {
    const target = await this.target();
    this.sqsClient ??= new SQSClient({ ...target.aws, maxAttempts: 3 });
    return this.sqsClient;
  }

  /**
   * Prints the result: `value` as JSON with `--json` (exactly what the API said), else the human
   * rendering, which is where every command's API-sourced text reaches the terminal: control
   * characters are dropped here, once for all commands.
   */
  print(value: unknown, human: () => string): void {
    this.io.out(this.json ? `${JSON.stringify(value, null, 2)}\n` : terminalSafe(human()));
  }

  /** A note for people (stderr), never mixed into `--json` output; control characters dropped. */
  note(text: string): void {
    this.io.err(`${terminalSafe(text)}\n`);
  }

  close(): void {
    this.sqsClient?.destroy();
  }
}

/** Adds the target and output options every command takes, and an example to its help. */
export function withCommonOptions(command: Command, examples: readonly string[]): Command {
  return command
    .option('--local', `use the local runner ("npm run local") through its state file (or ${STATE_FILE_ENV})`)
    .addOption(
      new Option('--stack <name>', 'use this deployed CloudFormation stack')
        .default('Webhooks')
        .conflicts('local'),
    )
    .option('--region <region>', 'AWS region of the stack (default: from the AWS configuration)')
    .option('--json', 'print the result as one JSON document on stdout')
    .addOption(
      new Option(
        '--state-file <path>',
        `local state file (implies --local; also ${STATE_FILE_ENV})`,
      ).hideHelp(),
    )
    .addHelpText(
      'after',
      `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`,
    );
}

/** Command action arguments: positional values, then the options, then the command. */
type ActionArgs = unknown[];

/**
 * Wraps a command's work: builds its context from the parsed options, runs it, and closes
 * the clients whatever happens. Errors propagate to `run`, which prints them on one line.
 */
export function action(
  io: Io,
  work: (context: CommandContext, positional: string[], options: Record<string, unknown>) => Promise<void>,
): (...args: ActionArgs) => Promise<void> {
  return async (...args: ActionArgs) => {
    const command = args[args.length - 1] as Command;
    const options = command.opts() as Record<string, unknown>;
    const positional = args.slice(0, -2) as string[];
    const context = new CommandContext(io, options as CommonOptions);
    try {
      await work(context, positional, options);
    } catch (error) {
      // An emulator or endpoint that does not answer: say which, and what to check.
      if (networkCode(error) && context.resolved && !(error instanceof CliError)) {
        throw new CliError(`${describeError(error)}: ${context.resolved.unreachableHint}`);
      }
      throw error;
    } finally {
      context.close();
    }
  };
}
