/**
 * Local mode's view of operational events: the emulator's EventBridge rule (local/provision.ts)
 * sends every `source: webhooks` event to an SQS queue, and this poller reads that queue and
 * hands each event, as EventBridge delivered it, to `onEvent` (local/run.ts prints it). Each
 * message is deleted once handed over, so an event is printed once.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EMULATOR_CREDENTIALS } from './provision.ts';

/** An operational event as an EventBridge rule delivers it to an SQS target. */
export interface DeliveredOperationalEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
}

export interface OperationalEventLogOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly onEvent: (event: DeliveredOperationalEvent) => void;
  readonly onError?: (error: Error) => void;
  /** Long-poll wait in seconds. @default 1 */
  readonly waitSeconds?: number;
}

/** A running log poller; `stop()` ends it after the receive in flight. */
export interface OperationalEventLog {
  stop(): Promise<void>;
}

/** One log line: the detail-type, then the detail as JSON. */
export function formatOperationalEvent(event: DeliveredOperationalEvent): string {
  return `operational event: ${event['detail-type']} ${JSON.stringify(event.detail)}`;
}

export function startOperationalEventLog(options: OperationalEventLogOptions): OperationalEventLog {
  const sqs = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: EMULATOR_CREDENTIALS,
  });
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: options.waitSeconds ?? 1,
          }),
        );
        if (Messages.length === 0) continue;
        for (const message of Messages) {
          options.onEvent(JSON.parse(message.Body ?? '{}') as DeliveredOperationalEvent);
        }
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: Messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      } catch (error) {
        if (!running) break;
        options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const looping = loop();
  return {
    stop: async () => {
      running = false;
      await looping;
      sqs.destroy();
    },
  };
}
