import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests that need a redis-server binary run with `npm run test:redis` (CI runs both).
    // test/agents is its own package, run with Node 22 by `npm run test:agents`; the browser tests run with `npm run test:ui`.
    exclude: [...configDefaults.exclude, '**/*.redis.test.ts', 'test/agents/**', '**/*.browser.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
