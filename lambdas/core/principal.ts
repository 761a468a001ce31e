/**
 * Who is calling: an admin key, a send-only key, or a portal session for one tenant; or why
 * nobody is (a denial the API answers with 401). The authorizer works this out and hands it to
 * the API function as its context (flat strings: what API Gateway passes on); in local mode and
 * in-process the same code runs before the API. Pure.
 */
import { HttpError } from './errors.ts';

export type Principal =
  | { readonly kind: 'admin'; readonly keyId: string }
  | { readonly kind: 'send'; readonly keyId: string }
  | { readonly kind: 'portal'; readonly tenantId: string; readonly expiresAtMs: number };

export type DenialCode = 'unauthorized' | 'token_expired' | 'invalid_token';

/** A request the API refuses with 401 and this code and message. */
export interface Denial {
  readonly kind: 'denied';
  readonly code: DenialCode;
  readonly message: string;
}

export const deny = (code: DenialCode, message: string): Denial => ({ kind: 'denied', code, message });

/** The 401 a denial is answered with. */
export const denialError = (denial: Denial): HttpError =>
  new HttpError(401, denial.code, denial.message, { 'WWW-Authenticate': 'Bearer' });

/** The authorizer's context for API Gateway (string values only). */
export function toAuthorizerContext(auth: Principal | Denial): Record<string, string> {
  switch (auth.kind) {
    case 'admin':
    case 'send':
      return { kind: auth.kind, keyId: auth.keyId };
    case 'portal':
      return { kind: 'portal', tenantId: auth.tenantId, expiresAtMs: String(auth.expiresAtMs) };
    case 'denied':
      return { kind: 'denied', code: auth.code, message: auth.message };
  }
}

const DENIAL_CODES: readonly string[] = ['unauthorized', 'token_expired', 'invalid_token'];

/** Reads back what {@link toAuthorizerContext} wrote; undefined for anything else. */
export function fromAuthorizerContext(context: unknown): Principal | Denial | undefined {
  if (!context || typeof context !== 'object') return undefined;
  const values = context as Record<string, unknown>;
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const kind = text('kind');
  const keyId = text('keyId');
  if ((kind === 'admin' || kind === 'send') && keyId) return { kind, keyId };
  const tenantId = text('tenantId');
  const expiresAtMs = Number(text('expiresAtMs'));
  if (kind === 'portal' && tenantId && Number.isFinite(expiresAtMs)) return { kind, tenantId, expiresAtMs };
  const code = text('code');
  if (kind === 'denied' && code && DENIAL_CODES.includes(code)) {
    return deny(code as DenialCode, text('message') ?? 'not authorized');
  }
  return undefined;
}
