import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native code and child processes: threads share one addon load per worker.
    pool: 'forks',
    testTimeout: 60_000,
  },
});
