/**
 * The whole-queue redrive through SQS's StartMessageMoveTask, which moto lacks: the SQS
 * client is mocked with aws-sdk-client-mock (no connection is opened at all).
 */
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RedriveResult } from '../../cli/redrive.ts';
import type { LocalResources } from '../../local/provision.ts';
import { cli, stateFileFor, tempDir } from './support.ts';

const DELIVERY_URL = 'http://127.0.0.1:9/000000000000/webhooks-deliveries';
const DLQ_URL = 'http://127.0.0.1:9/000000000000/webhooks-dlq';
const DELIVERY_ARN = 'arn:aws:sqs:us-east-1:000000000000:webhooks-deliveries';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:webhooks-dlq';

const resources: LocalResources = {
  endpoints: {
    sqs: 'http://127.0.0.1:9',
    dynamodb: 'http://127.0.0.1:9',
    secretsManager: 'http://127.0.0.1:9',
  },
  region: 'us-east-1',
  tables: { Events: 'e', Deliveries: 'd', Attempts: 'a', Endpoints: 'n' },
  deliveryQueueUrl: DELIVERY_URL,
  deadLetterQueueUrl: DLQ_URL,
  apiKeysSecretId: 'keys',
  portalKeySecretId: 'portal',
  endpointSecretPrefix: 'secrets',
};

const sqsMock = mockClient(SQSClient);
let dir: ReturnType<typeof tempDir>;
let stateFile: string;

beforeAll(() => {
  dir = tempDir();
  stateFile = stateFileFor(dir.path, resources);
});

afterAll(() => {
  sqsMock.restore();
  dir?.remove();
});

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL, AttributeNames: ['QueueArn'] }).resolves({
    Attributes: { QueueArn: DLQ_ARN },
  });
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: DELIVERY_URL, AttributeNames: ['QueueArn'] }).resolves({
    Attributes: { QueueArn: DELIVERY_ARN },
  });
  sqsMock
    .on(GetQueueAttributesCommand, {
      QueueUrl: DLQ_URL,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    })
    .resolves({
      Attributes: { ApproximateNumberOfMessages: '42', ApproximateNumberOfMessagesNotVisible: '0' },
    });
});

describe('redrive with StartMessageMoveTask', () => {
  it('starts a move task from the DLQ to the delivery queue at --rate and waits for it', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    sqsMock
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({
        Results: [{ TaskHandle: 'task-1', Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 10 }],
      })
      .resolves({
        Results: [
          {
            TaskHandle: 'task-1',
            Status: 'COMPLETED',
            ApproximateNumberOfMessagesMoved: 42,
            ApproximateNumberOfMessagesToMove: 42,
          },
        ],
      });
    // Act
    const { code, stdout, stderr } = await cli([
      'redrive',
      '--state-file',
      stateFile,
      '--rate',
      '25',
      '--json',
    ]);
    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const calls = sqsMock.commandCalls(StartMessageMoveTaskCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      SourceArn: DLQ_ARN,
      DestinationArn: DELIVERY_ARN,
      MaxNumberOfMessagesPerSecond: 25,
    });
    expect(sqsMock.commandCalls(ListMessageMoveTasksCommand)[0]?.args[0].input).toMatchObject({
      SourceArn: DLQ_ARN,
    });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
    const result = JSON.parse(stdout) as RedriveResult;
    expect(result).toMatchObject({
      method: 'move-task',
      moved: 42,
      left: 0,
      failed: 0,
      moveTask: {
        taskHandle: 'task-1',
        status: 'COMPLETED',
        sourceArn: DLQ_ARN,
        destinationArn: DELIVERY_ARN,
      },
    });
  });

  it('--no-wait reports the task handle as soon as the task runs', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-2' });

    const { code, stdout } = await cli(['redrive', '--state-file', stateFile, '--no-wait']);

    expect(code).toBe(0);
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({
      SourceArn: DLQ_ARN,
      DestinationArn: DELIVERY_ARN,
    });
    expect(sqsMock.commandCalls(ListMessageMoveTasksCommand)).toHaveLength(0);
    expect(stdout).toContain('SQS message move task task-2: running');
    expect(stdout).toContain(`aws sqs list-message-move-tasks --source-arn ${DLQ_ARN}`);
  });

  it('reports a real refusal in one line instead of working around it', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).rejects(
      Object.assign(new Error('User is not authorized to perform sqs:StartMessageMoveTask'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );

    const { code, stdout, stderr } = await cli(['redrive', '--state-file', stateFile]);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'webhooks: StartMessageMoveTask failed: AccessDenied: User is not authorized to perform sqs:StartMessageMoveTask\n',
    );
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });

  it('falls back to receive, send, delete when the service lacks the action', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).rejects(
      Object.assign(new Error('not supported here'), {
        name: 'UnsupportedOperation',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [] });

    const { code, stdout } = await cli(['redrive', '--state-file', stateFile, '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'manual', moved: 0, moveTask: null });
    expect(sqsMock.commandCalls(ReceiveMessageCommand).length).toBeGreaterThanOrEqual(3);
  });

  it('never uses the move task for a selection, a cap or a dry run', async () => {
    sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [] });

    for (const extra of [['--endpoint', 'ep_x'], ['--max', '3'], ['--dry-run'], ['--since', '1h']]) {
      const { code } = await cli(['redrive', '--state-file', stateFile, '--json', ...extra]);
      expect(code).toBe(0);
    }

    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });
});
