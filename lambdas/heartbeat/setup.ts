/**
 * onEvent handler of the custom resource that prepares the synthetic delivery check.
 *
 * - Create: a new send-only API key (`{id: 'heartbeat', scope: 'send'}`): its plaintext goes to
 *   the heartbeat key secret, which only the sender reads, its SHA-256 into the API key document
 *   beside the keys already there; then the tenant `webhooks-heartbeat` and, in it, the receiver's
 *   endpoint (subscribed to `webhooks.heartbeat` only) with a new signing secret.
 * - Update (the receiver's URL changed): the tenant and endpoint again, the endpoint pointed at the
 *   new URL and enabled; the key is kept.
 * - Delete (the heartbeat turned off, or the stack deleted): the key is revoked, the endpoint, its
 *   secret and the tenant deleted.
 *
 * Each step can run again after a failure: a re-run Create replaces the key (plaintext first, so
 * a failed document write never leaves a hash whose key nobody can read), keeps an endpoint that
 * exists, and reuses a signing secret left by a run that died before its endpoint was written.
 * The stack makes this resource depend on the first key's, so the two never write the key
 * document at the same time. Nothing secret is in the response, which CloudFormation would show.
 */
import {
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { secretsManager } from '../adapters/clients.ts';
import { requireEnv } from '../adapters/env.ts';
import { EndpointSecrets } from '../adapters/secrets.ts';
import { Store } from '../adapters/store.ts';
import { generateApiKey, hashApiKey, type StoredApiKey } from '../core/api-keys.ts';
import { ENV } from '../core/schema.ts';
import { generateSecret } from '../core/signing.ts';
import {
  HEARTBEAT_ENDPOINT_ID,
  HEARTBEAT_ENV,
  HEARTBEAT_EVENT_TYPE,
  HEARTBEAT_KEY_ID,
  HEARTBEAT_SETUP_PROPERTIES,
  HEARTBEAT_SETUP_RESOURCE_ID,
  HEARTBEAT_TENANT_ID,
} from './contract.ts';

/** What the CDK provider framework expects back from onEvent. */
export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

const store = new Store();
const endpointSecrets = new EndpointSecrets(requireEnv(ENV.endpointSecretPrefix));
const log = (message: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ message, ...extra }));

/** The key document as stored, every field kept (this handler only adds or removes its own key). */
async function readKeyDocument(secretId: string): Promise<Record<string, unknown> & { keys: unknown[] }> {
  const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
  const parsed: unknown = JSON.parse(SecretString ?? '');
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('the API key document has no "keys" array');
  return { ...(parsed as Record<string, unknown>), keys };
}

const isHeartbeatKey = (key: unknown): boolean => (key as { id?: unknown } | null)?.id === HEARTBEAT_KEY_ID;

async function writeKeyDocument(secretId: string, document: Record<string, unknown>): Promise<void> {
  await secretsManager.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(document) }),
  );
}

/** A new send-only key: plaintext to the sender's secret, then its hash into the key document. */
async function createKey(nowIso: string): Promise<void> {
  const documentId = requireEnv(ENV.apiKeysSecretId);
  const key = generateApiKey();
  await secretsManager.send(
    new PutSecretValueCommand({ SecretId: requireEnv(HEARTBEAT_ENV.keySecretId), SecretString: key }),
  );
  const document = await readKeyDocument(documentId);
  const stored: StoredApiKey = {
    id: HEARTBEAT_KEY_ID,
    sha256: hashApiKey(key),
    createdAt: nowIso,
    scope: 'send',
    name: HEARTBEAT_KEY_ID,
  };
  await writeKeyDocument(documentId, {
    ...document,
    keys: [...document.keys.filter((k) => !isHeartbeatKey(k)), stored],
  });
}

async function revokeKey(): Promise<void> {
  const documentId = requireEnv(ENV.apiKeysSecretId);
  const document = await readKeyDocument(documentId);
  const kept = document.keys.filter((k) => !isHeartbeatKey(k));
  if (kept.length !== document.keys.length) await writeKeyDocument(documentId, { ...document, keys: kept });
}

/** The tenant, and the endpoint at `url`, enabled, with a signing secret. */
async function ensureEndpoint(url: string, nowIso: string): Promise<void> {
  await store.putTenant({ id: HEARTBEAT_TENANT_ID, name: 'Synthetic delivery check', updatedAt: nowIso });
  // Operations by id then need no index lookup of the endpoint's partition.
  store.noteEndpointTenant(HEARTBEAT_ENDPOINT_ID, HEARTBEAT_TENANT_ID);
  const existing = await store.getEndpoint(HEARTBEAT_ENDPOINT_ID);
  if (existing) {
    if (existing.url !== url || !existing.enabled) {
      await store.updateEndpoint(HEARTBEAT_ENDPOINT_ID, { url, enabled: true, updatedAt: nowIso }, [
        'disabledReason',
      ]);
      log('pointed the heartbeat endpoint at the receiver', { endpointId: HEARTBEAT_ENDPOINT_ID });
    }
    return;
  }
  let secretName = endpointSecrets.nameOf(HEARTBEAT_ENDPOINT_ID);
  try {
    secretName = await endpointSecrets.create(HEARTBEAT_ENDPOINT_ID, generateSecret());
  } catch (error) {
    // Left by a run that died before the endpoint was written: the receiver reads whatever it holds.
    if (!(error instanceof ResourceExistsException)) throw error;
  }
  await store.putEndpoint({
    id: HEARTBEAT_ENDPOINT_ID,
    tenantId: HEARTBEAT_TENANT_ID,
    url,
    enabled: true,
    secretName,
    createdAt: nowIso,
    updatedAt: nowIso,
    eventTypes: [HEARTBEAT_EVENT_TYPE],
    description: 'Synthetic delivery check: the stack delivers a heartbeat here every minute',
  });
  log('created the heartbeat endpoint', { endpointId: HEARTBEAT_ENDPOINT_ID, tenantId: HEARTBEAT_TENANT_ID });
}

async function removeEndpoint(): Promise<void> {
  store.noteEndpointTenant(HEARTBEAT_ENDPOINT_ID, HEARTBEAT_TENANT_ID);
  await store.deleteEndpoint(HEARTBEAT_ENDPOINT_ID);
  try {
    // At once, not after the usual 7-day recovery window: a heartbeat turned off and on again
    // creates a secret of the same name, which a secret pending deletion would block.
    await secretsManager.send(
      new DeleteSecretCommand({
        SecretId: endpointSecrets.nameOf(HEARTBEAT_ENDPOINT_ID),
        ForceDeleteWithoutRecovery: true,
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await store.deleteTenant(HEARTBEAT_TENANT_ID);
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
  const nowIso = new Date().toISOString();
  const response: OnEventResponse = {
    PhysicalResourceId: HEARTBEAT_SETUP_RESOURCE_ID,
    Data: { KeyId: HEARTBEAT_KEY_ID, EndpointId: HEARTBEAT_ENDPOINT_ID, TenantId: HEARTBEAT_TENANT_ID },
  };
  if (event.RequestType === 'Delete') {
    await revokeKey();
    await removeEndpoint();
    log('removed the heartbeat key, endpoint and tenant');
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const url = event.ResourceProperties[HEARTBEAT_SETUP_PROPERTIES.receiverUrl];
  if (typeof url !== 'string' || !url.startsWith('https://')) {
    throw new Error(`${HEARTBEAT_SETUP_PROPERTIES.receiverUrl} must be an https URL`);
  }
  if (event.RequestType === 'Create') {
    await createKey(nowIso);
    log('created the heartbeat send-only key', { keyId: HEARTBEAT_KEY_ID });
  }
  await ensureEndpoint(url, nowIso);
  return response;
}
