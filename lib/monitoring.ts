import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './webhook-function.ts';

/**
 * Names of the embedded-metric-format metrics the delivery function emits (namespace
 * {@link METRICS_NAMESPACE}, dimension `service`), as `lambdas/delivery/worker.ts` names them.
 */
export const DELIVERY_METRICS = {
  /** Every attempt, first or retry. */
  attempts: 'DeliveryAttempts',
  /** Attempts answered 2xx. */
  delivered: 'DeliveryDelivered',
  /** Attempts that failed (will be retried, or not). */
  failed: 'DeliveryFailed',
  /** Deliveries given up on (attempt budget spent or permanent failure). */
  dead: 'DeliveryDead',
  /** Event creation to successful delivery, in milliseconds (retries included). */
  latency: 'DeliveryLatency',
  /** One request to a receiver, connect to last byte, in milliseconds. */
  attemptDuration: 'AttemptDuration',
} as const;

/** The API function's count of accepted events (dimension `service` = its service name). */
const EVENTS_ACCEPTED_METRIC = 'EventsAccepted';

/** Alarm evaluation period: long enough to smooth a burst, short enough to page within minutes. */
const ALARM_PERIOD = Duration.minutes(5);

/** Failure-rate alarm threshold: a fifth of all attempts failing is more than one flaky receiver. */
const DEFAULT_FAILURE_RATE_THRESHOLD_PERCENT = 20;

/** Consecutive periods over the threshold: a receiver down for a moment should not page anyone. */
const DEFAULT_FAILURE_RATE_EVALUATION_PERIODS = 3;

/** Props of {@link Monitoring}. */
export interface MonitoringProps {
  /** The delivery queue. */
  readonly deliveryQueue: sqs.IQueue;
  /** The delivery DLQ: any message there is a delivery given up on. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The delivery worker. */
  readonly deliveryFunction: lambda.IFunction;
  /** The API function. */
  readonly apiFunction: lambda.IFunction;
  /** The pages function (the dashboard, the portal page and the API description). */
  readonly pagesFunction: lambda.IFunction;
  /** The HTTP API. */
  readonly httpApi: IHttpApi;
  /** `service` dimension of the delivery metrics (the delivery function's Powertools service name). */
  readonly deliveryServiceName: string;
  /** `service` dimension of the API metrics (the API function's Powertools service name). */
  readonly apiServiceName: string;
  /**
   * Failed attempts, as a percentage of all attempts, above which the failure-rate alarm fires.
   * @default 20
   */
  readonly failureRateThresholdPercent?: number;
  /**
   * Consecutive 5-minute periods over the failure-rate threshold before the alarm fires.
   * @default 3
   */
  readonly failureRateEvaluationPeriods?: number;
  /** Dashboard name. @default `<stackName>-Dashboard` */
  readonly dashboardName?: string;
}

/**
 * Alarms (to one SNS topic) and a dashboard: DLQ depth, delivery failure rate, function errors;
 * queue depths, attempt outcomes, receiver latency and API responses.
 */
export class Monitoring extends Construct {
  /** Every alarm notifies this topic, on ALARM and on OK; subscribe your on-call here. */
  public readonly alarmTopic: sns.Topic;
  /** Any message in the DLQ. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Too many failed attempts. */
  public readonly failureRateAlarm: cloudwatch.Alarm;
  /** The delivery function failed a whole invocation (not a record: those are retried by design). */
  public readonly deliveryErrorsAlarm: cloudwatch.Alarm;
  /** The API function failed an invocation (callers saw a 5xx). */
  public readonly apiErrorsAlarm: cloudwatch.Alarm;
  /** The pages function failed an invocation (a page or the API description did not load). */
  public readonly pagesErrorsAlarm: cloudwatch.Alarm;
  /** The operations dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    // Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS managed SNS key,
    // and the notifications carry alarm state only, nothing a customer managed key would protect.
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Webhooks alarms', enforceSSL: true });
    const notify = new SnsAction(this.alarmTopic);

    const metric = (metricName: string, statistic: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.deliveryServiceName },
        statistic,
        period: ALARM_PERIOD,
      });
    const attempts = metric(DELIVERY_METRICS.attempts, cloudwatch.Stats.SUM);
    const delivered = metric(DELIVERY_METRICS.delivered, cloudwatch.Stats.SUM);
    const failed = metric(DELIVERY_METRICS.failed, cloudwatch.Stats.SUM);
    const dead = metric(DELIVERY_METRICS.dead, cloudwatch.Stats.SUM);
    const failureRate = new cloudwatch.MathExpression({
      // FILL: a period with attempts but no failures has no DeliveryFailed datapoint.
      expression: 'IF(attempts > 0, 100 * FILL(failed, 0) / attempts, 0)',
      usingMetrics: { attempts, failed },
      label: 'Failed attempts (%)',
      period: ALARM_PERIOD,
    });
    const deadLetterDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmDescription:
        'Deliveries were given up on and parked in the DLQ. Fix the receiver, then redrive ' +
        '(SQS console "Start DLQ redrive", or `npx webhooks redrive`).',
      metric: deadLetterDepth,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureRateAlarm = new cloudwatch.Alarm(this, 'DeliveryFailureRate', {
      alarmDescription:
        'A large share of delivery attempts fail: a receiver is down or rejecting our requests.',
      metric: failureRate,
      threshold: props.failureRateThresholdPercent ?? DEFAULT_FAILURE_RATE_THRESHOLD_PERCENT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: props.failureRateEvaluationPeriods ?? DEFAULT_FAILURE_RATE_EVALUATION_PERIODS,
      // No attempts, nothing to judge.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deliveryErrorsAlarm = new cloudwatch.Alarm(this, 'DeliveryFunctionErrors', {
      alarmDescription:
        'The delivery function crashed or timed out: its whole batch comes back and is retried.',
      metric: props.deliveryFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.apiErrorsAlarm = new cloudwatch.Alarm(this, 'ApiFunctionErrors', {
      alarmDescription: 'The API function crashed or timed out: producers got 5xx answers.',
      metric: props.apiFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.pagesErrorsAlarm = new cloudwatch.Alarm(this, 'PagesFunctionErrors', {
      alarmDescription:
        'The pages function crashed or timed out: the dashboard, the portal page or GET /openapi.json ' +
        'answered 5xx.',
      metric: props.pagesFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [
      this.deadLetterAlarm,
      this.failureRateAlarm,
      this.deliveryErrorsAlarm,
      this.apiErrorsAlarm,
      this.pagesErrorsAlarm,
    ]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    const percentile = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.deliveryServiceName },
        statistic,
        label: `${label} ${statistic}`,
      });
    const eventsAccepted = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: EVENTS_ACCEPTED_METRIC,
      dimensionsMap: { service: props.apiServiceName },
      statistic: cloudwatch.Stats.SUM,
      label: 'Events accepted',
    });
    const queue = props.deliveryQueue;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-Dashboard`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Delivery queue',
        left: [
          queue.metricApproximateNumberOfMessagesVisible({ label: 'Ready' }),
          queue.metricApproximateNumberOfMessagesNotVisible({ label: 'In flight or backing off' }),
        ],
        right: [queue.metricApproximateAgeOfOldestMessage({ label: 'Age of oldest (s)' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        left: [deadLetterDepth.with({ label: 'Messages in DLQ' })],
        leftAnnotations: [{ value: 1, label: 'Alarm' }],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [
          this.deadLetterAlarm,
          this.failureRateAlarm,
          this.deliveryErrorsAlarm,
          this.apiErrorsAlarm,
          this.pagesErrorsAlarm,
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Delivery attempts',
        left: [
          eventsAccepted,
          attempts.with({ label: 'Attempts' }),
          delivered.with({ label: 'Delivered' }),
          failed.with({ label: 'Failed' }),
          dead.with({ label: 'Dead' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failed attempts (%)',
        left: [failureRate],
        leftYAxis: { min: 0, max: 100 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Latency (ms)',
        left: [
          percentile(DELIVERY_METRICS.latency, 'p50', 'Event to delivery'),
          percentile(DELIVERY_METRICS.latency, 'p95', 'Event to delivery'),
        ],
        right: [
          percentile(DELIVERY_METRICS.attemptDuration, 'p50', 'Receiver response'),
          percentile(DELIVERY_METRICS.attemptDuration, 'p95', 'Receiver response'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API responses',
        left: [
          props.httpApi.metricCount({ label: 'Requests', statistic: cloudwatch.Stats.SUM }),
          props.httpApi.metricClientError({ label: '4xx', statistic: cloudwatch.Stats.SUM }),
          props.httpApi.metricServerError({ label: '5xx', statistic: cloudwatch.Stats.SUM }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        left: [
          props.httpApi.metricLatency({ label: 'p50', statistic: 'p50' }),
          props.httpApi.metricLatency({ label: 'p95', statistic: 'p95' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors and throttles',
        left: [
          props.deliveryFunction.metricErrors({ label: 'Delivery errors', statistic: cloudwatch.Stats.SUM }),
          props.deliveryFunction.metricThrottles({
            label: 'Delivery throttles',
            statistic: cloudwatch.Stats.SUM,
          }),
          props.apiFunction.metricErrors({ label: 'API errors', statistic: cloudwatch.Stats.SUM }),
          props.apiFunction.metricThrottles({ label: 'API throttles', statistic: cloudwatch.Stats.SUM }),
          props.pagesFunction.metricErrors({ label: 'Pages errors', statistic: cloudwatch.Stats.SUM }),
          props.pagesFunction.metricThrottles({ label: 'Pages throttles', statistic: cloudwatch.Stats.SUM }),
        ],
        width: 8,
      }),
    );
  }
}
