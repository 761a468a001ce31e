/**
 * `webhooks operational-events`: what happened to endpoints and deliveries (disabled, circuit
 * opened, recovered, dead, the DLQ redriven), newest first, as the delivery worker recorded each
 * before publishing it to the EventBridge bus (`GET /operational-events`).
 */
import { type Command, Option } from 'commander';
import {
  type OperationalEventView,
  summariseOperationalEvent,
} from '../../lambdas/core/operational-event-summary.ts';
import { OPERATIONAL_EVENT_TYPES } from '../../lambdas/core/operational-events.ts';
import { action, type Io, withCommonOptions } from '../context.ts';
import { formatTime, table, truncate } from '../format.ts';
import { listUpTo } from '../paging.ts';
import { parseCount, parseTime, TIME_FORMATS } from '../parse.ts';
import { optionParser } from './option-parser.ts';

export function registerOperationalEvents(program: Command, io: Io): void {
  withCommonOptions(
    program
      .command('operational-events')
      .description(
        'list operational events, newest first: endpoints disabled, circuits opened, recoveries, dead deliveries, DLQ redrives',
      )
      .addOption(
        new Option('--type <detail-type>', 'only events of this detail-type').choices([
          ...OPERATIONAL_EVENT_TYPES,
        ]),
      )
      .option(
        '--since <time>',
        `only events since then (at most 30 days back): ${TIME_FORMATS}`,
        optionParser(parseTime),
      )
      .option('--limit <n>', 'show at most n events', optionParser(parseCount), 25),
    [
      'npx webhooks operational-events --local',
      'npx webhooks operational-events --type delivery.dead --since 24h --limit 200 --json',
    ],
  ).action(
    action(io, async (context, _, options) => {
      const api = await context.api();
      const limit = options.limit as number;
      const since = options.since as number | undefined;
      const { items, cursor } = await listUpTo<OperationalEventView>(
        api,
        '/operational-events',
        {
          type: options.type as string | undefined,
          since: since === undefined ? undefined : new Date(since).toISOString(),
        },
        limit,
      );
      context.print(
        { items, nextCursor: cursor ?? null },
        () =>
          table(
            ['OCCURRED', 'TYPE', 'ENDPOINT', 'TENANT', 'DETAIL'],
            items.map((event) => [
              formatTime(event.occurredAt),
              event.detailType,
              (event.detail.endpointId as string | undefined) ?? '-',
              (event.detail.tenantId as string | undefined) ?? '-',
              truncate(summariseOperationalEvent(event), 80),
            ]),
          ) + (cursor ? `more events exist: raise --limit (now ${limit}) to see them\n` : ''),
      );
    }),
  );
}
