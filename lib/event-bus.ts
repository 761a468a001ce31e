import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/schema.ts';
import type { WebhookFunction } from './webhook-function.ts';

/** Which bus operational events go to: the account's default bus, or one this stack creates. */
export type OperationalEventBusMode = 'default' | 'stack';

/** Props of {@link OperationalEventBus}. */
export interface OperationalEventBusProps {
  /**
   * `default`: the account's default bus (rules there see AWS's own events too); `stack`: a bus
   * this stack creates and deletes, named `<stackName>-operational`.
   * @default 'default'
   */
  readonly mode?: OperationalEventBusMode;
}

/**
 * The EventBridge bus operational events (lambdas/core/operational-events.ts) are published to.
 * Route them with a rule on `source: webhooks` (docs/operational-events.md). Each function that
 * publishes is bound with {@link bindPublisher}: the bus's name in its environment and
 * `events:PutEvents` on that bus only.
 */
export class OperationalEventBus extends Construct {
  /** The bus events go to. */
  public readonly bus: events.IEventBus;
  public readonly mode: OperationalEventBusMode;

  constructor(scope: Construct, id: string, props: OperationalEventBusProps = {}) {
    super(scope, id);
    this.mode = props.mode ?? 'default';
    this.bus =
      this.mode === 'stack'
        ? new events.EventBus(this, 'Bus', { eventBusName: `${Stack.of(this).stackName}-operational` })
        : events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
  }

  /** Sets the function's bus variable and grants it PutEvents on this bus, nothing else. */
  public bindPublisher(fn: WebhookFunction): void {
    fn.addEnvironment(ENV.operationalEventBus, this.bus.eventBusName);
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['events:PutEvents'],
      resourceArns: [this.bus.eventBusArn],
    });
  }
}

/** The stack setting (`-c operationalEventBus=default|stack`), checked. */
export function operationalEventBusMode(value: unknown): OperationalEventBusMode {
  if (value === undefined || value === 'default') return 'default';
  if (value === 'stack') return 'stack';
  throw new Error(`operationalEventBus must be "default" or "stack", got ${JSON.stringify(value)}`);
}
