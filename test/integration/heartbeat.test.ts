/**
 * The synthetic delivery check's handlers on moto: the setup custom resource writes the send-only
 * key beside the first one, the tenant and the receiver's endpoint (and undoes it on Delete);
 * the receiver, reading that endpoint's secret from Secrets Manager, accepts a correctly signed
 * heartbeat (and counts it in `HeartbeatVerified`) and refuses with 401, uncounted, every request
 * that differs from it in one thing. The sender's request is checked against a loopback server.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../lambdas/adapters/store.ts';
import { hashApiKey, matchApiKey, parseApiKeyDocument } from '../../lambdas/core/api-keys.ts';
import { retryPolicyFromEnv } from '../../lambdas/core/config.ts';
import { generateSecret, webhookHeaders } from '../../lambdas/core/signing.ts';
import {
  HEARTBEAT_ENDPOINT_ID,
  HEARTBEAT_ENV,
  HEARTBEAT_EVENT_TYPE,
  HEARTBEAT_KEY_ID,
  HEARTBEAT_TENANT_ID,
  HEARTBEAT_VERIFIED_METRIC,
} from '../../lambdas/heartbeat/contract.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import { EMULATOR_CREDENTIALS, type LocalResources, provision } from '../../local/provision.ts';
import { type CapturedLogs, captureLogs } from '../support/log-capture.ts';

const RECEIVER_URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/';
const FIRST_KEY = 'whk_heartbeat-test-first-key';
const PREFIX = 'heartbeat-test';

type SetupHandler = (event: CloudFormationCustomResourceEvent) => Promise<{ PhysicalResourceId: string }>;
type ReceiverHandler = (event: LambdaFunctionURLEvent) => Promise<{ statusCode?: number; body?: string }>;

const common = {
  ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Webhooks/1',
  RequestId: 'request-1',
  LogicalResourceId: 'HeartbeatSetup',
  ResourceType: 'Custom::Heartbeat',
};
const properties = (url: string) => ({ ServiceToken: common.ServiceToken, ReceiverUrl: url });
const create: CloudFormationCustomResourceEvent = {
  ...common,
  RequestType: 'Create',
  ResourceProperties: properties(RECEIVER_URL),
};
const update = (url: string): CloudFormationCustomResourceEvent => ({
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: 'heartbeat-setup',
  ResourceProperties: properties(url),
  OldResourceProperties: properties(RECEIVER_URL),
});
const remove: CloudFormationCustomResourceEvent = {
  ...common,
  RequestType: 'Delete',
  PhysicalResourceId: 'heartbeat-setup',
  ResourceProperties: properties(RECEIVER_URL),
};

/** A Function URL request as Lambda hands it to the receiver. */
function urlEvent(body: string, headers: Record<string, string>, method = 'POST'): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghijklmnopqrstuvwxyz012345',
      domainName: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abcdefghijklmnopqrstuvwxyz012345',
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'webhooks' },
      requestId: 'request-1',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:06:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

/** The body the delivery worker sends for a heartbeat sent `ageMs` ago. */
function heartbeatBody(nowMs: number, ageMs = 1500): string {
  return JSON.stringify({
    type: HEARTBEAT_EVENT_TYPE,
    timestamp: new Date(nowMs - ageMs).toISOString(),
    data: { sentAt: new Date(nowMs - ageMs).toISOString() },
  });
}

describe('heartbeat handlers on moto', () => {
  let moto: MotoServer;
  let resources: LocalResources;
  let secrets: SecretsManagerClient;
  let store: Store;
  let setup: SetupHandler;
  let receive: ReceiverHandler;
  let logs: CapturedLogs;
  const keySecretName = `${PREFIX}/heartbeat-key`;
  const saved = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    resources = await provision({
      endpoint: moto.endpoint,
      prefix: PREFIX,
      policy: retryPolicyFromEnv({}),
      apiKey: FIRST_KEY,
    });
    secrets = new SecretsManagerClient({
      region: resources.region,
      endpoint: moto.endpoint,
      credentials: EMULATOR_CREDENTIALS,
    });
    // CloudFormation's generated placeholder, which the setup overwrites.
    await secrets.send(
      new CreateSecretCommand({ Name: keySecretName, SecretString: 'generated-placeholder' }),
    );
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: resources.region,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      ENDPOINTS_TABLE: resources.tables.Endpoints,
      API_KEYS_SECRET_ID: resources.apiKeysSecretId,
      ENDPOINT_SECRET_PREFIX: resources.endpointSecretPrefix,
      [HEARTBEAT_ENV.keySecretId]: keySecretName,
      // The sender module reads it when imported; its test gives sendHeartbeat a loopback URL.
      [HEARTBEAT_ENV.apiUrl]: 'http://127.0.0.1:9/',
      [HEARTBEAT_ENV.endpointSecretName]: `${resources.endpointSecretPrefix}/${HEARTBEAT_ENDPOINT_ID}`,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    // The handlers build their clients and read their environment when first imported.
    setup = (await import('../../lambdas/heartbeat/setup.ts')).handler as SetupHandler;
    receive = (await import('../../lambdas/heartbeat/receiver.ts')).handler as ReceiverHandler;
    const { Store: StoreClass } = await import('../../lambdas/adapters/store.ts');
    store = new StoreClass({ endpoints: resources.tables.Endpoints });
  }, 60_000);

  afterAll(async () => {
    process.env = saved;
    secrets?.destroy();
    await moto?.stop();
  });

  beforeEach(() => {
    logs = captureLogs();
    return () => logs.stop();
  });

  const secretString = async (id: string) =>
    (await secrets.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? '';
  const keyDocument = async () =>
    JSON.parse(await secretString(resources.apiKeysSecretId)) as { keys: unknown[] };
  const endpointSecret = async () =>
    JSON.parse(await secretString(`${resources.endpointSecretPrefix}/${HEARTBEAT_ENDPOINT_ID}`)) as {
      current: string;
    };
  const verifiedMetrics = () =>
    logs.raw.filter((line) => line.startsWith('{"_aws"') && line.includes(HEARTBEAT_VERIFIED_METRIC));

  describe('setup', () => {
    it('on Create adds a send-only key beside the first one, whose plaintext only its own secret holds', async () => {
      // Act
      await setup(create);

      // Assess
      const document = parseApiKeyDocument(JSON.stringify(await keyDocument()));
      expect(document.keys.map((key) => key.id)).toEqual(['key_local', HEARTBEAT_KEY_ID]);
      const key = await secretString(keySecretName);
      expect(key).toMatch(/^whk_/);
      expect(document.keys[1]).toEqual({
        id: HEARTBEAT_KEY_ID,
        sha256: hashApiKey(key),
        createdAt: expect.any(String),
        scope: 'send',
        name: HEARTBEAT_KEY_ID,
      });
      expect(matchApiKey(FIRST_KEY, document.keys)).toBe('key_local');
      expect(matchApiKey(key, document.keys)).toBe(HEARTBEAT_KEY_ID);
    });

    it('on Create makes the tenant and, in it, the receiver endpoint for heartbeats only, with a signing secret', async () => {
      // Assess (after the Create above)
      expect(await store.getTenant(HEARTBEAT_TENANT_ID)).toMatchObject({ id: HEARTBEAT_TENANT_ID });
      const endpoint = await store.getEndpoint(HEARTBEAT_ENDPOINT_ID);
      expect(endpoint).toMatchObject({
        id: HEARTBEAT_ENDPOINT_ID,
        tenantId: HEARTBEAT_TENANT_ID,
        url: RECEIVER_URL,
        enabled: true,
        eventTypes: [HEARTBEAT_EVENT_TYPE],
        secretName: `${resources.endpointSecretPrefix}/${HEARTBEAT_ENDPOINT_ID}`,
      });
      expect((await store.listEndpoints(HEARTBEAT_TENANT_ID)).items.map((item) => item.id)).toEqual([
        HEARTBEAT_ENDPOINT_ID,
      ]);
      expect((await endpointSecret()).current).toMatch(/^whsec_/);
    });

    it('on a repeated Create replaces its own key only and keeps the endpoint and its secret', async () => {
      // Prepare
      const before = { key: await secretString(keySecretName), secret: await endpointSecret() };

      // Act
      await setup(create);

      // Assess
      const key = await secretString(keySecretName);
      expect(key).not.toBe(before.key);
      const document = parseApiKeyDocument(JSON.stringify(await keyDocument()));
      expect(document.keys.map((entry) => entry.id)).toEqual(['key_local', HEARTBEAT_KEY_ID]);
      expect(matchApiKey(before.key, document.keys)).toBeUndefined();
      expect(matchApiKey(key, document.keys)).toBe(HEARTBEAT_KEY_ID);
      expect(await endpointSecret()).toEqual(before.secret);
    });

    it('on Update points the endpoint at a new receiver URL and keeps the key', async () => {
      // Prepare
      const key = await secretString(keySecretName);
      const moved = 'https://zyxwvutsrqponmlkjihgfedcba543210.lambda-url.us-east-1.on.aws/';

      // Act
      await setup(update(moved));

      // Assess
      expect((await store.getEndpoint(HEARTBEAT_ENDPOINT_ID))?.url).toBe(moved);
      expect(await secretString(keySecretName)).toBe(key);
      await setup(update(RECEIVER_URL));
      expect((await store.getEndpoint(HEARTBEAT_ENDPOINT_ID))?.url).toBe(RECEIVER_URL);
    });

    it('refuses a receiver URL that is not https', async () => {
      await expect(setup(update('http://127.0.0.1:4000/'))).rejects.toThrow(/https/);
      expect((await store.getEndpoint(HEARTBEAT_ENDPOINT_ID))?.url).toBe(RECEIVER_URL);
    });
  });

  describe('receiver', () => {
    it('accepts a correctly signed heartbeat with 204 and counts it once', async () => {
      // Prepare
      const nowMs = Date.now();
      const body = heartbeatBody(nowMs);
      const headers = webhookHeaders(
        [(await endpointSecret()).current],
        'msg_01',
        Math.floor(nowMs / 1000),
        body,
      );

      // Act
      const response = await receive(urlEvent(body, headers));

      // Assess
      expect(response.statusCode).toBe(204);
      const metrics = verifiedMetrics().map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(metrics).toHaveLength(1);
      expect(metrics[0]).toMatchObject({
        [HEARTBEAT_VERIFIED_METRIC]: 1,
        service: 'webhooks-heartbeat-receiver',
      });
      expect(logs.lines.find((line) => line.message === 'heartbeat verified')).toMatchObject({
        webhookId: 'msg_01',
        heartbeatAgeMs: expect.any(Number),
      });
    });

    it('accepts a delivery signed by the previous and the current secret during a rotation', async () => {
      const nowMs = Date.now();
      const body = heartbeatBody(nowMs);
      const headers = webhookHeaders(
        [generateSecret(), (await endpointSecret()).current],
        'msg_02',
        Math.floor(nowMs / 1000),
        body,
      );
      expect((await receive(urlEvent(body, headers))).statusCode).toBe(204);
    });

    it('accepts a verified delivery that is not a heartbeat without counting it', async () => {
      const nowMs = Date.now();
      const body = JSON.stringify({
        type: 'webhook.test',
        timestamp: new Date(nowMs).toISOString(),
        data: {},
      });
      const headers = webhookHeaders(
        [(await endpointSecret()).current],
        'msg_03',
        Math.floor(nowMs / 1000),
        body,
      );
      expect((await receive(urlEvent(body, headers))).statusCode).toBe(204);
      expect(verifiedMetrics()).toEqual([]);
    });

    // Each case changes one thing of a correctly signed heartbeat.
    it.each<[string, (signed: { body: string; headers: Record<string, string> }) => LambdaFunctionURLEvent]>([
      [
        'signed with another secret',
        () => {
          const nowMs = Date.now();
          const body = heartbeatBody(nowMs);
          return urlEvent(body, webhookHeaders([generateSecret()], 'msg_04', Math.floor(nowMs / 1000), body));
        },
      ],
      [
        'a body changed after signing',
        ({ body, headers }) => urlEvent(body.replace('"data":{', '"data":{"x":1,'), headers),
      ],
      [
        'another webhook-id than signed',
        ({ body, headers }) => urlEvent(body, { ...headers, 'webhook-id': 'msg_other' }),
      ],
      [
        'another timestamp than signed',
        ({ body, headers }) =>
          urlEvent(body, {
            ...headers,
            'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1),
          }),
      ],
      [
        'no signature header',
        ({ body, headers }) => {
          const { 'webhook-signature': _dropped, ...rest } = headers;
          return urlEvent(body, rest);
        },
      ],
      [
        'a signature that is not base64 of the HMAC',
        ({ body, headers }) => urlEvent(body, { ...headers, 'webhook-signature': 'v1,AAAA' }),
      ],
    ])('refuses with 401 and counts nothing: %s', async (_what, change) => {
      // Prepare
      const nowMs = Date.now();
      const body = heartbeatBody(nowMs);
      const headers = webhookHeaders(
        [(await endpointSecret()).current],
        'msg_05',
        Math.floor(nowMs / 1000),
        body,
      );

      // Act
      const response = await receive(change({ body, headers }));

      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body ?? '{}')).toMatchObject({ error: { code: 'bad_signature' } });
      expect(verifiedMetrics()).toEqual([]);
      expect(logs.lines.some((line) => line.message === 'request refused' && line.status === 401)).toBe(true);
    });

    it('refuses a correctly signed heartbeat that is too old to be a fresh delivery (replay)', async () => {
      const nowMs = Date.now();
      const body = heartbeatBody(nowMs);
      const old = Math.floor(nowMs / 1000) - 10 * 60;
      const headers = webhookHeaders([(await endpointSecret()).current], 'msg_06', old, body);
      expect((await receive(urlEvent(body, headers))).statusCode).toBe(401);
      expect(verifiedMetrics()).toEqual([]);
    });

    it('refuses anything but POST with 405', async () => {
      expect((await receive(urlEvent('', {}, 'GET'))).statusCode).toBe(405);
      expect(verifiedMetrics()).toEqual([]);
    });
  });

  describe('sender', () => {
    it('posts the heartbeat to <ApiUrl>/events as the heartbeat tenant, with its key as a Bearer token', async () => {
      // Prepare: a loopback stand-in for the API that answers as POST /events does.
      const requests: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] =
        [];
      const server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        request.on('end', () => {
          requests.push({ method: request.method, url: request.url, headers: request.headers, body });
          response.writeHead(202, { 'content-type': 'application/json', trackingid: 'trk_1' });
          response.end(
            JSON.stringify({ id: 'msg_07', type: HEARTBEAT_EVENT_TYPE, deliveries: [{ id: 'dlv_1' }] }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const { sendHeartbeat } = await import('../../lambdas/heartbeat/sender.ts');

      // Act
      const report = await sendHeartbeat({
        apiUrl: `http://127.0.0.1:${port}`,
        key: async () => 'whk_sender-test',
        fetch,
        now: () => new Date('2026-12-03T06:00:00.000Z'),
      }).finally(() => server.close());

      // Assess
      expect(report).toEqual({ status: 202, trackingId: 'trk_1', eventId: 'msg_07', deliveries: 1 });
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ method: 'POST', url: '/events' });
      expect(requests[0]?.headers.authorization).toBe('Bearer whk_sender-test');
      expect(JSON.parse(requests[0]?.body ?? '')).toEqual({
        type: HEARTBEAT_EVENT_TYPE,
        tenantId: HEARTBEAT_TENANT_ID,
        data: { sentAt: '2026-12-03T06:00:00.000Z' },
      });
    });
  });

  describe('setup on Delete', () => {
    it('revokes its key only, and deletes the endpoint, its secret and the tenant', async () => {
      // Act
      await setup(remove);

      // Assess
      const document = parseApiKeyDocument(JSON.stringify(await keyDocument()));
      expect(document.keys.map((key) => key.id)).toEqual(['key_local']);
      expect(await store.getEndpoint(HEARTBEAT_ENDPOINT_ID)).toBeUndefined();
      expect(await store.getTenant(HEARTBEAT_TENANT_ID)).toBeUndefined();
      await expect(endpointSecret()).rejects.toThrow();
      // A second Delete (CloudFormation retries) finds nothing left to remove and succeeds.
      await expect(setup(remove)).resolves.toEqual({ PhysicalResourceId: 'heartbeat-setup' });
    });

    it('lets the heartbeat be turned on again: a new Create finds no secret pending deletion in its way', async () => {
      // Act
      await setup(create);

      // Assess
      expect((await store.getEndpoint(HEARTBEAT_ENDPOINT_ID))?.url).toBe(RECEIVER_URL);
      expect((await endpointSecret()).current).toMatch(/^whsec_/);
      const document = parseApiKeyDocument(JSON.stringify(await keyDocument()));
      expect(document.keys.map((key) => key.id)).toEqual(['key_local', HEARTBEAT_KEY_ID]);
    });
  });
});
