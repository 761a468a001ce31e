// Mutation testing of lambdas/ with Stryker: `npm run mutate` (see docs/mutation-testing.md).
//
//   npm run mutate                                    every file under lambdas/, incremental
//   npm run mutate -- --mutate 'lambdas/core/**/*.ts' one folder
//   STRYKER_CONCURRENCY=2 npm run mutate              more test runners (default 1: shared cores)
//   STRYKER_TESTS=unit npm run mutate                 only the in-process tests (fast; see below)
//   npm run mutate -- --force                         ignore the incremental file, test every mutant
//   STRYKER_RUN=adapters-sqs npm run mutate           its own incremental file, reports and sandbox
//                                                     (test-output/*-adapters-sqs*), so runs of
//                                                     different files do not overwrite each other
//   STRYKER_TSCONFIG=tsconfig.mutate-adapters.json    the checker compiles lambdas/adapters (and what
//                                                     it imports) only, so half-edited API or worker
//                                                     files do not stop a run of the adapters
//
// Reports and the incremental file go to test-output/ (git-ignored). Not part of `npm test`.

const concurrency = Number(process.env.STRYKER_CONCURRENCY ?? 1);
const run = process.env.STRYKER_RUN ? `-${process.env.STRYKER_RUN.replace(/[^\w-]/g, '')}` : '';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: process.env.STRYKER_TSCONFIG ?? 'tsconfig.mutate.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'lambdas/**/*.ts',
    // The pages' browser code (its own DOM tsconfig; test/dashboard drives it in Chromium) and
    // the generated documents holding them and the API description.
    '!lambdas/api/pages/**',
    '!lambdas/api/pages-document.ts',
    '!lambdas/api/openapi-document.ts',
  ],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: `test-output/stryker-incremental${run}.json`,
  concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 1,
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `test-output/mutation${run}/index.html` },
  jsonReporter: { fileName: `test-output/mutation${run}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  ignorePatterns: ['cdk.out', 'test-output', '.webhooks-local.json', '*.log'],
  tempDirName: `test-output/.stryker-tmp${run}`,
  cleanTempDir: true,
  thresholds: { high: 85, low: 75, break: null },
};
