/**
 * Secrets Manager access: per-endpoint signing secrets (current, and the previous one during
 * a rotation) and the API key hashes. Reads are cached per process for a short time, so a
 * warm delivery function makes no Secrets Manager call per webhook.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { parseApiKeyDocument, type StoredApiKey } from '../core/api-keys.ts';
import {
  API_KEY_CACHE_TTL_MS,
  SECRET_CACHE_TTL_MS,
  SECRET_ROTATION_OVERLAP_SECONDS,
} from '../core/config.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import { secretsManager } from './clients.ts';

/** What an endpoint's secret holds. */
export interface EndpointSecret {
  readonly current: string;
  readonly previous?: string;
  /** Epoch ms after which `previous` no longer signs. */
  readonly previousExpiresAt?: number;
}

/** The secrets that sign right now: current first, then previous while the overlap lasts. */
export function signingSecrets(secret: EndpointSecret, nowMs: number): string[] {
  const keys = [secret.current];
  if (secret.previous && (secret.previousExpiresAt ?? 0) > nowMs) keys.push(secret.previous);
  return keys;
}

async function readSecretString(secretId: string): Promise<string> {
  const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!SecretString) throw new Error(`secret ${secretId} has no string value`);
  return SecretString;
}

function parseEndpointSecret(raw: string): EndpointSecret {
  const parsed = JSON.parse(raw) as Partial<EndpointSecret>;
  if (typeof parsed.current !== 'string') throw new Error('endpoint secret has no current key');
  return parsed as EndpointSecret;
}

/** Endpoint signing secrets under one name prefix (`<prefix>/<endpointId>`). */
export class EndpointSecrets {
  private readonly cache = new TtlCache<EndpointSecret>(SECRET_CACHE_TTL_MS);

  constructor(private readonly prefix: string) {}

  nameOf(endpointId: string): string {
    return `${this.prefix}/${endpointId}`;
  }

  async create(endpointId: string, current: string): Promise<string> {
    const name = this.nameOf(endpointId);
    await secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        Description: `Webhook signing secret of endpoint ${endpointId}`,
        SecretString: JSON.stringify({ current } satisfies EndpointSecret),
      }),
    );
    return name;
  }

  /** The endpoint's secret, from cache when fresh. Throws if Secrets Manager cannot be read. */
  async get(name: string): Promise<EndpointSecret> {
    return this.cache.get(name, async () => parseEndpointSecret(await readSecretString(name)));
  }

  /** Makes `next` current; the old current keeps signing for the overlap period. */
  async rotate(name: string, next: string, nowMs: number): Promise<EndpointSecret> {
    const existing = parseEndpointSecret(await readSecretString(name));
    const rotated: EndpointSecret = {
      current: next,
      previous: existing.current,
      previousExpiresAt: nowMs + SECRET_ROTATION_OVERLAP_SECONDS * 1000,
    };
    await secretsManager.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(rotated) }),
    );
    this.cache.set(name, rotated);
    return rotated;
  }

  /** Schedules the secret's deletion (Secrets Manager keeps it recoverable for 7 days). */
  async delete(name: string): Promise<void> {
    await secretsManager.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    this.cache.delete(name);
  }
}

/** The stored API key hashes, cached briefly. */
export class ApiKeyHashes {
  private readonly cache = new TtlCache<readonly StoredApiKey[]>(API_KEY_CACHE_TTL_MS);

  constructor(private readonly secretId: string) {}

  async get(): Promise<readonly StoredApiKey[]> {
    return this.cache.get(
      this.secretId,
      async () => parseApiKeyDocument(await readSecretString(this.secretId)).keys,
    );
  }
}
