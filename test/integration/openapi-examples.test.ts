/**
 * openapi.json against the product on moto: every named example is sent to local mode, in an
 * order where each finds what it needs (the endpoint created, the event sent, its first attempt
 * failed), with the ids the earlier answers gave in place of the example's ids and a receiver on
 * 127.0.0.1 in place of the example's URL. That run is the file's setup; each test then judges
 * one answer it recorded, so no test depends on another having run first. Each answer must have the documented status and
 * Trackingid and be valid against the documented schema (ajv, draft 2020-12, strict: a field the
 * API answers but the document does not name fails); an error must be the documented one. Every
 * operation that needs a key answers 401 without one, and GET /openapi.json serves the file.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  'createEndpoint:created',
  'createEndpoint:unknownField',
  'createEndpoint:plainHttp',
  'listEndpoints:firstPage',
  'listEndpoints:limitTooHigh',
  'getEndpoint:found',
  'getEndpoint:missing',
  'updateEndpoint:describe',
  'updateEndpoint:nothing',
  'rotateSecret:rotated',
  'sendEvent:accepted',
  'sendEvent:replayed',
  'sendEvent:keyReused',
  'sendEvent:unknownEndpoint',
  'sendEvent:badType',
  'sendEventBatch:mixed',
  'sendEventBatch:headerKey',
  'getEvent:found',
  'getEvent:missing',
  'listEvents:recent',
  'listDeliveries:failed',
  'listDeliveries:badStatus',
  'getDelivery:found',
  'getDelivery:missing',
  'retryDelivery:queued',
  'retryDelivery:doubleClick',
  'recoverEndpoint:since',
  'recoverEndpoint:noSince',
  'getDeadLetterDepth:depth',
  'redriveDeadLetters:copied',
  'getDashboard:page',
  'getOpenApi:document',
  'deleteEndpoint:deleted',
  'deleteEndpoint:alreadyDeleted',
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
    const answer = await send(scenario);
    answers.set(key, answer);
    // The ids an answer gave are what the later examples need.
    if (answer.headers.get('content-type')?.includes('application/json') && answer.text) {
      learnIds(scenario.responseExample, JSON.parse(answer.text));
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

const ID = /^(ep|msg|dlv)_[0-9A-Z]+$/;

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

async function send(scenario: Scenario, apiKey: string | null = TEST_API_KEY): Promise<Answer> {
  const path = scenario.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(substitute(scenario.pathParams[name] ?? '')),
  );
  const query = new URLSearchParams(substitute(scenario.query)).toString();
  const response = await fetch(`${harness.stack.apiUrl}${path}${query ? `?${query}` : ''}`, {
    method: scenario.method,
    headers: {
      ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
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
    });
  }
});

describe('without a key', () => {
  it('every operation the document secures answers 401 as documented; the open ones answer 200 (the document: the file)', async () => {
    // Prepare: one example of each operation, its ids those of the run above where learnt.
    const firstOfEach = [...new Map(scenarios.map((scenario) => [scenario.operationId, scenario])).values()];

    // Act
    const answers = await Promise.all(
      firstOfEach.map(async (scenario) => ({ scenario, answer: await send(scenario, null) })),
    );

    // Assess
    const unauthorized = resolveResponse(doc, { $ref: '#/components/responses/Unauthorized' });
    const schema = unauthorized.content?.['application/json']?.schema ?? {};
    for (const { scenario, answer } of answers) {
      const where = `${scenario.method} ${scenario.path}`;
      expect(answer.status, where).toBe(scenario.secured ? 401 : 200);
      expect(answer.headers.get('trackingid'), where).toMatch(/\S/);
      if (scenario.path === '/openapi.json') expect(answer.text).toBe(readFileSync(OPENAPI_FILE, 'utf8'));
      if (scenario.secured) {
        expect(ajv.validate(schema, JSON.parse(answer.text)), where).toEqual([]);
        expect(JSON.parse(answer.text), where).toEqual(unauthorized.content?.['application/json']?.example);
      }
    }
    expect(
      answers
        .filter(({ scenario }) => !scenario.secured)
        .map(({ scenario }) => scenario.path)
        .sort(),
    ).toEqual(['/dashboard', '/openapi.json']);
  });
});
