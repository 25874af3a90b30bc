import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError } from '../core/errors.js';
import { policyOf } from '../core/error-policy.js';
import { MemoryStore } from '../store/memory.js';
import { makeAccount, type Account } from './account.js';
import { AccountPool, type AccountPoolOptions } from './pool.js';
import { SteppingClock } from './__fixtures__/fakes.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const account = (name: string): Account => makeAccount(`cpmt_${name}_token`, name, `acct_${name}`, { minIntervalMs: 0 });

function setup(accounts: Account[], opts: Partial<AccountPoolOptions> = {}): { pool: AccountPool; clock: SteppingClock } {
  const clock = new SteppingClock();
  const pool = new AccountPool(accounts, { store: new MemoryStore(clock), clock, random: () => 0, ...opts });
  pools.push(pool);
  return { pool, clock };
}

const spent = (retryAfterMs?: number): ProxyError =>
  new ProxyError('quota_exhausted', 'simulated usage limit', retryAfterMs === undefined ? {} : { retryAfterMs });

async function run(pool: AccountPool, outcome: unknown, opts: { accountId?: string; exclude?: Set<string> } = {}): Promise<string> {
  const lease = await pool.acquire(opts);
  await lease.credentials();
  lease.report(outcome);
  lease.release();
  return lease.account.id;
}

const HOUR = 3_600_000;

describe('AccountPool usage limits', () => {
  it('rests an account until the reset time Kimi gave, beyond the one-hour cap of rate limits, while the others serve', async () => {
    const { pool, clock } = setup([account('a'), account('b')]);
    await run(pool, spent(3 * HOUR), { accountId: 'acct_a' });
    expect(pool.status()[0]).toMatchObject({ state: 'cooling', cooldownUntil: clock.now() + 3 * HOUR, restReason: 'quota' });
    for (let i = 0; i < 4; i++) expect(await run(pool, 'ok')).toBe('acct_b');
    await clock.advance(3 * HOUR - 1);
    expect(await run(pool, 'ok', { exclude: new Set(['acct_b']) }).catch((e: ProxyError) => e.code)).toBe('quota_exhausted');
    await clock.advance(1);
    expect(await run(pool, 'ok', { exclude: new Set(['acct_b']) })).toBe('acct_a');
    expect(pool.status()[0]!.restReason).toBeUndefined();
  });

  it('rests for the configured period when Kimi gives no reset time', async () => {
    const { pool, clock } = setup([account('a')], { quotaCooldownMs: 2 * HOUR });
    await run(pool, spent());
    expect(pool.status()[0]!.cooldownUntil).toBe(clock.now() + 2 * HOUR);
  });

  it('answers quota_exhausted (429, no client retry) with the first reset time once every account is out', async () => {
    const { pool, clock } = setup([account('a'), account('b')]);
    await run(pool, spent(2 * HOUR), { accountId: 'acct_a' });
    await run(pool, spent(HOUR), { accountId: 'acct_b' });
    const err = await pool.acquire().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'quota_exhausted', status: 429, retryAfterMs: HOUR });
    expect(policyOf(err).clientRetry).toBe('after-reset');
    await clock.advance(HOUR);
    expect(await run(pool, 'ok')).toBe('acct_b');
  });

  it('a request pinned to a resting account gets quota_exhausted (so its conversation moves), not a passing limit', async () => {
    const { pool } = setup([account('a'), account('b')]);
    await run(pool, spent(HOUR), { accountId: 'acct_a' });
    await expect(pool.acquire({ accountId: 'acct_a' })).rejects.toMatchObject({ code: 'quota_exhausted', retryAfterMs: HOUR });
  });

  it('a rate-limited account among the spent ones is still a passing limit (accounts_exhausted)', async () => {
    const { pool } = setup([account('a'), account('b')]);
    await run(pool, spent(HOUR), { accountId: 'acct_a' });
    await run(pool, new ProxyError('upstream_rate_limited', 'slow down', { retryAfterMs: 5_000 }), { accountId: 'acct_b' });
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 5_000 });
  });
});
