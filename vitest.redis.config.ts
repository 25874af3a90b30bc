import { defineConfig } from 'vitest/config';

/**
 * Tests that need a real redis-server (`*.redis.test.ts`). Each file starts its own server
 * on a free loopback port through test/helpers/redis-server.ts; without redis-server
 * installed they fail with an explanation. Run with `vitest run --config vitest.redis.config.ts`.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.redis.test.ts', 'test/**/*.redis.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
