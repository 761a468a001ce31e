import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SWEEP_FUNCTION_TIMEOUT_SECONDS, SWEEP_INTERVAL_MINUTES } from '../lambdas/core/config.ts';
import { DELIVERIES_TABLE, ENDPOINTS_TABLE, ENV, EVENTS_TABLE } from '../lambdas/core/schema.ts';
import { WebhookFunction } from './webhook-function.ts';

/**
 * AWS calls the sweep handler makes, per resource. A test compares these to the calls
 * `lambdas/sweeper` really makes: change both together.
 */
const SWEEPER_ACCESS = {
  // Read, claim and mark each event found in the sparse bySweep index (Query on the index only).
  events: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Claim each due retry found in the byWait index (Query on the index only).
  deliveries: ['dynamodb:UpdateItem'],
  // Only the byBacklog index is read (Query on the index only); nothing on the table itself.
  endpoints: [],
  // The messages of events left accepted and of due retries, and backlog releases.
  deliveryQueue: ['sqs:SendMessage'],
} as const satisfies Record<string, readonly string[]>;

/** Powertools service name of the sweep function. */
export const SWEEPER_SERVICE_NAME = 'webhooks-sweeper';

/** Props of {@link Sweeper}. */
export interface SweeperProps {
  /** The events table, with its `bySweep` index. */
  readonly events: dynamodb.ITable;
  /** The deliveries table, with its `byWait` index (due retries). */
  readonly deliveries: dynamodb.ITable;
  /** The endpoints table, with its `byBacklog` index. */
  readonly endpoints: dynamodb.ITable;
  /** Where the sweep sends the messages of events left accepted. */
  readonly deliveryQueue: sqs.IQueue;
}

/**
 * The sweep: a function run every {@link SWEEP_INTERVAL_MINUTES} minute(s) that queues events
 * left accepted (their queueing failed, or the API request that stored them died), so that no
 * event stays pending forever.
 */
export class Sweeper extends Construct {
  /** The sweep function. */
  public readonly function: WebhookFunction;
  /** The schedule that runs it. */
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    this.function = new WebhookFunction(this, 'Function', {
      entry: 'lambdas/sweeper/handler.ts',
      serviceName: SWEEPER_SERVICE_NAME,
      description: 'Queues events left accepted, sends retries whose long wait is over, releases backlogs',
      timeout: Duration.seconds(SWEEP_FUNCTION_TIMEOUT_SECONDS),
    });
    const indexName = EVENTS_TABLE.indexes[0]?.indexName ?? 'bySweep';
    this.function.bindTable(props.events, EVENTS_TABLE.envVar, SWEEPER_ACCESS.events);
    this.function.grantIndexQuery(props.events, [indexName]);
    this.function.bindTable(props.deliveries, DELIVERIES_TABLE.envVar, SWEEPER_ACCESS.deliveries);
    this.function.grantIndexQuery(props.deliveries, ['byWait']);
    this.function.bindTable(props.endpoints, ENDPOINTS_TABLE.envVar, SWEEPER_ACCESS.endpoints);
    this.function.grantIndexQuery(props.endpoints, ['byBacklog']);
    this.function.bindQueue(props.deliveryQueue, ENV.deliveryQueueUrl, SWEEPER_ACCESS.deliveryQueue);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Runs the sweep of events left accepted',
      schedule: events.Schedule.rate(Duration.minutes(SWEEP_INTERVAL_MINUTES)),
    });
    // One run at a time is enough; a failed run is simply the next minute's work.
    this.schedule.addTarget(new targets.LambdaFunction(this.function, { retryAttempts: 0 }));
  }
}
