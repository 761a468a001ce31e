/**
 * API keys: generated once, shown once, stored only as SHA-256 hashes in Secrets Manager,
 * compared in constant time. Pure: node:crypto only.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix that makes our keys recognisable to secret scanners and people. */
export const API_KEY_PREFIX = 'whk_';

/** What a key may do: `admin` everything, `send` POST /events and reading back what it sent. */
export type ApiKeyScope = 'admin' | 'send';

/** One stored key: an id for logs and revocation, and the hex SHA-256 of the key. */
export interface StoredApiKey {
  readonly id: string;
  readonly sha256: string;
  readonly createdAt?: string;
  /** Absent on keys made before scopes: those are admin keys. */
  readonly scope?: ApiKeyScope;
  readonly name?: string;
}

/** The JSON document kept in the API keys secret. */
export interface ApiKeyDocument {
  readonly keys: readonly StoredApiKey[];
}

/** A new random key (32 bytes, base64url). */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Hex SHA-256 of a key, as stored. Keys are long random strings, so a plain hash is enough. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Parses the secret's JSON; throws on anything that is not a key document. */
export function parseApiKeyDocument(raw: string): ApiKeyDocument {
  const parsed: unknown = JSON.parse(raw);
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new Error('API key document has no "keys" array');
  return {
    keys: keys.filter(
      (key): key is StoredApiKey =>
        typeof key?.id === 'string' &&
        typeof key?.sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(key.sha256) &&
        (key.scope === undefined || key.scope === 'admin' || key.scope === 'send'),
    ),
  };
}

/**
 * Returns the id of the stored key that `presented` matches, or undefined. Every stored
 * hash is compared, in constant time, so timing does not reveal which one matched.
 */
export function matchApiKey(
  presented: string | undefined,
  stored: readonly StoredApiKey[],
): string | undefined {
  if (!presented) return undefined;
  const digest = Buffer.from(hashApiKey(presented), 'hex');
  let matched: string | undefined;
  for (const key of stored) {
    if (timingSafeEqual(digest, Buffer.from(key.sha256, 'hex')) && matched === undefined) matched = key.id;
  }
  return matched;
}
