/**
 * The Lambda bundles as deployed: `cdk synth` writes each function's asset to cdk.out, and this
 * file runs those `index.mjs` files (not the TypeScript sources) under Node 22 in child
 * processes, against moto, with what Lambda gives a function: the environment the template sets
 * (resource names mapped to the emulator's) and credentials in environment variables only. No
 * profile, no `~/.aws` (HOME is an empty directory), no metadata service.
 *
 * The API and pages bundles get API Gateway HTTP API events (payload format 2.0, the routes the
 * stack declares); the delivery bundle gets an SQS event source mapping event built from a message
 * really received from the moto queue, and delivers to a loopback receiver.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../bench/sections/bundles.ts';
import { decodeEventCheck } from '../../lambdas/core/payload.ts';
import { ENV } from '../../lambdas/core/schema.ts';
import { type MotoServer, startMoto } from '../../local/moto.ts';
import {
  EMULATOR_CREDENTIALS,
  handlerEnvironment,
  type LocalResources,
  provision,
} from '../../local/provision.ts';
import { synthesize } from '../cdk/stack-fixture.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

const API_KEY = 'whk_synthesized-bundles-test-key';
const POLICY = { scheduleSeconds: [1, 2], maxAttempts: 3 };
const REGION = 'us-east-1';

/** The stack's functions, by Powertools service name, and the entry each is built from. */
const FUNCTIONS = {
  api: { service: 'webhooks-api', entry: 'lambdas/api/handler.ts' },
  delivery: { service: 'webhooks-delivery', entry: 'lambdas/delivery/handler.ts' },
  sweeper: { service: 'webhooks-sweeper', entry: 'lambdas/sweeper/handler.ts' },
  bootstrapKey: { service: 'webhooks-bootstrap-key', entry: 'lambdas/bootstrap-key/handler.ts' },
  authorizer: { service: 'webhooks-authorizer', entry: 'lambdas/authorizer/handler.ts' },
  pages: { service: 'webhooks-pages', entry: 'lambdas/pages/handler.ts' },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

interface SynthesizedFunction {
  /** The asset's `index.mjs` in cdk.out. */
  readonly file: string;
  readonly handler: string;
  readonly runtime: string;
  /** The template's environment: strings as they are, tokens (Refs, GetAtts) as objects. */
  readonly environment: Record<string, unknown>;
}

interface Invocation<T> {
  /** `process.versions.node` of the process that ran the bundle. */
  readonly node: string;
  readonly result?: T;
  readonly error?: { name: string; message: string };
  /** What the function printed on stdout and stderr (Powertools' JSON log lines, EMF metrics). */
  readonly output: string;
}

/** Loads the bundle as Lambda's Node.js runtime does (ESM import, `handler` export), calls it once. */
const RUNNER = `
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundle, eventFile, resultFile] = process.argv.slice(2);
const write = (outcome) => writeFileSync(resultFile, JSON.stringify({ node: process.versions.node, ...outcome }));
try {
  const { handler } = await import(pathToFileURL(bundle).href);
  const context = {
    awsRequestId: 'synthesized-bundles-test',
    functionName: 'synthesized-bundles-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:${REGION}:000000000000:function:synthesized-bundles-test',
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => 30000,
  };
  const result = await handler(JSON.parse(readFileSync(eventFile, 'utf8')), context);
  write({ result });
} catch (error) {
  write({ error: { name: error?.name, message: error?.message } });
}
process.exit(0);
`;

let moto: MotoServer;
let resources: LocalResources;
let receiver: TestReceiver;
let functions: Record<FunctionName, SynthesizedFunction>;
let work: string;
let home: string;
let sqs: SQSClient;
let documents: DynamoDBDocumentClient;
let secrets: SecretsManagerClient;
let invocations = 0;

/** Each function's asset in cdk.out, found through the template's `Code.S3Key` (`<hash>.zip`). */
function synthesizedFunctions(outdir: string): Record<FunctionName, SynthesizedFunction> {
  const template = JSON.parse(readFileSync(join(outdir, 'Webhooks.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const byService = new Map<string, SynthesizedFunction>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = resource.Properties as {
      Code: { S3Key: string };
      Handler: string;
      Runtime: string;
      Environment?: { Variables?: Record<string, unknown> };
    };
    const environment = props.Environment?.Variables ?? {};
    const service = environment.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string') continue; // the CDK provider framework's own function
    const assetDir = join(outdir, `asset.${props.Code.S3Key.replace(/\.zip$/, '')}`);
    const [module] = props.Handler.split('.');
    byService.set(service, {
      file: join(assetDir, `${module}.mjs`),
      handler: props.Handler,
      runtime: props.Runtime,
      environment,
    });
  }
  return Object.fromEntries(
    (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => {
      const found = byService.get(FUNCTIONS[name].service);
      if (!found) throw new Error(`no function with service ${FUNCTIONS[name].service} in the template`);
      return [name, found];
    }),
  ) as Record<FunctionName, SynthesizedFunction>;
}

/**
 * What Lambda would give the function here: the template's variables, each token (a table
 * name, a queue URL) replaced by the emulator's resource under the same variable; the SDK's
 * endpoint variables pointing at moto; credentials as Lambda passes them (key, secret, session
 * token); loopback delivery allowed, as in local mode, for the receiver on 127.0.0.1.
 */
function lambdaEnvironment(name: FunctionName, credentials: boolean): Record<string, string> {
  const local = handlerEnvironment(resources, POLICY);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(functions[name].environment)) {
    if (typeof value === 'string') env[key] = value;
    else if (local[key] !== undefined) env[key] = local[key];
    else throw new Error(`${name}: the template sets ${key} to a token this test cannot map to moto`);
  }
  for (const [key, value] of Object.entries(local)) {
    if (key.startsWith('AWS_ENDPOINT_URL')) env[key] = value;
  }
  env[ENV.allowLoopback] = 'true';
  env.AWS_REGION = REGION;
  env.POWERTOOLS_LOG_LEVEL = 'WARN';
  // With the SDK's default chain, a missing credential would make it query the instance
  // metadata service; disabled, so a regression fails here without leaving loopback.
  env.AWS_EC2_METADATA_DISABLED = 'true';
  if (credentials) {
    env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey;
    env.AWS_SESSION_TOKEN = 'synthesized-bundles-session-token';
  }
  return env;
}

/** Runs the synthesized bundle once in a fresh Node process with only `env` (and HOME, PATH). */
async function invoke<T>(name: FunctionName, event: unknown, credentials = true): Promise<Invocation<T>> {
  invocations += 1;
  const eventFile = join(work, `event-${invocations}.json`);
  const resultFile = join(work, `result-${invocations}.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const env = { PATH: process.env.PATH ?? '', HOME: home, ...lambdaEnvironment(name, credentials) };
  const child = spawn(
    process.execPath,
    [join(work, 'runner.mjs'), functions[name].file, eventFile, resultFile],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  let outcome: Omit<Invocation<T>, 'output'>;
  try {
    outcome = JSON.parse(readFileSync(resultFile, 'utf8'));
  } catch {
    throw new Error(`${name} bundle exited with ${code} and no result:\n${stderr}\n${stdout}`);
  }
  return { ...outcome, output: `${stdout}\n${stderr}` };
}

/** An API Gateway HTTP API event (payload format 2.0) on the stack's `ANY /{proxy+}` route. */
function httpEvent(method: string, path: string, body?: unknown, apiKey = API_KEY): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath: path,
    rawQueryString: '',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'synthesized-bundles-test',
      authorization: `Bearer ${apiKey}`,
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'synthesized-bundles-test',
      },
      requestId: `request-${invocations + 1}`,
      routeKey: 'ANY /{proxy+}',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    pathParameters: { proxy: path.slice(1) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  };
}

/**
 * What API Gateway hands the API function for `event`: the authorizer bundle is run on the
 * request's `Authorization` header (the route's identity source) and its answer goes in
 * `requestContext.authorizer.lambda`, as on AWS, where the API function reads the caller only there.
 */
async function authorized(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyEventV2> {
  const answer = await invoke<{ isAuthorized: boolean; context: Record<string, string> }>('authorizer', {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:${REGION}:000000000000:abc123/$default/${event.requestContext.http.method}${event.rawPath}`,
    identitySource: [event.headers.authorization],
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    headers: event.headers,
    requestContext: event.requestContext,
  });
  expect(answer.error).toBeUndefined();
  expect(answer.result?.isAuthorized).toBe(true);
  return {
    ...event,
    requestContext: { ...event.requestContext, authorizer: { lambda: answer.result?.context } },
  } as APIGatewayProxyEventV2;
}

/** The record the SQS event source mapping hands the function for a received message. */
function sqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [
        key,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

/** Delivery messages waiting on the queue (event checks, sent with a delay, are left alone). */
async function receiveDeliveryMessages(): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: resources.deliveryQueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 2,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages.filter((message) => decodeEventCheck(message.Body ?? '') === undefined);
}

const json = <T>(response: APIGatewayProxyStructuredResultV2 | undefined): T =>
  JSON.parse(String(response?.body ?? 'null')) as T;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'webhooks-bundles-'));
  home = mkdtempSync(join(tmpdir(), 'webhooks-bundles-home-'));
  writeFileSync(join(work, 'runner.mjs'), RUNNER);
  const outdir = join(work, 'cdk.out');
  const starting = startMoto();
  synthesize({ outdir }).app.synth();
  moto = await starting;
  functions = synthesizedFunctions(outdir);
  resources = await provision({
    endpoint: moto.endpoint,
    apiKey: API_KEY,
    policy: POLICY,
    prefix: 'bundles',
  });
  const config = { region: REGION, credentials: EMULATOR_CREDENTIALS };
  sqs = new SQSClient({ ...config, endpoint: moto.endpoint });
  documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, endpoint: moto.endpoint }));
  secrets = new SecretsManagerClient({ ...config, endpoint: moto.endpoint });
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  sqs?.destroy();
  documents?.destroy();
  secrets?.destroy();
  await moto?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('the synthesized bundles', () => {
  it('are the ESM index.mjs files of Node.js 22 functions, and what the bench measures, byte for byte', async () => {
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      // Prepare
      const benchFile = join(work, `bench-${name}.mjs`);

      // Act
      await bundle(FUNCTIONS[name].entry, benchFile);

      // Assess
      expect(functions[name].runtime).toBe('nodejs22.x');
      expect(functions[name].handler).toBe('index.handler');
      expect(readFileSync(benchFile).equals(readFileSync(functions[name].file)), name).toBe(true);
    }
  });

  it('carry the environment-only credential provider and none of the default chain (the pages function no SDK at all)', () => {
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      const source = readFileSync(functions[name].file, 'utf8');
      if (name === 'pages') {
        expect(source, name).not.toContain('@aws-sdk');
        expect(source, name).not.toContain('X-Amz-Date');
        expect(source, name).not.toContain('EnvironmentCredentialsMissingError');
        continue;
      }
      expect(source, name).toContain('EnvironmentCredentialsMissingError');
      // Debug messages of @aws-sdk/credential-provider-node's chain, present whenever it is bundled.
      expect(source, name).not.toContain('defaultProvider::fromIni');
      expect(source, name).not.toContain('defaultProvider::remoteProvider');
    }
  });
});

describe('run under Node 22 against moto with environment credentials only', () => {
  let endpoint: { id: string; url: string; secret: string };
  let eventId: string;

  it('API: POST /endpoints (payload 2.0) stores the endpoint and its signing secret', async () => {
    // Act
    const created = await invoke<APIGatewayProxyStructuredResultV2>(
      'api',
      await authorized(
        httpEvent('POST', '/endpoints', { url: receiver.url, description: 'synthesized bundle' }),
      ),
    );

    // Assess
    expect(created.error).toBeUndefined();
    expect(created.node.split('.')[0], 'the bundles must run on Node 22, as Lambda runs them').toBe('22');
    expect(created.result?.statusCode).toBe(201);
    endpoint = json(created.result);
    expect(endpoint.url).toBe(receiver.url);
    const { Items = [] } = await documents.send(new ScanCommand({ TableName: resources.tables.Endpoints }));
    const Item = Items.find((item) => item.id === endpoint.id);
    expect(Item).toMatchObject({ id: endpoint.id, url: receiver.url, enabled: true });
    const stored = await secrets.send(new GetSecretValueCommand({ SecretId: String(Item?.secretName) }));
    expect(JSON.parse(stored.SecretString ?? '{}').current).toBe(endpoint.secret);
    expect(readdirSync(home)).toEqual([]);
  });

  it('API: refuses an event with a wrong API key, and one that no authorizer answered for', async () => {
    // Act
    const wrongKey = await invoke<APIGatewayProxyStructuredResultV2>(
      'api',
      await authorized(httpEvent('POST', '/events', { type: 'invoice.paid', data: {} }, 'whk_wrong-key')),
    );
    const unanswered = await invoke<APIGatewayProxyStructuredResultV2>(
      'api',
      httpEvent('POST', '/events', { type: 'invoice.paid', data: {} }),
    );

    // Assess
    expect(wrongKey.result?.statusCode).toBe(401);
    expect(json<{ error: { code: string } }>(wrongKey.result).error.code).toBe('unauthorized');
    expect(unanswered.result?.statusCode).toBe(401);
    expect(json<{ error: { message: string } }>(unanswered.result).error.message).toBe(
      'no authorizer answered for this request',
    );
    const { Items = [] } = await documents.send(new ScanCommand({ TableName: resources.tables.Events }));
    expect(Items).toEqual([]);
  });

  it('API: POST /events accepts the event, stores it and queues its delivery', async () => {
    // Act
    const sent = await invoke<APIGatewayProxyStructuredResultV2>(
      'api',
      await authorized(
        httpEvent('POST', '/events', {
          type: 'invoice.paid',
          data: { invoiceId: 'inv_bundle', amount: 4200 },
        }),
      ),
    );

    // Assess
    expect(sent.node.startsWith('22.')).toBe(true);
    expect(sent.result?.statusCode).toBe(202);
    const body = json<{ id: string; deliveries: Array<{ endpointId: string }> }>(sent.result);
    eventId = body.id;
    expect(body.deliveries.map((delivery) => delivery.endpointId)).toEqual([endpoint.id]);
    const { Item } = await documents.send(
      new GetCommand({ TableName: resources.tables.Events, Key: { id: eventId } }),
    );
    expect(Item).toMatchObject({ id: eventId, type: 'invoice.paid', endpointIds: [endpoint.id] });
  });

  it('delivery: an SQS event source mapping batch of the queued message is delivered, signed, and recorded', async () => {
    // Prepare
    const messages = await receiveDeliveryMessages();
    expect(messages).toHaveLength(1);
    const queueArn = `arn:aws:sqs:${REGION}:123456789012:${resources.deliveryQueueUrl.split('/').at(-1)}`;
    const event: SQSEvent = { Records: messages.map((message) => sqsRecord(message, queueArn)) };

    // Act
    const delivered = await invoke<{ batchItemFailures: unknown[] }>('delivery', event);

    // Assess
    expect(delivered.error).toBeUndefined();
    expect(delivered.node.startsWith('22.')).toBe(true);
    expect(delivered.result).toEqual({ batchItemFailures: [] });
    const [webhook] = await receiver.waitFor(1, 5_000);
    expect(webhook?.headers['webhook-id']).toBe(eventId);
    const verified = new Webhook(endpoint.secret).verify(webhook?.body ?? '', {
      'webhook-id': String(webhook?.headers['webhook-id']),
      'webhook-timestamp': String(webhook?.headers['webhook-timestamp']),
      'webhook-signature': String(webhook?.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ type: 'invoice.paid', data: { invoiceId: 'inv_bundle', amount: 4200 } });
    const { Items = [] } = await documents.send(new ScanCommand({ TableName: resources.tables.Deliveries }));
    expect(Items.filter((item) => item.eventId === eventId)).toEqual([
      expect.objectContaining({ endpointId: endpoint.id, status: 'delivered', attempts: 1 }),
    ]);
  });

  it('sweeper: finds nothing left accepted once the event went out', async () => {
    // Act
    const swept = await invoke<{ found: number; queued: number }>('sweeper', {});

    // Assess
    expect(swept.error).toBeUndefined();
    expect(swept.result).toMatchObject({ found: 0, queued: 0 });
  });
});

describe('the pages bundle', () => {
  it('serves GET /dashboard and GET /openapi.json under Node 22 with no credentials, as the open routes send them', async () => {
    // Act: the open routes carry no Authorization header and no authorizer answer.
    const open = (path: string) => {
      const event = httpEvent('GET', path);
      delete event.headers.authorization;
      return { ...event, routeKey: `GET ${path}` };
    };
    const dashboard = await invoke<APIGatewayProxyStructuredResultV2>('pages', open('/dashboard'), false);
    const description = await invoke<APIGatewayProxyStructuredResultV2>(
      'pages',
      open('/openapi.json'),
      false,
    );

    // Assess
    expect(dashboard.node.split('.')[0]).toBe('22');
    expect(dashboard.error).toBeUndefined();
    expect(dashboard.result?.statusCode).toBe(200);
    expect(dashboard.result?.headers?.['content-type']).toBe('text/html; charset=utf-8');
    expect(String(dashboard.result?.body)).toContain('<title>');
    expect(description.result?.statusCode).toBe(200);
    expect(JSON.parse(String(description.result?.body))).toEqual(
      JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')),
    );
  });
});

describe('without credentials in the environment', () => {
  it('a function fails with an error that says where credentials were looked for', async () => {
    // Act
    const swept = await invoke('sweeper', {}, false);

    // Assess
    expect(swept.error?.name).toBe('EnvironmentCredentialsMissingError');
    expect(swept.error?.message).toContain('AWS_ACCESS_KEY_ID');
    expect(swept.error?.message).toContain('execution role');
  });

  it('the API answers 500 and logs the error by that name', async () => {
    // Act
    const sent = await invoke<APIGatewayProxyStructuredResultV2>(
      'api',
      // The authorizer answered (with credentials, or from API Gateway's cache); the API has none.
      await authorized(httpEvent('POST', '/events', { type: 'invoice.paid', data: {} })),
      false,
    );

    // Assess
    expect(sent.result?.statusCode).toBe(500);
    const logged = sent.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { message?: string; error?: string });
    expect(logged).toContainEqual(
      expect.objectContaining({ message: 'request failed', error: 'EnvironmentCredentialsMissingError' }),
    );
  });
});
