import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { logicalId, type Synthesized, synthesize } from './stack-fixture.ts';

describe('monitoring', () => {
  let synth: Synthesized;
  let topic: { Ref: string };

  // Prepare and Act: the default stack, synthesized once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize({ bundle: false });
    topic = { Ref: logicalId(synth.stack.monitoring.alarmTopic) };
  });

  it('notifies the alarm topic from every alarm, on ALARM and on OK', () => {
    const alarms = Object.values(synth.template.findResources('AWS::CloudWatch::Alarm'));

    // DLQ depth, failure rate, API errors, pages errors, delivery errors, and the heartbeat's.
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
  });

  it('alarms as soon as one message is in the DLQ', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(synth.stack.delivery.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on the delivery failure rate computed from the EMF metrics', () => {
    const metric = (id: string, metricName: string) =>
      Match.objectLike({
        Id: id,
        ReturnData: false,
        MetricStat: Match.objectLike({
          Metric: {
            Namespace: 'Webhooks',
            MetricName: metricName,
            Dimensions: [{ Name: 'service', Value: 'webhooks-delivery' }],
          },
          Stat: 'Sum',
        }),
      });

    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(attempts > 0, 100 * FILL(failed, 0) / attempts, 0)' }),
        metric('attempts', 'DeliveryAttempts'),
        metric('failed', 'DeliveryFailed'),
      ]),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 20,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on any pages function error (the dashboard, the portal or the API description failed)', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(synth.stack.api.pagesFunction) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on any delivery function error', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(synth.stack.delivery.function) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('refuses alarm-topic publishes that do not use TLS', () => {
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('builds a dashboard with queue, DLQ, attempt, latency and API widgets', () => {
    const dashboard = Object.values(synth.template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    expect(dashboard?.Properties.DashboardName).toBe('Webhooks-Dashboard');
    for (const needle of [
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
      'DeliveryAttempts',
      'DeliveryDelivered',
      'DeliveryFailed',
      'DeliveryDead',
      'DeliveryLatency',
      'AttemptDuration',
      'EventsAccepted',
      'p50',
      'p95',
      '4xx',
      '5xx',
    ]) {
      expect(body).toContain(needle);
    }
  });
});
