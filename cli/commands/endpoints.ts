/**
 * `webhooks endpoints ...`: the endpoint routes of the API.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.ts';
import { action, type Io, withCommonOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { fields, formatTime, table, truncate } from '../format.ts';
import { collectList } from '../parse.ts';

/** An endpoint as the API shows it. */
export interface EndpointView {
  readonly id: string;
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description: string | null;
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  readonly failureStreak: number;
  readonly circuitOpenUntil?: string | null;
  readonly rateLimit?: number | null;
  readonly tenantId?: string;
  /** The payload filter (docs/filters.md), or null. */
  readonly filter?: unknown;
  /** The custom headers' names (their values are never shown). */
  readonly headerNames?: readonly string[];
  /** Only on GET /endpoints/{id}: the deliveries held out of the queue (open circuit, rateLimit). */
  readonly backlog?: {
    readonly size: number;
    readonly complete: boolean;
    readonly oldestAt: string | null;
    readonly reason: string | null;
  };
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** "3 held (circuit_open), oldest 2026-12-01 10:00:00Z", or "none". */
function backlogText(backlog: NonNullable<EndpointView['backlog']>): string {
  if (backlog.size === 0) return 'none';
  const size = `${backlog.size}${backlog.complete ? '' : '+'} held`;
  return `${size}${backlog.reason ? ` (${backlog.reason})` : ''}${backlog.oldestAt ? `, oldest ${formatTime(backlog.oldestAt)}` : ''}`;
}

/** One page of `POST /endpoints/{id}/recover`. */
interface RecoverPage {
  readonly queued: number;
  readonly skipped: number;
  readonly done: boolean;
  readonly nextCursor: string | null;
}

interface EndpointPage {
  readonly items: EndpointView[];
  readonly nextCursor: string | null;
}

/** Pages through GET /endpoints of one tenant (the API hands out at most 100 per page). */
async function allEndpoints(api: ApiClient, tenantId: string | undefined): Promise<EndpointView[]> {
  const items: EndpointView[] = [];
  let cursor: string | undefined;
  do {
    const { body } = await api.request<EndpointPage>('GET', '/endpoints', {
      query: { limit: 100, cursor, ...(tenantId ? { tenantId } : {}) },
    });
    items.push(...body.items);
    cursor = body.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

function state(endpoint: EndpointView): string {
  return endpoint.enabled ? 'enabled' : 'disabled';
}

function describe(endpoint: EndpointView): string {
  return fields([
    ['id', endpoint.id],
    ...(endpoint.tenantId ? ([['tenant', endpoint.tenantId]] as const) : []),
    ['url', endpoint.url],
    ['types', endpoint.eventTypes.join(',')],
    ['state', endpoint.enabled ? 'enabled' : `disabled (${endpoint.disabledReason ?? 'no reason given'})`],
    ['failures', endpoint.failureStreak],
    ...(endpoint.circuitOpenUntil
      ? ([['circuit', `open until ${formatTime(endpoint.circuitOpenUntil)}`]] as const)
      : []),
    ...(endpoint.rateLimit ? ([['rate limit', `${endpoint.rateLimit}/s`]] as const) : []),
    ...(endpoint.backlog ? ([['backlog', backlogText(endpoint.backlog)]] as const) : []),
    ...(endpoint.filter ? ([['filter', JSON.stringify(endpoint.filter)]] as const) : []),
    ...(endpoint.headerNames?.length ? ([['headers', endpoint.headerNames.join(', ')]] as const) : []),
    ['description', endpoint.description],
    ['created', formatTime(endpoint.createdAt)],
    ['updated', formatTime(endpoint.updatedAt)],
  ]);
}

const path = (id: string) => `/endpoints/${encodeURIComponent(id)}`;

/** `--header "Name: value"` (repeatable) as the API's `headers` object. */
function headersOf(raw: readonly string[] | undefined): Record<string, string> | undefined {
  if (!raw?.length) return undefined;
  const headers: Record<string, string> = {};
  for (const entry of raw) {
    const colon = entry.indexOf(':');
    if (colon < 1) throw new CliError(`--header wants "Name: value", got "${entry}"`);
    headers[entry.slice(0, colon).trim()] = entry.slice(colon + 1).trim();
  }
  return headers;
}

/** `--filter '<json>'` as the filter object (the API checks it and names the fault's path). */
function filterOf(raw: unknown): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(String(raw));
  } catch {
    throw new CliError('--filter wants a JSON object, e.g. \'{"data": {"amount": {"$gte": 100}}}\'');
  }
}

const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A rate as a number for the API to judge (JSON has no NaN: it would travel as null, i.e. "off"). */
function perSecondOf(raw: string): number {
  if (!/^\d+$/.test(raw))
    throw new CliError(`the rate limit must be a whole number of deliveries per second, got "${raw}"`);
  return Number(raw);
}

export function registerEndpoints(program: Command, io: Io): void {
  const endpoints = program
    .command('endpoints')
    .helpCommand(false)
    .description('list, create, enable, disable, recover endpoints and rotate their signing secrets');

  withCommonOptions(
    endpoints
      .command('list')
      .option('--tenant <tenantId>', 'whose endpoints (default: the default tenant)')
      .description("list one tenant's endpoints"),
    [
      'npx webhooks endpoints list --local',
      'npx webhooks endpoints list --tenant acme --stack Webhooks --json',
    ],
  ).action(
    action(io, async (context, _, options) => {
      const items = await allEndpoints(
        await context.api(),
        options.tenant === undefined ? undefined : String(options.tenant),
      );
      context.print({ items }, () =>
        table(
          ['ID', 'STATE', 'FAILURES', 'TYPES', 'URL', 'DESCRIPTION'],
          items.map((endpoint) => [
            endpoint.id,
            state(endpoint),
            endpoint.failureStreak,
            truncate(endpoint.eventTypes.join(','), 30),
            truncate(endpoint.url, 60),
            truncate(endpoint.description ?? '', 40),
          ]),
        ),
      );
    }),
  );

  withCommonOptions(
    endpoints.command('show').argument('<id>', 'endpoint id').description('show one endpoint'),
    ['npx webhooks endpoints show ep_01J... --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      const { body } = await (await context.api()).request<EndpointView>('GET', path(id));
      context.print(body, () => describe(body));
    }),
  );

  withCommonOptions(
    endpoints
      .command('create')
      .description('create an endpoint and print its signing secret (shown this once only)')
      .requiredOption('--url <url>', 'where to POST webhooks (https; http to loopback in local mode)')
      .option(
        '--types <types>',
        'event types to receive, comma-separated, or * for all (default: all)',
        collectList,
      )
      .option('--description <text>', 'a note for operators')
      .option(
        '--rate-limit <perSecond>',
        'deliver at most this many per second (1-1000), across every worker',
      )
      .option('--tenant <tenantId>', 'the tenant it belongs to (default: default)')
      .option(
        '--header <name: value>',
        'a static header sent with every delivery (repeatable, up to 10)',
        repeat,
      )
      .option('--filter <json>', 'a payload filter: only events it matches are sent (docs/filters.md)'),
    [
      'npx webhooks endpoints create --local --url http://127.0.0.1:4000/webhooks',
      'npx webhooks endpoints create --url https://example.com/hooks --types invoice.paid,invoice.voided --description "billing"',
    ],
  ).action(
    action(io, async (context, _, options) => {
      const types = options.types as string[] | undefined;
      const { body } = await (await context.api()).request<EndpointView & { secret: string }>(
        'POST',
        '/endpoints',
        {
          body: {
            url: options.url,
            ...(types?.length ? { eventTypes: types } : {}),
            ...(options.description !== undefined ? { description: options.description } : {}),
            ...(options.rateLimit !== undefined ? { rateLimit: perSecondOf(String(options.rateLimit)) } : {}),
            ...(options.tenant !== undefined ? { tenantId: String(options.tenant) } : {}),
            ...(headersOf(options.header as string[] | undefined)
              ? { headers: headersOf(options.header as string[]) }
              : {}),
            ...(options.filter !== undefined ? { filter: filterOf(options.filter) } : {}),
          },
        },
      );
      context.print(body, () =>
        [
          `created endpoint ${body.id}`,
          describe(body).trimEnd(),
          `secret:      ${body.secret}`,
          'Store the secret with the receiver now: it verifies the webhook-signature header, and is not shown again.',
          '',
        ].join('\n'),
      );
    }),
  );

  withCommonOptions(
    endpoints
      .command('options')
      .argument('<id>', 'endpoint id')
      .option('--header <name: value>', 'replace the custom headers with these (repeatable)', repeat)
      .option('--no-headers', 'remove every custom header')
      .option('--filter <json>', 'set the payload filter (JSON), or "off" to remove it')
      .description(
        "set an endpoint's custom headers and payload filter (header values are never shown again)",
      ),
    [
      'npx webhooks endpoints options ep_01J... --header "X-Api-Key: abc123" --local',
      'npx webhooks endpoints options ep_01J... --filter \'{"data": {"amount": {"$gte": 100}}}\'',
      'npx webhooks endpoints options ep_01J... --no-headers --filter off',
    ],
  ).action(
    action(io, async (context, [id = ''], options) => {
      const headers = options.headers === false ? {} : headersOf(options.header as string[] | undefined);
      const filter = options.filter === 'off' ? null : filterOf(options.filter);
      if (headers === undefined && filter === undefined) {
        throw new CliError('give --header, --no-headers or --filter');
      }
      const { body } = await (await context.api()).request<EndpointView>('PATCH', path(id), {
        body: { ...(headers !== undefined ? { headers } : {}), ...(filter !== undefined ? { filter } : {}) },
      });
      context.print(body, () => describe(body));
    }),
  );

  withCommonOptions(
    endpoints
      .command('rate-limit')
      .argument('<id>', 'endpoint id')
      .argument('<perSecond>', 'deliveries per second (1-1000), or "off"')
      .description(
        "limit an endpoint's deliveries per second, across every worker (its backlog is sent at that rate)",
      ),
    [
      'npx webhooks endpoints rate-limit ep_01J... 20 --local',
      'npx webhooks endpoints rate-limit ep_01J... off',
    ],
  ).action(
    action(io, async (context, [id = '', perSecond = '']) => {
      const rateLimit = perSecond === 'off' ? null : perSecondOf(perSecond);
      const { body } = await (await context.api()).request<EndpointView>('PATCH', path(id), {
        body: { rateLimit },
      });
      context.print(
        body,
        () =>
          `endpoint ${body.id}: ${body.rateLimit ? `at most ${body.rateLimit} deliveries per second` : 'no rate limit'}\n`,
      );
    }),
  );

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    withCommonOptions(
      endpoints
        .command(name)
        .argument('<id>', 'endpoint id')
        .description(
          enabled
            ? 'enable an endpoint (and reset its failure streak): new events are delivered to it again'
            : 'disable an endpoint: new events skip it until it is enabled again',
        ),
      [`npx webhooks endpoints ${name} ep_01J... --local`],
    ).action(
      action(io, async (context, [id = '']) => {
        const { body } = await (await context.api()).request<EndpointView>('PATCH', path(id), {
          body: { enabled },
        });
        context.print(body, () => `endpoint ${body.id} ${state(body)}\n`);
      }),
    );
  }

  withCommonOptions(
    endpoints
      .command('recover')
      .argument('<id>', 'endpoint id')
      .description(
        'queue again the failed and dead deliveries of an endpoint since a time, page by page until done ' +
          '(deliveries whose own retry is still scheduled are skipped)',
      )
      .requiredOption(
        '--since <time>',
        'ISO-8601 time or Unix seconds: deliveries of events created since then',
      ),
    ['npx webhooks endpoints recover ep_01J... --since 2026-11-27T00:00:00Z --local'],
  ).action(
    action(io, async (context, [id = ''], options) => {
      const api = await context.api();
      let queued = 0;
      let skipped = 0;
      let pages = 0;
      let cursor: string | undefined;
      for (;;) {
        const { body } = await api.request<RecoverPage>('POST', `${path(id)}/recover`, {
          query: { since: String(options.since), cursor },
        });
        pages++;
        queued += body.queued;
        skipped += body.skipped;
        if (body.done || !body.nextCursor) break;
        cursor = body.nextCursor;
        context.note(`recover: ${queued} queued, ${skipped} skipped so far (${pages} pages)`);
      }
      context.print(
        { endpointId: id, queued, skipped, pages },
        () =>
          `endpoint ${id}: ${queued} deliveries queued again, ${skipped} skipped (a retry already scheduled)\n`,
      );
    }),
  );

  withCommonOptions(
    endpoints
      .command('rotate')
      .argument('<id>', 'endpoint id')
      .description('give an endpoint a new signing secret; the old one keeps signing alongside for 24 h'),
    ['npx webhooks endpoints rotate ep_01J... --local'],
  ).action(
    action(io, async (context, [id = '']) => {
      const { body } = await (await context.api()).request<{
        id: string;
        secret: string;
        previousSecretExpiresAt: string;
      }>('POST', `${path(id)}/secret/rotate`);
      context.print(body, () =>
        [
          `rotated the secret of endpoint ${body.id}`,
          `secret:           ${body.secret}`,
          `previous expires: ${formatTime(body.previousSecretExpiresAt)} (until then both secrets sign)`,
          'Give the receiver the new secret now: it is not shown again.',
          '',
        ].join('\n'),
      );
    }),
  );
}
