import { beforeAll, describe, expect, it } from 'vitest';
import { logicalId, type Synthesized, synthesize } from './stack-fixture.ts';

describe('stack outputs', () => {
  let synth: Synthesized;

  // Prepare and Act: the default stack, synthesized once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize({ bundle: false });
  });

  it('declares every output the CLI and operators look up, and no other', () => {
    const outputs = synth.template.findOutputs('*');

    expect(Object.keys(outputs).sort()).toEqual(
      [
        'ApiUrl',
        'ApiKeySecretName',
        'DeliveryQueueUrl',
        'DeliveryQueueArn',
        'DeadLetterQueueUrl',
        'DeadLetterQueueArn',
        'EventsTableName',
        'DeliveriesTableName',
        'AttemptsTableName',
        'EndpointsTableName',
        'AlarmTopicArn',
        'DashboardName',
      ].sort(),
    );
  });

  it('names the initial key secret and says how to read it', () => {
    const output = synth.template.findOutputs('ApiKeySecretName').ApiKeySecretName;

    expect(output?.Value).toBe('webhooks/Webhooks/api-keys/initial');
    expect(output?.Description).toContain(
      'aws secretsmanager get-secret-value --secret-id webhooks/Webhooks/api-keys/initial',
    );
  });

  it('points ApiUrl at the $default stage', () => {
    const apiUrl = synth.template.findOutputs('ApiUrl').ApiUrl;

    expect(JSON.stringify(apiUrl?.Value)).toContain(logicalId(synth.stack.api.httpApi));
    expect(JSON.stringify(apiUrl?.Value)).toMatch(/execute-api/);
  });

  it('honours a stack name other than the default', () => {
    // Prepare
    const stackName = 'WebhooksStaging';

    // Act
    const { template } = synthesize({ stackName, bundle: false });

    // Assess
    template.hasOutput('ApiKeySecretName', { Value: 'webhooks/WebhooksStaging/api-keys/initial' });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'WebhooksStaging-delivery' });
  });
});
