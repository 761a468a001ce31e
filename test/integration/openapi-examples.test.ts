/**
 * openapi.json against the product on moto: every named example is sent to local mode, in an
 * order where each finds what it needs (the tenant made, the endpoint created, the event sent,
 * its first attempt failed), with the ids the earlier answers gave in place of the example's ids
 * and a receiver on 127.0.0.1 in place of the example's URL. Each goes with the credential its
 * example names (`x-credential`: the portal session token an earlier answer gave), else the admin
 * key, as `Authorization: Bearer`. That run is the file's setup; each test then judges one answer
 * it recorded, so no test depends on another having run first. Each answer must have the
 * documented status and Trackingid and be valid against the documented schema (ajv, draft
 * 2020-12, strict: a field the API answers but the document does not name fails); an error must
 * be the documented one. Every operation that needs a credential answers API Gateway's 401
 * without one, a bad or expired one answers the documented 401, a portal session on an admin
 * route the documented 403, and GET /openapi.json serves the file.
 */
import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuePortalToken } from '../../lambdas/api/portal-tokens.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { EXAMPLE, OPENAPI_FILE } from '../../scripts/openapi.ts';
import { eventually, type Harness, startHarness, TEST_API_KEY } from '../support/harness.ts';
import {
  readOpenApiDocument,
  resolveResponse,
  type Scenario,
  scenariosOf,
  schemaValidator,
} from '../support/openapi.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';

// A first attempt fails and the next is far off, so the delivery stays `failed` throughout.
const POLICY = { scheduleSeconds: [600], maxAttempts: 3 };

/**
 * The order the examples run in (`operationId:example`): the test fails for an example the
 * document gains and this list does not place.
 */
const ORDER = [
  'putTenant:created',
  'putTenant:replaced',
  'putTenant:badId',
  'listTenants:firstPage',
  'getTenant:found',
  'getTenant:defaultTenant',
  'getTenant:missing',
  'createPortalSession:created',
  'createPortalSession:tooLong',
  'createPortalSession:missing',
  'getPortalSession:current',
  'getPortalSession:apiKey',
  'createApiKey:created',
  'createApiKey:badScope',
  'listApiKeys:all',
  'deleteApiKey:lastAdmin',
  'deleteApiKey:revoked',
  'deleteApiKey:alreadyRevoked',
  'createEndpoint:created',
  'createEndpoint:inTenant',
  'createEndpoint:unknownTenant',
  'createEndpoint:badFilter',
  'createEndpoint:refusedHeader',
  'createEndpoint:unknownField',
  'createEndpoint:plainHttp',
  'listEndpoints:firstPage',
  'listEndpoints:tenant',
  'listEndpoints:asPortal',
  'listEndpoints:unknownTenant',
  'listEndpoints:limitTooHigh',
  'getEndpoint:found',
  'getEndpoint:missing',
  'getEndpoint:otherTenant',
  'updateEndpoint:describe',
  'updateEndpoint:headers',
  'updateEndpoint:nothing',
  'rotateSecret:rotated',
  'sendEvent:accepted',
  'sendEvent:replayed',
  'sendEvent:keyReused',
  'sendEvent:unknownEndpoint',
  'sendEvent:badType',
  'sendEvent:inTenant',
  'sendEvent:unknownTenant',
  'sendEvent:notInTenant',
  'sendEventBatch:mixed',
  'sendEventBatch:headerKey',
  'getEvent:found',
  'getEvent:missing',
  'listEvents:recent',
  'listDeliveries:failed',
  'listDeliveries:everyTenantsFailures',
  'listDeliveries:tenant',
  'listDeliveries:unknownTenant',
  'listDeliveries:badStatus',
  'getDelivery:found',
  'getDelivery:missing',
  'retryDelivery:queued',
  'retryDelivery:doubleClick',
  'recoverEndpoint:since',
  'recoverEndpoint:noSince',
  'sendTestEvent:sent',
  'sendTestEvent:missing',
  'getDeadLetterDepth:depth',
  'redriveDeadLetters:copied',
  'listOperationalEvents:recent',
  'listOperationalEvents:badType',
  'getDashboard:page',
  'getPortal:page',
  'getOpenApi:document',
  'deleteEndpoint:deleted',
  'deleteEndpoint:alreadyDeleted',
  'deleteTenant:deleted',
  'deleteTenant:alreadyDeleted',
  'deleteTenant:defaultTenant',
];

/** Before this example, the event's first attempt has failed (so the listings show it). */
const AFTER_FIRST_FAILURE = 'getEvent:found';

const doc = readOpenApiDocument();
const scenarios = scenariosOf(doc);
const byKey = new Map(scenarios.map((scenario) => [`${scenario.operationId}:${scenario.name}`, scenario]));
const ajv = schemaValidator(doc);

let harness: Harness;
let receiver: TestReceiver;
/** Example value → the value local mode gave for it (ids), or the test's own (the receiver URL). */
const substitutes = new Map<string, string>();

/** What each example (`operationId:example`) was answered, in the run of {@link ORDER}. */
const answers = new Map<string, Answer>();

/** The credential of each kind an example may name: the admin key, and what the run was given. */
const credentials = new Map<string, string>([['admin', TEST_API_KEY]]);

beforeAll(async () => {
  harness = await startHarness({ policy: POLICY });
  receiver = await startReceiver(() => ({ status: 500, body: 'internal error' }));
  substitutes.set(EXAMPLE.url, receiver.url);
  for (const key of ORDER) {
    const scenario = byKey.get(key);
    if (!scenario) continue;
    if (key === AFTER_FIRST_FAILURE) {
      await receiver.waitFor(1);
      await eventually(async () => {
        const { body } = await harness.api<{ deliveries: Array<{ status: string }> }>(
          'GET',
          `/events/${substitute(scenario.pathParams.id ?? '')}`,
        );
        return body.deliveries.every((delivery) => delivery.status === 'failed') ? true : undefined;
      });
    }
    const answer = await send(scenario, credentialOf(scenario));
    answers.set(key, answer);
    // The ids an answer gave are what the later examples need.
    if (answer.headers.get('content-type')?.includes('application/json') && answer.text) {
      const body = JSON.parse(answer.text) as { token?: unknown };
      learnIds(scenario.responseExample, body);
      if (key === 'createPortalSession:created' && typeof body.token === 'string') {
        credentials.set('portal', body.token);
      }
    }
  }
}, 120_000);

afterAll(async () => {
  await receiver?.close();
  await harness?.stop();
});

/** `value` with every known example value replaced, in strings at any depth. */
function substitute<T>(value: T): T {
  if (typeof value === 'string') {
    let out: string = value;
    for (const [from, to] of substitutes) out = out.replaceAll(from, to);
    return out as T;
  }
  if (Array.isArray(value)) return value.map(substitute) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, substitute(child)])) as T;
  }
  return value;
}

const ID = /^(?:(?:ep|msg|dlv)_[0-9A-Z]+|key_[0-9a-z_]+)$/;

/** The credential a scenario is sent with; throws if the run has not been given it (yet). */
function credentialOf(scenario: Scenario): string {
  const credential = credentials.get(scenario.credential);
  if (!credential)
    throw new Error(`no ${scenario.credential} credential yet for ${scenario.operationId}:${scenario.name}`);
  return credential;
}

/** Learns the ids an answer gave where the example has its own, walking both side by side. */
function learnIds(example: unknown, actual: unknown): void {
  if (typeof example === 'string' && typeof actual === 'string') {
    if (ID.test(example) && ID.test(actual) && !substitutes.has(example)) substitutes.set(example, actual);
    return;
  }
  if (example === null || actual === null || typeof example !== 'object' || typeof actual !== 'object')
    return;
  for (const [key, child] of Object.entries(example))
    learnIds(child, (actual as Record<string, unknown>)[key]);
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** Sends a scenario with `credential` as `Authorization: Bearer` (none: no Authorization header). */
async function send(scenario: Scenario, credential: string | null): Promise<Answer> {
  const path = scenario.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(substitute(scenario.pathParams[name] ?? '')),
  );
  const query = new URLSearchParams(substitute(scenario.query)).toString();
  const response = await fetch(`${harness.stack.apiUrl}${path}${query ? `?${query}` : ''}`, {
    method: scenario.method,
    headers: {
      ...(credential === null ? {} : { authorization: `Bearer ${credential}` }),
      ...(scenario.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...substitute(scenario.headers),
    },
    ...(scenario.body === undefined ? {} : { body: JSON.stringify(substitute(scenario.body)) }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('the documented examples, sent to local mode', () => {
  it('are each placed in the order this test runs them', () => {
    // Assess
    expect([...byKey.keys()].sort()).toEqual([...ORDER].sort());
  });

  for (const key of ORDER) {
    it(`${key}: answers as documented`, async () => {
      // Prepare: the answer the run above recorded.
      const scenario = byKey.get(key);
      if (!scenario) throw new Error(`no example ${key} in openapi.json`);
      const answer = answers.get(key);
      if (!answer) throw new Error(`${key} was not sent`);

      // Assess
      expect(answer.status, answer.text).toBe(scenario.status);
      expect(answer.headers.get('trackingid')).toMatch(/\S/);
      if (!scenario.contentType) {
        expect(answer.text).toBe('');
        return;
      }
      expect(answer.headers.get('content-type')).toContain(scenario.contentType);
      if (scenario.contentType !== 'application/json') {
        expect(answer.text.startsWith(String(scenario.responseExample))).toBe(true);
        return;
      }
      const body = JSON.parse(answer.text) as unknown;
      const example = scenario.responseExample as Record<string, unknown>;
      expect(ajv.validate(scenario.responseSchema ?? {}, body)).toEqual([]);
      if ('error' in example) expect(body).toEqual(substitute(example));
      if (key === 'sendEvent:replayed') expect(answer.headers.get('idempotent-replayed')).toBe('true');
      if (key === 'sendEventBatch:mixed') {
        const items = (value: unknown) =>
          (value as { items: Array<{ status: number }> }).items.map((item) => item.status);
        expect(items(body)).toEqual(items(example));
        expect(substitute((example.items as unknown[])[1])).toEqual((body as { items: unknown[] }).items[1]);
      }
      if (key === 'getOpenApi:document') expect(answer.text).toBe(readFileSync(OPENAPI_FILE, 'utf8'));
      if (key === 'createPortalSession:created') {
        // The link is to this server's portal page, the token in its fragment.
        const session = body as { url: string; token: string };
        expect(session.url).toBe(`${harness.stack.apiUrl}/portal#token=${session.token}`);
      }
      const fields = SAME_AS_EXAMPLE[key];
      if (fields) expect(pick(body, fields)).toEqual(pick(substitute(example), fields));
    });
  }
});

/**
 * Where the answer must say what the example says, not only be of its shape: the fields (at the
 * top, or of each item of `items`) that tenants, filters, custom headers and sessions decide.
 */
const SAME_AS_EXAMPLE: Record<string, readonly string[]> = {
  'putTenant:created': ['id', 'name', 'metadata'],
  'putTenant:replaced': ['id', 'name', 'metadata'],
  'getTenant:defaultTenant': ['id', 'name', 'metadata', 'createdAt', 'updatedAt'],
  'getPortalSession:current': ['tenantId', 'tenantName'],
  'createPortalSession:created': ['tenantId'],
  'createApiKey:created': ['scope', 'name'],
  'listApiKeys:all': ['id', 'scope', 'name'],
  'createEndpoint:inTenant': ['tenantId', 'url', 'eventTypes', 'filter', 'headerNames'],
  'listEndpoints:tenant': ['id', 'tenantId'],
  'listEndpoints:asPortal': ['id', 'tenantId'],
  'updateEndpoint:headers': ['id', 'tenantId', 'filter', 'headerNames'],
  'sendEvent:inTenant': ['type', 'deliveries'],
  'sendTestEvent:sent': ['type', 'deliveries'],
  'getEvent:found': ['id', 'tenantId'],
};

/** The `fields` of `value`, or of each of its `items`. */
function pick(value: unknown, fields: readonly string[]): unknown {
  const of = (item: unknown) =>
    Object.fromEntries(fields.map((field) => [field, (item as Record<string, unknown>)[field]]));
  const items = (value as { items?: unknown[] }).items;
  return Array.isArray(items) ? items.map(of) : of(value);
}

describe('without a credential', () => {
  it("every operation the document secures answers API Gateway's 401 as documented; the open ones answer 200 (the document: the file)", async () => {
    // Prepare: one example of each operation, its ids those of the run above where learnt.
    const firstOfEach = [...new Map(scenarios.map((scenario) => [scenario.operationId, scenario])).values()];

    // Act
    const answers = await Promise.all(
      firstOfEach.map(async (scenario) => ({ scenario, answer: await send(scenario, null) })),
    );

    // Assess
    for (const { scenario, answer } of answers) {
      const where = `${scenario.method} ${scenario.path}`;
      expect(answer.status, where).toBe(scenario.secured ? 401 : 200);
      if (scenario.path === '/openapi.json') expect(answer.text).toBe(readFileSync(OPENAPI_FILE, 'utf8'));
      if (scenario.secured) {
        // API Gateway's own answer: the API is not reached, so there is no Trackingid.
        expect(ajv.validate(unauthorizedSchema, JSON.parse(answer.text)), where).toEqual([]);
        expect(JSON.parse(answer.text), where).toEqual(unauthorizedExample('noCredential'));
        expect(answer.headers.get('trackingid'), where).toBeNull();
      } else {
        expect(answer.headers.get('trackingid'), where).toMatch(/\S/);
      }
    }
    expect(
      answers
        .filter(({ scenario }) => !scenario.secured)
        .map(({ scenario }) => scenario.path)
        .sort(),
    ).toEqual(['/dashboard', '/openapi.json', '/portal']);
  });

  it('an admin key in x-api-key is not read: the request has no credential', async () => {
    // Prepare
    const scenario = byKey.get('listTenants:firstPage');
    if (!scenario) throw new Error('no example listTenants:firstPage in openapi.json');

    // Act
    const answer = await send({ ...scenario, headers: { 'x-api-key': TEST_API_KEY } }, null);

    // Assess
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual(unauthorizedExample('noCredential'));
  });
});

const unauthorized = resolveResponse(doc, { $ref: '#/components/responses/Unauthorized' });
const unauthorizedSchema = unauthorized.content?.['application/json']?.schema ?? {};
const unauthorizedExample = (name: string) =>
  unauthorized.content?.['application/json']?.examples?.[name]?.value;
const forbidden = resolveResponse(doc, { $ref: '#/components/responses/Forbidden' });

describe('with a credential that is not valid, or not enough', () => {
  /** GET /tenants (admin keys only) with `credential` as Bearer, or this whole Authorization header. */
  const listTenants = (credential: string | { authorization: string }) => {
    const scenario = byKey.get('listTenants:firstPage');
    if (!scenario) throw new Error('no example listTenants:firstPage in openapi.json');
    return typeof credential === 'string'
      ? send(scenario, credential)
      : send({ ...scenario, headers: credential }, null);
  };

  /** A portal session token signed with local mode's own key, expired an hour ago. */
  async function expiredToken(): Promise<string> {
    const secrets = new SecretsManagerClient({
      endpoint: harness.moto.endpoints.secretsManager,
      region: harness.stack.resources.region,
      credentials: EMULATOR_CREDENTIALS,
    });
    const { SecretString } = await secrets.send(
      new GetSecretValueCommand({ SecretId: harness.stack.resources.portalKeySecretId }),
    );
    const key = new TextEncoder().encode(SecretString ?? '');
    return (await issuePortalToken(key, EXAMPLE.tenantId, Date.now() - 2 * 3600_000, 3600)).token;
  }

  type Credential = string | { authorization: string };
  const fixed = (credential: Credential) => async (): Promise<Credential> => credential;
  const cases: Array<[string, string, () => Promise<Credential>]> = [
    [
      'notBearer',
      'Basic',
      fixed({ authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` }),
    ],
    ['unknownKey', 'whk_ key', fixed('whk_not-one-of-ours')],
    ['unknownKey', 'other key', fixed('not-a-key-we-made')],
    ['invalidToken', 'unsigned JWT', fixed('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJl')],
    ['expiredToken', 'expired JWT', expiredToken],
  ];

  it.each(cases)(
    '%s (%s): the API answers the documented 401, with a Trackingid and WWW-Authenticate: Bearer',
    async (name, _what, credential) => {
      // Act
      const answer = await listTenants(await credential());

      // Assess
      expect(answer.status, answer.text).toBe(401);
      expect(answer.headers.get('trackingid')).toMatch(/\S/);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(ajv.validate(unauthorizedSchema, JSON.parse(answer.text))).toEqual([]);
      expect(JSON.parse(answer.text)).toEqual(unauthorizedExample(name));
    },
  );

  it("a portal session on an admin key's route: the documented 403", async () => {
    // Prepare: the token the run was given (its tenant since deleted: the route is refused first).
    const token = credentials.get('portal');
    if (!token) throw new Error('the run was given no portal session token');

    // Act
    const answer = await listTenants(token);

    // Assess
    expect(answer.status, answer.text).toBe(403);
    expect(answer.headers.get('trackingid')).toMatch(/\S/);
    expect(JSON.parse(answer.text)).toEqual(
      forbidden.content?.['application/json']?.examples?.portalSession?.value,
    );
  });
});
