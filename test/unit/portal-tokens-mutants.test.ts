/**
 * Portal session tokens (lambdas/api/portal-tokens.ts): what a token issued here grants, when it
 * stops, and every token it refuses (another key, algorithm, audience, issuer or scope, a bad
 * tenant id, a missing claim, one older than a session may be). Written to kill the module's
 * Stryker mutants (docs/mutation-testing.md).
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { issuePortalToken, looksLikeToken, verifyPortalToken } from '../../lambdas/api/portal-tokens.ts';

const KEY = new TextEncoder().encode('p'.repeat(32));
const OTHER_KEY = new TextEncoder().encode('q'.repeat(32));
const NOW = Date.parse('2026-12-03T10:00:00.500Z');
const NOW_S = Math.floor(NOW / 1000);

const invalid = { kind: 'denied', code: 'invalid_token', message: 'this portal link is not valid' };
const expired = { kind: 'denied', code: 'token_expired', message: 'this portal link has expired' };

/** A token like the ones issued here, with `change` applied to its claims or header. */
async function token(
  change: {
    claims?: Record<string, unknown>;
    alg?: string;
    sub?: string | null;
    iss?: string | null;
    aud?: string | null;
    iat?: number | null;
    exp?: number | null;
    key?: Uint8Array;
  } = {},
): Promise<string> {
  let jwt = new SignJWT({ scope: 'portal', ...change.claims }).setProtectedHeader({
    alg: change.alg ?? 'HS256',
    typ: 'JWT',
  });
  if (change.sub !== null) jwt = jwt.setSubject(change.sub ?? 'acme');
  if (change.iss !== null) jwt = jwt.setIssuer(change.iss ?? 'webhooks');
  if (change.aud !== null) jwt = jwt.setAudience(change.aud ?? 'webhooks-portal');
  if (change.iat !== null) jwt = jwt.setIssuedAt(change.iat ?? NOW_S);
  if (change.exp !== null) jwt = jwt.setExpirationTime(change.exp ?? NOW_S + 3600);
  return jwt.sign(change.key ?? KEY);
}

describe('issuePortalToken', () => {
  it('grants the tenant until the second it says, and the verifier agrees', async () => {
    // Act
    const issued = await issuePortalToken(KEY, 'acme', NOW, 600);

    // Assess
    expect(issued.expiresAtMs).toBe((NOW_S + 600) * 1000);
    expect(await verifyPortalToken(KEY, issued.token, NOW)).toStrictEqual({
      kind: 'portal',
      tenantId: 'acme',
      expiresAtMs: (NOW_S + 600) * 1000,
    });
    const [header, payload] = issued.token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    expect(header).toStrictEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toStrictEqual({
      scope: 'portal',
      sub: 'acme',
      iss: 'webhooks',
      aud: 'webhooks-portal',
      iat: NOW_S,
      exp: NOW_S + 600,
    });
  });

  it('caps a session at 24 hours', async () => {
    // Act
    const capped = await issuePortalToken(KEY, 'acme', NOW, 48 * 3600);
    const exact = await issuePortalToken(KEY, 'acme', NOW, 24 * 3600);

    // Assess
    expect(capped.expiresAtMs).toBe((NOW_S + 24 * 3600) * 1000);
    expect(exact.expiresAtMs).toBe((NOW_S + 24 * 3600) * 1000);
  });

  it('works until its expiry and not at it', async () => {
    // Prepare
    const issued = await issuePortalToken(KEY, 'acme', NOW, 60);

    // Act
    const before = await verifyPortalToken(KEY, issued.token, (NOW_S + 59) * 1000);
    const at = await verifyPortalToken(KEY, issued.token, (NOW_S + 60) * 1000);
    const after = await verifyPortalToken(KEY, issued.token, (NOW_S + 3600) * 1000);

    // Assess
    expect(before).toMatchObject({ kind: 'portal', tenantId: 'acme' });
    expect(at).toStrictEqual(expired);
    expect(after).toStrictEqual(expired);
  });
});

describe('verifyPortalToken refuses', () => {
  it('a token signed with another key, or changed in any part', async () => {
    // Prepare
    const good = await token();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const otherPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'globex' }),
    ).toString('base64url');

    // Act / Assess
    expect(await verifyPortalToken(KEY, await token({ key: OTHER_KEY }), NOW)).toStrictEqual(invalid);
    expect(await verifyPortalToken(KEY, `${header}.${otherPayload}.${signature}`, NOW)).toStrictEqual(
      invalid,
    );
    expect(await verifyPortalToken(KEY, 'not.a.token', NOW)).toStrictEqual(invalid);
    expect(await verifyPortalToken(KEY, good, NOW)).toMatchObject({ kind: 'portal' });
  });

  it('another algorithm with the same key', async () => {
    expect(await verifyPortalToken(KEY, await token({ alg: 'HS512' }), NOW)).toStrictEqual(invalid);
  });

  it('another audience or issuer, or none', async () => {
    for (const change of [{ aud: 'webhooks-admin' }, { aud: null }, { iss: 'elsewhere' }, { iss: null }]) {
      expect(await verifyPortalToken(KEY, await token(change), NOW)).toStrictEqual(invalid);
    }
  });

  it('a token without a subject, an expiry or an issue time', async () => {
    for (const change of [{ sub: null }, { exp: null }, { iat: null }]) {
      expect(await verifyPortalToken(KEY, await token(change), NOW)).toStrictEqual(invalid);
    }
  });

  it('a scope other than portal, or none', async () => {
    expect(await verifyPortalToken(KEY, await token({ claims: { scope: 'admin' } }), NOW)).toStrictEqual(
      invalid,
    );
    expect(await verifyPortalToken(KEY, await token({ claims: { scope: undefined } }), NOW)).toStrictEqual(
      invalid,
    );
  });

  it('a subject that is not a tenant id', async () => {
    for (const sub of ['', '-acme', 'a'.repeat(65), 'acme/other']) {
      expect(await verifyPortalToken(KEY, await token({ sub }), NOW)).toStrictEqual(invalid);
    }
    expect(await verifyPortalToken(KEY, await token({ sub: 'a'.repeat(64) }), NOW)).toMatchObject({
      kind: 'portal',
      tenantId: 'a'.repeat(64),
    });
  });

  it('a token issued longer ago than a session and a minute, even if it has not expired', async () => {
    // Prepare
    const limit = 24 * 3600 + 60;
    const old = await token({ iat: NOW_S - limit - 1, exp: NOW_S + 3600 });
    const justInTime = await token({ iat: NOW_S - limit + 1, exp: NOW_S + 3600 });

    // Act / Assess
    expect((await verifyPortalToken(KEY, old, NOW)).kind).toBe('denied');
    expect(await verifyPortalToken(KEY, justInTime, NOW)).toMatchObject({ kind: 'portal' });
  });

  it('judges expiry by the time it is given, not the clock', async () => {
    // Prepare
    const longAgo = Date.parse('2020-01-01T00:00:00Z');
    const issued = await issuePortalToken(KEY, 'acme', longAgo, 60);

    // Act
    const then = await verifyPortalToken(KEY, issued.token, longAgo + 1000);

    // Assess
    expect(then).toMatchObject({ kind: 'portal', tenantId: 'acme' });
  });
});

describe('looksLikeToken', () => {
  it('is three base64url parts, nothing around them', () => {
    expect(looksLikeToken('aB0_-.cD1_-.eF2_-')).toBe(true);
    for (const credential of [
      'whk_abcdef',
      'a.b',
      'a.b.c.d',
      '.b.c',
      'a..c',
      'a.b.',
      'a.b.c ',
      ' a.b.c',
      'a+b.c.d',
      'a.b.c=',
    ]) {
      expect(looksLikeToken(credential)).toBe(false);
    }
  });
});
