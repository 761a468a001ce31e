#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { retryPolicyFromEnv } from '../lambdas/core/config.ts';
import { WebhooksStack } from '../lib/webhooks-stack.ts';

const app = new App();
/** A numeric `-c name=value` setting, or undefined when not given. */
const numberContext = (name: string): number | undefined => {
  const value = app.node.tryGetContext(name);
  return value === undefined ? undefined : Number(value);
};
const releasePerSecond = numberContext('backlogReleasePerSecond');
const deliveryMaxConcurrency = numberContext('deliveryMaxConcurrency');
new WebhooksStack(app, 'Webhooks', {
  stackName: app.node.tryGetContext('stackName') ?? 'Webhooks',
  description: 'Webhook delivery: signed, retried, observable (aws-serverless-webhooks)',
  // WEBHOOKS_RETRY_SCHEDULE / WEBHOOKS_MAX_ATTEMPTS at synth time, else the defaults.
  retryPolicy: retryPolicyFromEnv(),
  // npx cdk deploy -c deliveryMaxConcurrency=50 -c backlogReleasePerSecond=10
  ...(deliveryMaxConcurrency !== undefined ? { deliveryMaxConcurrency } : {}),
  ...(releasePerSecond !== undefined ? { isolation: { releasePerSecond } } : {}),
});
// cdk-nag 3 is a policy-validation plugin: any unacknowledged finding stops the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
