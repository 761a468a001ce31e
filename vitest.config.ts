import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files each start their own moto server; two cores, so run two files at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
