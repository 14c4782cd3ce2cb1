import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests share one Redis and the machine has 2 cores: keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
