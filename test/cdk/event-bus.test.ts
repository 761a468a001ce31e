/**
 * The operational-event bus (lib/event-bus.ts): the account's default bus or the stack's own, and
 * the delivery function's grant on exactly that bus: events:PutEvents and nothing else, on no
 * other resource. Built on a stack of its own (no bundling): the delivery pipeline and the bus.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DeliveryPipeline } from '../../lib/delivery-pipeline.ts';
import {
  OperationalEventBus,
  type OperationalEventBusMode,
  operationalEventBusMode,
} from '../../lib/event-bus.ts';
import { Storage } from '../../lib/storage.ts';
import { logicalId } from './stack-fixture.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

function build(mode: OperationalEventBusMode | undefined, operatorEndpointId?: string) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Webhooks');
  const bus = new OperationalEventBus(stack, 'OperationalEvents', mode ? { mode } : {});
  const delivery = new DeliveryPipeline(stack, 'Delivery', {
    retryPolicy: { scheduleSeconds: [5, 30], maxAttempts: 3 },
    storage: new Storage(stack, 'Storage'),
    endpointSecretPrefix: 'webhooks/Webhooks/endpoints',
    operationalEvents: bus,
    ...(operatorEndpointId ? { operatorEndpointId } : {}),
  });
  const template = Template.fromStack(stack);
  const roleId = logicalId(delivery.function.role as never);
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  const eventStatements = statements.filter((statement) =>
    [statement.Action].flat().some((action) => action.startsWith('events:')),
  );
  const environment = template.findResources('AWS::Lambda::Function')[logicalId(delivery.function)]
    ?.Properties?.Environment?.Variables as Record<string, unknown>;
  const eventsTableId = logicalId(stack.node.findChild('Storage').node.findChild('Events') as never);
  const eventsTableActions = statements
    .filter((statement) => JSON.stringify(statement.Resource).includes(eventsTableId))
    .flatMap((statement) => [statement.Action].flat())
    .sort();
  return { template, stack, eventStatements, environment, eventsTableActions };
}

describe('operational event bus', () => {
  it('by default: PutEvents on the account default bus only, named in the delivery function', () => {
    const { template, eventStatements, environment } = build(undefined);

    template.resourceCountIs('AWS::Events::EventBus', 0);
    expect(eventStatements).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':events:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':event-bus/default',
            ],
          ],
        },
      },
    ]);
    expect(environment.WEBHOOKS_OPERATIONAL_EVENT_BUS).toBe('default');
  });

  it("with mode 'stack': a bus of the stack's own, and PutEvents on that bus only", () => {
    const { template, stack, eventStatements, environment } = build('stack');

    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'Webhooks-operational' });
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
    expect(eventStatements).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } },
    ]);
    expect(stack.resolve(environment.WEBHOOKS_OPERATIONAL_EVENT_BUS)).toEqual({ Ref: busId });
  });

  it('reads the stack setting, and refuses anything but default or stack', () => {
    expect(operationalEventBusMode(undefined)).toBe('default');
    expect(operationalEventBusMode('default')).toBe('default');
    expect(operationalEventBusMode('stack')).toBe('stack');
    expect(() => operationalEventBusMode('mine')).toThrow(/default" or "stack/);
  });

  it('with an operator endpoint: its id in the delivery function, which may then also put events; without, neither', () => {
    const operator = 'ep_01JD8X3N5R8Q2W6T4Y7ZB1C3D5';
    const withCopy = build(undefined, operator);
    const without = build(undefined);

    expect(withCopy.environment.WEBHOOKS_OPERATOR_ENDPOINT_ID).toBe(operator);
    expect(withCopy.eventsTableActions).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(without.environment.WEBHOOKS_OPERATOR_ENDPOINT_ID).toBe('');
    expect(without.eventsTableActions).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(() => build(undefined, 'https://ops.example.com/hooks')).toThrow(
      /operatorEndpointId must be an endpoint id/,
    );
  });
});
