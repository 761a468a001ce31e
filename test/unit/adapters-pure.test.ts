/**
 * The adapters' parts that need no AWS service: required environment variables, the Lambda
 * bundles' environment-only credential provider and event-stream stand-in, and how enqueued
 * messages are split into SendMessageBatch requests.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireEnv } from '../../lambdas/adapters/env.ts';
import {
  defaultProvider,
  EnvironmentCredentialsMissingError,
} from '../../lambdas/adapters/env-credentials.ts';
import {
  EventStreamSerde,
  EventStreamsNotBundledError,
  eventStreamSerdeProvider,
} from '../../lambdas/adapters/no-event-streams.ts';
import { chunkForBatch } from '../../lambdas/adapters/queue.ts';
import { SQS_MAX_BATCH_BYTES } from '../../lambdas/core/config.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('requireEnv', () => {
  it('returns a set variable and fails loudly, naming it, when it is missing or empty', () => {
    vi.stubEnv('WEBHOOKS_UNIT_VAR', 'value');
    expect(requireEnv('WEBHOOKS_UNIT_VAR')).toBe('value');
    vi.stubEnv('WEBHOOKS_UNIT_VAR', '');
    expect(() => requireEnv('WEBHOOKS_UNIT_VAR')).toThrow(
      'environment variable WEBHOOKS_UNIT_VAR is not set',
    );
    expect(() => requireEnv('WEBHOOKS_UNIT_NEVER_SET')).toThrow(
      'environment variable WEBHOOKS_UNIT_NEVER_SET is not set',
    );
  });
});

describe("the bundles' credential provider", () => {
  it('reads the credentials Lambda puts in the environment', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDUNIT');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'unit-token');
    const credentials = await defaultProvider()();
    expect(credentials).toMatchObject({
      accessKeyId: 'AKIDUNIT',
      secretAccessKey: 'unit-secret',
      sessionToken: 'unit-token',
    });
  });

  it('fails with an error whose name says what is missing, keeping the cause', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    const failure = await defaultProvider()().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EnvironmentCredentialsMissingError);
    expect((failure as Error).name).toBe('EnvironmentCredentialsMissingError');
    // It names the variables it reads and where the bundles are told to read only those.
    expect((failure as Error).message).toMatch(/^No AWS credentials in the environment: /);
    expect((failure as Error).message).toContain(
      'AWS_SESSION_TOKEN, which Lambda sets from the execution role (no profile, config file, SSO or metadata service is consulted; see lib/webhook-function.ts)',
    );
    expect((failure as Error).cause).toBeInstanceOf(Error);
  });
});

describe('the event-stream stand-in', () => {
  it('refuses every use by name, saying which alias to remove', () => {
    expect(() => eventStreamSerdeProvider()).toThrow(EventStreamsNotBundledError);
    expect(() => new EventStreamSerde()).toThrow(
      expect.objectContaining({
        name: 'EventStreamsNotBundledError',
        message: expect.stringMatching(
          /^This bundle has no SDK event-stream support \(lib\/webhook-function\.ts aliases .*lambdas\/adapters\/no-event-streams\.ts\)/,
        ),
      }),
    );
  });
});

describe('chunkForBatch', () => {
  const entry = (bytes: number, tag = 'x') => ({ encoded: tag.repeat(bytes) });

  it('puts at most ten entries in a request', () => {
    const chunks = chunkForBatch(Array.from({ length: 23 }, () => entry(10)));
    expect(chunks.map((chunk) => chunk.length)).toEqual([10, 10, 3]);
    expect(chunkForBatch([])).toEqual([]);
  });

  it('keeps each request within the batch bytes, as UTF-8, and fills it exactly to the limit', () => {
    const half = SQS_MAX_BATCH_BYTES / 2;
    expect(chunkForBatch([entry(half), entry(half), entry(1)]).map((c) => c.length)).toEqual([2, 1]);
    expect(chunkForBatch([entry(half), entry(half + 1)]).map((c) => c.length)).toEqual([1, 1]);
    // 'é' is two bytes: half of them fill half the limit.
    expect(chunkForBatch([entry(half / 2, 'é'), entry(half + 1)]).map((c) => c.length)).toEqual([1, 1]);
    // An entry over the limit still goes, alone, and no request is ever empty.
    expect(chunkForBatch([entry(SQS_MAX_BATCH_BYTES + 1), entry(1)]).map((c) => c.length)).toEqual([1, 1]);
    expect(chunkForBatch([entry(1), entry(SQS_MAX_BATCH_BYTES + 1), entry(1)]).map((c) => c.length)).toEqual([
      1, 1, 1,
    ]);
  });
});
