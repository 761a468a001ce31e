/**
 * Properties of signing: for any body, id, time and secret, what we sign verifies with both
 * public libraries (standardwebhooks and svix) and with our own verify; during a rotation it
 * verifies with either secret; and any change to the body makes every verifier refuse it.
 */
import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildWebhookBody } from '../../lambdas/core/payload.ts';
import { generateSecret, sign, verify, webhookHeaders } from '../../lambdas/core/signing.ts';

const RUNS = { numRuns: 100 };

const secret = fc
  .uint8Array({ minLength: 1, maxLength: 64 })
  .map((bytes) => `whsec_${Buffer.from(bytes).toString('base64')}`);
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const seconds = fc.integer({ min: 1_000_000_000, max: 4_000_000_000 });
const body = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary-ascii', maxLength: 300 }),
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z.]{0,20}$/), fc.jsonValue({ maxDepth: 4 }))
    .map(([type, data]) => buildWebhookBody(type, 1_795_819_984_001, data)),
);

type Verifier = (payload: string, headers: Record<string, string>) => void;

/**
 * Both public libraries parse the payload as JSON once the signature matched; a non-JSON body
 * (never sent by the product, generated here) fails there, not on the signature.
 */
function signatureOnly(check: (payload: string, headers: Record<string, string>) => unknown): Verifier {
  return (payload, headers) => {
    try {
      check(payload, headers);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  };
}

function verifiers(key: string, nowSeconds: number): Array<[string, Verifier]> {
  const standard = new StandardWebhook(key);
  const svix = new SvixWebhook(key);
  return [
    ['standardwebhooks', signatureOnly((payload, headers) => standard.verify(payload, headers))],
    ['svix', signatureOnly((payload, headers) => svix.verify(payload, headers))],
    ['ours', (payload, headers) => verify(key, headers, payload, { nowSeconds })],
  ];
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('webhookHeaders, for any body', () => {
  it('verifies with standardwebhooks, svix and our verify', () => {
    fc.assert(
      fc.property(secret, id, seconds, body, (key, messageId, at, payload) => {
        // Prepare: the public libraries read the clock themselves.
        vi.setSystemTime(at * 1000);

        // Act
        const headers = webhookHeaders([key], messageId, at, payload);

        // Assess
        for (const [name, check] of verifiers(key, at)) {
          expect({ name, ok: attempt(() => check(payload, headers)) }).toEqual({ name, ok: true });
        }
      }),
      RUNS,
    );
  });

  it('during a rotation verifies with the current and with the previous secret, in every library', () => {
    fc.assert(
      fc.property(secret, secret, id, seconds, body, (current, previous, messageId, at, payload) => {
        vi.setSystemTime(at * 1000);

        const headers = webhookHeaders([current, previous], messageId, at, payload);

        expect(headers['webhook-signature'].split(' ')).toEqual([
          sign(current, messageId, at, payload),
          sign(previous, messageId, at, payload),
        ]);
        for (const key of [current, previous]) {
          for (const [name, check] of verifiers(key, at)) {
            expect({ name, ok: attempt(() => check(payload, headers)) }).toEqual({ name, ok: true });
          }
        }
      }),
      RUNS,
    );
  });

  it('is refused by every verifier once the body changes', () => {
    fc.assert(
      fc.property(secret, id, seconds, body, body, (key, messageId, at, payload, other) => {
        fc.pre(other !== payload);
        vi.setSystemTime(at * 1000);

        const headers = webhookHeaders([key], messageId, at, payload);

        for (const [name, check] of verifiers(key, at)) {
          expect({ name, ok: attempt(() => check(other, headers)) }).toEqual({ name, ok: false });
        }
      }),
      RUNS,
    );
  });

  it('is refused by every verifier holding another secret', () => {
    fc.assert(
      fc.property(id, seconds, body, (messageId, at, payload) => {
        vi.setSystemTime(at * 1000);
        const [key, other] = [generateSecret(), generateSecret()];

        const headers = webhookHeaders([key], messageId, at, payload);

        for (const [name, check] of verifiers(other, at)) {
          expect({ name, ok: attempt(() => check(payload, headers)) }).toEqual({ name, ok: false });
        }
      }),
      { numRuns: 30 },
    );
  });
});

function attempt(action: () => void): boolean {
  try {
    action();
    return true;
  } catch {
    return false;
  }
}
