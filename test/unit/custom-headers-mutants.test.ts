/**
 * Custom headers (lambdas/core/custom-headers.ts): the refusal of an empty name, the shortened
 * name an error quotes, and, at send time, a delivery's own header winning over a custom one of
 * the same name in another case, and of two custom headers differing only in case the first
 * sent. Written to kill the module's Stryker mutants (docs/mutation-testing.md);
 * test/unit/custom-headers.test.ts has the rules' reference cases.
 */
import { describe, expect, it } from 'vitest';
import { parseCustomHeaders, withCustomHeaders } from '../../lambdas/core/custom-headers.ts';

const messageOf = (value: unknown): string => {
  try {
    parseCustomHeaders(value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('parseCustomHeaders accepted the headers');
};

describe('parseCustomHeaders', () => {
  it('refuses an empty name as empty', () => {
    expect(messageOf({ '': 'v' })).toBe('header "" cannot be set: a header name cannot be empty');
  });

  it('quotes at most 65 characters of a name that is too long', () => {
    // Prepare
    const name = `${'a'.repeat(64)}bcdef`;

    // Act / Assess
    expect(messageOf({ [name]: 'v' })).toBe(
      `header "${'a'.repeat(64)}b" cannot be set: a header name is at most 64 bytes`,
    );
  });
});

describe('withCustomHeaders', () => {
  it("leaves out a custom header that one of the delivery's own has in another case, whatever the name", () => {
    // Act
    const sent = withCustomHeaders({ 'X-Trace': 'own' }, { 'x-trace': 'custom', 'X-Other': 'o' });

    // Assess
    expect(sent).toStrictEqual({ 'X-Other': 'o', 'X-Trace': 'own' });
  });

  it('sends the first of two custom headers that differ only in case', () => {
    // Act
    const sent = withCustomHeaders({}, { 'X-Api-Key': 'first', 'x-api-key': 'second' });

    // Assess
    expect(sent).toStrictEqual({ 'X-Api-Key': 'first' });
  });
});
