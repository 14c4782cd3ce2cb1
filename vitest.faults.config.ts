import { defineConfig } from 'vitest/config';

/**
 * The fault-injection suite (npm run test:faults): each test starts its own processes and, where it
 * kills or restarts Redis, its own redis-server. One file at a time, so the kills and the load of
 * one scenario do not distort another's.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
