/**
 * The API's credentials in Secrets Manager (lambdas/adapters/credentials.ts) against moto: keys
 * added and revoked by read-modify-write with a read-back, a change another writer overwrote
 * made again (at most three rounds), the cache the change leaves, and the portal signing key's
 * length rule. The caches' lifetimes are tested on a mocked client (test/unit/secrets-adapter.test.ts).
 * Written to kill the module's Stryker mutants (docs/mutation-testing.md).
 */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Credentials from '../../lambdas/adapters/credentials.ts';
import type { StoredApiKey } from '../../lambdas/core/api-keys.ts';
import { EMULATOR_CREDENTIALS } from '../../local/provision.ts';
import { type CommandRecorder, REGION, recordCommands, uniqueName, useMoto } from '../support/mutants-aws.ts';

const moto = useMoto();
let credentials: typeof Credentials;
let recorder: CommandRecorder;
let raw: SecretsManagerClient;

beforeAll(async () => {
  credentials = await import('../../lambdas/adapters/credentials.ts');
  const { secretsManager } = await import('../../lambdas/adapters/clients.ts');
  recorder = recordCommands(secretsManager);
  raw = new SecretsManagerClient({
    endpoint: moto.endpoint(),
    region: REGION,
    credentials: EMULATOR_CREDENTIALS,
  });
});

afterEach(() => recorder.reset());
afterAll(() => raw?.destroy());

const key = (id: string, digit: string): StoredApiKey => ({ id, sha256: digit.repeat(64) }) as StoredApiKey;

async function secretOf(keys: readonly StoredApiKey[]): Promise<string> {
  const name = uniqueName('webhooks/test/api-keys');
  await raw.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ keys }) }));
  return name;
}

async function storedKeys(name: string): Promise<unknown> {
  const { SecretString } = await raw.send(new GetSecretValueCommand({ SecretId: name }));
  return JSON.parse(SecretString ?? '');
}

const count = (name: string) => recorder.names().filter((each) => each === name).length;

describe('ApiKeyStore', () => {
  it('reads the stored keys once and then from its cache', async () => {
    // Prepare
    const name = await secretOf([key('k1', 'a')]);
    const store = new credentials.ApiKeyStore(name);

    // Act
    const first = await store.get();
    const second = await store.get();

    // Assess
    expect(first).toEqual([key('k1', 'a')]);
    expect(second).toEqual([key('k1', 'a')]);
    expect(count('GetSecretValueCommand')).toBe(1);
  });

  it('add stores the key beside the others, replaces one with its id, and caches what it read back', async () => {
    // Prepare
    const name = await secretOf([key('k1', 'a'), key('k2', 'b')]);
    const store = new credentials.ApiKeyStore(name);

    // Act
    await store.add(key('k3', 'c'));
    await store.add(key('k1', 'd'));
    recorder.reset();
    const cached = await store.get();

    // Assess
    const expected = [key('k2', 'b'), key('k3', 'c'), key('k1', 'd')];
    expect(await storedKeys(name)).toEqual({ keys: expected });
    expect(cached).toEqual(expected);
    expect(recorder.names()).toEqual([]);
  });

  it('revoke removes only that key and says whether it was there', async () => {
    // Prepare
    const name = await secretOf([key('k1', 'a'), key('k2', 'b')]);
    const store = new credentials.ApiKeyStore(name);

    // Act
    const revoked = await store.revoke('k1');
    const again = await store.revoke('k1');

    // Assess
    expect([revoked, again]).toEqual([true, false]);
    expect(await storedKeys(name)).toEqual({ keys: [key('k2', 'b')] });
    expect(await store.get()).toEqual([key('k2', 'b')]);
  });

  it('makes a change again when another writer overwrote it, and both changes are kept', async () => {
    // Prepare
    const name = await secretOf([key('k1', 'a')]);
    const store = new credentials.ApiKeyStore(name);
    let overwrites = 1;
    recorder.intercept = async (command, send) => {
      if (command.command !== 'PutSecretValueCommand') return send();
      const ours = await send();
      // Another operator, who read the document before our write, adds k9 over it.
      if (overwrites-- > 0) {
        await raw.send(
          new PutSecretValueCommand({
            SecretId: name,
            SecretString: JSON.stringify({ keys: [key('k1', 'a'), key('k9', 'f')] }),
          }),
        );
      }
      return ours;
    };

    // Act
    await store.add(key('k2', 'b'));

    // Assess
    expect(await storedKeys(name)).toEqual({ keys: [key('k1', 'a'), key('k9', 'f'), key('k2', 'b')] });
    expect(count('PutSecretValueCommand')).toBe(2);
  });

  it('revoke made again after an overwrite still says the key was there when it began', async () => {
    // Prepare
    const name = await secretOf([key('k1', 'a'), key('k2', 'b')]);
    const store = new credentials.ApiKeyStore(name);
    let overwrites = 1;
    recorder.intercept = async (command, send) => {
      if (command.command !== 'PutSecretValueCommand') return send();
      const ours = await send();
      if (overwrites-- > 0) {
        await raw.send(
          new PutSecretValueCommand({
            SecretId: name,
            SecretString: JSON.stringify({ keys: [key('k1', 'a'), key('k2', 'b'), key('k9', 'f')] }),
          }),
        );
      }
      return ours;
    };

    // Act
    const revoked = await store.revoke('k1');

    // Assess
    expect(revoked).toBe(true);
    expect(await storedKeys(name)).toEqual({ keys: [key('k2', 'b'), key('k9', 'f')] });
    expect(count('PutSecretValueCommand')).toBe(2);
  });

  it('gives up after three rounds that another writer overwrote, and caches nothing of them', async () => {
    // Prepare
    const name = await secretOf([key('k1', 'a')]);
    const store = new credentials.ApiKeyStore(name);
    await store.get();
    recorder.intercept = async (command, send) => {
      if (command.command !== 'PutSecretValueCommand') return send();
      const ours = await send();
      await raw.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: JSON.stringify({ keys: [key('k1', 'a')] }),
        }),
      );
      return ours;
    };

    // Act
    const adding = store.add(key('k2', 'b'));

    // Assess
    await expect(adding).rejects.toThrow('the API key document kept changing under this update; try again');
    expect(count('PutSecretValueCommand')).toBe(3);
    expect(await store.get()).toEqual([key('k1', 'a')]);
  });

  it('refuses a secret without a string value, naming it', async () => {
    // Prepare
    const name = uniqueName('webhooks/test/api-keys');
    await raw.send(new CreateSecretCommand({ Name: name, SecretBinary: new Uint8Array([1, 2, 3]) }));

    // Act
    const reading = new credentials.ApiKeyStore(name).get();

    // Assess
    await expect(reading).rejects.toThrow(`secret ${name} has no string value`);
  });
});

describe('PortalKey', () => {
  async function portalSecret(value: string): Promise<string> {
    const name = uniqueName('webhooks/test/portal');
    await raw.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return name;
  }

  it("is the secret's string as bytes, read once", async () => {
    // Prepare
    const value = `${'k'.repeat(31)}é`;
    const portal = new credentials.PortalKey(await portalSecret(value));

    // Act
    const first = await portal.get();
    const second = await portal.get();

    // Assess
    expect(Buffer.from(first).toString('utf8')).toBe(value);
    expect(first).toHaveLength(33);
    expect(second).toBe(first);
    expect(count('GetSecretValueCommand')).toBe(1);
  });

  it('takes a key of exactly 32 bytes and refuses one of 31', async () => {
    // Prepare
    const exact = new credentials.PortalKey(await portalSecret('x'.repeat(32)));
    const short = new credentials.PortalKey(await portalSecret('x'.repeat(31)));

    // Act
    const taken = await exact.get();
    const refused = short.get();

    // Assess
    expect(taken).toHaveLength(32);
    await expect(refused).rejects.toThrow('the portal signing key is shorter than 32 bytes');
  });
});
