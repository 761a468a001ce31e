import { describe, expect, it } from 'vitest';
import { HttpError } from '../../lambdas/core/errors.ts';
import {
  createEndpointSchema,
  idempotencyKeySchema,
  listDeliveriesSchema,
  MAX_JSON_DEPTH,
  parseJsonBody,
  parseOrThrow,
  sendEventSchema,
  updateEndpointSchema,
} from '../../lambdas/core/validation.ts';

const ENDPOINT = 'ep_01M8FKCN2ZR9K0KSHMXRJGKPHY';

function errorOf(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError');
}

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
  });

  it.each([
    ['empty', '', 'missing_body'],
    ['whitespace', '   ', 'missing_body'],
    ['truncated', '{"type":', 'malformed_json'],
    ['trailing comma', '{"a":1,}', 'malformed_json'],
  ])('refuses a %s body with %s', (_, raw, code) => {
    expect(errorOf(() => parseJsonBody(raw))).toMatchObject({ status: 400, code });
  });

  it('refuses nesting deeper than the limit and accepts the limit itself', () => {
    const nest = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect(() => parseJsonBody(nest(MAX_JSON_DEPTH))).not.toThrow();
    expect(errorOf(() => parseJsonBody(nest(MAX_JSON_DEPTH + 1)))).toMatchObject({ code: 'too_deep' });
  });
});

describe('sendEventSchema', () => {
  it('accepts a typical event', () => {
    expect(parseOrThrow(sendEventSchema, { type: 'invoice.paid', data: { id: 1 } })).toEqual({
      type: 'invoice.paid',
      data: { id: 1 },
    });
  });

  it.each([
    ['missing type', { data: {} }],
    ['numeric type', { type: 5, data: {} }],
    ['type with a newline (header injection)', { type: 'a\r\nx-evil: 1', data: {} }],
    ['type with spaces', { type: 'invoice paid', data: {} }],
    ['type over 128 characters', { type: 'a'.repeat(129), data: {} }],
    ['wildcard type', { type: '*', data: {} }],
    ['missing data', { type: 'a.b' }],
    ['array data', { type: 'a.b', data: [1] }],
    ['string data', { type: 'a.b', data: 'x' }],
    ['unknown field', { type: 'a.b', data: {}, extra: true }],
    ['malformed endpoint id', { type: 'a.b', data: {}, endpointIds: ['nope'] }],
    ['empty endpoint list', { type: 'a.b', data: {}, endpointIds: [] }],
    ['repeated endpoint id', { type: 'a.b', data: {}, endpointIds: [ENDPOINT, ENDPOINT] }],
  ])('refuses %s with a 400 naming the field', (_, body) => {
    const error = errorOf(() => parseOrThrow(sendEventSchema, body));
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.message.length).toBeGreaterThan(5);
  });
});

describe('endpoint schemas', () => {
  it('accepts creation with filters and a description', () => {
    const input = {
      url: 'https://example.com/hook',
      eventTypes: ['invoice.paid', '*'],
      description: 'billing',
    };
    expect(parseOrThrow(createEndpointSchema, input)).toEqual(input);
  });

  it('refuses an empty update and a wrongly typed enabled flag', () => {
    expect(errorOf(() => parseOrThrow(updateEndpointSchema, {})).status).toBe(400);
    expect(errorOf(() => parseOrThrow(updateEndpointSchema, { enabled: 'yes' })).status).toBe(400);
  });

  it('lets an update clear the event type filter with null', () => {
    expect(parseOrThrow(updateEndpointSchema, { eventTypes: null })).toEqual({ eventTypes: null });
  });
});

describe('listDeliveriesSchema', () => {
  it('reads since as ISO-8601 or Unix seconds, and limit as a number', () => {
    const iso = parseOrThrow(listDeliveriesSchema, {
      endpointId: ENDPOINT,
      since: '2026-11-27T00:00:00Z',
      limit: '10',
    });
    const unix = parseOrThrow(listDeliveriesSchema, { endpointId: ENDPOINT, since: '1795737600' });
    expect(iso).toMatchObject({ since: Date.parse('2026-11-27T00:00:00Z'), limit: 10 });
    expect(unix.since).toBe(1795737600 * 1000);
  });

  it.each([
    ['bad since', { endpointId: ENDPOINT, since: 'yesterday' }],
    ['limit over the maximum', { endpointId: ENDPOINT, limit: '1000' }],
    ['limit zero', { endpointId: ENDPOINT, limit: '0' }],
    ['unknown status', { endpointId: ENDPOINT, status: 'lost' }],
    ['cursor with odd characters', { endpointId: ENDPOINT, cursor: 'abc$%' }],
    ['unknown parameter', { endpointId: ENDPOINT, sort: 'asc' }],
  ])('refuses %s', (_, query) => {
    expect(errorOf(() => parseOrThrow(listDeliveriesSchema, query, 'invalid_query'))).toMatchObject({
      status: 400,
      code: 'invalid_query',
    });
  });
});

describe('idempotencyKeySchema', () => {
  it.each([['has space'], [''], ['x'.repeat(256)], ['ключ']])('refuses %j', (key) => {
    expect(idempotencyKeySchema.safeParse(key).success).toBe(false);
  });

  it('accepts printable ASCII up to 255 characters', () => {
    expect(idempotencyKeySchema.safeParse(`order-42:${'x'.repeat(200)}`).success).toBe(true);
  });
});

describe('well-formed Unicode', () => {
  it('refuses a lone surrogate in a description and accepts a real emoji', () => {
    expect(
      errorOf(() => parseOrThrow(createEndpointSchema, { url: 'https://a.example', description: '\ud800' }))
        .status,
    ).toBe(400);
    expect(
      parseOrThrow(createEndpointSchema, { url: 'https://a.example', description: 'ok 😀' }).description,
    ).toBe('ok 😀');
  });
});
