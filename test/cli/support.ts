/**
 * Helpers of the CLI tests: running the CLI in-process or as a child process, a local state
 * file in a temporary directory, and filling and draining queues on moto.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { run } from '../../cli/main.ts';
import { deliveryId, newEndpointId, newEventId } from '../../lambdas/core/ids.ts';
import {
  buildWebhookBody,
  type DeliveryMessage,
  decodeMessage,
  encodeMessage,
} from '../../lambdas/core/payload.ts';
import { EMULATOR_CREDENTIALS, type LocalResources } from '../../local/provision.ts';
import { writeState } from '../../local/state-file.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in this process with its own output buffers and environment. */
export async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    env,
    stderrIsTTY: false,
  });
  return { code, stdout, stderr };
}

/** Runs `node bin/webhooks.mjs ...` as the operator would. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [join(REPO_ROOT, 'bin', 'webhooks.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Waits for a child process to end and collects its output. */
export function collect(child: ReturnType<typeof spawnCli>): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr }));
  });
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'webhooks-cli-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes a local state file for `resources` and returns its path. */
export function stateFileFor(
  dir: string,
  resources: LocalResources,
  api: { apiUrl?: string; apiKey?: string } = {},
): string {
  const path = join(dir, `state-${Math.random().toString(36).slice(2)}.json`);
  const apiUrl = api.apiUrl ?? 'http://127.0.0.1:9';
  writeState(
    {
      ...resources,
      apiUrl,
      apiKey: api.apiKey ?? 'unused',
      dashboardUrl: `${apiUrl}/dashboard`,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    },
    path,
  );
  return path;
}

export function sqsFor(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS });
}

/** A well-formed delivery message. */
export function deliveryMessage(endpointId: string, eventType: string, createdAtMs: number): DeliveryMessage {
  const eventId = newEventId(createdAtMs);
  return {
    deliveryId: deliveryId(eventId, endpointId, createdAtMs),
    eventId,
    endpointId,
    eventType,
    createdAtMs,
    body: buildWebhookBody(eventType, createdAtMs, { n: createdAtMs }),
  };
}

/** Sends raw bodies to a queue, ten per call. */
export async function sendBodies(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  for (let index = 0; index < bodies.length; index += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies
          .slice(index, index + 10)
          .map((body, offset) => ({ Id: String(offset), MessageBody: body })),
      }),
    );
  }
}

export const ENDPOINT_A = newEndpointId();
export const ENDPOINT_B = newEndpointId();
export const TYPES = ['invoice.paid', 'user.created'] as const;
/** Event times of the fixture: one minute apart from here. */
export const BASE_MS = Date.UTC(2024, 4, 1, 12, 0, 0);
export const UNPARSEABLE_BODY = 'this is not a delivery message';

/**
 * The DLQ fixture: 3 messages for each of 2 endpoints x 2 types (12, created one minute apart,
 * the 7th and later on or after BASE_MS + 6 min), plus one body that is not a delivery message.
 */
export function dlqFixture(): { messages: DeliveryMessage[]; bodies: string[] } {
  const messages: DeliveryMessage[] = [];
  let minute = 0;
  for (let round = 0; round < 3; round++) {
    for (const endpointId of [ENDPOINT_A, ENDPOINT_B]) {
      for (const type of TYPES) messages.push(deliveryMessage(endpointId, type, BASE_MS + minute++ * 60_000));
    }
  }
  return { messages, bodies: [...messages.map(encodeMessage), UNPARSEABLE_BODY] };
}

/**
 * Receives every message of a queue (hiding each for a minute, then deleting nothing) and
 * returns the bodies. Stops after three receives that bring nothing new.
 */
export async function drainBodies(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies = new Map<string, string>();
  let empty = 0;
  while (empty < 3) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
      }),
    );
    let fresh = 0;
    for (const message of Messages) {
      if (bodies.has(message.MessageId ?? '')) continue;
      fresh++;
      bodies.set(message.MessageId ?? '', message.Body ?? '');
    }
    empty = fresh === 0 ? empty + 1 : 0;
  }
  return [...bodies.values()];
}

/** Deletes every message of a queue. */
export async function purge(sqs: SQSClient, queueUrl: string): Promise<void> {
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) return;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle ?? '',
        })),
      }),
    );
  }
}

export async function visibleCount(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

/** The delivery id of a body, or the body itself when it is not a delivery message. */
export function idOf(body: string): string {
  try {
    return decodeMessage(body).deliveryId;
  } catch {
    return body;
  }
}

export async function until<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
