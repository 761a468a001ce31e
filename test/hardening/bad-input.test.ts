/**
 * Malformed and hostile requests against the local API (the real API handler on moto). Each
 * must get a clear 4xx with the documented `{"error": {"code", "message"}}` body and a
 * Trackingid header, and none may change anything: no endpoint, no event, no delivery, no
 * message on the delivery queue. A receiver subscribed to every event type watches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEndpointUrl } from '../../lambdas/core/ssrf.ts';
import { type Harness, startHarness, TEST_API_KEY } from '../support/harness.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { installLoopbackTripwire, type Tripwire } from './loopback-tripwire.ts';

/** The stack's own API host, as WEBHOOKS_BLOCKED_HOSTS names it on AWS. */
const API_HOST = 'api.webhooks.test';
const UNKNOWN_ENDPOINT = 'ep_00000000000000000000000000';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  /** A string is sent as it is; anything else as JSON. */
  readonly body?: unknown;
  /** Replaces the default headers (authorization, content-type) where named; undefined removes one. */
  readonly headers?: Record<string, string | undefined>;
  readonly status: number;
  /** The error code, or a pattern when several are fitting. */
  readonly code: string | RegExp;
  /** Refused by API Gateway before any function runs (no `Authorization` header). */
  readonly gateway?: true;
}

function nested(depth: number): unknown {
  let value: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) value = { child: value };
  return value;
}

const TEN_KB = 'a'.repeat(10 * 1024);
const event = (extra: Record<string, unknown>) => ({ type: 'bad.input', data: { n: 1 }, ...extra });

/** Event cases: none may be accepted, so none may reach the receiver or the queue. */
const EVENT_CASES: Case[] = [
  {
    name: 'malformed JSON',
    method: 'POST',
    path: '/events',
    body: '{"type":',
    status: 400,
    code: 'malformed_json',
  },
  { name: 'empty body', method: 'POST', path: '/events', body: '', status: 400, code: 'missing_body' },
  { name: 'JSON null', method: 'POST', path: '/events', body: 'null', status: 400, code: 'invalid_request' },
  { name: 'JSON array', method: 'POST', path: '/events', body: '[]', status: 400, code: 'invalid_request' },
  {
    name: 'a byte-order mark before the JSON',
    method: 'POST',
    path: '/events',
    body: '\ufeff{"type":"a.b","data":{}}',
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'type of the wrong type',
    method: 'POST',
    path: '/events',
    body: { type: 42, data: {} },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'data as an array',
    method: 'POST',
    path: '/events',
    body: { type: 'a.b', data: [1, 2] },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'data missing',
    method: 'POST',
    path: '/events',
    body: { type: 'a.b' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a 10 KB type',
    method: 'POST',
    path: '/events',
    body: event({ type: TEN_KB }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'data nested 100 levels deep',
    method: 'POST',
    path: '/events',
    body: event({ data: nested(100) }),
    status: 400,
    code: 'too_deep',
  },
  {
    name: 'an unknown field',
    method: 'POST',
    path: '/events',
    body: event({ priority: 'high' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'an own __proto__ field',
    method: 'POST',
    path: '/events',
    body: '{"type":"a.b","data":{},"__proto__":{"isAdmin":true}}',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'header injection in the type',
    method: 'POST',
    path: '/events',
    body: event({ type: 'a\r\nX-Evil: 1' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a lone surrogate as the type',
    method: 'POST',
    path: '/events',
    body: '{"type":"\\ud800","data":{}}',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a right-to-left override in the type',
    method: 'POST',
    path: '/events',
    body: event({ type: 'invoice\u202e.paid' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a zero-width space in the type',
    method: 'POST',
    path: '/events',
    body: event({ type: 'invoice\u200b.paid' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a body over 200 KiB',
    method: 'POST',
    path: '/events',
    body: event({ data: { blob: 'x'.repeat(201 * 1024) } }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'an Idempotency-Key with a space',
    method: 'POST',
    path: '/events',
    body: event({}),
    headers: { 'idempotency-key': 'two words' },
    status: 400,
    code: 'invalid_idempotency_key',
  },
  {
    name: 'an Idempotency-Key of 256 characters',
    method: 'POST',
    path: '/events',
    body: event({}),
    headers: { 'idempotency-key': 'k'.repeat(256) },
    status: 400,
    code: 'invalid_idempotency_key',
  },
  {
    name: 'a non-ASCII Idempotency-Key',
    method: 'POST',
    path: '/events',
    body: event({}),
    headers: { 'idempotency-key': 'caf\u00e9' },
    status: 400,
    code: 'invalid_idempotency_key',
  },
  {
    name: 'an unknown endpoint id',
    method: 'POST',
    path: '/events',
    body: event({ endpointIds: [UNKNOWN_ENDPOINT] }),
    status: 422,
    code: 'unknown_endpoint',
  },
  {
    name: 'a malformed endpoint id',
    method: 'POST',
    path: '/events',
    body: event({ endpointIds: ['ep_../../admin'] }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'no Authorization header',
    method: 'POST',
    path: '/events',
    body: event({}),
    headers: { authorization: undefined },
    status: 401,
    code: 'unauthorized',
    gateway: true,
  },
  {
    name: 'a wrong API key',
    method: 'POST',
    path: '/events',
    body: event({}),
    headers: { authorization: `Bearer ${TEST_API_KEY}x` },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'the key in another case',
    method: 'POST',
    path: '/events',
    body: event({}),
    headers: { authorization: `Bearer ${TEST_API_KEY.toUpperCase()}` },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'a wrong method',
    method: 'PUT',
    path: '/events',
    body: event({}),
    status: 405,
    code: 'method_not_allowed',
  },
];

const endpoint = (url: string, extra: Record<string, unknown> = {}) => ({ url, ...extra });

/** Endpoint and read cases: none may create or change anything. */
const OTHER_CASES: Case[] = [
  {
    name: 'endpoint: malformed JSON',
    method: 'POST',
    path: '/endpoints',
    body: '{"url": "https://example.com/',
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'endpoint: url of the wrong type',
    method: 'POST',
    path: '/endpoints',
    body: { url: ['https://example.com/'] },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpoint: eventTypes as a string',
    method: 'POST',
    path: '/endpoints',
    body: endpoint('https://example.com/', { eventTypes: 'invoice.paid' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpoint: a 10 KB description',
    method: 'POST',
    path: '/endpoints',
    body: endpoint('https://example.com/', { description: TEN_KB }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpoint: an unknown field',
    method: 'POST',
    path: '/endpoints',
    body: endpoint('https://example.com/', { secret: 'whsec_mine' }),
    status: 400,
    code: 'invalid_request',
  },
  ...[
    ['userinfo before a private address', 'https://user@10.0.0.1/'],
    ['a host hidden behind userinfo', 'https://example.com@127.0.0.1/'],
    ['the metadata address with a trailing dot', 'https://169.254.169.254./'],
    ['the metadata address as one number', 'https://2852039166/'],
    ['an IPv4-mapped private address', 'https://[::ffff:10.0.0.1]/'],
    ['the IPv6 metadata address', 'https://[fd00:ec2::254]/'],
    ['plain http to a public name', 'http://example.com/'],
    ['plain http to a name that merely starts with 127', 'http://127.0.0.1.nip.io/'],
    ['ftp', 'ftp://127.0.0.1/'],
    ['javascript:', 'javascript:alert(1)'],
    ['not a URL', 'not a url'],
    ["the stack's own API host", `https://${API_HOST}/hook`],
    ["the stack's own API host with a trailing dot", `https://${API_HOST.toUpperCase()}./hook`],
  ].map(
    ([what, url]): Case => ({
      name: `endpoint URL: ${what}`,
      method: 'POST',
      path: '/endpoints',
      body: endpoint(url as string),
      status: 400,
      code: 'invalid_url',
    }),
  ),
  {
    name: 'endpoint update: a private URL',
    method: 'PATCH',
    path: '/endpoints/ENDPOINT',
    body: { url: 'https://10.1.2.3/hook' },
    status: 400,
    code: 'invalid_url',
  },
  {
    name: 'endpoint update: enabled as a string',
    method: 'PATCH',
    path: '/endpoints/ENDPOINT',
    body: { enabled: 'false' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpoint update: an unknown field',
    method: 'PATCH',
    path: '/endpoints/ENDPOINT',
    body: { enabled: true, secret: 'whsec_mine' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpoint update: a misspelt field alone',
    method: 'PATCH',
    path: '/endpoints/ENDPOINT',
    body: { enabeld: false },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'endpoint update: an empty object',
    method: 'PATCH',
    path: '/endpoints/ENDPOINT',
    body: {},
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'an invalid endpoint id in the path',
    method: 'GET',
    path: '/endpoints/ep_%3Cscript%3E',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an unknown endpoint id',
    method: 'DELETE',
    path: `/endpoints/${UNKNOWN_ENDPOINT}`,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'rotating the secret of an invalid id',
    method: 'POST',
    path: '/endpoints/..%2F..%2Fdeliveries/secret/rotate',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'malformed percent-encoding in a path id',
    method: 'GET',
    path: '/endpoints/%E0%A4%A',
    status: 400,
    code: 'invalid_path',
  },
  {
    name: 'a bare percent sign in a path id',
    method: 'DELETE',
    path: '/endpoints/%',
    status: 400,
    code: 'invalid_path',
  },
  { name: 'an invalid event id', method: 'GET', path: '/events/msg_%00', status: 404, code: 'not_found' },
  {
    name: 'an invalid delivery id',
    method: 'GET',
    path: '/deliveries/dlv_1',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'retrying an invalid delivery id',
    method: 'POST',
    path: '/deliveries/dlv_bogus/retry',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a cursor that is not base64url',
    method: 'GET',
    path: '/endpoints?cursor=%24%7B%7D',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'a forged endpoint cursor with an object key',
    method: 'GET',
    path: `/endpoints?cursor=${Buffer.from('{"pk":"endpoint","id":{"S":"x"}}').toString('base64url')}`,
    status: 400,
    code: 'invalid_cursor',
  },
  {
    name: 'a delivery cursor this API never issued',
    method: 'GET',
    path: '/deliveries?cursor=abc',
    status: 400,
    code: 'invalid_cursor',
  },
  { name: 'a limit of 0', method: 'GET', path: '/deliveries?limit=0', status: 400, code: 'invalid_query' },
  {
    name: 'a limit that is not a number',
    method: 'GET',
    path: '/endpoints?limit=1e3',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'an unknown status filter',
    method: 'GET',
    path: '/deliveries?status=lost',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'a since that is no time',
    method: 'GET',
    path: '/deliveries?since=yesterday',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'an unknown query parameter',
    method: 'GET',
    path: '/deliveries?debug=1',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'an unknown query parameter on the events listing',
    method: 'GET',
    path: '/events?verbose=true',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'an unknown query parameter on the endpoints listing',
    method: 'GET',
    path: '/endpoints?all=1',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'an unknown query parameter on recover',
    method: 'POST',
    path: '/endpoints/ENDPOINT/recover?since=0&status=delivered',
    status: 400,
    code: 'invalid_query',
  },
  {
    name: 'recover without since',
    method: 'POST',
    path: '/endpoints/ENDPOINT/recover',
    status: 400,
    code: 'invalid_query',
  },
  { name: 'an unknown route', method: 'GET', path: '/admin', status: 404, code: 'not_found' },
  {
    name: 'a wrong method on an endpoint',
    method: 'PUT',
    path: `/endpoints/${UNKNOWN_ENDPOINT}`,
    body: {},
    status: 405,
    code: 'method_not_allowed',
  },
  {
    name: 'reading endpoints without a key',
    method: 'GET',
    path: '/endpoints',
    headers: { authorization: undefined },
    status: 401,
    code: 'unauthorized',
    gateway: true,
  },
  {
    name: 'reading the DLQ with an empty key',
    method: 'GET',
    path: '/dlq',
    headers: { authorization: '' },
    status: 401,
    code: 'unauthorized',
    gateway: true,
  },
];

let tripwire: Tripwire;
let harness: Harness;
let everything: TestReceiver;
let watchedEndpoint: { id: string; url: string; updatedAt: string };

beforeAll(async () => {
  tripwire = installLoopbackTripwire();
  harness = await startHarness({
    policy: { scheduleSeconds: [1], maxAttempts: 2 },
    env: { WEBHOOKS_BLOCKED_HOSTS: API_HOST },
  });
  everything = await startReceiver();
  const created = await harness.api<{ id: string; url: string; updatedAt: string }>('POST', '/endpoints', {
    url: everything.url,
  });
  expect(created.status).toBe(201);
  watchedEndpoint = created.body;
});

afterAll(async () => {
  await everything?.close();
  await harness?.stop();
  tripwire?.uninstall();
});

async function send(testCase: Case): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${TEST_API_KEY}`,
    'content-type': 'application/json',
  };
  for (const [name, value] of Object.entries(testCase.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  const body =
    testCase.body === undefined
      ? undefined
      : typeof testCase.body === 'string'
        ? testCase.body
        : JSON.stringify(testCase.body);
  const path = testCase.path.replace('ENDPOINT', watchedEndpoint.id);
  const response = await fetch(`${harness.stack.apiUrl}${path}`, {
    method: testCase.method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function assessRefusal(testCase: Case, response: { status: number; headers: Headers; text: string }): void {
  expect(response.status).toBe(testCase.status);
  if (testCase.gateway) {
    // Refused by API Gateway itself (the authorizer's identity source is missing): its own body.
    expect(JSON.parse(response.text)).toEqual({ message: 'Unauthorized' });
    return;
  }
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('trackingid')).toMatch(/\S/);
  const body = JSON.parse(response.text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  if (typeof testCase.code === 'string') expect(body.error.code).toBe(testCase.code);
  else expect(body.error.code).toMatch(testCase.code);
  expect(body.error.message).toMatch(/\S/);
}

/**
 * Nothing changed: the one endpoint untouched, no delivery, no message, no webhook. Checked
 * after every refusal, queue first: an event accepted by mistake is queued before its 202, so
 * its message is still in the queue or, once deleted, its delivery is already recorded.
 */
async function assessNothingChanged(): Promise<void> {
  const queue = await harness.queueCounts(harness.stack.resources.deliveryQueueUrl);
  const dlq = await harness.queueCounts(harness.stack.resources.deadLetterQueueUrl);
  const deliveries = await harness.api<{ items: unknown[] }>('GET', '/deliveries?limit=100');
  const endpoints = await harness.api<{ items: Array<{ id: string; updatedAt: string; url: string }> }>(
    'GET',
    '/endpoints?limit=100',
  );
  expect(queue).toEqual({ visible: 0, inFlight: 0 });
  expect(dlq).toEqual({ visible: 0, inFlight: 0 });
  expect(deliveries.body.items).toEqual([]);
  expect(endpoints.body.items).toEqual([
    expect.objectContaining({
      id: watchedEndpoint.id,
      url: watchedEndpoint.url,
      updatedAt: watchedEndpoint.updatedAt,
    }),
  ]);
  expect(everything.received).toHaveLength(0);
  expect(tripwire.stopped).toEqual([]);
}

describe('malformed and hostile requests', () => {
  it.each(EVENT_CASES.map((testCase) => [testCase.name, testCase] as const))(
    'refuses an event with %s',
    async (_, testCase) => {
      // Act
      const response = await send(testCase);

      // Assess
      assessRefusal(testCase, response);
      await assessNothingChanged();
    },
  );

  it.each(OTHER_CASES.map((testCase) => [testCase.name, testCase] as const))(
    'refuses %s',
    async (_, testCase) => {
      // Act
      const response = await send(testCase);

      // Assess
      assessRefusal(testCase, response);
      await assessNothingChanged();
    },
  );

  it('answers every refusal with its own Trackingid', async () => {
    // Act
    const responses = [];
    for (const testCase of [...EVENT_CASES.slice(0, 3), ...OTHER_CASES.slice(0, 3)]) {
      responses.push(await send(testCase));
    }

    // Assess
    const ids = responses.map((response) => response.headers.get('trackingid'));
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('URL spellings that are normalised rather than refused', () => {
  it('stores an IDN host in its ASCII form, so the guard and the sender see the real name', async () => {
    // Prepare: subscribed to a type nobody sends, so nothing is ever delivered to it.
    const url = 'https://\u24d4xample.com/hook';

    // Act
    const created = await harness.api<{ id: string; url: string }>('POST', '/endpoints', {
      url,
      eventTypes: ['never.sent'],
    });
    const deleted = await harness.api('DELETE', `/endpoints/${created.body.id}`);

    // Assess
    expect(created.status).toBe(201);
    expect(created.body.url).toBe('https://example.com/hook');
    expect(deleted.status).toBe(204);
  });

  it('accepts localhost with a trailing dot only because local mode allows loopback', async () => {
    // Act
    const created = await harness.api<{ id: string; url: string }>('POST', '/endpoints', {
      url: 'https://localhost./hook',
      eventTypes: ['never.sent'],
    });
    const deleted = await harness.api('DELETE', `/endpoints/${created.body.id}`);

    // Assess: the same check with the production guard refuses it.
    expect(created.status).toBe(201);
    expect(deleted.status).toBe(204);
    expect(checkEndpointUrl('https://localhost./hook', { allowLoopback: false })).toEqual({
      ok: false,
      reason: 'URL host is localhost',
    });
    expect(checkEndpointUrl('http://127.0.0.1/hook', { allowLoopback: false })).toMatchObject({ ok: false });
  });
});
