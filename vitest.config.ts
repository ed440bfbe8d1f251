import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-redis.ts'],
    // Fleet tests start worker processes: each file runs in its own fork.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
