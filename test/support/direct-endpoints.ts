/**
 * Creates endpoints straight in the store and Secrets Manager of a running harness, the way
 * POST /endpoints stores them, for tests of the delivery side that must not depend on the API.
 */
import { EndpointSecrets } from '../../lambdas/adapters/secrets.ts';
import { Store } from '../../lambdas/adapters/store.ts';
import { newEndpointId } from '../../lambdas/core/ids.ts';
import type { DeliveryMessage } from '../../lambdas/core/payload.ts';
import type { EndpointRecord } from '../../lambdas/core/records.ts';
import type { Harness } from './harness.ts';

export interface DirectEndpoint {
  readonly id: string;
  readonly secret: string;
  readonly record: EndpointRecord;
}

function storeOf(harness: Harness): Store {
  const { tables } = harness.stack.resources;
  return new Store({
    endpoints: tables.Endpoints,
    events: tables.Events,
    deliveries: tables.Deliveries,
    attempts: tables.Attempts,
  });
}

/**
 * Stores the event a delivery message is of, queued, as ingest stores it: a delivery released
 * from a backlog is rebuilt from it (lambdas/delivery/backlog.ts).
 */
export async function storeEventOf(harness: Harness, message: DeliveryMessage): Promise<void> {
  await storeOf(harness).putEventIfAbsent({
    id: message.eventId,
    type: message.eventType,
    createdAtMs: message.createdAtMs,
    endpointIds: [message.endpointId],
    fingerprint: 'direct',
    body: message.body,
    state: 'queued',
  });
}

export async function createEndpointDirect(
  harness: Harness,
  url: string,
  options: { id?: string; headers?: Record<string, string>; extra?: Partial<EndpointRecord> } = {},
): Promise<DirectEndpoint> {
  const { resources } = harness.stack;
  const store = storeOf(harness);
  const secrets = new EndpointSecrets(resources.endpointSecretPrefix);
  const id = options.id ?? newEndpointId();
  const secret = `whsec_${Buffer.from(`direct-${id}-secret-bytes-32!!`).toString('base64')}`;
  const secretName = await secrets.create(id, secret, options.headers);
  const now = new Date().toISOString();
  const record: EndpointRecord = {
    id,
    url,
    enabled: true,
    secretName,
    createdAt: now,
    updatedAt: now,
    ...(options.headers ? { headerNames: Object.keys(options.headers) } : {}),
    ...options.extra,
  };
  await store.putEndpoint(record);
  return { id, secret, record };
}
