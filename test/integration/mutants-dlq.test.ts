/**
 * lambdas/adapters/dlq.ts against moto's SQS: the ARN lookup and its cache, the move task where
 * SQS has one (answered here in moto's place: moto lacks the action), and the bounded copy that
 * takes its place on moto, including refused sends, which must stay in the DLQ. Written to kill
 * the module's Stryker mutants (docs/mutation-testing.md).
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Dlq from '../../lambdas/adapters/dlq.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { type CommandRecorder, REGION, recordCommands, uniqueName, useMoto } from '../support/mutants-aws.ts';

const moto = useMoto();
let dlq: typeof Dlq;
let recorder: CommandRecorder;
let client: SQSClient;

beforeAll(async () => {
  dlq = await import('../../lambdas/adapters/dlq.ts');
  const { sqs } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(sqs);
  client = new SQSClient({ endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS });
});

afterEach(() => recorder.reset());
afterAll(() => client?.destroy());

async function newQueue(): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: uniqueName('mutants-dlq') }));
  return QueueUrl as string;
}

async function arnOf(queueUrl: string): Promise<string> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return Attributes?.QueueArn as string;
}

async function fill(queueUrl: string, bodies: readonly string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies
          .slice(start, start + 10)
          .map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
  }
}

async function drain(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

async function depth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

const bodiesOf = (count: number, tag: string) =>
  Array.from({ length: count }, (_, index) => `${tag}-${index}\n{"n":${index}}`);
const inputsOf = (name: string) =>
  recorder.sent.filter((command) => command.command === name).map((command) => command.input);

describe('queueArn', () => {
  it("looks a queue's ARN up once and answers later calls from memory", async () => {
    // Prepare
    const first = await newQueue();
    const second = await newQueue();

    // Act
    const arns = [await dlq.queueArn(first), await dlq.queueArn(first), await dlq.queueArn(second)];

    // Assess
    expect(arns).toEqual([await arnOf(first), await arnOf(first), await arnOf(second)]);
    expect(arns[0]).not.toBe(arns[2]);
    expect(inputsOf('GetQueueAttributesCommand')).toEqual([
      { QueueUrl: first, AttributeNames: ['QueueArn'] },
      { QueueUrl: second, AttributeNames: ['QueueArn'] },
    ]);
  });

  it('does not remember a failed lookup: the next call asks again', async () => {
    // Prepare
    const queueUrl = await newQueue();
    recorder.intercept = () => {
      throw new Error('throttled');
    };

    // Act
    const failure = await dlq.queueArn(queueUrl).catch((error: Error) => error);
    recorder.intercept = undefined;
    const arn = await dlq.queueArn(queueUrl);

    // Assess
    expect((failure as Error).message).toBe('throttled');
    expect(arn).toBe(await arnOf(queueUrl));
    expect(inputsOf('GetQueueAttributesCommand')).toHaveLength(2);
  });

  it('fails, naming the queue, when SQS returns no ARN, and asks again next time', async () => {
    // Prepare
    const queueUrl = await newQueue();
    const answers = [{}, { Attributes: {} }];
    recorder.intercept = () => Promise.resolve({ output: answers.shift() });

    // Act
    const first = await dlq.queueArn(queueUrl).catch((error: Error) => error);
    const second = await dlq.queueArn(queueUrl).catch((error: Error) => error);

    // Assess
    expect((first as Error).message).toBe(`SQS returned no ARN for ${queueUrl}`);
    expect((second as Error).message).toBe(`SQS returned no ARN for ${queueUrl}`);
    recorder.intercept = undefined;
    expect(await dlq.queueArn(queueUrl)).toBe(await arnOf(queueUrl));
  });
});

describe('redriveDeadLetters where SQS has message move tasks', () => {
  it('starts one move task from the DLQ to the delivery queue, by ARN, and returns its handle', async () => {
    // Prepare: answered in moto's place.
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    recorder.intercept = (command) =>
      command.command === 'StartMessageMoveTaskCommand'
        ? Promise.resolve({ output: { TaskHandle: 'task-1' } })
        : undefined;

    // Act
    const outcome = await dlq.redriveDeadLetters(deadLetters, deliveries);

    // Assess
    expect(outcome).toEqual({ mode: 'move-task', taskHandle: 'task-1' });
    expect(inputsOf('StartMessageMoveTaskCommand')).toEqual([
      { SourceArn: await arnOf(deadLetters), DestinationArn: await arnOf(deliveries) },
    ]);
    expect(inputsOf('ReceiveMessageCommand')).toEqual([]);
  });

  it('fails when the task starts without a handle, and copies nothing', async () => {
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    await fill(deadLetters, ['kept']);
    recorder.intercept = (command) =>
      command.command === 'StartMessageMoveTaskCommand' ? Promise.resolve({ output: {} }) : undefined;
    const failure = await dlq.redriveDeadLetters(deadLetters, deliveries).catch((error: Error) => error);
    expect((failure as Error).message).toBe('StartMessageMoveTask returned no task handle');
    expect(await depth(deadLetters)).toEqual({ visible: 1, inFlight: 0 });
  });

  it('reports a real refusal (no permission) instead of copying around it', async () => {
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    await fill(deadLetters, ['kept']);
    recorder.intercept = (command) => {
      if (command.command !== 'StartMessageMoveTaskCommand') return undefined;
      throw Object.assign(new Error('not authorized'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      });
    };
    const failure = await dlq.redriveDeadLetters(deadLetters, deliveries).catch((error: Error) => error);
    expect((failure as Error).name).toBe('AccessDeniedException');
    expect(inputsOf('ReceiveMessageCommand')).toEqual([]);
    expect(await depth(deadLetters)).toEqual({ visible: 1, inFlight: 0 });
  });
});

describe('redriveDeadLetters on moto (no move tasks): the bounded copy', () => {
  it('copies every body unchanged to the delivery queue and empties the DLQ', async () => {
    // Prepare
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    const bodies = bodiesOf(25, 'all');
    await fill(deadLetters, bodies);

    // Act
    const outcome = await dlq.redriveDeadLetters(deadLetters, deliveries);

    // Assess
    expect(outcome).toEqual({ mode: 'copied', moved: 25 });
    expect((await drain(deliveries)).map((m) => m.Body).sort()).toEqual([...bodies].sort());
    expect(await depth(deadLetters)).toEqual({ visible: 0, inFlight: 0 });
    for (const receive of inputsOf('ReceiveMessageCommand')) {
      expect(receive).toEqual({ QueueUrl: deadLetters, MaxNumberOfMessages: 10, VisibilityTimeout: 30 });
    }
    for (const send of inputsOf('SendMessageBatchCommand')) expect(send.QueueUrl).toBe(deliveries);
    for (const removal of inputsOf('DeleteMessageBatchCommand')) {
      expect(removal.QueueUrl).toBe(deadLetters);
      const entries = removal.Entries as Array<{ Id: string }>;
      expect(entries.map((entry) => entry.Id)).toEqual(entries.map((_, index) => String(index)));
    }
  });

  it('copies at most 100 messages per request, asking only for what is left of that', async () => {
    // Prepare: 105 in the DLQ, and the first receive brings back only 3 of its 10.
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    await fill(deadLetters, bodiesOf(105, 'cap'));
    let receives = 0;
    recorder.intercept = (command, send) =>
      command.command === 'ReceiveMessageCommand' && receives++ === 0
        ? send({ ...command.input, MaxNumberOfMessages: 3 })
        : undefined;

    // Act
    const outcome = await dlq.redriveDeadLetters(deadLetters, deliveries);

    // Assess
    expect(dlq.COPY_REDRIVE_MAX_MESSAGES).toBe(100);
    expect(outcome).toEqual({ mode: 'copied', moved: 100 });
    expect(inputsOf('ReceiveMessageCommand').map((input) => input.MaxNumberOfMessages)).toEqual([
      ...Array(10).fill(10),
      7,
    ]);
    expect(await depth(deadLetters)).toEqual({ visible: 5, inFlight: 0 });
    expect(await drain(deliveries)).toHaveLength(100);
  });

  it('leaves a message whose send SQS refused in the DLQ (hidden for 30 s), deletes the rest, and stops', async () => {
    // Prepare: entry 1 of the first send never reaches the emulator.
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    const bodies = bodiesOf(4, 'partial');
    await fill(deadLetters, bodies);
    recorder.intercept = (command, send) =>
      command.command === 'SendMessageBatchCommand'
        ? send({
            ...command.input,
            Entries: (command.input.Entries as Array<{ Id: string }>).filter((entry) => entry.Id !== '1'),
          })
        : undefined;

    // Act
    const outcome = await dlq.redriveDeadLetters(deadLetters, deliveries);

    // Assess
    expect(outcome).toEqual({ mode: 'copied', moved: 3 });
    expect(inputsOf('ReceiveMessageCommand')).toHaveLength(1);
    const [firstSend] = inputsOf('SendMessageBatchCommand');
    const refused = (firstSend?.Entries as Array<{ Id: string; MessageBody: string }> | undefined)?.[1];
    expect((await drain(deliveries)).map((m) => m.Body).sort()).toEqual(
      bodies.filter((body) => body !== refused?.MessageBody).sort(),
    );
    expect(inputsOf('DeleteMessageBatchCommand').map((input) => (input.Entries as unknown[]).length)).toEqual(
      [3],
    );
    expect(await depth(deadLetters)).toEqual({ visible: 0, inFlight: 1 });
  });

  it('deletes nothing when every send was refused', async () => {
    // Prepare
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    await fill(deadLetters, bodiesOf(2, 'refused'));
    recorder.intercept = (command) =>
      command.command === 'SendMessageBatchCommand'
        ? Promise.resolve({
            output: {
              Failed: (command.input.Entries as Array<{ Id: string }>).map((entry) => ({
                Id: entry.Id,
                SenderFault: false,
                Code: 'InternalError',
              })),
            },
          })
        : undefined;

    // Act
    const outcome = await dlq.redriveDeadLetters(deadLetters, deliveries);

    // Assess
    expect(outcome).toEqual({ mode: 'copied', moved: 0 });
    expect(inputsOf('DeleteMessageBatchCommand')).toEqual([]);
    expect(await depth(deadLetters)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('copies nothing from an empty DLQ, after one receive', async () => {
    const [deadLetters, deliveries] = [await newQueue(), await newQueue()];
    expect(await dlq.redriveDeadLetters(deadLetters, deliveries)).toEqual({ mode: 'copied', moved: 0 });
    expect(inputsOf('ReceiveMessageCommand')).toHaveLength(1);
    expect(inputsOf('SendMessageBatchCommand')).toEqual([]);
  });
});
