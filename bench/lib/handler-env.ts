/**
 * Dummy environment for importing a handler with no AWS behind it: every variable the
 * handlers read at cold start, set to plausible values, and no `AWS_ENDPOINT_URL` (nothing
 * may reach the network; the benchmark either fakes the transport or never calls AWS).
 */
import { ENV, TABLES } from '../../lambdas/core/schema.ts';

export function dummyHandlerEnv(): Record<string, string> {
  const queue = (name: string) => `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`;
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
    ...Object.fromEntries(TABLES.map((table) => [table.envVar, `bench-${table.id.toLowerCase()}`])),
    [ENV.deliveryQueueUrl]: queue('bench-deliveries'),
    [ENV.deadLetterQueueUrl]: queue('bench-dlq'),
    [ENV.apiKeysSecretId]: 'bench/api-keys',
    [ENV.portalKeySecretId]: 'bench/portal-signing-key',
    [ENV.operationalEventBus]: 'default',
    [ENV.endpointSecretPrefix]: 'bench/endpoints',
    [ENV.allowLoopback]: 'false',
    [ENV.blockedHosts]: 'api.example.com',
    POWERTOOLS_SERVICE_NAME: 'webhooks-bench',
    POWERTOOLS_METRICS_NAMESPACE: 'Webhooks',
  };
}

/** Sets {@link dummyHandlerEnv} on this process and removes anything pointing the SDK elsewhere. */
export function useDummyHandlerEnv(): void {
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, dummyHandlerEnv());
}
