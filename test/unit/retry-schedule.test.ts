import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  JITTER_RATIO,
  type RetryPolicy,
  retryPolicyFromEnv,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../../lambdas/core/config.ts';
import {
  hasAttemptsLeft,
  nominalScheduleSeconds,
  retryDelaySeconds,
} from '../../lambdas/core/retry-schedule.ts';

const DAY_SECONDS = 24 * 60 * 60;
const DEFAULT_POLICY: RetryPolicy = {
  scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
};
const SMALL_POLICY: RetryPolicy = { scheduleSeconds: [0, 10, 100], maxAttempts: 6 };

const lowest = () => 0;
const middle = () => 0.5;
const highest = () => 1 - Number.EPSILON;

describe('retryDelaySeconds', () => {
  it('follows the schedule without jitter when random() is 0.5', () => {
    // Act
    const delays = [1, 2, 3].map((receiveCount) =>
      retryDelaySeconds(receiveCount, SMALL_POLICY, { random: middle }),
    );

    // Assess
    expect(delays).toEqual([0, 10, 100]);
  });

  it('stays within the jitter bounds at both ends of random()', () => {
    // Act
    const low = retryDelaySeconds(3, SMALL_POLICY, { random: lowest });
    const high = retryDelaySeconds(3, SMALL_POLICY, { random: highest });

    // Assess
    expect(low).toBe(Math.round(100 * (1 - JITTER_RATIO)));
    expect(high).toBe(Math.round(100 * (1 + JITTER_RATIO)));
  });

  it('keeps every default delay within the jitter bounds for random values across [0, 1)', () => {
    // Prepare
    const randoms = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1 - Number.EPSILON];

    for (const [index, nominal] of DEFAULT_RETRY_SCHEDULE_SECONDS.entries()) {
      for (const value of randoms) {
        // Act
        const delay = retryDelaySeconds(index + 1, DEFAULT_POLICY, { random: () => value });

        // Assess
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - JITTER_RATIO)));
        expect(delay).toBeLessThanOrEqual(
          Math.min(Math.ceil(nominal * (1 + JITTER_RATIO)), SQS_MAX_VISIBILITY_SECONDS - 1),
        );
      }
    }
  });

  it('keeps a schedule entry of 0 at 0 whatever the jitter', () => {
    // Act / Assess
    expect(retryDelaySeconds(1, SMALL_POLICY, { random: lowest })).toBe(0);
    expect(retryDelaySeconds(1, SMALL_POLICY, { random: highest })).toBe(0);
  });

  it('repeats the last delay once the schedule runs out', () => {
    // Act
    const delays = [3, 4, 5, 50].map((receiveCount) =>
      retryDelaySeconds(receiveCount, SMALL_POLICY, { random: middle }),
    );

    // Assess
    expect(delays).toEqual([100, 100, 100, 100]);
  });

  it('raises the delay to a longer Retry-After', () => {
    // Act
    const delay = retryDelaySeconds(2, SMALL_POLICY, { random: middle, retryAfterSeconds: 60 });

    // Assess
    expect(delay).toBe(60);
  });

  it('rounds a fractional Retry-After up', () => {
    // Act
    const delay = retryDelaySeconds(1, SMALL_POLICY, { random: middle, retryAfterSeconds: 2.1 });

    // Assess
    expect(delay).toBe(3);
  });

  it('never lets Retry-After shorten the scheduled delay', () => {
    // Act
    const delay = retryDelaySeconds(3, SMALL_POLICY, { random: middle, retryAfterSeconds: 5 });

    // Assess
    expect(delay).toBe(100);
  });

  it('clamps Retry-After to the largest delay of the schedule', () => {
    // Act
    const delay = retryDelaySeconds(1, SMALL_POLICY, { random: middle, retryAfterSeconds: 10 * DAY_SECONDS });

    // Assess
    expect(delay).toBe(100);
  });

  it('ignores a negative or non-finite Retry-After', () => {
    // Act / Assess
    expect(retryDelaySeconds(2, SMALL_POLICY, { random: middle, retryAfterSeconds: -30 })).toBe(10);
    expect(retryDelaySeconds(2, SMALL_POLICY, { random: middle, retryAfterSeconds: Number.NaN })).toBe(10);
  });

  it('caps the delay below the 12-hour visibility limit SQS counts from the receive', () => {
    // Prepare
    const policy: RetryPolicy = { scheduleSeconds: [SQS_MAX_VISIBILITY_SECONDS], maxAttempts: 10 };

    // Act
    const delay = retryDelaySeconds(1, policy, { random: highest });

    // Assess
    expect(delay).toBe(SQS_MAX_VISIBILITY_SECONDS - 1);
  });

  it('subtracts the time already spent since the receive, rounded up, from the cap', () => {
    // Prepare
    const policy: RetryPolicy = { scheduleSeconds: [SQS_MAX_VISIBILITY_SECONDS], maxAttempts: 10 };

    // Act
    const delay = retryDelaySeconds(1, policy, { random: middle, elapsedSinceReceiveSeconds: 14.2 });

    // Assess
    expect(delay).toBe(SQS_MAX_VISIBILITY_SECONDS - 15 - 1);
  });

  it('caps a Retry-After the same way', () => {
    // Prepare
    const policy: RetryPolicy = { scheduleSeconds: [0, SQS_MAX_VISIBILITY_SECONDS], maxAttempts: 10 };

    // Act
    const delay = retryDelaySeconds(1, policy, {
      random: middle,
      retryAfterSeconds: SQS_MAX_VISIBILITY_SECONDS,
      elapsedSinceReceiveSeconds: 30,
    });

    // Assess
    expect(delay).toBe(SQS_MAX_VISIBILITY_SECONDS - 30 - 1);
  });

  it('never returns a negative delay, even after the whole visibility window has passed', () => {
    // Act
    const delay = retryDelaySeconds(3, SMALL_POLICY, {
      random: middle,
      elapsedSinceReceiveSeconds: SQS_MAX_VISIBILITY_SECONDS + 5,
    });

    // Assess
    expect(delay).toBe(0);
  });

  it('caps the default 12-hour step, jittered upwards, below the limit', () => {
    // Act
    const delay = retryDelaySeconds(DEFAULT_MAX_ATTEMPTS - 1, DEFAULT_POLICY, {
      random: highest,
      elapsedSinceReceiveSeconds: 3,
    });

    // Assess
    expect(delay).toBe(SQS_MAX_VISIBILITY_SECONDS - 3 - 1);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses receive count %s', (receiveCount) => {
    // Act / Assess
    expect(() => retryDelaySeconds(receiveCount, SMALL_POLICY)).toThrow(RangeError);
  });

  it('uses Math.random by default and stays within bounds', () => {
    for (let i = 0; i < 200; i++) {
      // Act
      const delay = retryDelaySeconds(3, SMALL_POLICY);

      // Assess
      expect(delay).toBeGreaterThanOrEqual(80);
      expect(delay).toBeLessThanOrEqual(120);
    }
  });
});

describe('hasAttemptsLeft', () => {
  it('is true until the receive count reaches maxAttempts', () => {
    // Act
    const answers = [1, 5, 6, 7].map((receiveCount) => hasAttemptsLeft(receiveCount, SMALL_POLICY));

    // Assess
    expect(answers).toEqual([true, true, false, false]);
  });

  it('gives a single-attempt policy no retries', () => {
    // Act / Assess
    expect(hasAttemptsLeft(1, { scheduleSeconds: [10], maxAttempts: 1 })).toBe(false);
  });
});

describe('nominalScheduleSeconds', () => {
  it('sums the delays of maxAttempts - 1 retries, repeating the last one', () => {
    // Act
    const total = nominalScheduleSeconds(SMALL_POLICY);

    // Assess: retries after attempts 1..5 wait 0, 10, 100, 100, 100.
    expect(total).toBe(310);
  });

  it('is zero for a single attempt', () => {
    // Act / Assess
    expect(nominalScheduleSeconds({ scheduleSeconds: [10], maxAttempts: 1 })).toBe(0);
  });

  it('spans about three days with the default policy', () => {
    // Act
    const total = nominalScheduleSeconds(DEFAULT_POLICY);

    // Assess
    expect(total).toBeGreaterThan(2.5 * DAY_SECONDS);
    expect(total).toBeLessThan(3.5 * DAY_SECONDS);
  });

  it('spans about three days even with every delay jittered to either extreme', () => {
    for (const random of [lowest, highest]) {
      // Act
      let total = 0;
      for (let receiveCount = 1; hasAttemptsLeft(receiveCount, DEFAULT_POLICY); receiveCount++) {
        total += retryDelaySeconds(receiveCount, DEFAULT_POLICY, { random });
      }

      // Assess
      expect(total).toBeGreaterThan(2.5 * DAY_SECONDS);
      expect(total).toBeLessThan(3.5 * DAY_SECONDS);
    }
  });
});

describe('retryPolicyFromEnv', () => {
  it('falls back to the defaults', () => {
    // Act
    const policy = retryPolicyFromEnv({});

    // Assess
    expect(policy).toEqual(DEFAULT_POLICY);
  });

  it('reads a compressed schedule and attempt budget, which the delays then follow', () => {
    // Prepare
    const env = { WEBHOOKS_RETRY_SCHEDULE: '0, 1,2', WEBHOOKS_MAX_ATTEMPTS: '4' };

    // Act
    const policy = retryPolicyFromEnv(env);

    // Assess
    expect(policy).toEqual({ scheduleSeconds: [0, 1, 2], maxAttempts: 4 });
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, policy, { random: middle }))).toEqual([0, 1, 2, 2]);
    expect(nominalScheduleSeconds(policy)).toBe(3);
  });

  it('clamps schedule entries to the SQS visibility limit', () => {
    // Act
    const policy = retryPolicyFromEnv({ WEBHOOKS_RETRY_SCHEDULE: '10,999999' });

    // Assess
    expect(policy.scheduleSeconds).toEqual([10, SQS_MAX_VISIBILITY_SECONDS]);
  });

  it.each([
    ['WEBHOOKS_RETRY_SCHEDULE', '10,abc'],
    ['WEBHOOKS_RETRY_SCHEDULE', '10,-5'],
    ['WEBHOOKS_RETRY_SCHEDULE', '10,,20,Infinity'],
    ['WEBHOOKS_MAX_ATTEMPTS', '0'],
    ['WEBHOOKS_MAX_ATTEMPTS', '2.5'],
    ['WEBHOOKS_MAX_ATTEMPTS', 'ten'],
    ['WEBHOOKS_MAX_ATTEMPTS', '1001'],
  ])('refuses %s=%s', (name, value) => {
    // Act / Assess
    expect(() => retryPolicyFromEnv({ [name]: value })).toThrow(name);
  });
});
