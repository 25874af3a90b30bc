import { defineConfig } from 'vitest/config';

/** The dashboard's browser tests (`npm run test:ui`): Debian's Chromium driven by playwright-core. */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
