/**
 * The API's credentials in Secrets Manager: the API key hashes (one JSON document, read by the
 * authorizer and the API, written by the API when a key is created or revoked) and the key that
 * signs portal session tokens. Reads are cached per process ({@link API_KEY_CACHE_TTL_MS}).
 *
 * Secrets Manager has no conditional write, so a change is read-modify-write and then read back:
 * two operators changing keys in the same instant could each overwrite the other, and the
 * read-back retries the change (at most three times) when it does not find it.
 */
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { type ApiKeyDocument, parseApiKeyDocument, type StoredApiKey } from '../core/api-keys.ts';
import { API_KEY_CACHE_TTL_MS, PORTAL_KEY_CACHE_TTL_MS } from '../core/config.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import { secretsManager } from './clients.ts';

async function readSecret(secretId: string): Promise<string> {
  const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!SecretString) throw new Error(`secret ${secretId} has no string value`);
  return SecretString;
}

/** Least time between two reads of the key document caused by keys not found. */
const REFRESH_AFTER_MS = 1_000;

/** The stored API key hashes: read (cached), added to, revoked from. */
export class ApiKeyStore {
  private readonly cache = new TtlCache<readonly StoredApiKey[]>(API_KEY_CACHE_TTL_MS);

  constructor(private readonly secretId: string) {}

  private loadedAtMs = 0;

  async get(): Promise<readonly StoredApiKey[]> {
    return this.cache.get(this.secretId, async () => {
      this.loadedAtMs = Date.now();
      return parseApiKeyDocument(await readSecret(this.secretId)).keys;
    });
  }

  /**
   * Reads the keys afresh when the cached copy is older than {@link REFRESH_AFTER_MS} (a key made by
   * another instance works within that second); at most one read per that time, so unknown keys
   * cannot make every request a Secrets Manager call.
   */
  async refresh(): Promise<readonly StoredApiKey[]> {
    if (Date.now() - this.loadedAtMs >= REFRESH_AFTER_MS) this.cache.delete(this.secretId);
    return this.get();
  }

  /** Adds a key's record. */
  async add(key: StoredApiKey): Promise<void> {
    await this.change(
      (keys) => [...keys.filter((stored) => stored.id !== key.id), key],
      (keys) => keys.some((stored) => stored.id === key.id),
    );
  }

  /** Removes the key `id`; false if there was none. */
  async revoke(id: string): Promise<boolean> {
    const before = await this.change(
      (keys) => keys.filter((stored) => stored.id !== id),
      (keys) => !keys.some((stored) => stored.id === id),
    );
    return before.some((stored) => stored.id === id);
  }

  /** Applies `apply` to the stored keys until `applied` holds on a read-back; the keys it found first. */
  private async change(
    apply: (keys: readonly StoredApiKey[]) => StoredApiKey[],
    applied: (keys: readonly StoredApiKey[]) => boolean,
  ): Promise<readonly StoredApiKey[]> {
    let first: readonly StoredApiKey[] | undefined;
    for (let round = 0; round < 3; round++) {
      const current = parseApiKeyDocument(await readSecret(this.secretId)).keys;
      first ??= current;
      const next: ApiKeyDocument = { keys: apply(current) };
      await secretsManager.send(
        new PutSecretValueCommand({ SecretId: this.secretId, SecretString: JSON.stringify(next) }),
      );
      const written = parseApiKeyDocument(await readSecret(this.secretId)).keys;
      if (applied(written)) {
        this.cache.set(this.secretId, written);
        return first;
      }
    }
    throw new Error('the API key document kept changing under this update; try again');
  }
}

/** The portal session signing key (the secret's string, as bytes), cached. */
export class PortalKey {
  private readonly cache = new TtlCache<Uint8Array>(PORTAL_KEY_CACHE_TTL_MS);

  constructor(private readonly secretId: string) {}

  get(): Promise<Uint8Array> {
    return this.cache.get(this.secretId, async () => {
      const key = new TextEncoder().encode(await readSecret(this.secretId));
      if (key.length < 32) throw new Error('the portal signing key is shorter than 32 bytes');
      return key;
    });
  }
}
