/**
 * What the API routes' mutation tests (test/integration/api-routes-mutants-*.test.ts) share: the
 * API app built in process as lambdas/api/handler.ts builds it (the real Store, EndpointSecrets,
 * ApiKeyStore, PortalKey and queue functions, and the authorizer's code run before it), against
 * the tables, queues and secrets local/provision.ts creates under a prefix of the file's own on
 * the moto server test/support/mutants-aws.ts gives (shared under Stryker), and readers of what
 * the app queued and stored.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Store } from '../../lambdas/adapters/store.ts';
import type { ApiApp, ApiDeps, ApiRequest, ApiResponse } from '../../lambdas/api/app.ts';
import { retryPolicyFromEnv } from '../../lambdas/core/config.ts';
import { HttpError } from '../../lambdas/core/errors.ts';
import type { Principal } from '../../lambdas/core/principal.ts';
import { DELIVERIES_TABLE, ENDPOINTS_TABLE } from '../../lambdas/core/schema.ts';
import { EMULATOR_CREDENTIALS, type LocalResources, provision } from '../../local/provision.ts';
import { REGION, uniqueName, useMoto } from './mutants-aws.ts';

/** The admin key provision() stores the hash of. */
export const ADMIN_KEY = 'whk_api_routes_mutants_admin_key_0123456789';

export const ADMIN: Principal = { kind: 'admin', keyId: 'key_local' };
export const SENDER: Principal = { kind: 'send', keyId: 'key_sender' };
export const portal = (tenantId: string, expiresAtMs = Date.now() + 3_600_000): Principal => ({
  kind: 'portal',
  tenantId,
  expiresAtMs,
});

/** An answer, as a client sees it: a route's response, or the status and error body of its HttpError. */
export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the JSON bodies field by field
  readonly body: any;
  readonly headers: Record<string, string>;
}

export interface CallOptions {
  readonly body?: unknown;
  readonly query?: Record<string, string | undefined>;
  readonly headers?: Record<string, string>;
  /** Who calls (the authorizer's answer); `undefined` sends the headers to the authorizer's code. */
  readonly as?: Principal | null;
}

export interface ApiRoutesFixture {
  readonly resources: () => LocalResources;
  readonly app: () => ApiApp;
  /** The app's dependencies, for a test that builds a variant of it. */
  readonly deps: () => ApiDeps;
  readonly store: () => Store;
  /** Added to Date.now() by the app's clock (0 again after each test). */
  clockOffsetMs: number;
  /** When set, the app's clock stands still at this time (cleared after each test). */
  frozenAtMs: number | undefined;
  /**
   * When set, the app's `queue.enqueue` in place of the real one (which never throws: a test of
   * what the routes do when it does). Cleared after each test.
   */
  enqueueInstead: ((messages: readonly unknown[]) => Promise<string[]>) | undefined;
  /** What the app warned about during the current test. */
  readonly warnings: { message: string; extra: Record<string, unknown> }[];
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  /** Every message now visible on the delivery queue (its JSON fields, and `body` for a delivery), removed from it. */
  drainDeliveryQueue(): Promise<Record<string, unknown>[]>;
  /** Clients for the test's own reads and writes. */
  readonly sqs: () => SQSClient;
  readonly documents: () => DynamoDBDocumentClient;
  /** An endpoint's secret as stored (parsed), or undefined when it is gone or scheduled for deletion. */
  secretOf(name: string): Promise<Record<string, unknown> | undefined>;
}

/**
 * Provisions the resources under a prefix of `topic` in a `beforeAll`, and builds the app afresh before each test. Call at
 * the top of the file. Event checks are sent with no delay, so a test can read them at once.
 */
export function useApiRoutes(topic: string): ApiRoutesFixture {
  const moto = useMoto();
  let resources: LocalResources | undefined;
  let app: ApiApp | undefined;
  let deps: ApiDeps | undefined;
  let makeApp: (() => ApiApp) | undefined;
  let store: Store | undefined;
  let sqs: SQSClient | undefined;
  let documents: DynamoDBDocumentClient | undefined;
  let secrets: SecretsManagerClient | undefined;
  const fixture: ApiRoutesFixture = {
    resources: () => defined(resources),
    app: () => defined(app),
    deps: () => defined(deps),
    store: () => defined(store),
    clockOffsetMs: 0,
    frozenAtMs: undefined,
    enqueueInstead: undefined,
    warnings: [],
    sqs: () => defined(sqs),
    documents: () => defined(documents),
    async secretOf(name) {
      try {
        const { SecretString } = await defined(secrets).send(new GetSecretValueCommand({ SecretId: name }));
        return JSON.parse(SecretString ?? '');
      } catch (error) {
        if (
          (error as Error).name === 'ResourceNotFoundException' ||
          (error as Error).name === 'InvalidRequestException'
        )
          return undefined;
        throw error;
      }
    },
    async call(method, path, options = {}) {
      const request: ApiRequest = {
        method,
        path,
        headers: { ...options.headers },
        query: options.query ?? {},
        trackingId: uniqueName('t'),
        ...(options.body === undefined
          ? {}
          : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
        ...(options.as === undefined ? { auth: ADMIN } : options.as === null ? {} : { auth: options.as }),
      };
      let response: ApiResponse;
      try {
        response = await defined(app).handle(request);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        response = {
          status: error.status,
          body: { error: { code: error.code, message: error.message } },
          headers: error.headers,
        };
      }
      return { status: response.status, body: response.body, headers: response.headers ?? {} };
    },
    async drainDeliveryQueue() {
      const messages: Record<string, unknown>[] = [];
      for (;;) {
        const { Messages = [] } = await defined(sqs).send(
          new ReceiveMessageCommand({
            QueueUrl: defined(resources).deliveryQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 60,
          }),
        );
        if (Messages.length === 0) return messages;
        for (const message of Messages) {
          messages.push(parseMessage(message.Body ?? ''));
          await defined(sqs).send(
            new DeleteMessageCommand({
              QueueUrl: defined(resources).deliveryQueueUrl,
              ReceiptHandle: message.ReceiptHandle,
            }),
          );
        }
      }
    },
  };
  beforeAll(async () => {
    resources = await provision({
      endpoint: moto.endpoint(),
      prefix: uniqueName(`api-${topic}`),
      policy: retryPolicyFromEnv({}),
      apiKey: ADMIN_KEY,
    });
    const config = { endpoint: moto.endpoint(), region: REGION, credentials: EMULATOR_CREDENTIALS };
    sqs = new SQSClient(config);
    documents = DynamoDBDocumentClient.from(new DynamoDBClient(config));
    secrets = new SecretsManagerClient(config);
    // The adapters create their SDK clients on import: after useMoto set the environment.
    const { ApiApp } = await import('../../lambdas/api/app.ts');
    const { authorize } = await import('../../lambdas/api/authorize.ts');
    const { ApiKeyStore, PortalKey } = await import('../../lambdas/adapters/credentials.ts');
    const { redriveDeadLetters } = await import('../../lambdas/adapters/dlq.ts');
    const queue = await import('../../lambdas/adapters/queue.ts');
    const { EndpointSecrets } = await import('../../lambdas/adapters/secrets.ts');
    const { endpointTransitionsRepository } = await import(
      '../../lambdas/adapters/store/endpoint-transitions.ts'
    );
    const { operationalEventsRepository } = await import(
      '../../lambdas/adapters/store/operational-events.ts'
    );
    const { tableName } = await import('../../lambdas/adapters/store/tables.ts');
    const { Store } = await import('../../lambdas/adapters/store.ts');
    const { newOperationalEventId } = await import('../../lambdas/core/ids.ts');
    const r = resources;
    store = new Store({
      endpoints: r.tables.Endpoints,
      events: r.tables.Events,
      deliveries: r.tables.Deliveries,
      attempts: r.tables.Attempts,
    });
    deps = {
      store,
      secrets: new EndpointSecrets(r.endpointSecretPrefix),
      apiKeys: new ApiKeyStore(r.apiKeysSecretId),
      portalKey: new PortalKey(r.portalKeySecretId),
      queue: {
        enqueue: (messages, options) =>
          fixture.enqueueInstead
            ? fixture.enqueueInstead(messages)
            : queue.enqueueDeliveries(r.deliveryQueueUrl, messages, options),
        enqueueOne: (message) => queue.enqueueOne(r.deliveryQueueUrl, message),
        release: (endpointId) => queue.sendRelease(r.deliveryQueueUrl, endpointId),
        scheduleEventChecks: (eventIds) => queue.sendEventChecks(r.deliveryQueueUrl, eventIds, 0),
        deadLetterDepth: () => queue.queueDepth(r.deadLetterQueueUrl),
        redriveDeadLetters: () => redriveDeadLetters(r.deadLetterQueueUrl, r.deliveryQueueUrl),
      },
      warn: (message, extra) => fixture.warnings.push({ message, extra }),
      endpointTransitions: endpointTransitionsRepository(tableName(r.tables.Endpoints, ENDPOINTS_TABLE)),
      operationalEventLog: operationalEventsRepository(tableName(r.tables.Deliveries, DELIVERIES_TABLE)),
      operationalEvents: {
        publish: (event) => queue.sendOperationalEvent(r.deliveryQueueUrl, newOperationalEventId(), event),
      },
      guard: { allowLoopback: false, blockedHosts: ['blocked.example'] },
      now: () => fixture.frozenAtMs ?? Date.now() + fixture.clockOffsetMs,
    };
    makeApp = () => new ApiApp(defined(deps), { authorize });
  }, 120_000);
  // A fresh app for each test (its endpoint cache empty): building it registers the routes, so
  // Stryker's per-test coverage counts the route table as covered by every test, not by none.
  beforeEach(() => {
    app = defined(makeApp)();
  });
  // What a test set on the fixture never reaches the next test.
  afterEach(() => {
    fixture.clockOffsetMs = 0;
    fixture.frozenAtMs = undefined;
    fixture.enqueueInstead = undefined;
    fixture.warnings.length = 0;
  });
  afterAll(() => {
    sqs?.destroy();
    documents?.destroy();
    secrets?.destroy();
  });
  return fixture;
}

/** A delivery message is its fields' JSON, a newline, and the webhook body; others are JSON (or `{ raw }`). */
function parseMessage(raw: string): Record<string, unknown> {
  const [fields = '', ...body] = raw.split('\n');
  try {
    return { ...JSON.parse(fields), ...(body.length > 0 ? { body: body.join('\n') } : {}) };
  } catch {
    return { raw };
  }
}

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('used before the beforeAll of useApiRoutes ran');
  return value;
}
