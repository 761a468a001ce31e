/**
 * openapi.json: it is what scripts/openapi.ts builds, a valid OpenAPI 3.1 document (checked by
 * @seriousme/openapi-schema-validator, its JSON Schemas compiled by ajv in strict mode), it
 * names exactly the routes of the app with the same access (open, admin, send, portal), and
 * every example in it is valid against the schema it illustrates, and against the zod schema
 * behind a request.
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { ApiApp, type ApiDeps } from '../../lambdas/api/app.ts';
import { openRoutes } from '../../lambdas/api/open-routes.ts';
import { openApiDocument } from '../../lambdas/api/openapi-document.ts';
import { type Route, route } from '../../lambdas/api/router.ts';
import { parseCustomHeaders } from '../../lambdas/core/custom-headers.ts';
import {
  deliveryId,
  idempotentEventId,
  isEndpointId,
  isEventId,
  newEndpointId,
  newEventId,
  parseDeliveryId,
} from '../../lambdas/core/ids.ts';
import { isTenantId } from '../../lambdas/core/tenants.ts';
import * as validation from '../../lambdas/core/validation.ts';
import { ID_PATTERNS, OPENAPI_FILE, renderOpenApiDocument } from '../../scripts/openapi.ts';
import {
  operationsOf,
  readOpenApiDocument,
  resolveResponse,
  scenariosOf,
  schemaValidator,
} from '../support/openapi.ts';

/** What the tests need of a zod schema. */
type Parseable = { safeParse(value: unknown): { success: boolean } };

const doc = readOpenApiDocument();

describe('the committed document', () => {
  it('is what scripts/openapi.ts builds now', () => {
    // Act
    const fresh = renderOpenApiDocument();

    // Assess
    expect(
      readFileSync(OPENAPI_FILE, 'utf8') === fresh,
      'openapi.json is not what scripts/openapi.ts builds: run npm run openapi and commit both files',
    ).toBe(true);
  });

  it('is what GET /openapi.json serves, byte for byte, as JSON', () => {
    // Act
    const response = openApiDocument();

    // Assess
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('application/json');
    expect(
      response.body === readFileSync(OPENAPI_FILE, 'utf8'),
      'lambdas/api/openapi-document.ts serves another document: run npm run openapi and commit both files',
    ).toBe(true);
  });

  it('is valid OpenAPI 3.1', async () => {
    // Act
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);

    // Assess
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('would be refused by the validator if it broke the OpenAPI schema', async () => {
    // Prepare: a parameter without its required `in`.
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, unknown>> };
    const listEndpoints = broken.paths['/endpoints']?.get as { parameters: Array<Record<string, unknown>> };
    delete listEndpoints.parameters[0]?.in;

    // Act
    const result = await new Validator().validate(broken);

    // Assess
    expect(result.valid).toBe(false);
  });

  it('holds JSON Schemas that ajv compiles in strict mode, every $ref resolving', () => {
    // Prepare
    const ajv = schemaValidator(doc);
    const inline = operationsOf(doc).flatMap(({ operation }) => [
      ...(operation.parameters ?? []).map((param) => param.schema),
      ...Object.values(operation.requestBody?.content ?? {}).map((media) => media.schema),
      ...Object.values(operation.responses).flatMap((raw) =>
        Object.values(resolveResponse(doc, raw).content ?? {}).map((media) => media.schema),
      ),
    ]);

    // Act and assess: compiling throws for an unknown keyword or a dangling $ref.
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => ajv.validate({ $ref: `#/components/schemas/${name}` }, null)).not.toThrow();
    }
    for (const schema of inline) expect(() => ajv.validate(schema, null)).not.toThrow();
  });
});

describe('routes', () => {
  /**
   * An app whose dependencies all fail (building it only builds its routes), with the pages
   * function's routes: the document describes the whole HTTP API.
   */
  function appFor(): ApiApp {
    const untouchable = <T>() =>
      new Proxy({}, { get: () => () => Promise.reject(new Error('unused')) }) as unknown as T;
    return new ApiApp(
      {
        store: untouchable<ApiDeps['store']>(),
        secrets: untouchable<ApiDeps['secrets']>(),
        apiKeys: { get: async () => [] },
        portalKey: untouchable<ApiDeps['portalKey']>(),
        queue: untouchable<ApiDeps['queue']>(),
        guard: { allowLoopback: false, blockedHosts: [] },
      },
      { openRoutes: openRoutes() },
    );
  }

  /** The app's route table (private: read here, as test/dashboard/redrive-and-auth.test.ts does). */
  function appRoutes(): readonly Route[] {
    const routes = (appFor() as unknown as { routes?: readonly Route[] }).routes;
    if (!routes) throw new Error('ApiApp no longer keeps its table in `routes`: update this test');
    return routes;
  }

  it('are exactly the documented operations, each with the access of its route', () => {
    // Prepare: both sides as method, the pattern `route()` makes of a template, and who may call it.
    const noop = async () => ({ status: 200 });
    const documented = operationsOf(doc).map(
      ({ method, path, operation }) =>
        `${method.toUpperCase()} ${route(method, path, noop).pattern.source} ${operation['x-access']}`,
    );

    // Act
    const served = appRoutes().map((served) => `${served.method} ${served.pattern.source} ${served.access}`);

    // Assess
    expect([...documented].sort()).toEqual([...served].sort());
    expect(documented).toContain(`GET ${route('GET', '/openapi.json', noop).pattern.source} open`);
    expect(documented).toContain(`POST ${route('POST', '/events', noop).pattern.source} send`);
    expect(documented).toContain(`GET ${route('GET', '/deliveries', noop).pattern.source} portal`);
  });

  it('need no credential exactly where the access is open, and say who may call each in words', () => {
    for (const { method, path, operation } of operationsOf(doc)) {
      // Assess
      const open = Array.isArray(operation.security) && operation.security.length === 0;
      expect(open, `${method} ${path}`).toBe(operation['x-access'] === 'open');
      expect((operation as { description?: string }).description, `${method} ${path}`).toMatch(
        /Who may call it: /,
      );
    }
  });

  it('need an Authorization: Bearer credential unless open: the document says so at the top', () => {
    // Assess
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect((doc.components as { securitySchemes?: unknown }).securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(JSON.stringify(doc)).not.toMatch(/"name":\s*"x-api-key"/i);
  });

  it('answer with a Trackingid header, 500 as an Error, and 401 and 403 unless open', () => {
    for (const { method, path, operation } of operationsOf(doc)) {
      const where = `${method} ${path}`;
      const statuses = Object.keys(operation.responses);
      expect(statuses, where).toContain('500');
      const open = Array.isArray(operation.security) && operation.security.length === 0;
      expect(statuses.includes('401'), where).toBe(!open);
      expect(statuses.includes('403'), where).toBe(!open);
      for (const [status, raw] of Object.entries(operation.responses)) {
        const response = resolveResponse(doc, raw);
        expect(response.headers, `${where} ${status}`).toHaveProperty('Trackingid');
        if (Number(status) >= 400) {
          // A 401 may be API Gateway's own answer as well as the API's Error.
          expect(response.content?.['application/json']?.schema, `${where} ${status}`).toEqual({
            $ref: `#/components/schemas/${status === '401' ? 'Unauthorized' : 'Error'}`,
          });
        }
      }
    }
  });

  it('answer a send-only key and a portal session 403 exactly where their access does not let them in, as documented', async () => {
    // Prepare: each credential kind the authorizer can hand over, and the documented 403s.
    const forbidden = resolveResponse(doc, { $ref: '#/components/responses/Forbidden' });
    const documentedMessage = (name: string) =>
      (forbidden.content?.['application/json']?.examples?.[name]?.value as { error?: { message?: string } })
        ?.error?.message;
    const principals = {
      send: { kind: 'send', keyId: 'key_send' },
      portal: { kind: 'portal', tenantId: 'acme', expiresAtMs: Date.now() + 3_600_000 },
    } as const;
    const app = appFor();

    // Act: every secured operation, with each kind (the ids are well-formed; nothing is found).
    const outcomes: Array<{ where: string; kind: string; status: number | undefined; message: string }> = [];
    for (const { method, path, operation } of operationsOf(doc)) {
      if (operation['x-access'] === 'open') continue;
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === 'tenantId' ? 'acme' : name === 'id' && path.startsWith('/api-keys') ? 'key_x' : 'x',
      );
      for (const [kind, auth] of Object.entries(principals)) {
        const failure = await app
          .handle({
            method: method.toUpperCase(),
            path: concrete,
            headers: {},
            query: {},
            trackingId: 't',
            auth,
          })
          .then(
            () => undefined,
            (error: unknown) => error as { status?: number; code?: string; message: string },
          );
        outcomes.push({
          where: `${method} ${path} ${operation['x-access']}`,
          kind,
          status: failure?.code === 'forbidden' ? failure.status : undefined,
          message: failure?.code === 'forbidden' ? failure.message : '',
        });
      }
    }

    // Assess
    const allowed = (access: string, kind: string) => access === kind;
    for (const outcome of outcomes) {
      const access = outcome.where.split(' ')[2] ?? '';
      if (allowed(access, outcome.kind)) {
        expect(outcome.status, `${outcome.where} as ${outcome.kind}`).toBeUndefined();
      } else {
        expect(outcome, `${outcome.where} as ${outcome.kind}`).toEqual({
          ...outcome,
          status: 403,
          message: documentedMessage(outcome.kind === 'send' ? 'sendKey' : 'portalSession'),
        });
      }
    }
    expect(outcomes.filter((outcome) => outcome.status === 403).length).toBeGreaterThanOrEqual(20);
    expect(outcomes.filter((outcome) => outcome.status === undefined).length).toBeGreaterThanOrEqual(10);
  });

  it("401: API Gateway's answer and the API's are both valid, and nothing else", () => {
    // Prepare
    const ajv = schemaValidator(doc);
    const schema = { $ref: '#/components/schemas/Unauthorized' };

    // Act and assess
    expect(ajv.validate(schema, { message: 'Unauthorized' })).toEqual([]);
    expect(ajv.validate(schema, { error: { code: 'token_expired', message: 'expired' } })).toEqual([]);
    expect(ajv.validate(schema, { message: 'Forbidden' })).not.toEqual([]);
    expect(ajv.validate(schema, { message: 'Unauthorized', error: { code: 'x', message: 'y' } })).not.toEqual(
      [],
    );
  });
});

describe('identifiers', () => {
  const createdAt = Date.parse('2026-12-01T10:00:00Z');
  const endpoint = newEndpointId(createdAt);
  const event = newEventId(createdAt);
  const keyed = idempotentEventId('order-1');
  const delivery = deliveryId(event, endpoint, createdAt);
  const mangled = (id: string) => [
    id.toLowerCase(),
    `${id}A`,
    id.slice(0, -1),
    `${id.slice(0, -1)}I`,
    `${id.slice(0, -1)}U`,
    `x${id}`,
    id.replace(/^[a-z]+_/, 'ep_'),
    id.replace(/^[a-z]+_/, 'msg_'),
  ];

  it('tenant ids: the documented pattern accepts what tenants.ts accepts and nothing else', () => {
    // Prepare
    const pattern = new RegExp(ID_PATTERNS.tenant);
    const candidates = ['acme', 'default', 'A', '9', 'acme.eu_1-b', 'a'.repeat(64), 'a'.repeat(65)];
    const mangledTenants = ['', '-acme', '.acme', '_acme', 'ac me', 'acme/1', 'acmé', 'acme\n'];

    // Act
    const disagreements = [...candidates, ...mangledTenants].filter(
      (candidate) => pattern.test(candidate) !== isTenantId(candidate),
    );

    // Assess
    expect(disagreements).toEqual([]);
    expect(pattern.test('acme')).toBe(true);
    expect(pattern.test('-acme')).toBe(false);
  });

  it.each([
    ['endpoint', [endpoint], isEndpointId],
    ['event', [event, keyed], isEventId],
    ['delivery', [delivery], (id: string) => parseDeliveryId(id) !== undefined],
  ] as const)(
    '%s ids: the documented pattern accepts what ids.ts accepts and nothing else',
    (kind, ids, check) => {
      // Prepare
      const pattern = new RegExp(ID_PATTERNS[kind]);
      const candidates = ids.flatMap((id) => [id, ...mangled(id)]);

      // Act
      const disagreements = candidates.filter((candidate) => pattern.test(candidate) !== check(candidate));

      // Assess
      expect(disagreements).toEqual([]);
      for (const id of ids) expect(pattern.test(id)).toBe(true);
    },
  );
});

describe('query parameters', () => {
  it('limit: the documented pattern accepts what zod accepts (its range is a refine)', () => {
    // Prepare
    const param = (doc.paths['/endpoints']?.get?.parameters ?? []).find((entry) => entry.name === 'limit');
    const pattern = new RegExp(String(param?.schema.pattern));
    const values = [
      '0',
      '1',
      '01',
      '9',
      '10',
      '25',
      '99',
      '100',
      '0100',
      '101',
      '200',
      '1000',
      '-1',
      '1.5',
      ' 1',
      '',
    ];

    // Act
    const disagreements = values.filter(
      (limit) => pattern.test(limit) !== validation.listEndpointsSchema.safeParse({ limit }).success,
    );

    // Assess
    expect(disagreements).toEqual([]);
    expect(pattern.test('100')).toBe(true);
    expect(pattern.test('101')).toBe(false);
  });
});

describe('endpoint bodies', () => {
  it.each([
    ['CreateEndpoint', validation.createEndpointSchema],
    ['UpdateEndpoint', validation.updateEndpointSchema],
  ] as const)(
    '%s rateLimit: the documented schema accepts what zod accepts (its range is a refine)',
    (name, zod) => {
      // Prepare
      const ajv = schemaValidator(doc);
      const values = [0, 1, 1.5, 50, 999, 1000, 1001, -1, '5', null];

      // Act
      const disagreements = values.filter((rateLimit) => {
        const body = {
          ...(name === 'CreateEndpoint' ? { url: 'https://example.com/hooks' } : {}),
          rateLimit,
        };
        return (
          (ajv.validate({ $ref: `#/components/schemas/${name}` }, body).length === 0) !==
          zod.safeParse(body).success
        );
      });

      // Assess
      expect(disagreements).toEqual([]);
    },
  );
});

describe('custom headers', () => {
  it('the documented schema refuses only what parseCustomHeaders refuses too, and accepts what it accepts', () => {
    // Prepare: what custom-headers.ts accepts and refuses, at and over its bounds.
    const ajv = schemaValidator(doc);
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']));
    const cases: unknown[] = [
      {},
      { 'X-Api-Key': 'acme-erp-7f3b' },
      { Authorization: 'Bearer abc def' },
      { "x-!#$%&'*+-.^_`|~": 'v' },
      many(10),
      many(11),
      { ['X'.repeat(64)]: 'v' },
      { ['X'.repeat(65)]: 'v' },
      { 'X-Value': 'v'.repeat(1024) },
      { 'X-Value': 'v'.repeat(1025) },
      { 'X-Value': '' },
      { 'X-Value': ' lead' },
      { 'X-Value': 'trail\t' },
      { 'X-Value': 'a\r\nInjected: 1' },
      { 'X-Value': 'café' },
      { 'X-Value': 7 },
      { 'X Space': 'v' },
      { '': 'v' },
      { Host: 'erp.acme.example' },
      { 'webhook-id': 'v' },
    ];

    // Act
    const outcomes = cases.map((headers) => {
      let code = true;
      try {
        parseCustomHeaders(headers);
      } catch {
        code = false;
      }
      const documented = ajv.validate(
        { $ref: '#/components/schemas/CreateEndpoint' },
        {
          url: 'https://example.com/hooks',
          headers,
        },
      );
      return { headers, code, documented: documented.length === 0 };
    });

    // Assess: never refused by the document but accepted by the code; the code refuses more
    // (refused names, duplicates in another case, the total size), which JSON Schema cannot say.
    expect(outcomes.filter((outcome) => outcome.code && !outcome.documented)).toEqual([]);
    expect(outcomes.filter((outcome) => !outcome.code && outcome.documented).map((o) => o.headers)).toEqual([
      { Host: 'erp.acme.example' },
      { 'webhook-id': 'v' },
    ]);
  });
});

describe('portal sessions', () => {
  it('expiresInSeconds: the documented range is what zod accepts (its range is a refine)', () => {
    // Prepare
    const ajv = schemaValidator(doc);
    const values = [0, 299, 300, 300.5, 3600, 86_400, 86_401, -1, '3600', null];

    // Act
    const disagreements = values.filter(
      (expiresInSeconds) =>
        (ajv.validate({ $ref: '#/components/schemas/CreatePortalSession' }, { expiresInSeconds }).length ===
          0) !==
        validation.portalSessionSchema.safeParse({ expiresInSeconds }).success,
    );

    // Assess
    expect(disagreements).toEqual([]);
  });
});

describe('examples', () => {
  const ajv = schemaValidator(doc);
  const scenarios = scenariosOf(doc);

  it('every operation has at least one, and every request example an answer of the same name', () => {
    // Assess (scenariosOf throws for a request example without an answer)
    const withScenarios = new Set(scenarios.map((scenario) => scenario.operationId));
    expect(
      operationsOf(doc)
        .map(({ operation }) => operation.operationId)
        .filter((id) => !withScenarios.has(id)),
    ).toEqual([]);
  });

  it('every response example (named or single) is valid against the schema beside it', () => {
    // Prepare
    const media = operationsOf(doc).flatMap(({ method, path, operation }) =>
      Object.entries(operation.responses).flatMap(([status, raw]) =>
        Object.entries(resolveResponse(doc, raw).content ?? {}).map(
          ([type, entry]) => [`${method} ${path} ${status} ${type}`, entry] as const,
        ),
      ),
    );

    // Act
    const problems: string[] = [];
    let checked = 0;
    for (const [where, entry] of media) {
      const values = [
        ...(entry.example !== undefined ? [['example', entry.example] as const] : []),
        ...Object.entries(entry.examples ?? {}).map(([name, example]) => [name, example.value] as const),
      ];
      for (const [name, value] of values) {
        checked++;
        for (const error of ajv.validate(entry.schema, value)) problems.push(`${where} ${name}: ${error}`);
      }
    }

    // Assess
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(scenarios.filter((scenario) => scenario.responseSchema).length);
  });

  it('request examples: the documented schema and zod agree on each, and refuse exactly the 400 ones', () => {
    // Prepare: the zod schema behind each documented request body and query.
    const bodies: Record<string, Parseable | undefined> = {
      createEndpoint: validation.createEndpointSchema,
      updateEndpoint: validation.updateEndpointSchema,
      sendEvent: validation.sendEventSchema,
      sendEventBatch: validation.sendEventBatchSchema,
      putTenant: validation.putTenantSchema,
      createPortalSession: validation.portalSessionSchema,
      createApiKey: validation.createApiKeySchema,
    };
    const queries: Record<string, Parseable | undefined> = {
      listEndpoints: validation.listEndpointsSchema,
      listTenants: validation.listTenantsSchema,
      listEvents: validation.listDeliveriesSchema,
      listDeliveries: validation.listDeliveriesSchema,
      recoverEndpoint: validation.recoverSchema,
      listOperationalEvents: validation.listOperationalEventsSchema,
    };
    const operations = new Map(
      operationsOf(doc).map((entry) => [entry.operation.operationId, entry.operation]),
    );

    // Act: what zod and the document's schema say of each example, and what the API answers.
    const outcomes = scenarios.flatMap((scenario) => {
      const operation = operations.get(scenario.operationId);
      const checks: Array<{ part: string; zod: boolean; documented: boolean }> = [];
      const body = bodies[scenario.operationId];
      const bodySchema = operation?.requestBody?.content['application/json']?.schema;
      if (scenario.body !== undefined) {
        if (!body || !bodySchema)
          throw new Error(`${scenario.operationId}: no zod schema known for its body`);
        checks.push({
          part: 'body',
          zod: body.safeParse(scenario.body).success,
          documented: ajv.validate(bodySchema, scenario.body).length === 0,
        });
      }
      const query = queries[scenario.operationId];
      const params = (operation?.parameters ?? []).filter((param) => param.in === 'query');
      if (query) {
        const missing = params.filter((param) => param.required && scenario.query[param.name] === undefined);
        const invalid = params.filter(
          (param) =>
            scenario.query[param.name] !== undefined &&
            ajv.validate(param.schema, scenario.query[param.name]).length > 0,
        );
        checks.push({
          part: 'query',
          zod: query.safeParse(scenario.query).success,
          documented: missing.length === 0 && invalid.length === 0,
        });
      } else if (params.length > 0) {
        throw new Error(`${scenario.operationId}: no zod schema known for its query`);
      }
      const code = (scenario.responseExample as { error?: { code?: string } } | undefined)?.error?.code;
      return checks.map((check) => ({
        example: `${scenario.operationId}:${scenario.name} ${check.part}`,
        ...check,
        refusedAs: code === (check.part === 'body' ? 'invalid_request' : 'invalid_query') ? 400 : 'no',
      }));
    });

    // Assess: where the JSON Schema cannot say what zod checks (a range in a refine), the two
    // would disagree here.
    expect(outcomes.filter((outcome) => outcome.zod !== outcome.documented)).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.zod !== (outcome.refusedAs === 'no'))).toEqual([]);
    expect(outcomes.filter((outcome) => !outcome.zod).length).toBeGreaterThanOrEqual(5);
    const mixed = scenarios.find((scenario) => scenario.name === 'mixed')?.body as { events: unknown[] };
    for (const item of mixed.events) expect(validation.batchEventSchema.safeParse(item).success).toBe(true);
  });
});
