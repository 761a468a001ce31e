/**
 * `webhooks deliveries ...`: what was delivered, what failed and what the receiver said.
 */
import { type Command, Option } from 'commander';
import type { AttemptRecord } from '../../lambdas/adapters/store.ts';
import { action, type Io, withCommonOptions } from '../context.ts';
import { fields, formatDuration, formatTime, squash, table, truncate } from '../format.ts';
import { listUpTo } from '../paging.ts';
import { parseCount, parseTime, TIME_FORMATS } from '../parse.ts';
import { optionParser } from './option-parser.ts';

/** An attempt as the API shows it (the stored shape; a type-only import loads no AWS code). */
export type AttemptView = AttemptRecord;

/** A delivery as the API shows it. */
export interface DeliveryView {
  readonly id: string;
  readonly eventId: string;
  readonly endpointId: string;
  readonly eventType: string;
  readonly status: string;
  /** Attempts so far. */
  readonly attemptCount?: number;
  /** `GET /deliveries/{id}`: every attempt (earlier API versions: the count). */
  readonly attempts?: number | AttemptView[];
  readonly createdAt: string;
  readonly lastAttempt?: AttemptView | null;
  readonly deliveredAt?: string | null;
  readonly nextAttemptAt?: string | null;
  readonly redrives?: number;
  readonly retryQueuedAt?: string | null;
}

function attemptCount(delivery: DeliveryView): number | undefined {
  if (delivery.attemptCount !== undefined) return delivery.attemptCount;
  if (typeof delivery.attempts === 'number') return delivery.attempts;
  return Array.isArray(delivery.attempts) ? delivery.attempts.length : undefined;
}

function outcome(attempt: AttemptView | null | undefined): string {
  if (!attempt) return '-';
  if (attempt.statusCode !== undefined) return String(attempt.statusCode);
  return truncate(attempt.error ?? 'error', 30);
}

const path = (id: string) => `/deliveries/${encodeURIComponent(id)}`;

export function registerDeliveries(program: Command, io: Io): void {
  const deliveries = program
    .command('deliveries')
    .helpCommand(false)
    .description('list deliveries, show one with its attempts, retry one');

  withCommonOptions(
    deliveries
      .command('list')
      .description('list deliveries, newest first: to one endpoint, or to every endpoint')
      .option('--endpoint <id>', 'only deliveries to this endpoint')
      .addOption(
        new Option('--status <status>', 'only deliveries in this state').choices([
          'pending',
          'delivered',
          'failed',
          'dead',
        ]),
      )
      .option('--type <type>', 'only events of this type')
      .option('--since <time>', `only events created since then: ${TIME_FORMATS}`, optionParser(parseTime))
      .option('--limit <n>', 'show at most n deliveries', optionParser(parseCount), 25),
    [
      'npx webhooks deliveries list --local --endpoint ep_01J...',
      'npx webhooks deliveries list --status dead --type invoice.paid --since 24h --limit 200 --json',
    ],
  ).action(
    action(io, async (context, _, options) => {
      const api = await context.api();
      const limit = options.limit as number;
      const since = options.since as number | undefined;
      const { items, cursor } = await listUpTo<DeliveryView>(
        api,
        '/deliveries',
        {
          endpointId: options.endpoint as string | undefined,
          status: options.status as string | undefined,
          type: options.type as string | undefined,
          since: since === undefined ? undefined : new Date(since).toISOString(),
        },
        limit,
      );
      context.print(
        { items, nextCursor: cursor ?? null },
        () =>
          table(
            ['DELIVERY', 'STATUS', 'ATTEMPTS', 'LAST', 'TYPE', 'ENDPOINT', 'CREATED'],
            items.map((delivery) => [
              delivery.id,
              delivery.status,
              attemptCount(delivery),
              outcome(delivery.lastAttempt),
              delivery.eventType,
              delivery.endpointId,
              formatTime(delivery.createdAt),
            ]),
          ) + (cursor ? `more deliveries exist: raise --limit (now ${limit}) to see them\n` : ''),
      );
    }),
  );

  withCommonOptions(
    deliveries
      .command('show')
      .argument('<id>', 'delivery id (dlv_...)')
      .description('show one delivery and every attempt: status code, duration, error, response excerpt'),
    ['npx webhooks deliveries show dlv_01J... --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      const { body } = await (await context.api()).request<DeliveryView>('GET', path(id));
      const attempts = Array.isArray(body.attempts) ? body.attempts : [];
      context.print(body, () => {
        const head = fields([
          ['delivery', body.id],
          ['event', `${body.eventId} (${body.eventType})`],
          ['endpoint', body.endpointId],
          ['status', body.status],
          ['attempts', attemptCount(body)],
          ['created', formatTime(body.createdAt)],
          ['delivered', formatTime(body.deliveredAt)],
          ['next attempt', formatTime(body.nextAttemptAt)],
          ['redrives', body.redrives ?? 0],
          ['retry queued', formatTime(body.retryQueuedAt)],
        ]);
        const rows = attempts.map((attempt) => [
          attempt.attempt,
          formatTime(attempt.at),
          attempt.statusCode ?? '-',
          formatDuration(attempt.durationMs),
          truncate(squash(attempt.error ?? ''), 40),
          truncate(squash(attempt.responseExcerpt ?? ''), 60),
        ]);
        return `${head}\n${table(['#', 'AT', 'STATUS', 'DURATION', 'ERROR', 'RESPONSE'], rows)}`;
      });
    }),
  );

  withCommonOptions(
    deliveries
      .command('retry')
      .argument('<id>', 'delivery id (dlv_...)')
      .description('queue a delivery for another attempt now, from the stored event'),
    ['npx webhooks deliveries retry dlv_01J... --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      const { body } = await (await context.api()).request<{ id: string; status: string }>(
        'POST',
        `${path(id)}/retry`,
      );
      context.print(body, () => `delivery ${body.id} queued for another attempt (${body.status})\n`);
    }),
  );
}
