import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/faults is its own suite (npm run test:faults, vitest.faults.config.ts): it kills and
    // restarts processes and Redis, and needs the machine to itself.
    include: ['test/{unit,integration,e2e,security}/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests share one Redis and the machine has 2 cores: keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
