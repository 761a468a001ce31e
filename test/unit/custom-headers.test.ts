/**
 * Custom headers per endpoint (lambdas/core/custom-headers.ts): what is refused, with a 400 that
 * names the header and never quotes its value, and what a delivery sends.
 */
import { describe, expect, it } from 'vitest';
import {
  INVALID_HEADER_CODE,
  MAX_CUSTOM_HEADERS,
  MAX_CUSTOM_HEADERS_TOTAL_BYTES,
  MAX_HEADER_NAME_BYTES,
  MAX_HEADER_VALUE_BYTES,
  parseCustomHeaders,
  withCustomHeaders,
} from '../../lambdas/core/custom-headers.ts';
import { HttpError } from '../../lambdas/core/errors.ts';

/** The error parseCustomHeaders throws for `value`, or a failure if it accepts it. */
function refusal(value: unknown): HttpError {
  try {
    parseCustomHeaders(value);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

const many = (count: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`X-Header-${i}`, 'v']));

describe('parseCustomHeaders refuses', () => {
  const cases: Array<{ what: string; value: unknown; names: string }> = [
    { what: 'the signature id', value: { 'webhook-id': 'x' }, names: '"webhook-id"' },
    { what: 'the signature', value: { 'Webhook-Signature': 'v1,abc' }, names: '"Webhook-Signature"' },
    { what: 'any webhook-* name', value: { 'WEBHOOK-ANYTHING': 'x' }, names: '"WEBHOOK-ANYTHING"' },
    { what: 'content-type', value: { 'Content-Type': 'text/plain' }, names: '"Content-Type"' },
    { what: 'content-length', value: { 'content-length': '1' }, names: '"content-length"' },
    { what: 'content-encoding', value: { 'Content-Encoding': 'gzip' }, names: '"Content-Encoding"' },
    { what: 'host', value: { Host: 'internal.example' }, names: '"Host"' },
    { what: 'user-agent', value: { 'User-Agent': 'me' }, names: '"User-Agent"' },
    { what: 'transfer-encoding', value: { 'Transfer-Encoding': 'chunked' }, names: '"Transfer-Encoding"' },
    { what: 'connection', value: { Connection: 'close' }, names: '"Connection"' },
    { what: 'keep-alive', value: { 'Keep-Alive': 'timeout=5' }, names: '"Keep-Alive"' },
    {
      what: 'proxy-authorization',
      value: { 'Proxy-Authorization': 'Basic x' },
      names: '"Proxy-Authorization"',
    },
    { what: 'any proxy-* name', value: { 'proxy-connection': 'x' }, names: '"proxy-connection"' },
    { what: 'te', value: { TE: 'trailers' }, names: '"TE"' },
    { what: 'trailer', value: { Trailer: 'x' }, names: '"Trailer"' },
    { what: 'upgrade', value: { Upgrade: 'websocket' }, names: '"Upgrade"' },
    { what: 'expect', value: { Expect: '100-continue' }, names: '"Expect"' },
    { what: 'a name with a space', value: { 'X Key': 'v' }, names: '"X Key"' },
    { what: 'a name with a colon', value: { 'X-Key:': 'v' }, names: '"X-Key:"' },
    { what: 'a name with CR LF (injection)', value: { 'X-A\r\nX-B': 'v' }, names: '"X-A\\r\\nX-B"' },
    { what: 'a non-ASCII name', value: { 'X-Clé': 'v' }, names: '"X-Clé"' },
    { what: 'an empty name', value: { '': 'v' }, names: '""' },
    {
      what: 'a name over the limit',
      value: { [`X-${'a'.repeat(MAX_HEADER_NAME_BYTES - 1)}`]: 'v' },
      names: '"X-aaa',
    },
    { what: 'a value with CR LF (injection)', value: { 'X-Key': 'a\r\nHost: evil' }, names: '"X-Key"' },
    { what: 'a value with a lone LF', value: { 'X-Key': 'a\nb' }, names: '"X-Key"' },
    { what: 'a value with NUL', value: { 'X-Key': 'a\u0000b' }, names: '"X-Key"' },
    { what: 'a value with DEL', value: { 'X-Key': 'a\u007fb' }, names: '"X-Key"' },
    { what: 'a non-ASCII value', value: { 'X-Key': 'clé' }, names: '"X-Key"' },
    { what: 'an empty value', value: { 'X-Key': '' }, names: '"X-Key"' },
    { what: 'a value with a leading space', value: { 'X-Key': ' v' }, names: '"X-Key"' },
    { what: 'a value with a trailing tab', value: { 'X-Key': 'v\t' }, names: '"X-Key"' },
    {
      what: 'a value over the limit',
      value: { 'X-Key': 'v'.repeat(MAX_HEADER_VALUE_BYTES + 1) },
      names: '"X-Key"',
    },
    { what: 'a number value', value: { 'X-Key': 42 }, names: '"X-Key"' },
    { what: 'a null value', value: { 'X-Key': null }, names: '"X-Key"' },
    { what: 'a name given twice in two cases', value: { 'X-Key': 'a', 'x-key': 'b' }, names: '"x-key"' },
    {
      what: 'more than the limit',
      value: many(MAX_CUSTOM_HEADERS + 1),
      names: `at most ${MAX_CUSTOM_HEADERS}`,
    },
    { what: 'an array', value: [['X-Key', 'v']], names: 'object' },
    { what: 'a string', value: 'X-Key: v', names: 'object' },
    { what: 'a number', value: 7, names: 'object' },
    {
      what: 'more bytes in all than the limit',
      value: Object.fromEntries(
        Array.from({ length: 5 }, (_, i) => [`X-H${i}`, 'v'.repeat(MAX_HEADER_VALUE_BYTES - 4)]),
      ),
      names: '"X-H4"',
    },
  ];

  it.each(cases)('$what, with a 400 invalid_header that names it', ({ value, names }) => {
    const error = refusal(value);

    expect(error.status).toBe(400);
    expect(error.code).toBe(INVALID_HEADER_CODE);
    expect(error.message).toContain(names);
  });

  it('never quotes the value it refuses (it may be a credential)', () => {
    const error = refusal({ 'X-Api-Key': 'sk_live_secret\r\nX-Injected: 1' });

    expect(error.message).toContain('"X-Api-Key"');
    expect(error.message).not.toContain('sk_live_secret');
    expect(error.message).not.toContain('Injected');
  });
});

describe('parseCustomHeaders accepts', () => {
  it('what gateways want, Authorization included, as given', () => {
    const headers = {
      'X-Api-Key': 'k_123',
      Authorization: 'Bearer abc.def-ghi',
      'x-tenant': 'acme corp\tA',
      "x-odd!#$%&'*+.^_`|~": '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~',
    };

    expect(parseCustomHeaders(headers)).toEqual(headers);
  });

  it('the limits exactly: ten headers, names and values at their longest', () => {
    expect(Object.keys(parseCustomHeaders(many(MAX_CUSTOM_HEADERS)))).toHaveLength(MAX_CUSTOM_HEADERS);
    const longest = { [`X-${'n'.repeat(MAX_HEADER_NAME_BYTES - 2)}`]: 'v'.repeat(MAX_HEADER_VALUE_BYTES) };
    expect(parseCustomHeaders(longest)).toEqual(longest);
    const exactlyTotal = {
      'X-A': 'v'.repeat(MAX_HEADER_VALUE_BYTES),
      'X-B': 'v'.repeat(MAX_HEADER_VALUE_BYTES),
      'X-C': 'v'.repeat(MAX_HEADER_VALUE_BYTES),
      'X-D': 'v'.repeat(MAX_CUSTOM_HEADERS_TOTAL_BYTES - 3 * (MAX_HEADER_VALUE_BYTES + 3) - 3),
    };
    expect(parseCustomHeaders(exactlyTotal)).toEqual(exactlyTotal);
  });

  it('null and {} as none', () => {
    expect(parseCustomHeaders(null)).toEqual({});
    expect(parseCustomHeaders({})).toEqual({});
  });
});

describe('withCustomHeaders', () => {
  const signed = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,sig' };

  it('sends the custom headers with the signature', () => {
    expect(withCustomHeaders(signed, { 'X-Api-Key': 'k' })).toEqual({ ...signed, 'X-Api-Key': 'k' });
  });

  it('lets the signature win over a custom header of the same name in another case', () => {
    const sent = withCustomHeaders(signed, { 'Webhook-Signature': 'forged', 'X-Ok': 'y' });

    expect(sent).toEqual({ ...signed, 'X-Ok': 'y' });
  });

  it('drops, at send time, a refused name or value a secret holds (written by hand, or before a rule)', () => {
    const sent = withCustomHeaders(signed, {
      Host: 'internal',
      'Content-Type': 'text/plain',
      'Transfer-Encoding': 'chunked',
      'X-Bad': 'a\r\nb',
      'X-Good': 'g',
    });

    expect(sent).toEqual({ ...signed, 'X-Good': 'g' });
  });

  it('sends only the signature when there are none', () => {
    expect(withCustomHeaders(signed, undefined)).toEqual(signed);
  });
});
