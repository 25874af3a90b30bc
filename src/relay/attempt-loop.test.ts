import { afterEach, describe, expect, it } from 'vitest';
import type { AccountPool } from '../accounts/pool.js';
import { AttemptLoop } from './attempt-loop.js';
import { fakePool } from './__fixtures__/fake-upstream.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

describe('AttemptLoop.settle', () => {
  it('lets go of the start function (and the request it holds): no attempt can start after it', async () => {
    const { pool, clock } = fakePool(['a']);
    pools.push(pool);
    let started = 0;
    const loop = new AttemptLoop<string>({ pool, clock, maxAttempts: 3, backoffMs: 0 }, {}, async () => `attempt ${++started}`);
    const first = await loop.open();
    expect(first.value).toBe('attempt 1');
    first.lease.release();
    loop.settle();
    await expect(loop.open()).rejects.toThrow(/after settle/);
    expect(started).toBe(1);
  });
});
