/**
 * cdk-nag (v3, a CDK policy-validation plugin) over the stack: no unacknowledged finding, and
 * every acknowledgement sits on the construct it concerns with a reason of its own.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize } from './stack-fixture.ts';

interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
  readonly path: string;
}

function acknowledgementsUnder(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

function findings(root: IConstruct, severity: string): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(root);
  return report.violations
    .filter((violation) => violation.severity === severity)
    .flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
}

/** Every finding, as if nothing were acknowledged. */
function rawFindings(root: IConstruct): { rule: string; path: string | undefined }[] {
  const checks = new AwsSolutionsChecks(undefined, {});
  // isAcknowledged is cdk-nag's own hook for acknowledgements; switching it off shows what they hide.
  Object.assign(checks, { isAcknowledged: () => false });
  return checks.validateScope(root).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      path: resource.constructPath,
    })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  let synth: Synthesized;

  // Prepare and Act: the default stack, built once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize({ bundle: false });
  });

  it('reports no unacknowledged error', () => {
    expect(findings(synth.stack, 'error')).toEqual([]);
  });

  it('reports no unacknowledged warning', () => {
    expect(findings(synth.stack, 'warning')).toEqual([]);
  });

  it('acknowledges only these findings', () => {
    const ids = new Set(acknowledgementsUnder(synth.stack).map((acknowledgement) => acknowledgement.id));

    expect([...ids].sort()).toEqual(
      [
        'AwsSolutions-APIG4',
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::<ApiKeysBootstrapFunction25271E62.Arn>:*]',
        'AwsSolutions-IAM5[Resource::<HeartbeatSetupFunctionB5FF1997.Arn>:*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:webhooks/Webhooks/endpoints/*]',
        'AwsSolutions-L1',
        'AwsSolutions-SMG4',
      ].sort(),
    );
  });

  it('gives every acknowledgement a specific written reason', () => {
    const acknowledgements = acknowledgementsUnder(synth.stack);

    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { id, reason, path } of acknowledgements) {
      expect(reason.length, `${id} at ${path}`).toBeGreaterThanOrEqual(80);
    }
  });

  it('acknowledges next to the resource concerned, never for the whole stack', () => {
    const paths = acknowledgementsUnder(synth.stack).map((acknowledgement) => acknowledgement.path);

    expect(paths.filter((path) => path === synth.stack.node.path)).toEqual([]);
    expect(acknowledgementsUnder(synth.app).length).toBe(paths.length);
  });

  it('acknowledges nothing that the checks do not find', () => {
    const raw = rawFindings(synth.stack);

    for (const { id, path } of acknowledgementsUnder(synth.stack)) {
      const matching = raw.filter((finding) => finding.rule === id && finding.path?.startsWith(`${path}/`));
      expect(matching.length, `${id} at ${path} acknowledges no finding`).toBeGreaterThan(0);
    }
  });

  it('passes the synth with the checks registered as bin/app.ts registers them', () => {
    // Prepare
    const { app } = synthesize({ bundle: false });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const act = () => app.synth();

    // Assess
    expect(act).not.toThrow();
  });

  it('does flag what it should: a topic that accepts publishes without TLS (control)', () => {
    // Prepare
    const stack = new Stack(new App(), 'Control');
    new sns.Topic(stack, 'Topic');

    // Act
    const errors = findings(stack, 'error');

    // Assess
    expect(errors).toEqual(['AwsSolutions-SNS3 at Control/Topic/Resource']);
  });
});
