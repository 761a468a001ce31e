/**
 * Builds the stack for the CDK tests. Bundling the three functions takes a few seconds, so each
 * test file synthesizes once, in `beforeAll`, and asserts many things on the result.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { WebhooksStack, type WebhooksStackProps } from '../../lib/webhooks-stack.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: WebhooksStack;
  readonly template: Template;
}

export interface FixtureOptions extends WebhooksStackProps {
  /** Run esbuild for real. Off for throwaway stacks whose code nobody looks at. @default true */
  readonly bundle?: boolean;
  /** Where to write the cloud assembly. @default - a CDK temp dir */
  readonly outdir?: string;
}

export function synthesize(options: FixtureOptions = {}): Synthesized {
  const { bundle = true, outdir, ...props } = options;
  const app = new App({
    outdir,
    context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new WebhooksStack(app, 'Webhooks', props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** A token-bearing value as it appears in the template, as a string usable for comparisons. */
export function resolved(scope: IConstruct, value: unknown): string {
  return JSON.stringify(Stack.of(scope).resolve(value));
}

/** Logical id of a construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  const child = construct.node.defaultChild ?? construct;
  return Stack.of(construct).getLogicalId(child as never);
}
