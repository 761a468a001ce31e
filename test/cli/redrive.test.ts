/**
 * `webhooks redrive` and `webhooks dlq` against moto: every test gets its own queues (a unique
 * `provision()` prefix) filled with the same DLQ fixture.
 */
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedriveResult } from '../../cli/redrive.ts';
import type { DeliveryMessage } from '../../lambdas/core/payload.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { type LocalResources, provision } from '../../local/provision.ts';
import {
  BASE_MS,
  cli,
  collect,
  dlqFixture,
  drainBodies,
  ENDPOINT_A,
  ENDPOINT_B,
  idOf,
  sendBodies,
  spawnCli,
  sqsFor,
  stateFileFor,
  tempDir,
  UNPARSEABLE_BODY,
  until,
  visibleCount,
} from './support.ts';

let moto: MotoServer;
let sqs: SQSClient;
let dir: ReturnType<typeof tempDir>;
let queues = 0;

beforeAll(async () => {
  moto = await startMoto();
  sqs = sqsFor(moto.endpoint);
  dir = tempDir();
});

afterAll(async () => {
  sqs?.destroy();
  await moto?.stop();
  dir?.remove();
});

interface Fixture {
  readonly resources: LocalResources;
  readonly stateFile: string;
  readonly messages: DeliveryMessage[];
  readonly bodies: string[];
}

/** Fresh queues with the DLQ fixture (12 deliveries, 1 unparseable body) in the DLQ. */
async function filledDlq(bodies = dlqFixture()): Promise<Fixture> {
  const resources = await provision({
    endpoint: moto.endpoint,
    prefix: `cli-redrive-${process.pid}-${++queues}`,
    policy: { scheduleSeconds: [1], maxAttempts: 3 },
    apiKey: 'test-key',
  });
  await sendBodies(sqs, resources.deadLetterQueueUrl, bodies.bodies);
  return { resources, stateFile: stateFileFor(dir.path, resources), ...bodies };
}

async function redriveJson(fixture: Fixture, ...args: string[]): Promise<RedriveResult> {
  const result = await cli(['redrive', '--state-file', fixture.stateFile, '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as RedriveResult;
}

const idsOf = (bodies: readonly string[]) => bodies.map(idOf).sort();
const idsWhere = (fixture: Fixture, keep: (message: DeliveryMessage) => boolean) =>
  fixture.messages
    .filter(keep)
    .map((message) => message.deliveryId)
    .sort();

describe('webhooks redrive (moto)', () => {
  it('moves everything when unfiltered, falling back from StartMessageMoveTask, bodies unchanged', async () => {
    // Prepare
    const fixture = await filledDlq();
    // Act
    const result = await redriveJson(fixture);
    // Assess
    expect(result).toMatchObject({ method: 'manual', moved: 13, left: 0, failed: 0, dryRun: false });
    expect(result.fallbackReason).toMatch(/does not support StartMessageMoveTask/);
    expect(await drainBodies(sqs, fixture.resources.deadLetterQueueUrl)).toEqual([]);
    const moved = await drainBodies(sqs, fixture.resources.deliveryQueueUrl);
    expect([...moved].sort()).toEqual([...fixture.bodies].sort());
  });

  it('--endpoint moves only that endpoint and leaves the rest in the DLQ', async () => {
    const fixture = await filledDlq();

    const result = await redriveJson(fixture, '--endpoint', ENDPOINT_A);

    expect(result).toMatchObject({ method: 'manual', moved: 6, left: 7, failed: 0, fallbackReason: null });
    expect(result.groups).toEqual([
      { endpointId: ENDPOINT_A, eventType: 'invoice.paid', count: 3 },
      { endpointId: ENDPOINT_A, eventType: 'user.created', count: 3 },
    ]);
    // Left messages are visible again at once, not after the visibility timeout.
    expect(await visibleCount(sqs, fixture.resources.deadLetterQueueUrl)).toBe(7);
    const left = await drainBodies(sqs, fixture.resources.deadLetterQueueUrl);
    expect(idsOf(left)).toEqual(
      [...idsWhere(fixture, (m) => m.endpointId === ENDPOINT_B), UNPARSEABLE_BODY].sort(),
    );
    const moved = await drainBodies(sqs, fixture.resources.deliveryQueueUrl);
    expect(idsOf(moved)).toEqual(idsWhere(fixture, (m) => m.endpointId === ENDPOINT_A));
  });

  it('--type moves only that event type', async () => {
    const fixture = await filledDlq();

    const result = await redriveJson(fixture, '--type', 'user.created');

    expect(result).toMatchObject({ moved: 6, left: 7, failed: 0 });
    const moved = await drainBodies(sqs, fixture.resources.deliveryQueueUrl);
    expect(idsOf(moved)).toEqual(idsWhere(fixture, (m) => m.eventType === 'user.created'));
    expect(await drainBodies(sqs, fixture.resources.deadLetterQueueUrl)).toHaveLength(7);
  });

  it('--since moves only events created since then (ISO or Unix seconds)', async () => {
    const fixture = await filledDlq();
    const since = BASE_MS + 6 * 60_000;

    const result = await redriveJson(fixture, '--since', String(since / 1000));

    expect(result).toMatchObject({ moved: 6, left: 7 });
    const moved = await drainBodies(sqs, fixture.resources.deliveryQueueUrl);
    expect(idsOf(moved)).toEqual(idsWhere(fixture, (m) => m.createdAtMs >= since));

    const iso = await filledDlq();
    const isoResult = await redriveJson(
      iso,
      '--since',
      new Date(since).toISOString(),
      '--endpoint',
      ENDPOINT_B,
    );
    // B's events are minutes 2, 3, 6, 7, 10 and 11 of the fixture.
    expect(isoResult).toMatchObject({ moved: 4, left: 9 });
  });

  it('--max caps how many move', async () => {
    const fixture = await filledDlq();

    const result = await redriveJson(fixture, '--max', '5');

    expect(result).toMatchObject({ method: 'manual', moved: 5, failed: 0 });
    expect(await drainBodies(sqs, fixture.resources.deliveryQueueUrl)).toHaveLength(5);
    expect(await drainBodies(sqs, fixture.resources.deadLetterQueueUrl)).toHaveLength(8);
  });

  it('--dry-run moves nothing and counts per endpoint and type', async () => {
    const fixture = await filledDlq();

    const result = await redriveJson(fixture, '--dry-run', '--type', 'invoice.paid');

    expect(result).toMatchObject({ dryRun: true, moved: 6, left: 7, failed: 0 });
    expect(result.groups).toEqual(
      expect.arrayContaining([
        { endpointId: ENDPOINT_A, eventType: 'invoice.paid', count: 3 },
        { endpointId: ENDPOINT_B, eventType: 'invoice.paid', count: 3 },
      ]),
    );
    expect(await visibleCount(sqs, fixture.resources.deadLetterQueueUrl)).toBe(13);
    expect(await drainBodies(sqs, fixture.resources.deliveryQueueUrl)).toEqual([]);
  });

  it('moves a second copy of a delivery that was already in the DLQ', async () => {
    const fixture = dlqFixture();
    const first = fixture.bodies[0] ?? '';
    const withCopy = await filledDlq({ messages: fixture.messages, bodies: [...fixture.bodies, first] });
    // Older than the run, beyond the guard's allowance for clock skew.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    const result = await redriveJson(withCopy);

    expect(result).toMatchObject({ moved: 14, repeated: 0 });
    expect(await drainBodies(sqs, withCopy.resources.deadLetterQueueUrl)).toEqual([]);
  });

  it('ends even when moved messages fail for good at once and come straight back', async () => {
    // Prepare: a stand-in for a worker that parks everything (a disabled endpoint): whatever
    // reaches the delivery queue goes straight back to the DLQ.
    const fixture = await filledDlq();
    let bouncing = true;
    let bounced = 0;
    const bouncer = (async () => {
      while (bouncing) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: fixture.resources.deliveryQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        for (const message of Messages) {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: fixture.resources.deadLetterQueueUrl,
              MessageBody: message.Body ?? '',
            }),
          );
          await sqs.send(
            new DeleteMessageCommand({
              QueueUrl: fixture.resources.deliveryQueueUrl,
              ReceiptHandle: message.ReceiptHandle ?? '',
            }),
          );
          bounced++;
        }
      }
    })();
    // Act
    const result = await redriveJson(fixture, '--rate', '5');
    bouncing = false;
    await bouncer;
    // Assess: each delivery moved once; what came back during the run stayed in the DLQ.
    expect(result.moved).toBe(13);
    expect(result.repeated).toBeGreaterThan(0);
    expect(result.repeated).toBeLessThanOrEqual(bounced);
  });

  it('prints a readable summary without --json', async () => {
    const fixture = await filledDlq();

    const { code, stdout, stderr } = await cli([
      'redrive',
      '--state-file',
      fixture.stateFile,
      '--endpoint',
      ENDPOINT_B,
      '--rate',
      '50',
    ]);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('selection: endpoint');
    expect(stdout).toMatch(/ENDPOINT\s+TYPE\s+MOVED/);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('moved 6, left 7 (not matching), failed 0');
  });

  it('loses no message when killed halfway', async () => {
    // Prepare: 40 deliveries, moved at 5 per second, hidden only 3 s while held.
    const many = { messages: [] as DeliveryMessage[], bodies: [] as string[] };
    for (let round = 0; round < 4; round++) {
      const next = dlqFixture();
      many.messages.push(...next.messages.slice(0, 10));
      many.bodies.push(...next.bodies.slice(0, 10));
    }
    const fixture = await filledDlq(many);
    const child = spawnCli([
      'redrive',
      '--state-file',
      fixture.stateFile,
      '--rate',
      '5',
      '--visibility-timeout',
      '3',
    ]);
    const exited = collect(child);
    // Act: kill it once some, but not all, have moved.
    await until(
      async () => ((await visibleCount(sqs, fixture.resources.deliveryQueueUrl)) >= 8 ? true : undefined),
      30_000,
      'the redrive to move some messages',
      100,
    );
    child.kill('SIGKILL');
    await exited;
    // Held messages reappear once their visibility runs out: none is left in flight in the DLQ.
    await until(
      async () => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: fixture.resources.deadLetterQueueUrl,
            AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) === 0 ? true : undefined;
      },
      30_000,
      'the held messages visible in the DLQ again',
    );
    // Assess
    const inDelivery = new Set(idsOf(await drainBodies(sqs, fixture.resources.deliveryQueueUrl)));
    const inDlq = new Set(idsOf(await drainBodies(sqs, fixture.resources.deadLetterQueueUrl)));
    const expected = fixture.messages.map((message) => message.deliveryId);
    expect(inDelivery.size).toBeGreaterThanOrEqual(8);
    expect(inDelivery.size).toBeLessThan(40);
    for (const id of expected) expect(inDelivery.has(id) || inDlq.has(id)).toBe(true);
    expect(new Set([...inDelivery, ...inDlq]).size).toBe(40);
  });

  it('stops cleanly on Ctrl-C: summary, exit 130, the rest visible in the DLQ at once', async () => {
    // Prepare
    const fixture = await filledDlq();
    const child = spawnCli(['redrive', '--state-file', fixture.stateFile, '--rate', '2', '--json']);
    const exited = collect(child);
    await until(
      async () => ((await visibleCount(sqs, fixture.resources.deliveryQueueUrl)) >= 2 ? true : undefined),
      30_000,
      'the redrive to move some messages',
      100,
    );
    // Act
    child.kill('SIGINT');
    const { code, stdout, stderr } = await exited;
    // Assess
    expect(code).toBe(130);
    const result = JSON.parse(stdout) as RedriveResult;
    expect(result.interrupted).toBe(true);
    expect(result.moved).toBeGreaterThanOrEqual(2);
    expect(result.moved).toBeLessThan(13);
    expect(stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^webhooks: interrupted: moved \d+, left 0 \(not matching\), failed 0; /,
    );
    expect(await visibleCount(sqs, fixture.resources.deadLetterQueueUrl)).toBe(13 - result.moved);
    expect(await visibleCount(sqs, fixture.resources.deliveryQueueUrl)).toBe(result.moved);
  });
});

describe('webhooks dlq (moto)', () => {
  it('count reports visible and in-flight messages', async () => {
    const fixture = await filledDlq();

    const result = await cli(['dlq', 'count', '--state-file', fixture.stateFile, '--json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      queueUrl: fixture.resources.deadLetterQueueUrl,
      total: 13,
      visible: 13,
      inFlight: 0,
      delayed: 0,
    });
    const human = await cli(['dlq', 'count', '--state-file', fixture.stateFile]);
    expect(human.stdout).toBe('13 messages in the dead-letter queue (13 visible, 0 in flight)\n');
  });

  it('peek shows messages and consumes none', async () => {
    const fixture = await filledDlq();

    const result = await cli(['dlq', 'peek', '--state-file', fixture.stateFile, '--max', '5', '--json']);

    expect(result.code).toBe(0);
    const { messages } = JSON.parse(result.stdout) as { messages: Record<string, unknown>[] };
    expect(messages).toHaveLength(5);
    const known = new Map(fixture.messages.map((message) => [message.deliveryId, message]));
    for (const peeked of messages) {
      if (peeked.deliveryId === null) continue;
      const original = known.get(peeked.deliveryId as string);
      expect(peeked).toMatchObject({
        eventId: original?.eventId,
        endpointId: original?.endpointId,
        eventType: original?.eventType,
        receiveCount: 1,
      });
      expect(peeked.bodyBytes).toBeGreaterThan(100);
    }
    expect(await visibleCount(sqs, fixture.resources.deadLetterQueueUrl)).toBe(13);
    const human = await cli(['dlq', 'peek', '--state-file', fixture.stateFile, '--max', '20']);
    expect(human.stdout).toMatch(/^DELIVERY\s+EVENT\s+ENDPOINT\s+TYPE\s+RECEIVES\s+BODY\s+CREATED\n/);
    expect(human.stdout.trimEnd().split('\n')).toHaveLength(14);
  });
});
