/**
 * lambdas/adapters/queue.ts against moto's SQS: what each call sends (batches, groups, delays,
 * visibility) and what arrives in the queue, with failures injected in front of the emulator
 * (a refused entry, a failed request) to show which messages are sent again and which are
 * reported back. Written to kill the module's Stryker mutants (docs/mutation-testing.md).
 */
import { CreateQueueCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Queue from '../../lambdas/adapters/queue.ts';
import {
  type DeliveryMessage,
  encodeEventCheck,
  encodeMessage,
  encodeRelease,
} from '../../lambdas/core/payload.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { type CommandRecorder, REGION, recordCommands, uniqueName, useMoto } from '../support/mutants-aws.ts';

const moto = useMoto();
let queue: typeof Queue;
let recorder: CommandRecorder;
let client: SQSClient;

beforeAll(async () => {
  queue = await import('../../lambdas/adapters/queue.ts');
  const { sqs } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(sqs);
  client = new SQSClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS });
});

afterEach(() => {
  recorder.reset();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});
afterAll(() => client?.destroy());

async function newQueue(): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: uniqueName('mutants-q') }));
  return QueueUrl as string;
}

/** Every message visible in the queue now (receives until one comes back empty). */
async function drain(queueUrl: string, visibilityTimeout = 60): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibilityTimeout,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

function message(index: number, endpointId = `ep_${index % 2}`): DeliveryMessage {
  return {
    deliveryId: `dl_${index}`,
    eventId: `ev_${index}`,
    endpointId,
    eventType: 'order.created',
    createdAtMs: 1_700_000_000_000 + index,
    body: JSON.stringify({ n: index, text: 'é' }),
  };
}

type Entry = { Id: string; MessageBody: string; MessageGroupId?: string; DelaySeconds?: number };
const entriesOf = (input: Record<string, unknown>) => input.Entries as Entry[];
const batches = () => recorder.sent.filter((command) => command.command === 'SendMessageBatchCommand');

describe('enqueueDeliveries', () => {
  it('sends every message once, ten to a batch, each in its endpoint group and framed as the worker reads it', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const messages = Array.from({ length: 23 }, (_, index) => message(index));

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, messages);

    // Assess
    expect(unsent).toEqual([]);
    expect(batches().map((batch) => entriesOf(batch.input).length)).toEqual([10, 10, 3]);
    for (const batch of batches()) {
      expect(batch.input.QueueUrl).toBe(queueUrl);
      entriesOf(batch.input).forEach((entry, index) => {
        expect(entry.Id).toBe(String(index));
        expect(entry).not.toHaveProperty('DelaySeconds');
      });
    }
    expect(entriesOf(batches()[2]?.input ?? {}).map((entry) => entry.MessageGroupId)).toEqual([
      'ep_0',
      'ep_1',
      'ep_0',
    ]);
    const arrived = await drain(queueUrl);
    expect(arrived.map((m) => m.Body).sort()).toEqual(messages.map(encodeMessage).sort());
    const groups = new Map(arrived.map((m) => [m.Body, m.Attributes?.MessageGroupId]));
    for (const sent of messages) expect(groups.get(encodeMessage(sent))).toBe(sent.endpointId);
  });

  it("gives each message its own delay, whole seconds from 0 to SQS's 900, and none when it is 0", async () => {
    // Prepare
    const queueUrl = await newQueue();
    const delays = [-3, 0, 0.7, 2.9, 5000];
    const messages = delays.map((_, index) => message(index));

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, messages, {
      delaySeconds: (index) => delays[index] as number,
    });

    // Assess
    expect(unsent).toEqual([]);
    expect(entriesOf(batches()[0]?.input ?? {}).map((entry) => entry.DelaySeconds)).toEqual([
      undefined,
      undefined,
      undefined,
      2,
      900,
    ]);
    // The three without a delay are there at once; the delayed two are not yet.
    expect((await drain(queueUrl)).map((m) => m.Body).sort()).toEqual(
      messages.slice(0, 3).map(encodeMessage).sort(),
    );
  });

  it('sends again, in a later round, only the entries SQS refused', async () => {
    // Prepare: the first request's entry 1 is refused (the emulator never sees it).
    const queueUrl = await newQueue();
    const messages = [0, 1, 2].map((index) => message(index));
    let requests = 0;
    recorder.intercept = (command, send) => {
      if (command.command !== 'SendMessageBatchCommand' || requests++ > 0) return undefined;
      const entries = entriesOf(command.input);
      return send({ ...command.input, Entries: entries.filter((entry) => entry.Id !== '1') }).then(
        ({ output }) => ({
          output: {
            ...(output as object),
            Failed: [{ Id: '1', SenderFault: false, Code: 'InternalError' }],
          },
        }),
      );
    };

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, messages);

    // Assess
    expect(unsent).toEqual([]);
    expect(batches().map((batch) => entriesOf(batch.input).map((entry) => entry.MessageBody))).toEqual([
      messages.map(encodeMessage),
      [encodeMessage(messages[1] as DeliveryMessage)],
    ]);
    expect((await drain(queueUrl)).map((m) => m.Body).sort()).toEqual(messages.map(encodeMessage).sort());
  });

  it('sends a whole failed request again, and reports what never went out after the last round', async () => {
    // Prepare: the first request fails outright; later, entry 0 is always refused.
    const queueUrl = await newQueue();
    const messages = [0, 1].map((index) => message(index));
    let requests = 0;
    recorder.intercept = (command, send) => {
      if (command.command !== 'SendMessageBatchCommand') return undefined;
      if (requests++ === 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      const entries = entriesOf(command.input);
      return send({ ...command.input, Entries: entries.slice(1) }).then(({ output }) => ({
        output: { ...(output as object), Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }] },
      }));
    };

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, messages);

    // Assess: three rounds (the default); message 1 went out in the second, message 0 never.
    expect(unsent).toEqual(['dl_0']);
    expect(batches().map((batch) => entriesOf(batch.input).length)).toEqual([2, 2, 1]);
    expect((await drain(queueUrl)).map((m) => m.Body)).toEqual([
      encodeMessage(messages[1] as DeliveryMessage),
    ]);
  });

  it('stops after `rounds` requests, and reports every delivery id in order', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const messages = [0, 1, 2].map((index) => message(index));
    recorder.intercept = (command) => {
      if (command.command === 'SendMessageBatchCommand') throw new Error('connection reset');
      return undefined;
    };

    // Act
    const once = await queue.enqueueDeliveries(queueUrl, messages, { rounds: 1 });
    const onceRequests = batches().length;
    const twice = await queue.enqueueDeliveries(queueUrl, messages, {
      rounds: 2,
      deadlineMs: Date.now() + 60_000,
    });

    // Assess
    expect(once).toEqual(['dl_0', 'dl_1', 'dl_2']);
    expect(onceRequests).toBe(1);
    expect(twice).toEqual(['dl_0', 'dl_1', 'dl_2']);
    expect(batches()).toHaveLength(3);
  });

  it('sends nothing once the deadline has passed, and reports every message', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const messages = [0, 1].map((index) => message(index));

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, messages, { deadlineMs: Date.now() - 1 });

    // Assess
    expect(unsent).toEqual(['dl_0', 'dl_1']);
    expect(recorder.sent).toEqual([]);
    expect(await drain(queueUrl)).toEqual([]);
  });

  it('sends before a deadline that is still ahead', async () => {
    // Prepare
    const queueUrl = await newQueue();

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, [message(0)], { deadlineMs: Date.now() + 60_000 });

    // Assess
    expect(unsent).toEqual([]);
    expect((await drain(queueUrl)).map((m) => m.Body)).toEqual([encodeMessage(message(0))]);
  });

  it('sends nothing for no messages', async () => {
    const queueUrl = await newQueue();
    expect(await queue.enqueueDeliveries(queueUrl, [])).toEqual([]);
    expect(recorder.sent).toEqual([]);
  });

  it('sends nothing when the deadline is exactly now', async () => {
    // Prepare: the clock stands still at the deadline.
    const queueUrl = await newQueue();
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now);

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, [message(0)], { deadlineMs: now });

    // Assess
    expect(unsent).toEqual(['dl_0']);
    expect(recorder.sent).toEqual([]);
  });

  it('pauses 200 ms, then 400 ms, before the second and third rounds, and not before the first', async () => {
    // Prepare: every request fails; the timers the module sets are recorded.
    const queueUrl = await newQueue();
    recorder.intercept = (command) => {
      if (command.command === 'SendMessageBatchCommand') throw new Error('connection reset');
      return undefined;
    };
    const timers = vi.spyOn(globalThis, 'setTimeout');

    // Act
    await queue.enqueueDeliveries(queueUrl, [message(0)]);

    // Assess: the SDK sets timers of its own; the pauses are the only ones of these lengths.
    const pauses = timers.mock.calls
      .map(([, ms]) => ms)
      .filter((ms) => [25, 50, 100, 200, 400, 800].includes(ms as number));
    expect(pauses).toEqual([200, 400]);
  });

  it('gives each request the time left before the deadline, and gives up a request still going then', async () => {
    // Prepare: the deadline's signal has already fired when the request would go out.
    const queueUrl = await newQueue();
    const timeouts = vi.spyOn(AbortSignal, 'timeout').mockImplementation(() => AbortSignal.abort());
    const deadlineMs = Date.now() + 60_000;

    // Act
    const unsent = await queue.enqueueDeliveries(queueUrl, [message(0), message(1)], {
      deadlineMs,
      rounds: 1,
    });

    // Assess
    expect(unsent).toEqual(['dl_0', 'dl_1']);
    expect(timeouts).toHaveBeenCalledTimes(1);
    const given = timeouts.mock.calls[0]?.[0] as number;
    expect(given).toBeGreaterThan(59_000);
    expect(given).toBeLessThanOrEqual(60_000);
    expect(await drain(queueUrl)).toEqual([]);
  });

  it('sets no deadline on a request when the caller gave none', async () => {
    const queueUrl = await newQueue();
    const timeouts = vi.spyOn(AbortSignal, 'timeout');
    expect(await queue.enqueueDeliveries(queueUrl, [message(0)])).toEqual([]);
    expect(timeouts).not.toHaveBeenCalled();
  });
});

describe('the X-Ray trace header', () => {
  const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  const attribute = { AWSTraceHeader: { DataType: 'String', StringValue: header } };

  it('goes with every message sent inside Lambda, as a system attribute', async () => {
    // Prepare
    vi.stubEnv('_X_AMZN_TRACE_ID', header);
    const queueUrl = await newQueue();

    // Act
    await queue.enqueueDeliveries(queueUrl, [message(0), message(1)]);
    await queue.enqueueOne(queueUrl, message(2));
    await queue.sendRelease(queueUrl, 'ep_0');
    await queue.sendEventChecks(queueUrl, ['ev_1'], 0);
    await queue.sendEventChecks(queueUrl, ['ev_2', 'ev_3'], 0);
    await queue.sendToDeadLetter(queueUrl, 'parked');

    // Assess
    const carried = recorder.sent.flatMap((command) =>
      command.command === 'SendMessageBatchCommand'
        ? entriesOf(command.input).map(
            (entry) => (entry as { MessageSystemAttributes?: unknown }).MessageSystemAttributes,
          )
        : [command.input.MessageSystemAttributes],
    );
    expect(carried).toEqual(Array(8).fill(attribute));
    expect(queue.traceHeaderAttribute()).toEqual({ MessageSystemAttributes: attribute });
  });

  it('is left out where there is none', async () => {
    vi.stubEnv('_X_AMZN_TRACE_ID', '');
    expect(queue.traceHeaderAttribute()).toEqual({});
    delete process.env._X_AMZN_TRACE_ID;
    expect(queue.traceHeaderAttribute()).toEqual({});
  });
});

describe('single messages', () => {
  it('enqueueOne sends the framed message in its endpoint group', async () => {
    // Prepare
    const queueUrl = await newQueue();

    // Act
    await queue.enqueueOne(queueUrl, message(7, 'ep_one'));

    // Assess
    const [arrived, ...more] = await drain(queueUrl);
    expect(more).toEqual([]);
    expect(arrived?.Body).toBe(encodeMessage(message(7, 'ep_one')));
    expect(arrived?.Attributes?.MessageGroupId).toBe('ep_one');
  });

  it('sendRelease asks for the release in the endpoint group, delayed by whole seconds up to 900', async () => {
    // Prepare
    const queueUrl = await newQueue();

    // Act
    await queue.sendRelease(queueUrl, 'ep_now');
    await queue.sendRelease(queueUrl, 'ep_zero', 0);
    await queue.sendRelease(queueUrl, 'ep_later', 2.9);
    await queue.sendRelease(queueUrl, 'ep_capped', 5000);

    // Assess
    expect(recorder.sent.map((command) => command.input)).toEqual([
      { QueueUrl: queueUrl, MessageBody: encodeRelease('ep_now'), MessageGroupId: 'ep_now' },
      { QueueUrl: queueUrl, MessageBody: encodeRelease('ep_zero'), MessageGroupId: 'ep_zero' },
      {
        QueueUrl: queueUrl,
        MessageBody: encodeRelease('ep_later'),
        MessageGroupId: 'ep_later',
        DelaySeconds: 2,
      },
      {
        QueueUrl: queueUrl,
        MessageBody: encodeRelease('ep_capped'),
        MessageGroupId: 'ep_capped',
        DelaySeconds: 900,
      },
    ]);
    const arrived = await drain(queueUrl);
    expect(arrived.map((m) => [m.Body, m.Attributes?.MessageGroupId]).sort()).toEqual([
      [encodeRelease('ep_now'), 'ep_now'],
      [encodeRelease('ep_zero'), 'ep_zero'],
    ]);
  });

  it('sendToDeadLetter copies the body unchanged', async () => {
    const queueUrl = await newQueue();
    await queue.sendToDeadLetter(queueUrl, 'raw body\nwith a newline');
    expect((await drain(queueUrl)).map((m) => m.Body)).toEqual(['raw body\nwith a newline']);
  });
});

describe('sendEventChecks', () => {
  it('sends one check as one SendMessage with the delay', async () => {
    // Prepare
    const queueUrl = await newQueue();

    // Act
    await queue.sendEventChecks(queueUrl, ['ev_1'], 0);

    // Assess
    expect(recorder.sent).toEqual([
      {
        command: 'SendMessageCommand',
        input: { QueueUrl: queueUrl, MessageBody: encodeEventCheck('ev_1'), DelaySeconds: 0 },
      },
    ]);
    expect((await drain(queueUrl)).map((m) => m.Body)).toEqual([encodeEventCheck('ev_1')]);
  });

  it('sends more checks ten to a batch, each with the delay', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const eventIds = Array.from({ length: 12 }, (_, index) => `ev_${index}`);

    // Act
    await queue.sendEventChecks(queueUrl, eventIds, 0);
    await queue.sendEventChecks(queueUrl, ['ev_late_a', 'ev_late_b'], 30);

    // Assess
    expect(recorder.names()).toEqual(Array(3).fill('SendMessageBatchCommand'));
    const sent = batches().map((batch) => entriesOf(batch.input));
    expect(sent.map((entries) => entries.length)).toEqual([10, 2, 2]);
    expect(sent.flat().map((entry) => entry.DelaySeconds)).toEqual([...Array(12).fill(0), 30, 30]);
    expect(sent[1]?.map((entry) => [entry.Id, entry.MessageBody])).toEqual([
      ['0', encodeEventCheck('ev_10')],
      ['1', encodeEventCheck('ev_11')],
    ]);
    expect((await drain(queueUrl)).map((m) => m.Body).sort()).toEqual(eventIds.map(encodeEventCheck).sort());
  });

  it('takes an answer without a Failed list as every check sent', async () => {
    const queueUrl = await newQueue();
    recorder.intercept = (command) =>
      command.command === 'SendMessageBatchCommand'
        ? Promise.resolve({ output: { Successful: [] } })
        : undefined;
    await expect(queue.sendEventChecks(queueUrl, ['ev_1', 'ev_2'], 0)).resolves.toBeUndefined();
  });

  it('throws, counting them, when SQS refused any check', async () => {
    // Prepare
    const queueUrl = await newQueue();
    recorder.intercept = (command) =>
      command.command === 'SendMessageBatchCommand'
        ? Promise.resolve({
            output: {
              Successful: [],
              Failed: entriesOf(command.input)
                .slice(0, 2)
                .map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError' })),
            },
          })
        : undefined;
    const eventIds = Array.from({ length: 11 }, (_, index) => `ev_${index}`);

    // Act
    const failure = await queue.sendEventChecks(queueUrl, eventIds, 0).catch((error: Error) => error);

    // Assess: the first two of each batch refused (two of ten, then the one of one).
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('3 of 11 event checks were refused');
  });
});

describe('deferMessage', () => {
  it('hides a received message for whole seconds, never fewer than 0', async () => {
    // Prepare
    const queueUrl = await newQueue();
    await queue.sendToDeadLetter(queueUrl, 'm');
    const [received] = await drain(queueUrl);
    const handle = received?.ReceiptHandle as string;

    // Act
    await queue.deferMessage(queueUrl, handle, 30.9);
    await queue.deferMessage(queueUrl, handle, -5);

    // Assess: the second made it visible again at once.
    expect(recorder.sent.slice(1).map((command) => command.input)).toEqual([
      { QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 30 },
      { QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 },
    ]);
    expect((await drain(queueUrl)).map((m) => m.Body)).toEqual(['m']);
  });

  it('a deferral of under a second makes the message visible again at once', async () => {
    const queueUrl = await newQueue();
    await queue.sendToDeadLetter(queueUrl, 'm');
    const [received] = await drain(queueUrl);
    await queue.deferMessage(queueUrl, received?.ReceiptHandle as string, 0.9);
    expect((await drain(queueUrl)).map((m) => m.Body)).toEqual(['m']);
  });
});

describe('queueDepth', () => {
  it('counts visible and in-flight messages', async () => {
    // Prepare: three messages, one of them received (in flight).
    const queueUrl = await newQueue();
    for (const body of ['a', 'b', 'c']) await queue.sendToDeadLetter(queueUrl, body);
    await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }),
    );

    // Act
    const depth = await queue.queueDepth(queueUrl);

    // Assess
    expect(depth).toEqual({ visible: 2, inFlight: 1 });
    expect(recorder.sent.at(-1)?.input).toEqual({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    });
  });

  it('reads an attribute SQS left out as 0', async () => {
    const queueUrl = await newQueue();
    recorder.intercept = () => Promise.resolve({ output: {} });
    expect(await queue.queueDepth(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    recorder.intercept = () =>
      Promise.resolve({ output: { Attributes: { ApproximateNumberOfMessages: '4' } } });
    expect(await queue.queueDepth(queueUrl)).toEqual({ visible: 4, inFlight: 0 });
    recorder.intercept = () =>
      Promise.resolve({ output: { Attributes: { ApproximateNumberOfMessagesNotVisible: '5' } } });
    expect(await queue.queueDepth(queueUrl)).toEqual({ visible: 0, inFlight: 5 });
  });
});
