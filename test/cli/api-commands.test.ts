/**
 * The API commands through the whole local product: moto, the API server and the queue
 * poller of `startLocalStack()`, and a receiver on loopback, as an operator would run them:
 * create endpoints, send, watch deliveries, see a failure dead-lettered, redrive it. Two
 * endpoints (billing, other) are made before the tests; a test that makes more deletes them
 * again, and one that needs the DLQ to itself uses an endpoint of its own, so that no test
 * depends on what another did before it.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryView } from '../../cli/commands/deliveries.ts';
import type { EndpointView } from '../../cli/commands/endpoints.ts';
import { type LocalStack, startLocalStack } from '../../local/local-stack.ts';
import { freePort, type MotoServer, startMoto } from '../../local/moto.ts';
import { cli, stateFileFor, tempDir, until } from './support.ts';

const API_KEY = 'wh_test_cli_api_key_0123456789';

let moto: MotoServer;
let stack: LocalStack;
let receiver: Server;
let receiverUrl: string;
let dir: ReturnType<typeof tempDir>;
let stateFile: string;
/** What the receiver answers: 200 "ok", or 500 with a body worth showing. */
let failing = false;
const received: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push(String(request.headers['webhook-id']));
      response.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
      response.end(failing ? 'boom: the receiver is failing on purpose' : 'ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // One attempt only: a failed delivery is dead at once and SQS moves it to the DLQ.
  stack = await startLocalStack({
    endpoint: moto.endpoint,
    apiKey: API_KEY,
    policy: { scheduleSeconds: [1], maxAttempts: 1 },
    port: 0,
    prefix: `cli-api-${process.pid}`,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  dir = tempDir();
  stateFile = stateFileFor(dir.path, stack.resources, { apiUrl: stack.apiUrl, apiKey: API_KEY });
  billing = await json(
    'endpoints',
    'create',
    '--url',
    `${receiverUrl}/billing`,
    '--types',
    'invoice.paid,user.created',
  );
  other = await json('endpoints', 'create', '--url', `${receiverUrl}/other`);
});

let billing: EndpointView & { secret: string };
let other: EndpointView & { secret: string };

/** Deletes an endpoint a test made for itself (through the API: the CLI has no delete). */
async function deleteEndpoint(id: string): Promise<void> {
  const response = await fetch(`${stack.apiUrl}/endpoints/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  expect(response.status).toBe(204);
}

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  await moto?.stop();
  dir?.remove();
});

/** Runs a command against the local stack and parses its `--json` output. */
async function json<T>(...args: string[]): Promise<T> {
  const result = await cli([...args, '--state-file', stateFile, '--json']);
  expect(result.stderr, args.join(' ')).toBe('');
  expect(result.code, args.join(' ')).toBe(0);
  return JSON.parse(result.stdout) as T;
}

async function human(...args: string[]): Promise<string> {
  const result = await cli([...args, '--state-file', stateFile]);
  expect(result.stderr, args.join(' ')).toBe('');
  expect(result.code, args.join(' ')).toBe(0);
  return result.stdout;
}

/** Waits until the endpoint's delivery of `deliveryId` is in `status`. */
function deliveryIn(endpointId: string, deliveryId: string, status: string): Promise<DeliveryView> {
  return until(
    async () => {
      const { items } = await json<{ items: DeliveryView[] }>('deliveries', 'list', '--endpoint', endpointId);
      return items.find((item) => item.id === deliveryId && item.status === status);
    },
    30_000,
    `delivery ${deliveryId} to be ${status}`,
    300,
  );
}

describe('API commands against the local stack', () => {
  it('endpoints create prints the new endpoint and its secret', async () => {
    const created = await json<EndpointView & { secret: string }>(
      'endpoints',
      'create',
      '--url',
      `${receiverUrl}/created`,
      '--types',
      'invoice.paid,user.created',
      '--description',
      'created',
    );
    expect(created).toMatchObject({
      url: `${receiverUrl}/created`,
      eventTypes: ['invoice.paid', 'user.created'],
      description: 'created',
      enabled: true,
    });
    expect(created.id).toMatch(/^ep_/);
    expect(created.secret).toMatch(/^whsec_/);

    const text = await human('endpoints', 'create', '--url', `${receiverUrl}/created-text`);
    expect(text).toMatch(/^created endpoint ep_\w+\n/);
    expect(text).toMatch(/\nsecret: +whsec_\S+\n/);
    expect(text).toContain('not shown again');
    const shown = await json<EndpointView>('endpoints', 'show', text.split('\n')[0]?.split(' ')[2] ?? '');
    expect(shown.url).toBe(`${receiverUrl}/created-text`);

    // Clean up: the other tests fan out to every endpoint there is.
    await deleteEndpoint(created.id);
    await deleteEndpoint(shown.id);
  });

  it('endpoints list shows them all', async () => {
    const { items } = await json<{ items: EndpointView[] }>('endpoints', 'list');
    expect(items.map((endpoint) => endpoint.id).sort()).toEqual([billing.id, other.id].sort());

    const text = await human('endpoints', 'list');
    expect(text).toMatch(/^ID\s+STATE\s+FAILURES\s+TYPES\s+URL\s+DESCRIPTION\n/);
    expect(text).toContain(`${billing.id}  enabled`);
  });

  it('send queues one delivery per subscribed endpoint, and deliveries list shows them delivered', async () => {
    // Act
    const accepted = await json<{
      id: string;
      deliveries: { id: string; endpointId: string }[];
      replayed: boolean;
    }>('send', '--type', 'invoice.paid', '--data', '{"invoiceId":"inv_1","amount":4200}');
    // Assess
    expect(accepted.replayed).toBe(false);
    expect(accepted.deliveries.map((delivery) => delivery.endpointId).sort()).toEqual(
      [billing.id, other.id].sort(),
    );
    const toBilling = accepted.deliveries.find((delivery) => delivery.endpointId === billing.id);
    const delivered = await deliveryIn(billing.id, toBilling?.id ?? '', 'delivered');
    expect(delivered).toMatchObject({ eventId: accepted.id, eventType: 'invoice.paid', attemptCount: 1 });
    expect(received).toContain(accepted.id);

    const text = await human('deliveries', 'list', '--endpoint', billing.id);
    expect(text).toMatch(/^DELIVERY\s+STATUS\s+ATTEMPTS\s+LAST\s+TYPE\s+ENDPOINT\s+CREATED\n/);
    expect(text).toMatch(new RegExp(`${delivered.id}\\s+delivered\\s+1\\s+200\\s+invoice\\.paid`));

    const shown = await human('deliveries', 'show', delivered.id);
    expect(shown).toMatch(/status: +delivered/);
    expect(shown).toMatch(/\n1\s+\S+Z\s+200\s+\d+ ms/);
  });

  it('send --endpoint targets one endpoint; a dead delivery shows its attempt and lands in the DLQ', async () => {
    // Prepare: an endpoint of its own, and the DLQ as other tests left it.
    const own = await json<EndpointView>('endpoints', 'create', '--url', `${receiverUrl}/dead-letters`);
    const dlqBefore = (await json<{ total: number }>('dlq', 'count')).total;
    failing = true;
    // Act
    const text = await human(
      'send',
      '--type',
      'user.created',
      '--data',
      '{"userId":"u_1"}',
      '--endpoint',
      own.id,
    );
    // Assess
    expect(text).toMatch(/^event msg_\w+ \(user.created\) accepted: 1 delivery queued\n/);
    const deliveryId = /\n(dlv_\w+)\s/.exec(text)?.[1] ?? '';
    await deliveryIn(own.id, deliveryId, 'dead');
    const shown = await json<
      DeliveryView & { attempts: { statusCode: number; responseExcerpt: string; durationMs: number }[] }
    >('deliveries', 'show', deliveryId);
    expect(shown.attempts).toHaveLength(1);
    expect(shown.attempts[0]).toMatchObject({
      statusCode: 500,
      responseExcerpt: 'boom: the receiver is failing on purpose',
    });
    const shownText = await human('deliveries', 'show', deliveryId);
    expect(shownText).toMatch(/\n1\s+\S+Z\s+500\s+\d+ ms\s+.+boom: the receiver is failing on purpose\n/);
    const dead = await json<{ items: DeliveryView[] }>(
      'deliveries',
      'list',
      '--endpoint',
      own.id,
      '--status',
      'dead',
    );
    expect(dead.items.map((item) => item.id)).toEqual([deliveryId]);

    await until(
      async () =>
        (await json<{ total: number }>('dlq', 'count')).total === dlqBefore + 1 ? true : undefined,
      30_000,
      'the dead delivery to reach the DLQ',
      300,
    );

    // Act: the receiver is fixed; the operator redrives that endpoint's dead deliveries.
    failing = false;
    const peeked = await json<{ messages: { deliveryId: string }[] }>('dlq', 'peek');
    expect(peeked.messages.map((message) => message.deliveryId)).toContain(deliveryId);
    const redriven = await json<{ moved: number; left: number }>('redrive', '--endpoint', own.id);
    // What other tests left in the DLQ stays there: it is another endpoint's.
    expect(redriven).toMatchObject({ moved: 1, left: dlqBefore });
    // Assess: delivered on the redrive, which the record counts.
    const after = await deliveryIn(own.id, deliveryId, 'delivered');
    expect(after).toMatchObject({ attemptCount: 2, redrives: 1 });
    await deleteEndpoint(own.id);
  });

  it('deliveries retry queues a delivery again', async () => {
    failing = false;
    const sentOk = await human('send', '--type', 'user.created', '--data', '{"n":1}', '--endpoint', other.id);
    const id = /\n(dlv_\w+)\s/.exec(sentOk)?.[1] ?? '';
    await deliveryIn(other.id, id, 'delivered');
    // A delivered delivery has nothing to retry.
    const refused = await cli(['deliveries', 'retry', id, '--state-file', stateFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^webhooks: already_delivered \(HTTP 409\): /);
    // A dead one is queued again.
    failing = true;
    const sent = await human('send', '--type', 'user.created', '--data', '{"n":2}', '--endpoint', billing.id);
    const deadId = /\n(dlv_\w+)\s/.exec(sent)?.[1] ?? '';
    await deliveryIn(billing.id, deadId, 'dead');
    failing = false;

    expect(await human('deliveries', 'retry', deadId)).toBe(
      `delivery ${deadId} queued for another attempt (pending)\n`,
    );
    await deliveryIn(billing.id, deadId, 'delivered');

    // The same endpoint and time, an event that does not exist.
    const missing = `${id.slice(0, 14)}${'0'.repeat(26)}${id.slice(40)}`;
    const unknown = await cli(['deliveries', 'retry', missing, '--state-file', stateFile]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^webhooks: not_found \(HTTP 404\): [^\n]+ \[Trackingid [^\]]+\]\n$/);
  });

  it('endpoints recover queues the dead deliveries again, page by page until done', async () => {
    // Prepare: two dead deliveries.
    failing = true;
    const since = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (const n of [3, 4]) {
      const sent = await human(
        'send',
        '--type',
        'user.created',
        '--data',
        `{"n":${n}}`,
        '--endpoint',
        billing.id,
      );
      ids.push(/\n(dlv_\w+)\s/.exec(sent)?.[1] ?? '');
    }
    for (const id of ids) await deliveryIn(billing.id, id, 'dead');
    failing = false;

    // Act
    const recovered = await json<{ queued: number; skipped: number; pages: number }>(
      'endpoints',
      'recover',
      billing.id,
      '--since',
      since,
    );

    // Assess
    expect(recovered).toMatchObject({ queued: 2, skipped: 0, pages: 1 });
    for (const id of ids) await deliveryIn(billing.id, id, 'delivered');
  });

  it('endpoints disable, enable and rotate', async () => {
    expect(await human('endpoints', 'disable', other.id)).toBe(`endpoint ${other.id} disabled\n`);
    expect((await json<EndpointView>('endpoints', 'show', other.id)).enabled).toBe(false);
    expect(await json<EndpointView>('endpoints', 'enable', other.id)).toMatchObject({
      id: other.id,
      enabled: true,
    });

    const rotated = await json<{ id: string; secret: string; previousSecretExpiresAt: string }>(
      'endpoints',
      'rotate',
      other.id,
    );
    expect(rotated.id).toBe(other.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(Date.parse(rotated.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
  });

  it('send-batch sends every event of a file, shows each answer, and exits 1 when one was refused', async () => {
    // Prepare
    failing = false;
    const good = join(dir.path, 'batch-good.json');
    writeFileSync(
      good,
      JSON.stringify([
        { type: 'invoice.paid', data: { n: 1 }, endpointIds: [billing.id] },
        {
          type: 'invoice.paid',
          data: { n: 2 },
          endpointIds: [billing.id],
          idempotencyKey: `b-${Date.now()}`,
        },
      ]),
    );
    const mixed = join(dir.path, 'batch-mixed.json');
    writeFileSync(
      mixed,
      JSON.stringify({
        events: [{ type: 'invoice.paid', data: { n: 3 }, endpointIds: [billing.id] }, { type: 'bad type' }],
      }),
    );

    // Act
    const accepted = await json<{ items: Array<{ status: number; id: string }>; accepted: number }>(
      'send-batch',
      '--file',
      good,
    );
    const shown = await cli(['send-batch', '--file', mixed, '--state-file', stateFile]);
    const notJson = await cli([
      'send-batch',
      '--file',
      join(dir.path, 'missing.json'),
      '--state-file',
      stateFile,
    ]);

    // Assess
    expect(accepted.accepted).toBe(2);
    expect(accepted.items.map((item) => item.status)).toEqual([202, 202]);
    await until(
      async () => (accepted.items.every((item) => received.includes(item.id)) ? true : undefined),
      10_000,
      'both batch events to arrive',
    );
    expect(shown.code).toBe(1);
    expect(shown.stdout).toMatch(/^1 of 2 events accepted, 1 not\n#\s+STATUS\s+EVENT\s+DELIVERIES\s+ERROR\n/);
    expect(shown.stdout).toMatch(/\n0\s+202\s+msg_\w+\s+1\s+-\n/);
    expect(shown.stdout).toMatch(/\n1\s+400\s+-\s+-\s+invalid_request: /);
    expect(shown.stderr).toBe('webhooks: 1 of 2 events were not accepted (see above)\n');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^webhooks: cannot read --file /);
  });

  it('endpoints rate-limit sets and clears the limit; show prints it and the backlog', async () => {
    // Act
    const limited = await json<EndpointView>('endpoints', 'rate-limit', other.id, '7');
    const shown = await human('endpoints', 'show', other.id);
    const refused = await cli(['endpoints', 'rate-limit', other.id, 'fast', '--state-file', stateFile]);
    const cleared = await json<EndpointView>('endpoints', 'rate-limit', other.id, 'off');

    // Assess
    expect(limited.rateLimit).toBe(7);
    expect(shown).toMatch(/\nrate limit: +7\/s\n/);
    expect(shown).toMatch(/\nbacklog: +none\n/);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'webhooks: the rate limit must be a whole number of deliveries per second, got "fast"\n',
    );
    expect(cleared.rateLimit).toBeNull();
    expect(await human('endpoints', 'show', other.id)).not.toMatch(/rate limit/);
  });

  it('shows API errors as code and message on one line', async () => {
    const missing = await cli([
      'endpoints',
      'show',
      'ep_00000000000000000000000000',
      '--state-file',
      stateFile,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^webhooks: not_found \(HTTP 404\): endpoint "ep_0+" does not exist \[Trackingid/,
    );

    const wrongKey = stateFileFor(dir.path, stack.resources, { apiUrl: stack.apiUrl, apiKey: 'wh_wrong' });
    const badKey = await cli(['endpoints', 'list', '--state-file', wrongKey]);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(
      /^webhooks: unauthorized \(HTTP 401\): this API key is not valid \(unknown or revoked\)/,
    );

    const args = [
      'send',
      '--state-file',
      stateFile,
      '--type',
      'invoice.paid',
      '--data',
      '{}',
      '--idempotency-key',
      `k-${Date.now()}`,
    ];
    expect((await cli(args)).code).toBe(0);
    const reused = await cli(args.map((arg) => (arg === '{}' ? '{"other":true}' : arg)));
    expect(reused.code).toBe(1);
    expect(reused.stderr).toMatch(/^webhooks: idempotency_key_reused \(HTTP 422\): [^\n]+\n$/);
  });

  it('says where the API is when it cannot be reached', async () => {
    const apiUrl = `http://127.0.0.1:${await freePort()}`;
    const gone = stateFileFor(dir.path, stack.resources, { apiUrl, apiKey: API_KEY });

    const result = await cli(['endpoints', 'list', '--state-file', gone]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `webhooks: cannot reach the API at ${apiUrl} (ECONNREFUSED): is "npm run local" still running?\n`,
    );
  });

  it('operational-events lists what happened to endpoints, newest first, as a table and as JSON', async () => {
    // Prepare: an endpoint of its own, disabled by hand (an endpoint.disabled the worker records).
    const made = await json<EndpointView>('endpoints', 'create', '--url', `${receiverUrl}/events-log`);
    await human('endpoints', 'disable', made.id);

    // Act
    const listed = await until(
      async () => {
        const page = await json<{ items: Array<{ detailType: string; detail: { endpointId?: string } }> }>(
          'operational-events',
          '--type',
          'endpoint.disabled',
          '--since',
          '1h',
        );
        return page.items.some((item) => item.detail.endpointId === made.id) ? page : undefined;
      },
      30_000,
      `endpoint.disabled of ${made.id} to be recorded`,
      300,
    );
    const text = await human('operational-events', '--limit', '100');
    const refused = await cli([
      'operational-events',
      '--type',
      'endpoint.deleted',
      '--state-file',
      stateFile,
    ]);

    // Assert
    expect(listed.items.every((item) => item.detailType === 'endpoint.disabled')).toBe(true);
    expect(text.split('\n')[0]).toMatch(/^OCCURRED\s+TYPE\s+ENDPOINT\s+TENANT\s+DETAIL$/);
    expect(text).toMatch(new RegExp(`endpoint\\.disabled\\s+${made.id}\\s+default\\s+manual, disabled`));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('endpoint.deleted');
    await deleteEndpoint(made.id);
  });
});
