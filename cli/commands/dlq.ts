/**
 * `webhooks dlq count` and `webhooks dlq peek`.
 */
import type { Command } from 'commander';
import { action, type Io, withCommonOptions } from '../context.ts';
import { peekQueue } from '../dlq.ts';
import { formatBytes, formatTime, table } from '../format.ts';
import { parseCount } from '../parse.ts';
import { queueDepth } from '../queues.ts';
import { optionParser } from './option-parser.ts';

export function registerDlq(program: Command, io: Io): void {
  const dlq = program
    .command('dlq')
    .helpCommand(false)
    .description('look at the dead-letter queue: deliveries that ran out of attempts or failed for good');

  withCommonOptions(
    dlq
      .command('count')
      .description('how many messages the dead-letter queue holds (approximate, as SQS counts)'),
    ['npx webhooks dlq count --local', 'npx webhooks dlq count --stack Webhooks --json'],
  ).action(
    action(io, async (context) => {
      const target = await context.target();
      const depth = await queueDepth(await context.sqs(), target.deadLetterQueueUrl);
      const total = depth.visible + depth.inFlight;
      context.print(
        { queueUrl: target.deadLetterQueueUrl, total, ...depth },
        () =>
          `${total} message${total === 1 ? '' : 's'} in the dead-letter queue (${depth.visible} visible, ${depth.inFlight} in flight)\n`,
      );
    }),
  );

  withCommonOptions(
    dlq
      .command('peek')
      .description(
        'show messages of the dead-letter queue without consuming them (they are made visible again at once)',
      )
      .option(
        '--max <n>',
        'show at most n messages',
        optionParser((raw) => parseCount(raw, 1, 1000)),
        10,
      ),
    ['npx webhooks dlq peek --local', 'npx webhooks dlq peek --max 50 --json'],
  ).action(
    action(io, async (context, _, options) => {
      const target = await context.target();
      const messages = await peekQueue(await context.sqs(), target.deadLetterQueueUrl, {
        max: options.max as number,
      });
      context.print({ queueUrl: target.deadLetterQueueUrl, messages }, () =>
        table(
          ['DELIVERY', 'EVENT', 'ENDPOINT', 'TYPE', 'RECEIVES', 'BODY', 'CREATED'],
          messages.map((message) => [
            message.deliveryId ?? `(not a delivery: ${message.messageId})`,
            message.eventId,
            message.endpointId,
            message.eventType,
            message.receiveCount,
            formatBytes(message.bodyBytes),
            formatTime(message.createdAt),
          ]),
        ),
      );
    }),
  );
}
