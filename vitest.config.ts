import { defineConfig } from 'vitest/config';

// Tests that measure throughput and latency run last and alone, so the rest of the suite (two
// files at a time on a 2-core machine) does not compete with their load generator for the CPU.
const TIMING = ['test/e2e/loadtest.test.ts', 'test/unit/loadtest.test.ts'];

export default defineConfig({
  test: {
    // End-to-end tests spawn the built binary and real servers; give them room on a 2-core box.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts', 'channels/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...TIMING],
          sequence: { groupOrder: 0 },
          // PostgreSQL tests need PAY_TEST_PG_URL: one line when they are skipped, a failure in CI.
          globalSetup: ['test/helpers/pg-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'timing', include: TIMING, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
