import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The scale servers (PostgreSQL, Redis, S3) start only for runs that include their tests.
    globalSetup: ['test/support/global-setup.ts', 'test/support/scale/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
