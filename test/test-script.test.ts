/**
 * `npm test` type-checks the tests before running them: vitest strips types without checking
 * them, so a test that no longer matches the code's types would otherwise still run (and may
 * pass by accident).
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import vitestConfig from '../vitest.config.js';
import redisConfig from '../vitest.redis.config.js';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
// tsconfig.json may hold comments: read it the way tsc does.
const tsconfig = ts.parseConfigFileTextToJson('tsconfig.json', readFileSync(new URL('tsconfig.json', root), 'utf8')).config as { include: string[] };

/** The top folder of a glob such as `src/**\/*.test.ts`. */
const topFolder = (glob: string): string => glob.split('/')[0]!;

describe('npm test', () => {
  for (const [script, config] of [
    ['test', vitestConfig],
    ['test:redis', redisConfig],
  ] as const) {
    it(`${script}: runs tsc over tsconfig.json before vitest, and tsconfig.json covers every test file vitest runs`, () => {
      const steps = pkg.scripts[script]!.split('&&').map((s) => s.trim());
      const typecheck = steps.findIndex((s) => /^tsc(\s|$)/.test(s) && s.includes('--noEmit') && !s.includes(' -p '));
      const vitest = steps.findIndex((s) => s.startsWith('vitest'));
      expect(typecheck).toBeGreaterThanOrEqual(0);
      expect(typecheck).toBeLessThan(vitest);
      for (const glob of config.test?.include ?? []) expect(tsconfig.include).toContain(topFolder(glob));
    });
  }
});
