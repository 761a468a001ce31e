/**
 * lambdas/adapters/clients.ts: the list the tests and the bench instrument holds every client,
 * and the document client drops undefined attributes (records are built with optional fields
 * left undefined) instead of refusing the write. The deadlines are test/hardening/
 * sdk-deadlines.test.ts's. No request leaves the process: the one command sent is answered by
 * a middleware in the emulator's place.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { recordCommands } from '../support/mutants-aws.ts';

beforeEach(() => {
  vi.resetModules();
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});
afterEach(() => vi.unstubAllEnvs());

it('allClients lists the DynamoDB, SQS and Secrets Manager clients the adapters use', async () => {
  const clients = await import('../../lambdas/adapters/clients.ts');
  expect(clients.allClients).toEqual([clients.dynamo, clients.sqs, clients.secretsManager]);
  expect(new Set(clients.allClients.map((client) => client.constructor.name))).toEqual(
    new Set(['DynamoDBClient', 'SQSClient', 'SecretsManagerClient']),
  );
});

it('the document client writes an item with undefined attributes, leaving them out', async () => {
  // Prepare: answer PutItem in DynamoDB's place, keeping what would have been sent.
  const { dynamo, documents } = await import('../../lambdas/adapters/clients.ts');
  const recorder = recordCommands(dynamo, 'build');
  recorder.intercept = () => Promise.resolve({ output: { $metadata: {} } });

  // Act
  await documents.send(
    new PutCommand({
      TableName: 'events',
      Item: { id: 'ev_1', idempotent: undefined, nested: { a: 1, b: undefined } },
    }),
  );

  // Assess
  expect(recorder.sent.map((command) => command.input.Item)).toEqual([
    { id: { S: 'ev_1' }, nested: { M: { a: { N: '1' } } } },
  ]);
});
