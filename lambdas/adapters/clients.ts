/**
 * AWS SDK clients, created once per process and reused across invocations (connection
 * reuse is most of a warm invocation's speed). The SDK reads `AWS_ENDPOINT_URL` and
 * `AWS_REGION` itself, which is how local mode reaches the emulator: there is no
 * local-only code path here.
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

export const dynamo = new DynamoDBClient(common);
export const documents = DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});
export const sqs = new SQSClient(common);
export const secretsManager = new SecretsManagerClient(common);

/** Every client, for tests that attach an SDK middleware to record the calls made. */
export const allClients = [dynamo, sqs, secretsManager] as const;
