/**
 * The vitest configuration Stryker runs (stryker.config.mjs). Same as vitest.config.ts but
 * without the tests that exercise no code under lambdas/ or cost far more than they add here:
 * the CDK synth tests (they read the stack, not the handlers), cfn-lint, the Chromium
 * dashboard test and the chaos run. STRYKER_TESTS=unit keeps only the in-process tests, no
 * moto server: fast, and enough for lambdas/core.
 */
import { defineConfig } from 'vitest/config';

const inProcess = [
  'test/unit/**/*.test.ts',
  'test/hardening/failure-modes.test.ts',
  'test/hardening/hostile-receivers.test.ts',
  'test/hardening/ssrf-delivery.test.ts',
];

export default defineConfig({
  test: {
    include: process.env.STRYKER_TESTS === 'unit' ? inProcess : ['test/**/*.test.ts'],
    exclude: [
      'test/cdk/**',
      'test/dashboard/dashboard.test.ts',
      'test/hardening/chaos.test.ts',
      '**/node_modules/**',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
