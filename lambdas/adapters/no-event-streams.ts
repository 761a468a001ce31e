/**
 * What the Lambda bundles get instead of `@smithy/core/event-streams` (lib/webhook-function.ts
 * aliases it here). The SDK's protocol layer imports that module, on demand, only for operations
 * that stream events (Kinesis SubscribeToShard, Bedrock's streaming responses, S3 Select);
 * DynamoDB, SQS and Secrets Manager have none, yet the import put its codec in every bundle.
 * Tests and local mode run the TypeScript sources and keep the real module.
 */

/** Thrown if an operation ever asks for event streams: a client with one was added without them. */
export class EventStreamsNotBundledError extends Error {
  override readonly name = 'EventStreamsNotBundledError';
  constructor() {
    super(
      'This bundle has no SDK event-stream support (lib/webhook-function.ts aliases @smithy/core/event-streams ' +
        'to lambdas/adapters/no-event-streams.ts); remove that alias to call an event-stream operation',
    );
  }
}

/** Stands in for the SDK's event-stream marshaller factory. */
export function eventStreamSerdeProvider(): never {
  throw new EventStreamsNotBundledError();
}

/** Stands in for the SDK's event-stream serde. */
export class EventStreamSerde {
  constructor() {
    throw new EventStreamsNotBundledError();
  }
}
