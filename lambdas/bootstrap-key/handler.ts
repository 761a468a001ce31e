/**
 * onEvent handler of the custom resource that creates the stack's first API key.
 *
 * On Create it generates a key, writes the plaintext to the InitialApiKey secret (which only
 * operators read) and its hash to the API key hashes secret (which the authorizer and the API function read). On
 * Update and Delete it does nothing: keys are rotated by operators, never silently by a deploy.
 * The key never appears in the response, which CloudFormation would show and log.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { type ApiKeyDocument, generateApiKey, hashApiKey, parseApiKeyDocument } from '../core/api-keys.ts';
import { ENV } from '../core/schema.ts';
import {
  INITIAL_API_KEY_ID,
  INITIAL_API_KEY_RESOURCE_ID,
  INITIAL_API_KEY_SECRET_ID_ENV,
} from './contract.ts';

const secretsManager = new SecretsManagerClient({});

/** What the CDK provider framework expects back from onEvent. */
export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** True if the key document already holds a key (a re-run Create must not replace it). */
async function hasKeys(hashesSecretId: string): Promise<boolean> {
  const current = await secretsManager.send(new GetSecretValueCommand({ SecretId: hashesSecretId }));
  try {
    return parseApiKeyDocument(current.SecretString ?? '').keys.length > 0;
  } catch {
    return false;
  }
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
  if (event.RequestType !== 'Create') {
    console.log(
      JSON.stringify({ message: `${event.RequestType}: nothing to do, keys are never rotated here` }),
    );
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const hashesSecretId = requireEnv(ENV.apiKeysSecretId);
  const initialKeySecretId = requireEnv(INITIAL_API_KEY_SECRET_ID_ENV);

  if (await hasKeys(hashesSecretId)) {
    console.log(JSON.stringify({ message: 'API keys already exist; leaving them as they are' }));
    return { PhysicalResourceId: INITIAL_API_KEY_RESOURCE_ID, Data: { KeyId: INITIAL_API_KEY_ID } };
  }

  const key = generateApiKey();
  // Plaintext first: if the hash write then fails, a retry makes a fresh key for both, whereas
  // the other order could leave a hash whose key nobody can read.
  await secretsManager.send(new PutSecretValueCommand({ SecretId: initialKeySecretId, SecretString: key }));
  const document: ApiKeyDocument = {
    keys: [{ id: INITIAL_API_KEY_ID, sha256: hashApiKey(key), createdAt: new Date().toISOString() }],
  };
  await secretsManager.send(
    new PutSecretValueCommand({ SecretId: hashesSecretId, SecretString: JSON.stringify(document) }),
  );
  console.log(JSON.stringify({ message: 'created the first API key', keyId: INITIAL_API_KEY_ID }));
  return { PhysicalResourceId: INITIAL_API_KEY_RESOURCE_ID, Data: { KeyId: INITIAL_API_KEY_ID } };
}
