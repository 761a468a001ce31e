/**
 * Creates endpoints straight in the store and Secrets Manager of a running harness, the way
 * POST /endpoints stores them, for tests of the delivery side that must not depend on the API.
 */
import { EndpointSecrets } from '../../lambdas/adapters/secrets.ts';
import { Store } from '../../lambdas/adapters/store.ts';
import { newEndpointId } from '../../lambdas/core/ids.ts';
import type { EndpointRecord } from '../../lambdas/core/records.ts';
import type { Harness } from './harness.ts';

export interface DirectEndpoint {
  readonly id: string;
  readonly secret: string;
  readonly record: EndpointRecord;
}

export async function createEndpointDirect(
  harness: Harness,
  url: string,
  options: { headers?: Record<string, string>; extra?: Partial<EndpointRecord> } = {},
): Promise<DirectEndpoint> {
  const { resources } = harness.stack;
  const store = new Store({
    endpoints: resources.tables.Endpoints,
    events: resources.tables.Events,
    deliveries: resources.tables.Deliveries,
    attempts: resources.tables.Attempts,
  });
  const secrets = new EndpointSecrets(resources.endpointSecretPrefix);
  const id = newEndpointId();
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
