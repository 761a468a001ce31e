/**
 * Text the API hands over (a receiver's response excerpt, a description, an error message)
 * never reaches the operator's terminal as control sequences in human output, while `--json`
 * prints the API's JSON unchanged. One flow through the whole local product (a hostile
 * receiver's answer recorded by the real delivery function), and a fake API on loopback for
 * what the real API would not say.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryView } from '../../cli/commands/deliveries.ts';
import { table } from '../../cli/format.ts';
import { terminalSafe, terminalSafeLine } from '../../cli/terminal-safe.ts';
import { type LocalStack, startLocalStack } from '../../local/local-stack.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import type { LocalResources } from '../../local/provision.ts';
import { cli, stateFileFor, tempDir, until } from './support.ts';

const ESC = '\x1b';
/** OSC 52: write "hi" to the operator's clipboard. */
const OSC52 = `${ESC}]52;c;aGk=\x07`;
/** Cursor up one line, erase it: hides the line above and forges a new one. */
const ERASE_LINE_ABOVE = `${ESC}[1A${ESC}[2K`;
/** CSI in its C1 form, DEL, and a carriage return. */
const C1_DEL_CR = '\u009b31m\u007f\r';
const HOSTILE = `oops ${OSC52}${ERASE_LINE_ABOVE}delivered ok ${C1_DEL_CR}end`;
/** Any C0 control but tab and newline, DEL, any C1 control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const API_KEY = 'wh_test_terminal_safe_0123456789';

describe('terminalSafe', () => {
  it('drops C0 controls but tab and newline, DEL and C1 controls, and nothing else', () => {
    expect(terminalSafe(`a${OSC52}b${ERASE_LINE_ABOVE}c${C1_DEL_CR}d\x00\x08\x0b\x0c\x1f`)).toBe(
      'a]52;c;aGk=b[1A[2Kc31md',
    );
    expect(terminalSafe('col\tcol\nnext line')).toBe('col\tcol\nnext line');
    // Printable text outside ASCII stays, including the neighbours of the C1 range.
    expect(terminalSafe('\u007e\u00a0é€😀 ~')).toBe('\u007e\u00a0é€😀 ~');
  });

  it('makes one line of a cell: tab and newline become spaces', () => {
    expect(terminalSafeLine(`two\nlines\tand ${ESC}[31mred`)).toBe('two lines and [31mred');
  });

  it('keeps tables aligned whatever the cells hold', () => {
    const text = table(
      ['A', 'B'],
      [
        [`${ESC}[31mxy`, '1'],
        ['plain', '2'],
      ],
    );
    expect(text).toBe('A       B\n[31mxy  1\nplain   2\n');
  });
});

describe('a hostile receiver answer, through the local product', () => {
  let moto: MotoServer;
  let stack: LocalStack;
  let receiver: Server;
  let receiverUrl: string;
  let dir: ReturnType<typeof tempDir>;
  let stateFile: string;

  beforeAll(async () => {
    moto = await startMoto();
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(HOSTILE);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    stack = await startLocalStack({
      endpoint: moto.endpoint,
      apiKey: API_KEY,
      policy: { scheduleSeconds: [1], maxAttempts: 1 },
      port: 0,
      prefix: `cli-safe-${process.pid}`,
      env: { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
    });
    dir = tempDir();
    stateFile = stateFileFor(dir.path, stack.resources, { apiUrl: stack.apiUrl, apiKey: API_KEY });
  });

  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    await moto?.stop();
    dir?.remove();
  });

  it('deliveries show: human output has no control characters, --json has the excerpt as stored', async () => {
    // Prepare: an endpoint, an event to it, and its one attempt dead with the hostile answer.
    const created = await cli([
      'endpoints',
      'create',
      '--url',
      receiverUrl,
      '--state-file',
      stateFile,
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const endpointId = (JSON.parse(created.stdout) as { id: string }).id;
    const sent = await cli([
      ...['send', '--type', 'invoice.paid', '--data', '{}', '--endpoint', endpointId],
      ...['--state-file', stateFile, '--json'],
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    const deliveryId = (JSON.parse(sent.stdout) as { deliveries: { id: string }[] }).deliveries[0]?.id ?? '';
    await until(
      async () => {
        const shown = await cli(['deliveries', 'show', deliveryId, '--state-file', stateFile, '--json']);
        return (JSON.parse(shown.stdout) as DeliveryView).status === 'dead' ? true : undefined;
      },
      30_000,
      'the delivery to be dead',
      300,
    );

    // Act
    const json = await cli(['deliveries', 'show', deliveryId, '--state-file', stateFile, '--json']);
    const human = await cli(['deliveries', 'show', deliveryId, '--state-file', stateFile]);

    // Assess: --json is the API's JSON, control characters escaped by JSON itself.
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as DeliveryView & { attempts: { responseExcerpt: string }[] };
    expect(view.attempts[0]?.responseExcerpt).toBe(HOSTILE);
    expect(json.stdout).toContain(String.raw`\u001b]52;c;aGk=\u0007\u001b[1A\u001b[2Kdelivered ok`);
    // Assess: human output shows the text, not the sequences.
    expect(human.code).toBe(0);
    expect(human.stderr).toBe('');
    expect(human.stdout).not.toContain(ESC);
    expect(human.stdout).not.toMatch(CONTROL);
    expect(human.stdout).toMatch(
      /\n1\s+\S+Z\s+500\s+\d+ ms\s+.*oops \]52;c;aGk=\[1A\[2Kdelivered ok 31m end\n/,
    );
  });
});

describe('API answers with control characters, from a fake API on loopback', () => {
  let api: Server;
  let dir: ReturnType<typeof tempDir>;
  let stateFile: string;
  const resources: LocalResources = {
    endpoints: {
      sqs: 'http://127.0.0.1:9',
      dynamodb: 'http://127.0.0.1:9',
      secretsManager: 'http://127.0.0.1:9',
    },
    region: 'us-east-1',
    tables: { Events: 'e', Deliveries: 'd', Attempts: 'a', Endpoints: 'n' },
    deliveryQueueUrl: 'http://127.0.0.1:9/123456789012/deliveries',
    deadLetterQueueUrl: 'http://127.0.0.1:9/123456789012/dlq',
    apiKeysSecretId: 'k',
    portalKeySecretId: 'p',
    endpointSecretPrefix: 's',
  };
  const endpoint = {
    id: 'ep_01',
    url: `https://example.com/${ESC}[2K`,
    eventTypes: ['*'],
    description: `billing${ERASE_LINE_ABOVE}\nsecond line\u009b2J`,
    enabled: false,
    disabledReason: `gone${OSC52}`,
    failureStreak: 0,
    createdAt: '2024-05-01T12:00:00.000Z',
    updatedAt: '2024-05-01T12:00:00.000Z',
  };

  beforeAll(async () => {
    api = createServer((request, response) => {
      request.resume();
      if (request.url?.startsWith('/endpoints?')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ items: [endpoint], nextCursor: null }));
      } else if (request.url === '/endpoints/ep_01') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(endpoint));
      } else {
        response.writeHead(400, { 'content-type': 'application/json', trackingid: 't1' });
        response.end(
          JSON.stringify({ error: { code: 'bad_request', message: `no ${OSC52}${ERASE_LINE_ABOVE}` } }),
        );
      }
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    dir = tempDir();
    stateFile = stateFileFor(dir.path, resources, {
      apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      apiKey: API_KEY,
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
    dir?.remove();
  });

  it('endpoints list and show: one clean line per row and field; --json unchanged', async () => {
    const list = await cli(['endpoints', 'list', '--state-file', stateFile]);
    const show = await cli(['endpoints', 'show', 'ep_01', '--state-file', stateFile]);
    const json = await cli(['endpoints', 'show', 'ep_01', '--state-file', stateFile, '--json']);

    expect(list.code).toBe(0);
    expect(list.stdout).not.toMatch(CONTROL);
    expect(list.stdout.split('\n')).toHaveLength(3);
    expect(list.stdout).toContain('billing[1A[2K second line2J');
    expect(show.code).toBe(0);
    expect(show.stdout).not.toMatch(CONTROL);
    expect(show.stdout).toContain('\nstate:       disabled (gone]52;c;aGk=)\n');
    expect(show.stdout).toContain('\ndescription: billing[1A[2K second line2J\n');
    expect(JSON.parse(json.stdout)).toEqual(endpoint);
    expect(json.stdout).toBe(`${JSON.stringify(endpoint, null, 2)}\n`);
  });

  it('an API error message: the one-line reason on stderr has no control characters', async () => {
    const result = await cli(['deliveries', 'retry', 'dlv_x', '--state-file', stateFile, '--json']);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('webhooks: bad_request (HTTP 400): no ]52;c;aGk=[1A[2K [Trackingid t1]\n');
  });
});
