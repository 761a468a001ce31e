/**
 * The Secrets Manager adapter over a mocked client (no connection): the previous secret signs
 * for exactly 24 hours after a rotation and then stops; endpoint secrets are cached 5 minutes
 * and the API key hashes 60 seconds, so a change reaches every instance within that time.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiKeyStore } from '../../lambdas/adapters/credentials.ts';
import { EndpointSecrets, signingSecrets } from '../../lambdas/adapters/secrets.ts';

const sm = mockClient(SecretsManagerClient);
const HOUR = 60 * 60 * 1000;
const T0 = Date.parse('2026-11-27T00:00:00Z');
let run = 0;
let name: string;

beforeEach(() => {
  sm.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  run++; // caches live as long as the module: a fresh name per test
  name = `webhooks/test/endpoints/ep_${run}`;
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(() => {
  sm.restore();
});

const stored = (value: object) => ({ SecretString: JSON.stringify(value) });

describe('signingSecrets after a rotation', () => {
  it('signs with current then previous until exactly 24 h after the rotation, then with current only', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: name }).resolves(stored({ current: 'whsec_old' }));
    sm.on(PutSecretValueCommand).resolves({});
    const secrets = new EndpointSecrets('webhooks/test/endpoints');

    // Act
    const rotated = await secrets.rotate(name, 'whsec_new', T0);

    // Assess
    expect(rotated).toEqual({
      current: 'whsec_new',
      previous: 'whsec_old',
      previousExpiresAt: T0 + 24 * HOUR,
    });
    expect(JSON.parse(String(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString))).toEqual(
      rotated,
    );
    expect(signingSecrets(rotated, T0)).toEqual(['whsec_new', 'whsec_old']);
    expect(signingSecrets(rotated, T0 + 24 * HOUR - 1)).toEqual(['whsec_new', 'whsec_old']);
    expect(signingSecrets(rotated, T0 + 24 * HOUR)).toEqual(['whsec_new']);
    expect(signingSecrets(rotated, T0 + 30 * 24 * HOUR)).toEqual(['whsec_new']);
    expect(signingSecrets({ current: 'whsec_only' }, T0)).toEqual(['whsec_only']);
    expect(signingSecrets({ current: 'whsec_new', previous: 'whsec_old' }, T0)).toEqual(['whsec_new']);
  });

  it('serves the rotated secret to this instance at once, without reading it back', async () => {
    sm.on(GetSecretValueCommand, { SecretId: name }).resolves(stored({ current: 'whsec_old' }));
    sm.on(PutSecretValueCommand).resolves({});
    const secrets = new EndpointSecrets('webhooks/test/endpoints');

    await secrets.rotate(name, 'whsec_new', T0);
    const reads = sm.commandCalls(GetSecretValueCommand).length;

    expect((await secrets.get(name)).current).toBe('whsec_new');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(reads);
  });
});

describe('cache lifetimes', () => {
  it('reads an endpoint secret once per 5 minutes, so another instance’s rotation arrives within 5 minutes', async () => {
    // Prepare: another instance rotates right after this one's first read.
    sm.on(GetSecretValueCommand, { SecretId: name })
      .resolvesOnce(stored({ current: 'whsec_a' }))
      .resolves(stored({ current: 'whsec_b', previous: 'whsec_a', previousExpiresAt: T0 + 24 * HOUR }));
    const secrets = new EndpointSecrets('webhooks/test/endpoints');

    // Act and assess
    expect((await secrets.get(name)).current).toBe('whsec_a');
    vi.setSystemTime(T0 + 5 * 60 * 1000 - 1);
    expect((await secrets.get(name)).current).toBe('whsec_a');
    vi.setSystemTime(T0 + 5 * 60 * 1000);
    expect((await secrets.get(name)).current).toBe('whsec_b');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('does not cache a failed read: it fails closed now and reads again next time', async () => {
    sm.on(GetSecretValueCommand, { SecretId: name })
      .rejectsOnce(new Error('Secrets Manager unavailable'))
      .resolves(stored({ current: 'whsec_a' }));
    const secrets = new EndpointSecrets('webhooks/test/endpoints');

    await expect(secrets.get(name)).rejects.toThrow('Secrets Manager unavailable');
    expect((await secrets.get(name)).current).toBe('whsec_a');
  });

  it('reads the API key hashes once per 25 seconds; a key not found re-reads them at most once a second', async () => {
    const secretId = `webhooks/test/api-keys-${run}`;
    const first = { id: 'k1', sha256: 'a'.repeat(64) };
    const second = { id: 'k2', sha256: 'b'.repeat(64) };
    const third = { id: 'k3', sha256: 'c'.repeat(64) };
    sm.on(GetSecretValueCommand, { SecretId: secretId })
      .resolvesOnce(stored({ keys: [first] }))
      .resolvesOnce(stored({ keys: [first, second] }))
      .resolves(stored({ keys: [first, second, third] }));
    const keys = new ApiKeyStore(secretId);
    const reads = () => sm.commandCalls(GetSecretValueCommand, { SecretId: secretId }).length;

    expect(await keys.get()).toEqual([first]);
    // A refresh within 1 s of the last read reads nothing.
    vi.setSystemTime(T0 + 999);
    expect(await keys.refresh()).toEqual([first]);
    expect(reads()).toBe(1);
    vi.setSystemTime(T0 + 1_000);
    expect(await keys.refresh()).toEqual([first, second]);
    expect(reads()).toBe(2);
    // The plain read keeps that copy for 25 s (a revoked key works that long at most).
    vi.setSystemTime(T0 + 1_000 + 24_999);
    expect(await keys.get()).toEqual([first, second]);
    vi.setSystemTime(T0 + 1_000 + 25_000);
    expect(await keys.get()).toEqual([first, second, third]);
  });
});

describe('create and delete', () => {
  it('creates the secret under prefix/endpointId holding only the current key, described for the console', async () => {
    sm.on(CreateSecretCommand).resolves({});
    const secrets = new EndpointSecrets('webhooks/test/endpoints');

    const created = await secrets.create('ep_9', 'whsec_x');

    expect(created).toBe('webhooks/test/endpoints/ep_9');
    expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toMatchObject({
      Name: 'webhooks/test/endpoints/ep_9',
      Description: 'Webhook signing secret of endpoint ep_9',
      SecretString: JSON.stringify({ current: 'whsec_x' }),
    });
  });

  it('schedules deletion with a 7-day recovery window and forgets the cached copy', async () => {
    sm.on(GetSecretValueCommand, { SecretId: name }).resolves(stored({ current: 'whsec_a' }));
    sm.on(DeleteSecretCommand).resolves({});
    const secrets = new EndpointSecrets('webhooks/test/endpoints');
    await secrets.get(name);

    await secrets.delete(name);
    await secrets.get(name);

    expect(sm.commandCalls(DeleteSecretCommand)[0]?.args[0].input).toEqual({
      SecretId: name,
      RecoveryWindowInDays: 7,
    });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('refuses a stored secret without a current key, or without a string value', async () => {
    sm.on(GetSecretValueCommand, { SecretId: name }).resolves(stored({ previous: 'whsec_a' }));
    await expect(new EndpointSecrets('p').get(name)).rejects.toThrow('endpoint secret has no current key');
    const other = `${name}-empty`;
    sm.on(GetSecretValueCommand, { SecretId: other }).resolves({});
    await expect(new EndpointSecrets('p').get(other)).rejects.toThrow(`secret ${other} has no string value`);
  });
});
