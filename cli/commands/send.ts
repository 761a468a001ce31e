/**
 * `webhooks send`: POST /events.
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

/** `--data`: inline JSON, `@file`, or `-` for stdin. */
function readData(raw: string): unknown {
  let text = raw;
  try {
    if (raw === '-') text = readFileSync(0, 'utf8');
    else if (raw.startsWith('@')) text = readFileSync(raw.slice(1), 'utf8');
  } catch (error) {
    throw new CliError(`cannot read --data ${raw}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`--data is not valid JSON: ${(error as Error).message}`);
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
      const data = readData(options.data as string);
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
