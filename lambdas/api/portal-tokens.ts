/**
 * Portal session tokens: JWTs (HS256, with jose) that grant one tenant's portal routes until they
 * expire (at most 24 h). The key is a secret the stack creates, so a token signed by another
 * stack, or altered in any byte, fails verification.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { type Denial, deny, type Principal } from '../core/principal.ts';
import { isTenantId } from '../core/tenants.ts';

const AUDIENCE = 'webhooks-portal';
const ISSUER = 'webhooks';

/** Longest a portal link works. */
export const MAX_PORTAL_SESSION_SECONDS = 24 * 60 * 60;

/** A token for `tenantId` that expires `seconds` after `nowMs`. */
export async function issuePortalToken(
  key: Uint8Array,
  tenantId: string,
  nowMs: number,
  seconds: number,
): Promise<{ token: string; expiresAtMs: number }> {
  const issuedAt = Math.floor(nowMs / 1000);
  const expiresAt = issuedAt + Math.min(seconds, MAX_PORTAL_SESSION_SECONDS);
  const token = await new SignJWT({ scope: 'portal' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(tenantId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAtMs: expiresAt * 1000 };
}

/** Whether a credential has the shape of a JWT (three base64url parts), not of an API key. */
export const looksLikeToken = (credential: string): boolean =>
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);

/** The portal principal a token grants, or why it grants nothing. */
export async function verifyPortalToken(
  key: Uint8Array,
  token: string,
  nowMs: number,
): Promise<Principal | Denial> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      audience: AUDIENCE,
      issuer: ISSUER,
      currentDate: new Date(nowMs),
      maxTokenAge: MAX_PORTAL_SESSION_SECONDS + 60,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    const tenantId = payload.sub ?? '';
    if (payload.scope !== 'portal' || !isTenantId(tenantId) || payload.exp === undefined) {
      return deny('invalid_token', 'this portal link is not valid');
    }
    return { kind: 'portal', tenantId, expiresAtMs: payload.exp * 1000 };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return deny('token_expired', 'this portal link has expired');
    return deny('invalid_token', 'this portal link is not valid');
  }
}
