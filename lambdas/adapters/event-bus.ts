/**
 * Publishes operational events (lambdas/core/operational-events.ts) to an EventBridge bus with
 * PutEvents. Publishing never blocks or fails what reported the event: every error (the bus
 * unreachable, throttled, the entry refused) is swallowed, logged and counted as a miss
 * (`OperationalEventsFailed`), and the SDK's deadlines are short.
 *
 * The client is created on the first publish, so a function that never publishes never builds
 * it. Local mode reaches the emulator through `AWS_ENDPOINT_URL_EVENTBRIDGE` (or `AWS_ENDPOINT_URL`),
 * as the other clients reach theirs.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { errorName } from '../core/errors.ts';
import {
  OPERATIONAL_EVENT_SOURCE,
  type OperationalEvent,
  type OperationalEventPublisher,
} from '../core/operational-events.ts';

export { OPERATIONAL_EVENTS_FAILED_METRIC } from '../core/operational-events.ts';

/**
 * Deadlines shorter than the other clients': an event is worth less than the batch's time. Two
 * attempts, each of at most a second to connect and two to answer.
 */
const CLIENT_CONFIG = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
} as const;

/** Options of {@link EventBridgePublisher}. */
export interface EventBridgePublisherOptions {
  /** Name (or ARN) of the bus: `default` for the account's default bus. */
  readonly busName: string;
  /** Called once per lost event: add one to {@link OPERATIONAL_EVENTS_FAILED_METRIC}. */
  readonly onMiss: (event: OperationalEvent, error: string) => void;
  /** The client to use. @default one created on first use, with short deadlines */
  readonly client?: Pick<EventBridgeClient, 'send'>;
}

/** Publishes each event as one PutEvents entry; never throws, never rejects. */
export class EventBridgePublisher implements OperationalEventPublisher {
  #client: Pick<EventBridgeClient, 'send'> | undefined;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.#client = options.client;
  }

  async publish(event: OperationalEvent): Promise<void> {
    try {
      this.#client ??= new EventBridgeClient(CLIENT_CONFIG);
      const { FailedEntryCount = 0, Entries = [] } = await this.#client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.options.busName,
              Source: OPERATIONAL_EVENT_SOURCE,
              DetailType: event.detailType,
              Detail: JSON.stringify(event.detail),
              Time: new Date(event.detail.occurredAt),
            },
          ],
        }),
      );
      if (FailedEntryCount > 0) {
        this.options.onMiss(event, Entries[0]?.ErrorCode ?? 'entry refused');
      }
    } catch (error) {
      this.options.onMiss(event, errorName(error));
    }
  }
}

/** A publisher that keeps every event in memory (tests, and what `publish` saw in local tooling). */
export class MemoryPublisher implements OperationalEventPublisher {
  readonly events: OperationalEvent[] = [];

  async publish(event: OperationalEvent): Promise<void> {
    this.events.push(event);
  }
}
