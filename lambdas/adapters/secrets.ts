/**
 * Secrets Manager access to the per-endpoint secrets: the signing keys (current, and the previous
 * one during a rotation) and the endpoint's custom headers, whose values are as secret. Reads are
 * cached per process for a short time, so a warm delivery function makes no Secrets Manager call
 * per webhook. The API's own credentials are in ./credentials.ts.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { SECRET_CACHE_TTL_MS, SECRET_ROTATION_OVERLAP_SECONDS } from '../core/config.ts';
import { TtlCache } from '../core/ttl-cache.ts';
import { secretsManager } from './clients.ts';

/** What an endpoint's secret holds. */
export interface EndpointSecret {
  readonly current: string;
  readonly previous?: string;
  /** Epoch ms after which `previous` no longer signs. */
  readonly previousExpiresAt?: number;
  /**
   * The endpoint's custom headers (lambdas/core/custom-headers.ts), sent with every delivery.
   * Kept here, not in the table: a value is often a credential of the receiver's gateway.
   */
  readonly headers?: Readonly<Record<string, string>>;
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
  const { headers, ...rest } = parsed as EndpointSecret;
  // Headers that are not an object of strings (a secret edited by hand) are left out rather
  // than stop the endpoint's deliveries; the worker checks each name and value again anyway.
  return isHeaderMap(headers) && Object.keys(headers).length > 0 ? { ...rest, headers } : rest;
}

const isHeaderMap = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((entry) => typeof entry === 'string');

/** The secret with `headers` as its custom headers (none when empty). */
function withHeaders(
  secret: EndpointSecret,
  headers: Readonly<Record<string, string>> | undefined,
): EndpointSecret {
  const { headers: _old, ...rest } = secret;
  return headers && Object.keys(headers).length > 0 ? { ...rest, headers: { ...headers } } : rest;
}

/** Endpoint signing secrets under one name prefix (`<prefix>/<endpointId>`). */
export class EndpointSecrets {
  private readonly cache = new TtlCache<EndpointSecret>(SECRET_CACHE_TTL_MS);

  constructor(private readonly prefix: string) {}

  nameOf(endpointId: string): string {
    return `${this.prefix}/${endpointId}`;
  }

  /**
   * Creates the endpoint's secret: its signing key and, when given, its custom headers (validate
   * them with `parseCustomHeaders` first). Returns the secret's name.
   */
  async create(
    endpointId: string,
    current: string,
    headers?: Readonly<Record<string, string>>,
  ): Promise<string> {
    const name = this.nameOf(endpointId);
    await secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        Description: `Webhook signing secret of endpoint ${endpointId}`,
        SecretString: JSON.stringify(withHeaders({ current }, headers)),
      }),
    );
    return name;
  }

  /**
   * Replaces the endpoint's custom headers (`{}` removes them); the signing keys are kept. Validate
   * them with `parseCustomHeaders` first. The new headers go out with deliveries once each
   * worker's cached copy expires (SECRET_CACHE_TTL_MS).
   */
  async setHeaders(name: string, headers: Readonly<Record<string, string>>): Promise<EndpointSecret> {
    const updated = withHeaders(parseEndpointSecret(await readSecretString(name)), headers);
    await secretsManager.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(updated) }),
    );
    this.cache.set(name, updated);
    return updated;
  }

  /** The endpoint's secret, from cache when fresh. Throws if Secrets Manager cannot be read. */
  async get(name: string): Promise<EndpointSecret> {
    return this.cache.get(name, async () => parseEndpointSecret(await readSecretString(name)));
  }

  /** Makes `next` current; the old current keeps signing for the overlap period. The custom headers stay. */
  async rotate(name: string, next: string, nowMs: number): Promise<EndpointSecret> {
    const existing = parseEndpointSecret(await readSecretString(name));
    const rotated: EndpointSecret = withHeaders(
      {
        current: next,
        previous: existing.current,
        previousExpiresAt: nowMs + SECRET_ROTATION_OVERLAP_SECONDS * 1000,
      },
      existing.headers,
    );
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
