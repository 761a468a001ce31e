import { describe, expect, it } from 'vitest';
import { circuitState, failedTooLong } from '../../lambdas/core/circuit-breaker.ts';
import { breakerPolicyEnv, breakerPolicyFromEnv, DEFAULT_BREAKER_POLICY } from '../../lambdas/core/config.ts';

const POLICY = { failureThreshold: 3, openSeconds: 60, disableAfterSeconds: 100 };
const NOW = 1_800_000_000_000;

describe('circuitState', () => {
  it('stays closed below the threshold', () => {
    expect(circuitState({ failureStreak: 2 }, NOW, POLICY)).toEqual({ state: 'closed' });
    expect(circuitState({}, NOW, POLICY)).toEqual({ state: 'closed' });
  });

  it('is open until circuitOpenUntil, rounding the wait up', () => {
    expect(circuitState({ failureStreak: 3, circuitOpenUntil: NOW + 1500 }, NOW, POLICY)).toEqual({
      state: 'open',
      retryInSeconds: 2,
    });
  });

  it('is half-open once that time has passed, or if it was never set', () => {
    expect(circuitState({ failureStreak: 9, circuitOpenUntil: NOW }, NOW, POLICY)).toEqual({
      state: 'half-open',
    });
    expect(circuitState({ failureStreak: 3 }, NOW, POLICY)).toEqual({ state: 'half-open' });
  });
});

describe('failedTooLong', () => {
  it('is true only once the run of failures is as old as the limit', () => {
    expect(failedTooLong(undefined, NOW, POLICY)).toBe(false);
    expect(failedTooLong(new Date(NOW - 99_000).toISOString(), NOW, POLICY)).toBe(false);
    expect(failedTooLong(new Date(NOW - 100_000).toISOString(), NOW, POLICY)).toBe(true);
  });
});

describe('breaker policy environment', () => {
  it('round-trips and defaults to five days before disabling', () => {
    expect(breakerPolicyFromEnv(breakerPolicyEnv(POLICY))).toEqual(POLICY);
    expect(breakerPolicyFromEnv({})).toEqual(DEFAULT_BREAKER_POLICY);
    expect(DEFAULT_BREAKER_POLICY.disableAfterSeconds).toBe(5 * 24 * 3600);
  });

  it('refuses nonsense', () => {
    expect(() => breakerPolicyFromEnv({ WEBHOOKS_BREAKER_THRESHOLD: '0' })).toThrow(/positive integer/);
    expect(() => breakerPolicyFromEnv({ WEBHOOKS_DISABLE_AFTER_SECONDS: 'soon' })).toThrow(
      /positive integer/,
    );
  });
});
