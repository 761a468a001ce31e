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
 * - `core-new`: the unit tests of lambdas/core's filter, custom headers, tenants, principal and
 *   operational events, and the delivery mutation tests (which check the worker's events).
 * - `portal`: the unit tests of lambdas/api/portal-tokens.ts.
 * - `adapters-sqs`, `adapters-store`, `adapters-http`, `adapters-clients`, `adapters-new`: the adapters' focused
 *   tests, one set per group of lambdas/adapters (see docs/mutation-testing.md). The moto-backed
 *   ones share one moto server for the whole run (test/support/mutants-moto-global.ts) instead
 *   of starting one each time Stryker runs them for a mutant.
 * - `api-routes`: the API routes' focused tests (test/integration/api-routes-mutants-*.test.ts:
 *   the app built in process on the real adapters), on the same shared moto server.
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

/** The adapters' sets; each needs the shared moto server if it lists a test/integration file. */
const adapters: Record<string, string[]> = {
  'adapters-sqs': [
    'test/unit/adapters-pure.test.ts',
    'test/integration/mutants-queue.test.ts',
    'test/integration/mutants-dlq.test.ts',
  ],
  'adapters-store': [
    'test/integration/mutants-store-tables.test.ts',
    'test/integration/mutants-store-deliveries.test.ts',
  ],
  'adapters-http': [
    'test/unit/mutants-adapters-http.test.ts',
    'test/hardening/dns-resolver.test.ts',
    'test/hardening/hostile-receivers.test.ts',
    'test/hardening/ssrf-delivery.test.ts',
  ],
  'adapters-clients': [
    'test/unit/adapters-pure.test.ts',
    'test/unit/mutants-adapters-clients.test.ts',
    'test/hardening/sdk-deadlines.test.ts',
  ],
  'adapters-new': [
    'test/unit/secrets-adapter.test.ts',
    'test/integration/credentials-mutants.test.ts',
    'test/integration/store-endpoints-mutants.test.ts',
    'test/integration/store-tenants-mutants.test.ts',
    'test/integration/store-failure-view-mutants.test.ts',
    'test/integration/store-endpoint-transitions-mutants.test.ts',
  ],
  'api-routes': ['test/integration/api-routes-mutants-*.test.ts'],
};

/**
 * `delivery`: the in-process tests of lambdas/delivery (the worker, handler, decisions and backlog
 * on the store fakes); no moto server, no simulation model (seconds per run, not tens).
 */
const delivery = [
  'test/unit/decide.test.ts',
  'test/unit/backlog-release.test.ts',
  'test/unit/delivery-mutants*.test.ts',
  'test/hardening/failure-modes.test.ts',
  'test/hardening/isolation.test.ts',
  'test/hardening/outcome-rules.test.ts',
  'test/hardening/circuit-hold.test.ts',
  'test/hardening/signing-rotation.test.ts',
];

/** `core-new` and `portal`: the modules added last session, each with its focused tests. */
const coreNew = [
  'test/unit/filter.test.ts',
  'test/unit/filter-mutants.test.ts',
  'test/unit/custom-headers.test.ts',
  'test/unit/custom-headers-mutants.test.ts',
  'test/unit/tenants-principal-mutants.test.ts',
  'test/unit/operational-events-mutants.test.ts',
  'test/unit/delivery-mutants*.test.ts',
];
const portal = ['test/unit/portal-tokens-mutants.test.ts'];

const name = process.env.STRYKER_TESTS ?? '';
const selected = { unit, inprocess: inProcess, delivery, 'core-new': coreNew, portal, ...adapters }[name];
const needsMoto = adapters[name]?.some((file) => file.startsWith('test/integration/')) ?? false;

export default defineConfig({
  test: {
    include: selected ?? ['test/**/*.test.ts'],
    exclude: [
      'test/cdk/**',
      'test/dashboard/dashboard.test.ts',
      'test/hardening/chaos.test.ts',
      '**/node_modules/**',
    ],
    ...(needsMoto ? { globalSetup: ['test/support/mutants-moto-global.ts'] } : {}),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
