/**
 * The custom resource handler that creates the first API key. It lives with the CDK code it
 * belongs to; its AWS calls are mocked.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../lambdas/bootstrap-key/handler.ts';
import { hashApiKey, matchApiKey, parseApiKeyDocument } from '../../lambdas/core/api-keys.ts';

const HASHES_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhooks/Webhooks/api-keys/hashes-AbCdEf';
const INITIAL_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhooks/Webhooks/api-keys/initial-GhIjKl';
const PLACEHOLDER = '{"keys":[],"placeholder":"generated-by-cloudformation"}';

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Webhooks/1',
  RequestId: 'request-1',
  LogicalResourceId: 'ApiKeysInitialKey',
  ResourceType: 'Custom::InitialApiKey',
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider' },
};
const createEvent: CloudFormationCustomResourceCreateEvent = { ...common, RequestType: 'Create' };
const updateEvent: CloudFormationCustomResourceUpdateEvent = {
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: 'initial-api-key',
  OldResourceProperties: common.ResourceProperties,
};
const deleteEvent: CloudFormationCustomResourceDeleteEvent = {
  ...common,
  RequestType: 'Delete',
  PhysicalResourceId: 'initial-api-key',
};

describe('bootstrap-key handler', () => {
  const secrets = mockClient(SecretsManagerClient);

  beforeAll(() => {
    process.env.API_KEYS_SECRET_ID = HASHES_ARN;
    process.env.INITIAL_API_KEY_SECRET_ID = INITIAL_ARN;
  });

  afterAll(() => {
    delete process.env.API_KEYS_SECRET_ID;
    delete process.env.INITIAL_API_KEY_SECRET_ID;
    secrets.restore();
  });

  beforeEach(() => {
    secrets.reset();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: PLACEHOLDER });
    secrets.on(PutSecretValueCommand).resolves({});
  });

  function puts(): { SecretId?: string; SecretString?: string }[] {
    return secrets.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input);
  }

  it('on Create writes a new key to the initial secret and only its hash to the hashes secret', async () => {
    // Act
    await handler(createEvent);

    // Assess
    const [initial, hashes] = puts();
    expect(initial?.SecretId).toBe(INITIAL_ARN);
    expect(hashes?.SecretId).toBe(HASHES_ARN);
    const key = initial?.SecretString ?? '';
    expect(key).toMatch(/^whk_[A-Za-z0-9_-]{43}$/);
    const document = parseApiKeyDocument(hashes?.SecretString ?? '');
    expect(document.keys).toEqual([
      { id: 'key_initial', sha256: hashApiKey(key), createdAt: expect.any(String) },
    ]);
    expect(matchApiKey(key, document.keys)).toBe('key_initial');
    expect(hashes?.SecretString).not.toContain(key);
  });

  it('writes the plaintext before the hash, so a failed hash write never strands a key', async () => {
    // Act
    await handler(createEvent);

    // Assess
    expect(puts().map((input) => input.SecretId)).toEqual([INITIAL_ARN, HASHES_ARN]);
  });

  it('never returns the key to CloudFormation', async () => {
    // Act
    const response = await handler(createEvent);

    // Assess
    const key = puts()[0]?.SecretString ?? '';
    expect(JSON.stringify(response)).not.toContain(key);
    expect(response).toEqual({ PhysicalResourceId: 'initial-api-key', Data: { KeyId: 'key_initial' } });
  });

  it('on a repeated Create leaves existing keys alone', async () => {
    // Prepare
    const existing = JSON.stringify({ keys: [{ id: 'key_ops', sha256: hashApiKey('whk_existing') }] });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: existing });

    // Act
    await handler(createEvent);

    // Assess
    expect(puts()).toEqual([]);
  });

  it.each<[string, CloudFormationCustomResourceEvent]>([
    ['Update', updateEvent],
    ['Delete', deleteEvent],
  ])('on %s touches no secret and keeps the physical id', async (_type, event) => {
    // Act
    const response = await handler(event);

    // Assess
    expect(secrets.calls()).toHaveLength(0);
    expect(response).toEqual({ PhysicalResourceId: 'initial-api-key' });
  });
});
