/**
 * `webhooks redrive`: dead-lettered deliveries back to the delivery queue.
 */
import { type Command, Option } from 'commander';
import { action, type Io, withCommonOptions } from '../context.ts';
import { CliError, EXIT_INTERRUPTED } from '../errors.ts';
import { table } from '../format.ts';
import { collectList, parseCount, parseRate, parseTime, TIME_FORMATS } from '../parse.ts';
import { ProgressReporter, summaryLine } from '../progress.ts';
import { DEFAULT_VISIBILITY_TIMEOUT_SECONDS, type RedriveResult, redrive } from '../redrive.ts';
import type { RedriveFilter } from '../redrive-filter.ts';
import { optionParser } from './option-parser.ts';

function humanSummary(result: RedriveResult): string {
  const lines: string[] = [];
  const task = result.moveTask;
  if (task) {
    lines.push(
      `SQS message move task ${task.taskHandle}: ${task.status.toLowerCase()}`,
      `  from ${task.sourceArn}`,
      `  to   ${task.destinationArn}${task.maxPerSecond ? ` at most ${task.maxPerSecond}/s` : ''}`,
    );
    if (task.failureReason) lines.push(`  failure: ${task.failureReason}`);
    if (task.status === 'RUNNING') {
      lines.push(
        `  about ${task.approximateMessagesToMove ?? '?'} messages to move; follow it with: aws sqs list-message-move-tasks --source-arn ${task.sourceArn}`,
      );
    }
  } else {
    if (result.fallbackReason) lines.push(`receive, send, delete: ${result.fallbackReason}`);
    lines.push(`${result.dryRun ? 'dry run, ' : ''}selection: ${result.filter}`);
  }
  if (result.groups.length > 0) {
    lines.push(
      table(
        ['ENDPOINT', 'TYPE', result.dryRun ? 'WOULD MOVE' : 'MOVED'],
        result.groups.map((group) => [
          group.endpointId ?? '(not a delivery message)',
          group.eventType ?? '-',
          group.count,
        ]),
      ).trimEnd(),
    );
  }
  const extras: string[] = [];
  if (result.overMax > 0) extras.push(`${result.overMax} more matching left by --max`);
  if (result.repeated > 0)
    extras.push(`${result.repeated} came back to the DLQ during the run and were left there`);
  if (result.duplicated > 0)
    extras.push(`${result.duplicated} sent but not deleted from the DLQ (now in both queues)`);
  if (result.interrupted) extras.push('interrupted');
  if (task?.status !== 'RUNNING') {
    lines.push(`${summaryLine(result)}${extras.length > 0 ? `; ${extras.join('; ')}` : ''}`);
  } else if (extras.length > 0) {
    lines.push(extras.join('; '));
  }
  return `${lines.join('\n')}\n`;
}

export function registerRedrive(program: Command, io: Io): void {
  const command = program
    .command('redrive')
    .description(
      "move dead-lettered deliveries back to the delivery queue: all of them (with SQS's message move task where available), or a selection",
    )
    .option(
      '--endpoint <id>',
      'only deliveries to this endpoint (repeat or comma-separate for several)',
      collectList,
    )
    .option(
      '--type <type>',
      'only this event type; invoice.* for a family (repeat or comma-separate)',
      collectList,
    )
    .option('--since <time>', `only events created since then: ${TIME_FORMATS}`, optionParser(parseTime))
    .option('--max <n>', 'move at most n messages', optionParser(parseCount))
    .option('--rate <per-second>', 'move at most this many messages per second', optionParser(parseRate))
    .option('--dry-run', 'count what would move, per endpoint and type; move nothing')
    .option('--no-wait', 'with a message move task, return once it has started')
    .addOption(
      new Option(
        '--visibility-timeout <seconds>',
        'how long received DLQ messages stay hidden during the run',
      )
        .argParser(optionParser((raw) => parseCount(raw, 1, 12 * 60 * 60)))
        .default(DEFAULT_VISIBILITY_TIMEOUT_SECONDS)
        .hideHelp(),
    );
  withCommonOptions(command, [
    'npx webhooks redrive --local --dry-run',
    'npx webhooks redrive --endpoint ep_01J... --type invoice.paid --since 24h --rate 20',
    'npx webhooks redrive --stack Webhooks --rate 50',
  ])
    .addHelpText(
      'after',
      `Messages move with their body unchanged, so receivers see the same webhook-id again. A message
is deleted from the DLQ only after it reached the delivery queue: stopping a run (Ctrl-C, or a
crash) loses nothing, at worst one message is then in both queues. Messages that do not match
stay in the DLQ.
`,
    )
    .action(
      action(io, async (context, _, options) => {
        const target = await context.target();
        const filter: RedriveFilter = {
          ...(options.endpoint ? { endpointIds: options.endpoint as string[] } : {}),
          ...(options.type ? { eventTypes: options.type as string[] } : {}),
          ...(options.since !== undefined ? { sinceMs: options.since as number } : {}),
        };
        const progress = new ProgressReporter({ write: (text) => io.err(text), isTTY: io.stderrIsTTY });
        const interrupt = new AbortController();
        const release = io.onInterrupt?.(() => {
          interrupt.abort();
          progress.finish();
          io.err(
            'stopping after the current batch; Ctrl-C again to quit at once (nothing is lost either way)\n',
          );
        });
        try {
          const result = await redrive(await context.sqs(), target, {
            filter,
            dryRun: options.dryRun === true,
            waitForMoveTask: options.wait !== false,
            visibilityTimeoutSeconds: options.visibilityTimeout as number,
            signal: interrupt.signal,
            onProgress: (update) => progress.update(update),
            ...(options.max !== undefined ? { max: options.max as number } : {}),
            ...(options.rate !== undefined ? { ratePerSecond: options.rate as number } : {}),
          });
          progress.finish();
          context.print(result, () => humanSummary(result));
          if (result.interrupted) {
            throw new CliError(
              `interrupted: ${summaryLine(result)}; the rest is still in the DLQ`,
              EXIT_INTERRUPTED,
            );
          }
          if (result.failed > 0 && !result.dryRun) {
            throw new CliError(`${result.failed} message(s) could not be moved; they are still in the DLQ`);
          }
        } finally {
          progress.finish();
          release?.();
        }
      }),
    );
}
