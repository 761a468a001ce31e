/**
 * Who a request's credential is: the authorizer function runs this on AWS (lambdas/authorizer/),
 * and in local mode and in-process tests it runs before the API in the same way. Credentials come
 * in `Authorization: Bearer <credential>`: a portal session token (a JWT) or an API key (admin
 * or send-only). A request without the header never gets this far on AWS: the
 * authorizer's identity source is that header, so API Gateway answers 401 by itself.
 */
import { matchApiKey, type StoredApiKey } from '../core/api-keys.ts';
import { type Denial, deny, type Principal } from '../core/principal.ts';
import { looksLikeToken, verifyPortalToken } from './portal-tokens.ts';

export interface AuthorizeDeps {
  /** `refresh` re-reads a cached copy that may predate a key just made (at most every few seconds). */
  readonly apiKeys: { get(): Promise<readonly StoredApiKey[]>; refresh?(): Promise<readonly StoredApiKey[]> };
  /** The portal session signing key. */
  readonly portalKey: { get(): Promise<Uint8Array> };
  readonly now: () => number;
}

/** The credential in an `Authorization` header value, if it is `Bearer <credential>`. */
export function bearerCredential(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

/** The principal an `Authorization` header value names, or why it names none. */
export async function authorize(
  header: string | undefined,
  deps: AuthorizeDeps,
): Promise<Principal | Denial> {
  const credential = bearerCredential(header);
  if (!credential) {
    return deny('unauthorized', 'send an API key or a portal token as "Authorization: Bearer <credential>"');
  }
  if (looksLikeToken(credential)) {
    return verifyPortalToken(await deps.portalKey.get(), credential, deps.now());
  }
  // Anything else is an API key (ours start with whk_; local mode may be given its own).
  let keys = await deps.apiKeys.get();
  let id = matchApiKey(credential, keys);
  if (id === undefined && deps.apiKeys.refresh) {
    keys = await deps.apiKeys.refresh();
    id = matchApiKey(credential, keys);
  }
  const key = keys.find((stored) => stored.id === id);
  if (!key) return deny('unauthorized', 'this API key is not valid (unknown or revoked)');
  return { kind: key.scope ?? 'admin', keyId: key.id };
}
