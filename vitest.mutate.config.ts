/**
 * The vitest configuration Stryker runs (stryker.config.mjs). Same as vitest.config.ts but
 * without the tests that exercise no code under lambdas/ or cost far more than they add here:
 * the CDK synth tests (they read the stack, not the handlers), cfn-lint, the Chromium
 * dashboard test and the chaos run. `STRYKER_TESTS` narrows it further:
 *
 * - `unit`: only test/unit and the hardening tests of lambdas/core that need no moto server:
 *   fast, and enough for lambdas/core.
 * - `inprocess`: those and the other hardening tests that start no moto server and take well
 *   under a second (the worker and backlog on the store fakes, the API's response headers):
 *   for lambdas/delivery/backlog.ts and the pure parts of lambdas/api.
 */
import { defineConfig } from 'vitest/config';

const unit = [
  'test/unit/**/*.test.ts',
  'test/hardening/failure-modes.test.ts',
  'test/hardening/hostile-receivers.test.ts',
  'test/hardening/ssrf-delivery.test.ts',
];

const inProcess = [
  ...unit,
  'test/hardening/isolation.test.ts',
  'test/hardening/outcome-rules.test.ts',
  'test/hardening/response-headers.test.ts',
];

const selected = { unit, inprocess: inProcess }[process.env.STRYKER_TESTS ?? ''];

export default defineConfig({
  test: {
    include: selected ?? ['test/**/*.test.ts'],
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
