/**
 * Tenants' partitions (lambdas/core/tenants.ts) and the principal the authorizer hands to the API
 * (lambdas/core/principal.ts): the default tenant kept in the partition of the endpoints made
 * before tenants, and the authorizer's context read back as written and nothing else. Written to
 * kill the modules' Stryker mutants (docs/mutation-testing.md).
 */
import { describe, expect, it } from 'vitest';
import {
  type Denial,
  denialError,
  deny,
  fromAuthorizerContext,
  type Principal,
  toAuthorizerContext,
} from '../../lambdas/core/principal.ts';
import { endpointPartition, isTenantId, tenantOfPartition } from '../../lambdas/core/tenants.ts';

describe('tenant partitions', () => {
  it("keeps the default tenant's endpoints where they were before tenants, every other in its own", () => {
    expect(endpointPartition('default')).toBe('endpoint');
    expect(endpointPartition('acme')).toBe('tenant#acme');
    expect(endpointPartition('Default')).toBe('tenant#Default');
  });

  it('reads the tenant back from a partition, and no tenant from a partition of another kind', () => {
    for (const tenant of ['default', 'acme', 'a.b_c-d']) {
      expect(tenantOfPartition(endpointPartition(tenant))).toBe(tenant);
    }
    expect(tenantOfPartition('tenants')).toBeUndefined();
    expect(tenantOfPartition('xtenant#acme')).toBeUndefined();
    expect(tenantOfPartition('acme#tenant#')).toBeUndefined();
    expect(tenantOfPartition('endpoints')).toBeUndefined();
  });

  it('takes letters, digits, dot, underscore and dash, starting alphanumeric, at most 64', () => {
    expect(['acme', 'A1', 'a.b_c-d', 'x'.repeat(64), '9'].map(isTenantId)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['', '-a', '.a', '_a', 'x'.repeat(65), 'a b', 'a/b', 'a#b'].map(isTenantId)).toEqual(
      Array(8).fill(false),
    );
  });
});

describe('the authorizer context', () => {
  const principals: (Principal | Denial)[] = [
    { kind: 'admin', keyId: 'k_admin' },
    { kind: 'send', keyId: 'k_send' },
    { kind: 'portal', tenantId: 'acme', expiresAtMs: 1_700_000_000_000 },
    deny('token_expired', 'this portal link has expired'),
    deny('invalid_token', 'this portal link is not valid'),
    deny('unauthorized', 'no key'),
  ];

  it('is flat strings, and reads back as what was written', () => {
    for (const principal of principals) {
      const context = toAuthorizerContext(principal);
      expect(Object.values(context).every((value) => typeof value === 'string')).toBe(true);
      expect(fromAuthorizerContext(context)).toStrictEqual(principal);
    }
    expect(toAuthorizerContext(principals[2] as Principal)).toStrictEqual({
      kind: 'portal',
      tenantId: 'acme',
      expiresAtMs: '1700000000000',
    });
    expect(toAuthorizerContext(principals[3] as Denial)).toStrictEqual({
      kind: 'denied',
      code: 'token_expired',
      message: 'this portal link has expired',
    });
  });

  it('reads nothing from what it did not write', () => {
    for (const context of [
      undefined,
      null,
      'admin',
      42,
      {},
      { kind: 'admin' },
      { kind: 'admin', keyId: '' },
      { kind: 'admin', keyId: 7 },
      { kind: 'root', keyId: 'k' },
      { kind: 'portal', expiresAtMs: '1' },
      { kind: 'portal', tenantId: '', expiresAtMs: '1' },
      { kind: 'portal', tenantId: 'acme', expiresAtMs: 'soon' },
      { kind: 'portal', tenantId: 'acme', expiresAtMs: 5 },
      { kind: 'denied' },
      { kind: 'denied', code: 'forbidden', message: 'm' },
      { kind: 'denied', code: '', message: 'm' },
      { kind: 'send', tenantId: 'acme', expiresAtMs: '1' },
      { code: 'unauthorized', message: 'm' },
    ]) {
      expect(fromAuthorizerContext(context)).toBeUndefined();
    }
  });

  it('reads nothing from a function, even one carrying the fields of a context', () => {
    // Prepare: the one value that is not an object yet has properties of its own
    const context = Object.assign(() => undefined, { kind: 'admin', keyId: 'k_admin' });

    // Act / Assess
    expect(fromAuthorizerContext(context)).toBeUndefined();
  });

  it('a portal context is a portal principal even with a key id beside it, and a key context one without a tenant', () => {
    expect(
      fromAuthorizerContext({ kind: 'portal', keyId: 'k', tenantId: 'acme', expiresAtMs: '9' }),
    ).toStrictEqual({
      kind: 'portal',
      tenantId: 'acme',
      expiresAtMs: 9,
    });
    expect(
      fromAuthorizerContext({ kind: 'send', keyId: 'k', tenantId: 'acme', expiresAtMs: '9' }),
    ).toStrictEqual({
      kind: 'send',
      keyId: 'k',
    });
  });

  it('a denial without a message reads as "not authorized"', () => {
    expect(fromAuthorizerContext({ kind: 'denied', code: 'unauthorized' })).toStrictEqual({
      kind: 'denied',
      code: 'unauthorized',
      message: 'not authorized',
    });
    expect(fromAuthorizerContext({ kind: 'denied', code: 'unauthorized', message: 3 })).toStrictEqual({
      kind: 'denied',
      code: 'unauthorized',
      message: 'not authorized',
    });
  });

  it('a denial is a 401 with its code and message that asks for a Bearer credential', () => {
    // Act
    const error = denialError(deny('token_expired', 'this portal link has expired'));

    // Assess
    expect(error).toMatchObject({
      status: 401,
      code: 'token_expired',
      message: 'this portal link has expired',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  });
});
