import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  generateSecret,
  sign,
  TOLERANCE_IN_SECONDS,
  verify,
  WebhookVerificationError,
  webhookHeaders,
} from '../../lambdas/core/signing.ts';

// The Standard Webhooks reference vector.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const OTHER_SECRET = 'whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkhISE=';

/** Both public libraries read the clock themselves: pin it to the vector's timestamp. */
function freezeClockAt(seconds: number): void {
  vi.setSystemTime(seconds * 1000);
}

function publicVerifiers(
  secret: string,
): Array<[string, (body: string, headers: Record<string, string>) => unknown]> {
  const standard = new StandardWebhook(secret);
  const svix = new SvixWebhook(secret);
  return [
    ['standardwebhooks', (body, headers) => standard.verify(body, headers)],
    ['svix', (body, headers) => svix.verify(body, headers)],
  ];
}

function codeOf(action: () => void): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).code;
  }
  return undefined;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  freezeClockAt(TIMESTAMP);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('sign', () => {
  it('matches the Standard Webhooks reference vector', () => {
    // Act
    const signature = sign(SECRET, ID, TIMESTAMP, BODY);

    // Assess
    expect(signature).toBe(SIGNATURE);
  });

  it('matches what the public library computes for the same input', () => {
    // Prepare
    const secret = generateSecret();
    const body = JSON.stringify({ type: 'order.paid', data: { note: 'ünïcødé ✓' } });

    // Act
    const ours = sign(secret, ID, TIMESTAMP, body);

    // Assess
    expect(ours).toBe(new StandardWebhook(secret).sign(ID, new Date(TIMESTAMP * 1000), body));
  });

  it('refuses a secret that is not base64, rather than signing with a mangled key', () => {
    // Act / Assess
    expect(() => sign('whsec_not base64!', ID, TIMESTAMP, BODY)).toThrow(TypeError);
    expect(() => sign('whsec_', ID, TIMESTAMP, BODY)).toThrow(TypeError);
  });

  it('refuses a timestamp that is not whole seconds', () => {
    // Act / Assess
    expect(() => sign(SECRET, ID, TIMESTAMP + 0.5, BODY)).toThrow(TypeError);
  });
});

describe('generateSecret', () => {
  it('returns whsec_ and the base64 of 32 random bytes, usable by the public library', () => {
    // Act
    const first = generateSecret();
    const second = generateSecret();

    // Assess
    expect(first).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(first.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(first).not.toBe(second);
    expect(() => new StandardWebhook(first)).not.toThrow();
  });
});

describe('webhookHeaders', () => {
  it('produces headers that verify with ours and with both public libraries', () => {
    // Prepare
    const secret = generateSecret();

    // Act
    const headers = webhookHeaders([secret], ID, TIMESTAMP, BODY);

    // Assess
    expect(headers['webhook-id']).toBe(ID);
    expect(headers['webhook-timestamp']).toBe(String(TIMESTAMP));
    expect(() => verify(secret, headers, BODY)).not.toThrow();
    for (const [, publicVerify] of publicVerifiers(secret)) {
      expect(publicVerify(BODY, headers)).toEqual(JSON.parse(BODY));
    }
  });

  it('signs with every secret during a rotation, current first, and each secret alone verifies', () => {
    // Prepare
    const current = generateSecret();
    const previous = generateSecret();

    // Act
    const headers = webhookHeaders([current, previous], ID, TIMESTAMP, BODY);

    // Assess
    expect(headers['webhook-signature']).toBe(
      `${sign(current, ID, TIMESTAMP, BODY)} ${sign(previous, ID, TIMESTAMP, BODY)}`,
    );
    for (const secret of [current, previous]) {
      expect(() => verify(secret, headers, BODY)).not.toThrow();
      for (const [, publicVerify] of publicVerifiers(secret)) {
        expect(publicVerify(BODY, headers)).toEqual(JSON.parse(BODY));
      }
    }
    const stranger = generateSecret();
    expect(codeOf(() => verify(stranger, headers, BODY))).toBe('bad_signature');
    for (const [, publicVerify] of publicVerifiers(stranger)) {
      expect(() => publicVerify(BODY, headers)).toThrow();
    }
  });

  it('throws rather than send a message unsigned', () => {
    // Act / Assess
    expect(() => webhookHeaders([], ID, TIMESTAMP, BODY)).toThrow(/secret/);
  });
});

describe('verify', () => {
  it('accepts the reference vector, with header names in any case', () => {
    // Prepare
    const headers = {
      'Webhook-Id': ID,
      'WEBHOOK-TIMESTAMP': String(TIMESTAMP),
      'webhook-signature': SIGNATURE,
    };

    // Act / Assess
    expect(() => verify(SECRET, headers, BODY)).not.toThrow();
  });

  it('accepts when any one of several signatures matches, skipping other versions', () => {
    // Prepare
    const signature = `v2,abc v1,${'A'.repeat(43)}= ${SIGNATURE}`;

    // Act / Assess
    expect(() =>
      verify(
        SECRET,
        { 'webhook-id': ID, 'webhook-timestamp': String(TIMESTAMP), 'webhook-signature': signature },
        BODY,
      ),
    ).not.toThrow();
  });

  it('uses the injected clock and tolerance', () => {
    // Prepare
    const headers = webhookHeaders([SECRET], ID, TIMESTAMP, BODY);

    // Act / Assess
    expect(() =>
      verify(SECRET, headers, BODY, { nowSeconds: TIMESTAMP + 60, toleranceSeconds: 60 }),
    ).not.toThrow();
    expect(
      codeOf(() => verify(SECRET, headers, BODY, { nowSeconds: TIMESTAMP + 61, toleranceSeconds: 60 })),
    ).toBe('timestamp_too_old');
  });

  it.each([
    ['webhook-id', 'missing_headers'],
    ['webhook-timestamp', 'missing_headers'],
    ['webhook-signature', 'missing_headers'],
  ] as const)('refuses a message without %s (%s)', (missing, code) => {
    // Prepare
    const headers: Record<string, string | undefined> = { ...webhookHeaders([SECRET], ID, TIMESTAMP, BODY) };
    headers[missing] = undefined;

    // Act / Assess
    expect(codeOf(() => verify(SECRET, headers, BODY))).toBe(code);
  });

  it('refuses a timestamp that is not Unix seconds', () => {
    // Prepare
    const headers = { ...webhookHeaders([SECRET], ID, TIMESTAMP, BODY), 'webhook-timestamp': 'yesterday' };

    // Act / Assess
    expect(codeOf(() => verify(SECRET, headers, BODY))).toBe('invalid_timestamp');
  });

  it('refuses a signature without the v1 prefix', () => {
    // Prepare
    const headers = {
      ...webhookHeaders([SECRET], ID, TIMESTAMP, BODY),
      'webhook-signature': SIGNATURE.slice('v1,'.length),
    };

    // Act / Assess
    expect(codeOf(() => verify(SECRET, headers, BODY))).toBe('bad_signature');
  });
});

describe('each single change is refused by our verify and by the public libraries', () => {
  const tooOld = TIMESTAMP - TOLERANCE_IN_SECONDS - 1;
  const tooNew = TIMESTAMP + TOLERANCE_IN_SECONDS + 1;

  const cases: Array<{
    change: string;
    headers: Record<string, string>;
    body: string;
    secret: string;
    code: string;
  }> = [
    {
      change: 'body',
      headers: webhookHeaders([SECRET], ID, TIMESTAMP, BODY),
      body: '{"test": 2432232315}',
      secret: SECRET,
      code: 'bad_signature',
    },
    {
      change: 'id',
      headers: { ...webhookHeaders([SECRET], ID, TIMESTAMP, BODY), 'webhook-id': `${ID}x` },
      body: BODY,
      secret: SECRET,
      code: 'bad_signature',
    },
    {
      change: 'timestamp (within tolerance)',
      headers: {
        ...webhookHeaders([SECRET], ID, TIMESTAMP, BODY),
        'webhook-timestamp': String(TIMESTAMP + 1),
      },
      body: BODY,
      secret: SECRET,
      code: 'bad_signature',
    },
    {
      change: 'secret',
      headers: webhookHeaders([SECRET], ID, TIMESTAMP, BODY),
      body: BODY,
      secret: OTHER_SECRET,
      code: 'bad_signature',
    },
    {
      change: 'signature (one character)',
      headers: {
        ...webhookHeaders([SECRET], ID, TIMESTAMP, BODY),
        'webhook-signature': SIGNATURE.replace('g0hM', 'g0hN'),
      },
      body: BODY,
      secret: SECRET,
      code: 'bad_signature',
    },
    {
      change: 'tolerance: correctly signed but too old',
      headers: webhookHeaders([SECRET], ID, tooOld, BODY),
      body: BODY,
      secret: SECRET,
      code: 'timestamp_too_old',
    },
    {
      change: 'tolerance: correctly signed but too far in the future',
      headers: webhookHeaders([SECRET], ID, tooNew, BODY),
      body: BODY,
      secret: SECRET,
      code: 'timestamp_in_future',
    },
  ];

  it.each(cases)('$change → $code', ({ headers, body, secret, code }) => {
    // Act
    const ourCode = codeOf(() => verify(secret, headers, body));

    // Assess
    expect(ourCode).toBe(code);
    for (const [, publicVerify] of publicVerifiers(secret)) {
      expect(() => publicVerify(body, headers)).toThrow();
    }
  });

  it('accepts the unchanged message at the edges of the tolerance, like the public libraries', () => {
    // Prepare
    const edges = [TIMESTAMP - TOLERANCE_IN_SECONDS, TIMESTAMP + TOLERANCE_IN_SECONDS];

    for (const timestamp of edges) {
      const headers = webhookHeaders([SECRET], ID, timestamp, BODY);

      // Act / Assess
      expect(() => verify(SECRET, headers, BODY)).not.toThrow();
      for (const [, publicVerify] of publicVerifiers(SECRET)) {
        expect(() => publicVerify(BODY, headers)).not.toThrow();
      }
    }
  });
});
