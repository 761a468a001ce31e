/**
 * `webhooks send`: POST /events. `webhooks send-batch`: POST /events/batch.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, type Io, withCommonOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { table } from '../format.ts';
import { collectList } from '../parse.ts';

interface Accepted {
  readonly id: string;
  readonly type: string;
  readonly createdAt: string;
  readonly deliveries: readonly { id: string; endpointId: string; status: string }[];
}

/** One event's answer in a batch: an accepted event, or its error. */
interface BatchItem {
  readonly status: number;
  readonly id?: string;
  readonly replayed?: boolean;
  readonly deliveries?: readonly unknown[];
  readonly error?: { readonly code: string; readonly message: string };
}

/** `--data` (inline JSON, `@file`, or `-` for stdin) or `--file` (a path or `-`), parsed. */
function readJson(raw: string, option: string, inline = true): unknown {
  let text = raw;
  try {
    if (raw === '-') text = readFileSync(0, 'utf8');
    else if (!inline) text = readFileSync(raw, 'utf8');
    else if (raw.startsWith('@')) text = readFileSync(raw.slice(1), 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${option} ${raw}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${option} is not valid JSON: ${(error as Error).message}`);
  }
}

export function registerSend(program: Command, io: Io): void {
  const command = program
    .command('send')
    .description(
      'send an event; it is delivered to every enabled endpoint subscribed to its type, or to the ones named',
    )
    .requiredOption('--type <type>', 'event type, e.g. invoice.paid')
    .requiredOption('--data <json>', 'event data: a JSON object, @file to read it from a file, - for stdin')
    .option(
      '--endpoint <id>',
      'deliver only to this endpoint (repeat, or comma-separate, for several)',
      collectList,
    )
    .option(
      '--idempotency-key <key>',
      'a repeat with the same key returns the first answer instead of sending again',
    );
  withCommonOptions(command, [
    `npx webhooks send --local --type invoice.paid --data '{"invoiceId":"inv_1","amount":4200}'`,
    'npx webhooks send --type invoice.paid --data @event.json --endpoint ep_01J... --idempotency-key order-42',
  ]).action(
    action(io, async (context, _, options) => {
      const data = readJson(options.data as string, '--data');
      const endpointIds = options.endpoint as string[] | undefined;
      const key = options.idempotencyKey as string | undefined;
      const api = await context.api();
      const { body, headers } = await api.request<Accepted>('POST', '/events', {
        body: { type: options.type, data, ...(endpointIds?.length ? { endpointIds } : {}) },
        headers: key ? { 'idempotency-key': key } : {},
      });
      const replayed = headers.get('idempotent-replayed') === 'true';
      context.print({ ...body, replayed }, () => {
        const count = body.deliveries.length;
        const head = `event ${body.id} (${body.type}) accepted: ${count} ${count === 1 ? 'delivery' : 'deliveries'} queued${
          replayed ? ' (idempotent replay: the answer to the first request with this key)' : ''
        }\n`;
        if (count === 0)
          return `${head}no enabled endpoint is subscribed to ${body.type}: nothing to deliver\n`;
        return (
          head +
          table(
            ['DELIVERY', 'ENDPOINT', 'STATUS'],
            body.deliveries.map((delivery) => [delivery.id, delivery.endpointId, delivery.status]),
          )
        );
      });
    }),
  );
}

export function registerSendBatch(program: Command, io: Io): void {
  const command = program
    .command('send-batch')
    .description(
      'send up to 100 events in one request (POST /events/batch); each is accepted or refused on its own',
    )
    .requiredOption(
      '--file <path>',
      'a JSON array of events ({"type", "data", "endpointIds"?, "idempotencyKey"?}) or {"events": [...]}; - for stdin',
    );
  withCommonOptions(command, [
    'npx webhooks send-batch --local --file events.json',
    'jq -c "[.[] | {type, data, idempotencyKey: .orderId}]" orders.json | npx webhooks send-batch --file -',
  ]).action(
    action(io, async (context, _, options) => {
      const parsed = readJson(options.file as string, '--file', false);
      const events = Array.isArray(parsed) ? parsed : (parsed as { events?: unknown } | null)?.events;
      if (!Array.isArray(events))
        throw new CliError('--file must hold a JSON array of events or {"events": [...]}');
      const api = await context.api();
      const { body } = await api.request<{ items: BatchItem[]; accepted: number; failed: number }>(
        'POST',
        '/events/batch',
        { body: { events } },
      );
      context.print(body, () => {
        const head = `${body.accepted} of ${body.items.length} events accepted${body.failed ? `, ${body.failed} not` : ''}\n`;
        return (
          head +
          table(
            ['#', 'STATUS', 'EVENT', 'DELIVERIES', 'ERROR'],
            body.items.map((item, index) => [
              String(index),
              String(item.status),
              item.id ?? '-',
              item.deliveries ? String(item.deliveries.length) : '-',
              item.error
                ? `${item.error.code}: ${item.error.message}`
                : item.replayed
                  ? 'idempotent replay'
                  : '',
            ]),
          )
        );
      });
      // A script must notice an event that was not accepted: exit 1, with every answer printed.
      if (body.failed > 0)
        throw new CliError(`${body.failed} of ${body.items.length} events were not accepted (see above)`);
    }),
  );
}
