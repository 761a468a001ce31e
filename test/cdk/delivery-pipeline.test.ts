import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ATTEMPTS,
  DELIVERY_BATCH_SIZE,
  DELIVERY_FUNCTION_TIMEOUT_SECONDS,
  DELIVERY_MAX_CONCURRENCY,
  DELIVERY_QUEUE_RETENTION_SECONDS,
  REDRIVE_HEADROOM_RECEIVES,
  SQS_MAX_MESSAGE_BYTES,
} from '../../lambdas/core/config.ts';
import { logicalId, type Synthesized, synthesize } from './stack-fixture.ts';

const FOURTEEN_DAYS_IN_SECONDS = 14 * 24 * 60 * 60;

describe('delivery pipeline', () => {
  let synth: Synthesized;
  let queueId: string;
  let dlqId: string;

  beforeAll(() => {
    synth = synthesize();
    queueId = logicalId(synth.stack.delivery.queue);
    dlqId = logicalId(synth.stack.delivery.deadLetterQueue);
  });

  // Prepare and Act: the default stack, synthesized once in beforeAll. Each test assesses one behaviour.

  it('sets both queues to the 1 MiB message size explicitly, so what is accepted locally is accepted on AWS', () => {
    const queues = synth.template.findResources('AWS::SQS::Queue');
    expect(queues[queueId]?.Properties?.MaximumMessageSize).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(queues[dlqId]?.Properties?.MaximumMessageSize).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(SQS_MAX_MESSAGE_BYTES).toBe(1_048_576);
  });

  it('runs the sweep of events left accepted on a schedule', () => {
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: Match.arrayWith([
        Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(synth.stack.sweeper.function), 'Arn'] } }),
      ]),
    });
  });

  it('sends a message to the DLQ after the attempt budget of receives (plus headroom: a backstop)', () => {
    synth.template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'Webhooks-delivery',
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
        maxReceiveCount: DEFAULT_MAX_ATTEMPTS + REDRIVE_HEADROOM_RECEIVES,
      },
    });
  });

  it('lets the SQS console redrive the DLQ into the delivery queue, and only there', () => {
    const dlq = synth.template.findResources('AWS::SQS::Queue')[dlqId];

    expect(dlq?.Properties.RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':sqs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':Webhooks-delivery',
            ],
          ],
        },
      ],
    });
  });

  it('keeps the visibility timeout at least six times the delivery function timeout', () => {
    const queue = synth.template.findResources('AWS::SQS::Queue')[queueId];
    const fn =
      synth.template.findResources('AWS::Lambda::Function')[logicalId(synth.stack.delivery.function)];

    expect(fn?.Properties.Timeout).toBe(DELIVERY_FUNCTION_TIMEOUT_SECONDS);
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * DELIVERY_FUNCTION_TIMEOUT_SECONDS);
  });

  it('keeps DLQ messages 14 days', () => {
    const dlq = synth.template.findResources('AWS::SQS::Queue')[dlqId];

    expect(dlq?.Properties.MessageRetentionPeriod).toBe(FOURTEEN_DAYS_IN_SECONDS);
  });

  it('keeps delivery queue messages for the configured retention', () => {
    const queue = synth.template.findResources('AWS::SQS::Queue')[queueId];

    expect(queue?.Properties.MessageRetentionPeriod).toBe(DELIVERY_QUEUE_RETENTION_SECONDS);
  });

  it('encrypts both queues with SSE-SQS', () => {
    const queues = synth.template.findResources('AWS::SQS::Queue');

    expect(Object.keys(queues)).toHaveLength(2);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  it.each([
    ['delivery queue', () => queueId],
    ['dead-letter queue', () => dlqId],
  ])('denies %s requests that do not use TLS', (_name, id) => {
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('reports batch item failures, in batches, with bounded concurrency and no batching window', () => {
    const mappings = synth.template.findResources('AWS::Lambda::EventSourceMapping');

    expect(Object.values(mappings)).toHaveLength(1);
    const mapping = Object.values(mappings)[0]?.Properties;
    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: logicalId(synth.stack.delivery.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: DELIVERY_BATCH_SIZE,
      ScalingConfig: { MaximumConcurrency: DELIVERY_MAX_CONCURRENCY },
    });
    expect(mapping?.MaximumBatchingWindowInSeconds).toBeUndefined();
  });

  it('blocks deliveries to the ingest API host', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'webhooks-delivery',
          WEBHOOKS_BLOCKED_HOSTS: {
            'Fn::Join': [
              '',
              [
                { Ref: logicalId(synth.stack.api.httpApi) },
                '.execute-api.',
                { Ref: 'AWS::Region' },
                '.',
                { Ref: 'AWS::URLSuffix' },
              ],
            ],
          },
        }),
      },
    });
  });
});

describe('delivery pipeline with a compressed retry policy', () => {
  it('uses the policy as the receive budget and passes it to both functions', () => {
    // Prepare
    const retryPolicy = { scheduleSeconds: [1, 2, 3], maxAttempts: 4 };

    // Act
    const { template } = synthesize({ retryPolicy, bundle: false });

    // Assess
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { maxReceiveCount: 4 + REDRIVE_HEADROOM_RECEIVES },
    });
    const withPolicy = template.findResources('AWS::Lambda::Function', {
      Properties: {
        Environment: { Variables: { WEBHOOKS_RETRY_SCHEDULE: '1,2,3', WEBHOOKS_MAX_ATTEMPTS: '4' } },
      },
    });
    expect(Object.keys(withPolicy)).toHaveLength(2);
  });

  it('refuses a schedule that outlasts the delivery queue retention', () => {
    // Prepare: twelve-hour delays for a month's worth of attempts.
    const retryPolicy = { scheduleSeconds: [12 * 60 * 60], maxAttempts: 60 };

    // Act
    const act = () => synthesize({ retryPolicy, bundle: false });

    // Assess
    expect(act).toThrow(/beyond the delivery queue's retention/);
  });
});
