/**
 * AWS SDK clients, created once per process and reused across invocations (connection
 * reuse is most of a warm invocation's speed). The SDK reads `AWS_ENDPOINT_URL` and
 * `AWS_REGION` itself, which is how local mode reaches the emulator: there is no
 * local-only code path here.
 *
 * In the Lambda bundles the credentials come from the environment only (lib/webhook-function.ts
 * aliases the SDK's default chain to lambdas/adapters/env-credentials.ts); here, run from source
 * by tests and local mode, the SDK's full default chain applies.
 *
 * Each client is marked pure, so a bundle that never uses one drops it, its SDK package and its
 * construction (the sweeper has no Secrets Manager); `allClients` is for tests and the bench only.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Short deadlines so a handler always answers before its own timeout. `throwOnRequestTimeout`
 * makes the request deadline real: without it the SDK only logs a warning and keeps waiting.
 */
const requestHandler = { connectionTimeout: 2_000, requestTimeout: 4_000, throwOnRequestTimeout: true };
const common = { maxAttempts: 3, requestHandler } as const;

export const dynamo = /* @__PURE__ */ new DynamoDBClient(common);
export const documents = /* @__PURE__ */ DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});
export const sqs = /* @__PURE__ */ new SQSClient(common);
export const secretsManager = /* @__PURE__ */ new SecretsManagerClient(common);

/** Every client, for tests that attach an SDK middleware to record the calls made. */
export const allClients = [dynamo, sqs, secretsManager] as const;
