/**
 * The synthetic delivery check in the template: the schedule that runs the sender, the receiver
 * behind its own public Function URL, the alarm on missing verified heartbeats, the setup custom
 * resource, and exact grants for each of the three functions (the sender reads its key only, the
 * receiver the endpoint secret only, the setup only what it writes).
 */
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HEARTBEAT_ENDPOINT_ID,
  HEARTBEAT_ENV,
  HEARTBEAT_SERVICE_NAMES,
  HEARTBEAT_VERIFIED_METRIC,
} from '../../lambdas/heartbeat/contract.ts';
import { Heartbeat, heartbeatEnabled } from '../../lib/heartbeat.ts';
import type { WebhookFunction } from '../../lib/webhook-function.ts';
import { WebhooksStack } from '../../lib/webhooks-stack.ts';
import { logicalId, resolved } from './stack-fixture.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** The heartbeat endpoint's secret: that one name, with the six characters Secrets Manager appends. */
const ENDPOINT_SECRET = JSON.stringify({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':secretsmanager:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:secret:webhooks/Webhooks/endpoints/${HEARTBEAT_ENDPOINT_ID}-??????`,
    ],
  ],
});

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('heartbeat (synthetic delivery check)', () => {
  let stack: WebhooksStack;
  let heartbeat: Heartbeat;
  let template: Template;

  // Prepare and Act: the stack with its heartbeat, synthesized once (without bundling).
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new WebhooksStack(app, 'Webhooks');
    // The stack builds it once lib/webhooks-stack.ts wires it in; until then, the same wiring here.
    heartbeat =
      (stack as unknown as { heartbeat?: Heartbeat }).heartbeat ??
      new Heartbeat(stack, 'Heartbeat', {
        apiUrl: stack.api.url,
        apiKeyHashes: stack.apiKeys.apiKeyHashes,
        apiKeysWriter: stack.apiKeys,
        endpoints: stack.storage.endpoints,
        endpointSecretPrefix: 'webhooks/Webhooks/endpoints',
        alarmTopic: stack.monitoring.alarmTopic,
      });
    template = Template.fromStack(stack);
  });

  const arn = (value: unknown): string => resolved(stack, value);
  const getAtt = (construct: Construct, attribute: string) => ({
    'Fn::GetAtt': [logicalId(construct), attribute],
  });

  /** Every resource the role's statements name (as template JSON), with the sorted actions on it. */
  function grantsOf(role: IRole | undefined): Record<string, string[]> {
    if (!role) throw new Error('no role');
    const grants: Record<string, Set<string>> = {};
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      const roles = policy.Properties.Roles as { Ref: string }[];
      if (!roles.some((ref) => ref.Ref === logicalId(role))) continue;
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        expect(statement.Effect).toBe('Allow');
        expect(statement.Condition).toBeUndefined();
        for (const resource of asArray(statement.Resource)) {
          const key = JSON.stringify(resource);
          grants[key] ??= new Set();
          for (const action of asArray(statement.Action)) grants[key].add(action);
        }
      }
    }
    return Object.fromEntries(Object.entries(grants).map(([key, actions]) => [key, [...actions].sort()]));
  }

  const logsOf = (fn: WebhookFunction) => arn(fn.logGroup.logGroupArn);

  it('runs the sender every minute, once, only after the setup made its key and endpoint', () => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { Targets: Match.arrayWith([Match.objectLike({ Arn: getAtt(heartbeat.sender, 'Arn') })]) },
    });
    expect(Object.values(rules)).toHaveLength(1);
    const [rule] = Object.values(rules);
    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule?.Properties.State).toBe('ENABLED');
    expect(rule?.Properties.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    expect(rule?.DependsOn).toContain(logicalId(heartbeat.node.findChild('Setup')));
    // Lambda's own two retries of an asynchronous invocation are off too.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(heartbeat.sender) },
      MaximumRetryAttempts: 0,
    });
  });

  it('sends through the public API with the key secret it may read', () => {
    const env =
      template.findResources('AWS::Lambda::Function')[logicalId(heartbeat.sender)]?.Properties.Environment
        .Variables;
    expect(JSON.stringify(env[HEARTBEAT_ENV.apiUrl])).toBe(arn(stack.api.url));
    expect(env[HEARTBEAT_ENV.keySecretId]).toEqual({ Ref: logicalId(heartbeat.keySecret) });
  });

  it('puts the receiver behind its own public Function URL (auth NONE: the signature is its check)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: getAtt(heartbeat.receiver, 'Arn'),
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: getAtt(heartbeat.receiver, 'Arn'),
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies the heartbeats'),
      Environment: {
        Variables: Match.objectLike({
          [HEARTBEAT_ENV.endpointSecretName]: `webhooks/Webhooks/endpoints/${HEARTBEAT_ENDPOINT_ID}`,
          POWERTOOLS_SERVICE_NAME: HEARTBEAT_SERVICE_NAMES.receiver,
        }),
      },
    });
  });

  it('alarms when no verified heartbeat arrived in 5 minutes, missing data counting as none', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Webhooks',
      MetricName: HEARTBEAT_VERIFIED_METRIC,
      Dimensions: [{ Name: 'service', Value: HEARTBEAT_SERVICE_NAMES.receiver }],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: logicalId(stack.monitoring.alarmTopic) }],
      OKActions: [{ Ref: logicalId(stack.monitoring.alarmTopic) }],
    });
  });

  it('sets up with the receiver URL, after the first key is written', () => {
    const setups = template.findResources('Custom::Heartbeat');
    expect(Object.keys(setups)).toEqual([logicalId(heartbeat.node.findChild('Setup'))]);
    const [setup] = Object.values(setups);
    expect(setup?.Properties.ReceiverUrl).toEqual(getAtt(heartbeat.receiverUrl, 'FunctionUrl'));
    expect(setup?.DependsOn).toContain(logicalId(stack.apiKeys.node.findChild('InitialKey')));
  });

  it('grants the sender its key secret and nothing else', () => {
    expect(grantsOf(heartbeat.sender.role)).toEqual({
      [logsOf(heartbeat.sender)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      [arn(heartbeat.keySecret.secretArn)]: ['secretsmanager:GetSecretValue'],
    });
  });

  it('grants the receiver the heartbeat endpoint secret and nothing else', () => {
    expect(grantsOf(heartbeat.receiver.role)).toEqual({
      [logsOf(heartbeat.receiver)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      [ENDPOINT_SECRET]: ['secretsmanager:GetSecretValue'],
    });
  });

  it('grants the setup only what it writes, and the reads that guard the writes', () => {
    expect(grantsOf(heartbeat.setup.role)).toEqual({
      [logsOf(heartbeat.setup)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      [arn(stack.apiKeys.apiKeyHashes.secretArn)]: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
      [arn(heartbeat.keySecret.secretArn)]: ['secretsmanager:PutSecretValue'],
      [arn(stack.storage.endpoints.tableArn)]: [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ],
      [ENDPOINT_SECRET]: ['secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret'],
    });
  });

  it('lets no other role read the heartbeat key', () => {
    const keyId = logicalId(heartbeat.keySecret);
    const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      (policy.Properties.PolicyDocument.Statement as Statement[]).some(
        (statement) =>
          JSON.stringify(statement.Resource).includes(keyId) &&
          asArray(statement.Action).includes('secretsmanager:GetSecretValue'),
      ),
    );
    expect(readers.map((policy) => policy.Properties.Roles)).toEqual([
      [{ Ref: logicalId(heartbeat.sender.role as IRole) }],
    ]);
  });

  it('acknowledges only cdk-nag findings that the checks do find, each with a reason of its own', () => {
    // Prepare: every finding, as if nothing were acknowledged (cdk-nag's own hook switched off).
    const checks = new AwsSolutionsChecks(undefined, {});
    Object.assign(checks, { isAcknowledged: () => false });
    const raw = checks.validateScope(heartbeat).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath,
      })),
    );
    const acknowledged = heartbeat.node.findAll().flatMap((construct) =>
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

    // Assess
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason, path } of acknowledged) {
      expect(reason.length, `${id} at ${path}`).toBeGreaterThanOrEqual(80);
      const matching = raw.filter((finding) => finding.rule === id && finding.path?.startsWith(`${path}/`));
      expect(matching.length, `${id} at ${path} acknowledges no finding`).toBeGreaterThan(0);
    }
  });

  it('leaves no cdk-nag finding unacknowledged', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(heartbeat);
    const open = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
    expect(open).toEqual([]);
  });
});

describe('heartbeatEnabled (the stack setting)', () => {
  const scopeWith = (context: Record<string, unknown>) => new Construct(new App({ context }), 'Scope');

  it.each<[string, Record<string, unknown>, boolean | undefined, boolean]>([
    ['on by default', {}, undefined, true],
    ['off with -c heartbeat=false', { heartbeat: 'false' }, undefined, false],
    ['off with a false context value', { heartbeat: false }, undefined, false],
    ['on with -c heartbeat=true', { heartbeat: 'true' }, undefined, true],
    ['the prop wins over the context', { heartbeat: 'false' }, true, true],
    ['off by prop', {}, false, false],
  ])('%s', (_what, context, prop, expected) => {
    expect(heartbeatEnabled(scopeWith(context), prop)).toBe(expected);
  });
});
