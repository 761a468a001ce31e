/**
 * Properties of the retry schedule for any attempt number, any schedule, any random draw,
 * any Retry-After and any time already spent since the receive.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  JITTER_RATIO,
  type RetryPolicy,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../../lambdas/core/config.ts';
import { hasAttemptsLeft, retryDelaySeconds } from '../../lambdas/core/retry-schedule.ts';

const RUNS = { numRuns: 200 };

const schedule = fc.array(fc.integer({ min: 0, max: 2 * SQS_MAX_VISIBILITY_SECONDS }), {
  minLength: 1,
  maxLength: 20,
});
const policy: fc.Arbitrary<RetryPolicy> = fc.record({
  scheduleSeconds: fc.oneof(schedule, fc.constant(DEFAULT_RETRY_SCHEDULE_SECONDS)),
  maxAttempts: fc.integer({ min: 1, max: 50 }),
});
const receiveCount = fc.integer({ min: 1, max: 10_000 });
/** Uniform in [0, 1), like Math.random. */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** What a receiver may send as Retry-After once parsed, sane or not. */
const retryAfter = fc.oneof(
  fc.integer({ min: 0, max: 3 * SQS_MAX_VISIBILITY_SECONDS }),
  fc.double({ min: -1e6, max: 1e7, noNaN: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
);
const elapsed = fc.oneof(
  fc.integer({ min: 0, max: SQS_MAX_VISIBILITY_SECONDS + 100 }),
  fc.double({ min: -100, max: 2 * SQS_MAX_VISIBILITY_SECONDS, noNaN: true }),
);

/** The schedule entry that applies after attempt `n` failed: the last one repeats. */
const entryFor = (n: number, p: RetryPolicy): number =>
  p.scheduleSeconds[Math.min(n - 1, p.scheduleSeconds.length - 1)] ?? 0;

/** The latest a visibility timeout may end, given the seconds already spent since the receive. */
const ceilingFor = (spent: number | undefined): number => {
  const used = spent !== undefined && Number.isFinite(spent) && spent > 0 ? Math.ceil(spent) : 0;
  return Math.max(0, SQS_MAX_VISIBILITY_SECONDS - used - 1);
};

describe('retryDelaySeconds, for any attempt number', () => {
  it('is a whole number of seconds within the jitter bounds of the schedule entry and under the cap', () => {
    fc.assert(
      fc.property(receiveCount, policy, unit, (n, p, r) => {
        // Act
        const delay = retryDelaySeconds(n, p, { random: () => r });

        // Assess
        const entry = entryFor(n, p);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.min(Math.floor(entry * (1 - JITTER_RATIO)), ceilingFor(0)));
        expect(delay).toBeLessThanOrEqual(Math.min(Math.ceil(entry * (1 + JITTER_RATIO)), ceilingFor(0)));
      }),
      RUNS,
    );
  });

  it('is exactly the rounded, jittered entry when that is under the cap', () => {
    fc.assert(
      fc.property(receiveCount, policy, unit, (n, p, r) => {
        const expected = Math.round(entryFor(n, p) * (1 - JITTER_RATIO + 2 * JITTER_RATIO * r));
        fc.pre(expected <= ceilingFor(0));

        expect(retryDelaySeconds(n, p, { random: () => r })).toBe(expected);
      }),
      RUNS,
    );
  });

  it('never decreases as the random draw grows (the jitter is a factor, not noise)', () => {
    fc.assert(
      fc.property(receiveCount, policy, unit, unit, (n, p, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(retryDelaySeconds(n, p, { random: () => low })).toBeLessThanOrEqual(
          retryDelaySeconds(n, p, { random: () => high }),
        );
      }),
      RUNS,
    );
  });

  it('is the same for every attempt past the end of the schedule (the last entry repeats)', () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 0, max: 1000 }), unit, (p, beyond, r) => {
        const last = p.scheduleSeconds.length;
        expect(retryDelaySeconds(last + beyond, p, { random: () => r })).toBe(
          retryDelaySeconds(last, p, { random: () => r }),
        );
      }),
      RUNS,
    );
  });

  it('never ends past the 12-hour visibility limit counted from the receive, and is never negative', () => {
    fc.assert(
      fc.property(
        receiveCount,
        policy,
        unit,
        fc.option(retryAfter, { nil: undefined }),
        elapsed,
        (n, p, r, after, spent) => {
          // Act
          const delay = retryDelaySeconds(n, p, {
            random: () => r,
            retryAfterSeconds: after,
            elapsedSinceReceiveSeconds: spent,
          });

          // Assess
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceilingFor(spent));
        },
      ),
      RUNS,
    );
  });
});

describe('retryDelaySeconds with a Retry-After, for any value', () => {
  it('waits at least what the receiver asked, up to the largest scheduled delay and the cap', () => {
    fc.assert(
      fc.property(
        receiveCount,
        policy,
        unit,
        fc.integer({ min: 0, max: 3 * SQS_MAX_VISIBILITY_SECONDS }),
        (n, p, r, after) => {
          // Act
          const delay = retryDelaySeconds(n, p, { random: () => r, retryAfterSeconds: after });

          // Assess
          const largest = Math.max(...p.scheduleSeconds);
          const withoutIt = retryDelaySeconds(n, p, { random: () => r });
          expect(delay).toBe(Math.min(Math.max(withoutIt, Math.min(after, largest)), ceilingFor(0)));
        },
      ),
      RUNS,
    );
  });

  it('never shortens the schedule, whatever it says (negative, fractional, NaN, infinite)', () => {
    fc.assert(
      fc.property(receiveCount, policy, unit, retryAfter, (n, p, r, after) => {
        const withIt = retryDelaySeconds(n, p, { random: () => r, retryAfterSeconds: after });
        const withoutIt = retryDelaySeconds(n, p, { random: () => r });
        expect(withIt).toBeGreaterThanOrEqual(withoutIt);
      }),
      RUNS,
    );
  });

  it('rounds a fractional Retry-After up, so the receiver is never asked again too early', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 3599, noNaN: true }), (after) => {
        const p: RetryPolicy = { scheduleSeconds: [0, 3600], maxAttempts: 3 };
        expect(retryDelaySeconds(1, p, { random: () => 0.5, retryAfterSeconds: after })).toBe(
          Math.ceil(after),
        );
      }),
      RUNS,
    );
  });
});

describe('retryDelaySeconds refuses what is not an attempt number', () => {
  it('throws a RangeError for zero, negatives, fractions and non-finite numbers', () => {
    const notACount = fc.oneof(
      fc.integer({ max: 0 }),
      fc.double({ noNaN: false }).filter((x) => !Number.isSafeInteger(x)),
      fc.constant(Number.MAX_SAFE_INTEGER + 1),
    );
    fc.assert(
      fc.property(notACount, (n) => {
        expect(() => retryDelaySeconds(n, { scheduleSeconds: [1], maxAttempts: 2 })).toThrow(RangeError);
      }),
      RUNS,
    );
  });
});

describe('hasAttemptsLeft', () => {
  it('is true exactly for the receives before the budget is spent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (n, max) => {
        expect(hasAttemptsLeft(n, { scheduleSeconds: [1], maxAttempts: max })).toBe(n < max);
      }),
      RUNS,
    );
  });

  it('allows exactly DEFAULT_MAX_ATTEMPTS attempts with the default policy', () => {
    const policyDefault = {
      scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
    };
    const attempts = Array.from({ length: 40 }, (_, i) => i + 1).filter((n) =>
      hasAttemptsLeft(n, policyDefault),
    );
    expect(attempts.length + 1).toBe(DEFAULT_MAX_ATTEMPTS);
  });
});
