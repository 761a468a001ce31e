/**
 * Exact IAM actions per function role, per resource. The action lists must match the AWS calls
 * the handlers make; a change on either side shows up here as a named difference.
 */
import { Aws } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebhookFunction } from '../../lib/webhook-function.ts';
import { logicalId, resolved, type Synthesized, synthesize } from './stack-fixture.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

type Grants = Record<string, string[]>;

const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const ENDPOINT_SECRETS = JSON.stringify({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':secretsmanager:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':secret:webhooks/Webhooks/endpoints/*',
    ],
  ],
});

function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

describe('IAM', () => {
  let synth: Synthesized;
  let statementsByRole: Map<string, Statement[]>;

  // Prepare and Act: the default stack, synthesized once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize({ bundle: false });
    statementsByRole = new Map();
    const policies = synth.template.findResources('AWS::IAM::Policy');
    for (const policy of Object.values(policies)) {
      for (const role of policy.Properties.Roles as { Ref: string }[]) {
        const statements = statementsByRole.get(role.Ref) ?? [];
        statements.push(...(policy.Properties.PolicyDocument.Statement as Statement[]));
        statementsByRole.set(role.Ref, statements);
      }
    }
  });

  /** Every resource the role's statements name (as template JSON), with the sorted set of actions on it. */
  function grantsOf(role: IRole): Grants {
    const grants: Record<string, Set<string>> = {};
    for (const statement of statementsByRole.get(logicalId(role)) ?? []) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
      for (const resource of asArray(statement.Resource)) {
        const key = JSON.stringify(resource);
        grants[key] ??= new Set();
        for (const action of asArray(statement.Action)) grants[key].add(action);
      }
    }
    return Object.fromEntries(Object.entries(grants).map(([key, actions]) => [key, [...actions].sort()]));
  }

  function roleOf(fn: IFunction): IRole {
    if (!fn.role) throw new Error(`${fn.node.path} has no role`);
    return fn.role;
  }

  function arn(value: unknown): string {
    return resolved(synth.stack, value);
  }

  it('grants the API function exactly what its handler calls', () => {
    const { stack } = synth;
    const fn = stack.api.function;

    expect(grantsOf(roleOf(fn))).toEqual({
      [arn(fn.logGroup.logGroupArn)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      // Never DeleteItem: an event is never deleted once some of its messages may have gone out.
      [arn(stack.storage.events.tableArn)]: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [arn(stack.storage.deliveries.tableArn)]: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      [arn(`${stack.storage.deliveries.tableArn}/index/byFailure`)]: ['dynamodb:Query'],
      // An endpoint's backlog size and oldest entry.
      [arn(`${stack.storage.deliveries.tableArn}/index/byWait`)]: ['dynamodb:Query'],
      // The cross-tenant failure view.
      [arn(`${stack.storage.deliveries.tableArn}/index/byFailedShard`)]: ['dynamodb:Query'],
      [arn(stack.storage.attempts.tableArn)]: ['dynamodb:Query'],
      // An endpoint's tenant from its id.
      [arn(`${stack.storage.endpoints.tableArn}/index/byEndpointId`)]: ['dynamodb:Query'],
      [arn(stack.storage.endpoints.tableArn)]: [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ],
      // Fan-out, retries, operational events handed to the worker, and the redrive destination
      // (whose ARN the move task needs).
      [arn(stack.delivery.queue.queueArn)]: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
      // Depth, and the redrive source: a move task, or receive and delete where there is none.
      [arn(stack.delivery.deadLetterQueue.queueArn)]: [
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:StartMessageMoveTask',
      ],
      // Read, and written by POST and DELETE /api-keys.
      [arn(stack.apiKeys.apiKeyHashes.secretArn)]: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
      [arn(stack.apiKeys.portalSigningKey.secretArn)]: ['secretsmanager:GetSecretValue'],
      // No events:PutEvents: operational events go to the worker through the delivery queue.
      [ENDPOINT_SECRETS]: [
        'secretsmanager:CreateSecret',
        'secretsmanager:DeleteSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
    });
  });

  it('grants the delivery function exactly what its handler and event source mapping call', () => {
    const { stack } = synth;
    const fn = stack.delivery.function;

    expect(grantsOf(roleOf(fn))).toEqual({
      [arn(fn.logGroup.logGroupArn)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      // PutItem: the record of each operational event, beside the deliveries.
      [arn(stack.storage.deliveries.tableArn)]: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ],
      // The backlog release reads an endpoint's held deliveries, oldest first.
      [arn(`${stack.storage.deliveries.tableArn}/index/byWait`)]: ['dynamodb:Query'],
      [arn(stack.storage.attempts.tableArn)]: ['dynamodb:PutItem'],
      [arn(stack.storage.endpoints.tableArn)]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      // A backlog release names only its endpoint: its tenant's partition from its id.
      [arn(`${stack.storage.endpoints.tableArn}/index/byEndpointId`)]: ['dynamodb:Query'],
      // Operational events, on the account's default bus only.
      [arn(`arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:event-bus/default`)]: [
        'events:PutEvents',
      ],
      // Event checks: read the event, hand it to the sweep.
      [arn(stack.storage.events.tableArn)]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      // ChangeMessageVisibility for backoff, SendMessage for released backlogs; the rest is what
      // the event source mapping polls with.
      [arn(stack.delivery.queue.queueArn)]: [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ],
      [arn(stack.delivery.deadLetterQueue.queueArn)]: ['sqs:SendMessage'],
      [ENDPOINT_SECRETS]: ['secretsmanager:GetSecretValue'],
    });
  });

  it('lets only the delivery function publish operational events', () => {
    const { stack } = synth;
    const publishers = [...statementsByRole.entries()]
      .filter(([, statements]) =>
        statements.some((statement) =>
          asArray(statement.Action).some((action) => action.startsWith('events:')),
        ),
      )
      .map(([role]) => role);

    expect(publishers).toEqual([logicalId(roleOf(stack.delivery.function))]);
  });

  it('grants the sweep function the events, due retries and backlogs it sweeps and the queue it refills, nothing else', () => {
    const { stack } = synth;
    const fn = stack.sweeper.function;

    expect(grantsOf(roleOf(fn))).toEqual({
      [arn(fn.logGroup.logGroupArn)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      [arn(stack.storage.events.tableArn)]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      [arn(`${stack.storage.events.tableArn}/index/bySweep`)]: ['dynamodb:Query'],
      // Claims each due retry; the table itself is never read.
      [arn(stack.storage.deliveries.tableArn)]: ['dynamodb:UpdateItem'],
      [arn(`${stack.storage.deliveries.tableArn}/index/byWait`)]: ['dynamodb:Query'],
      // Only the endpoints listed in the sparse byBacklog index; no access to the table's items.
      [arn(`${stack.storage.endpoints.tableArn}/index/byBacklog`)]: ['dynamodb:Query'],
      [arn(stack.delivery.queue.queueArn)]: ['sqs:SendMessage'],
    });
  });

  it('grants the pages function nothing but its logs and traces: it calls no AWS service', () => {
    const fn = synth.stack.api.pagesFunction;

    expect(grantsOf(roleOf(fn))).toEqual({
      [arn(fn.logGroup.logGroupArn)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
    });
  });

  it('grants the key bootstrap function only the two writes and the read that guards them', () => {
    const { stack } = synth;
    const fn = stack.apiKeys.node.findChild('BootstrapFunction') as WebhookFunction;

    expect(grantsOf(roleOf(fn))).toEqual({
      [arn(fn.logGroup.logGroupArn)]: LOG_ACTIONS,
      '"*"': XRAY_ACTIONS,
      [arn(stack.apiKeys.apiKeyHashes.secretArn)]: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
      [arn(stack.apiKeys.initialApiKey.secretArn)]: ['secretsmanager:PutSecretValue'],
    });
  });

  it('never lets the API function touch the plaintext initial key', () => {
    const { stack } = synth;
    const grants = grantsOf(roleOf(stack.api.function));
    const initialKeyId = logicalId(stack.apiKeys.initialApiKey);

    expect(Object.keys(grants).filter((resource) => resource.includes(initialKeyId))).toEqual([]);
    // The wildcard grant covers endpoint secrets only, a prefix the initial key's name is not under.
    expect(stack.apiKeys.initialApiKeySecretName.startsWith('webhooks/Webhooks/endpoints/')).toBe(false);
    synth.template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
  });

  it('uses no wildcard action anywhere, and Resource "*" only for X-Ray', () => {
    for (const statements of statementsByRole.values()) {
      for (const statement of statements) {
        const actions = asArray(statement.Action);
        expect(actions.filter((action) => action.includes('*'))).toEqual([]);
        if (asArray(statement.Resource).includes('*')) {
          expect(actions.every((action) => action.startsWith('xray:'))).toBe(true);
        }
      }
    }
  });
});
