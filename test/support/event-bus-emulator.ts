/**
 * An EventBridge emulator for tests: a moto server of its own with a bus, a rule matching every
 * operational event (`source: webhooks`) and an SQS queue as the rule's target, in the same moto
 * server, so that what the delivery function published can be read back. moto 5.2.1 runs a
 * bus's rules on PutEvents and sends the matched events to an SQS target.
 */
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { OPERATIONAL_EVENT_SOURCE } from '../../lambdas/core/operational-events.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';

/** An event as EventBridge delivers it to a target. */
export interface DeliveredEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown>;
  readonly time: string;
}

export interface EventBusEmulator {
  readonly endpoint: string;
  readonly busName: string;
  /** Every event the rule has sent to the queue so far (read and deleted; kept across calls). */
  drain(): Promise<DeliveredEvent[]>;
  stop(): Promise<void>;
}

export async function startEventBusEmulator(busName = 'webhooks-operational'): Promise<EventBusEmulator> {
  const moto: MotoServer = await startMoto();
  const config = { endpoint: moto.endpoint, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS };
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  try {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'operational-events' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await events.send(new CreateEventBusCommand({ Name: busName }));
    await events.send(
      new PutRuleCommand({
        Name: 'all-operational-events',
        EventBusName: busName,
        EventPattern: JSON.stringify({ source: [OPERATIONAL_EVENT_SOURCE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'all-operational-events',
        EventBusName: busName,
        Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
      }),
    );
    const seen: DeliveredEvent[] = [];
    return {
      endpoint: moto.endpoint,
      busName,
      drain: async () => {
        for (;;) {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
          );
          if (Messages.length === 0) return [...seen];
          seen.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}') as DeliveredEvent));
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: Messages.map((message, i) => ({
                Id: String(i),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
      },
      stop: async () => {
        events.destroy();
        sqs.destroy();
        await moto.stop();
      },
    };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}
