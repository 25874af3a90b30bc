import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError } from '../core/errors.js';
import { MemoryStore } from '../store/memory.js';
import { makeAccount, type Account, type AccountSettings } from './account.js';
import { dayKey, nextDayStart } from './day-clock.js';
import { AccountPool, type AccountPoolOptions } from './pool.js';
import { orderCandidates } from './selection.js';
import { SteppingClock } from './__fixtures__/fakes.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const account = (name: string, settings: Partial<AccountSettings> = {}): Account => makeAccount(`cpmt_${name}_token`, name, `acct_${name}`, { minIntervalMs: 0, ...settings });

/** 2027-01-15 10:00 UTC (18:00 in Shanghai). */
const START = Date.UTC(2027, 0, 15, 10);

function setup(accounts: Account[], opts: Partial<AccountPoolOptions> = {}): { pool: AccountPool; clock: SteppingClock } {
  const clock = new SteppingClock(START);
  const pool = new AccountPool(accounts, { store: new MemoryStore(clock), clock, random: () => 0, ...opts });
  pools.push(pool);
  return { pool, clock };
}

async function run(pool: AccountPool, outcome: unknown = 'ok', budgeted = true): Promise<string> {
  const lease = await pool.acquire({ budgeted });
  await lease.credentials();
  lease.report(outcome);
  lease.release();
  return lease.account.name;
}

describe('fill-first', () => {
  it('orders by weight, then by configured order, whatever the rotation position', () => {
    const c = [
      { index: 0, weight: 1, inFlight: 0 },
      { index: 1, weight: 3, inFlight: 2 },
      { index: 2, weight: 3, inFlight: 0 },
    ];
    for (const position of [0, 1, 7]) expect(orderCandidates('fill-first', c, position).map((x) => x.index)).toEqual([1, 2, 0]);
  });

  it('uses account A until its usage limit, then B, then A again once it is back', async () => {
    const { pool, clock } = setup([account('a'), account('b')], { selection: 'fill-first' });
    const served: string[] = [];
    for (let i = 0; i < 3; i++) served.push(await run(pool));
    served.push(await run(pool, new ProxyError('quota_exhausted', 'limit', { retryAfterMs: 60_000 })));
    for (let i = 0; i < 3; i++) served.push(await run(pool));
    await clock.advance(60_000);
    served.push(await run(pool));
    expect(served).toEqual(['a', 'a', 'a', 'a', 'b', 'b', 'b', 'a']);
  });
});

describe('daily request budgets', () => {
  it('rests an account after dailyRequests until the next day starts, while the others serve', async () => {
    const { pool, clock } = setup([account('a', { dailyRequests: 3, weight: 2 }), account('b')], { selection: 'fill-first' });
    const served: string[] = [];
    for (let i = 0; i < 5; i++) served.push(await run(pool));
    expect(served).toEqual(['a', 'a', 'a', 'b', 'b']);
    // A resting account takes no other calls either (the model catalog, deletions): those go to the next one.
    expect(await run(pool, 'ok', false)).toBe('b');
    const a = pool.status()[0]!;
    expect(a).toMatchObject({ state: 'cooling', restReason: 'daily-budget', dailyUsed: 3, cooldownUntil: Date.UTC(2027, 0, 16) });
    await clock.advance(Date.UTC(2027, 0, 16) - START);
    expect(await run(pool)).toBe('a');
    expect(pool.status()[0]!.dailyUsed).toBe(1);
  });

  it('counts days in the configured time zone', async () => {
    const { pool } = setup([account('a', { dailyRequests: 1 })], { dayTimeZone: 'Asia/Shanghai' });
    await run(pool);
    // 18:00 in Shanghai: the next day starts in 6 hours.
    expect(pool.status()[0]!.cooldownUntil).toBe(Date.UTC(2027, 0, 15, 16));
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'quota_exhausted' });
  });

  it('shares one count between instances using the same store, and a raised budget ends the rest', async () => {
    const clock = new SteppingClock(START);
    const store = new MemoryStore(clock);
    const one = new AccountPool([account('a', { dailyRequests: 2 })], { store, clock, shareHealth: false });
    const two = new AccountPool([account('a', { dailyRequests: 2 })], { store, clock, shareHealth: false });
    pools.push(one, two);
    await run(one);
    await run(one);
    // The other instance has not rested the account yet: its first request finds the budget spent.
    await expect(two.acquire({ budgeted: true })).rejects.toMatchObject({ code: 'quota_exhausted' });
    expect(two.status()[0]).toMatchObject({ restReason: 'daily-budget', dailyUsed: 3 });
    two.updateSettings('acct_a', { dailyRequests: 10 });
    expect(await run(two)).toBe('a');
  });
});

describe('day clock', () => {
  it('names the day and finds the next midnight, daylight-saving days included', () => {
    expect(dayKey(Date.UTC(2027, 0, 15, 23, 30), 'UTC')).toBe('2027-01-15');
    expect(dayKey(Date.UTC(2027, 0, 15, 23, 30), 'Asia/Shanghai')).toBe('2027-01-16');
    // New York springs forward on 2027-03-14: that day has 23 hours.
    const start = nextDayStart(Date.UTC(2027, 2, 13, 12), 'America/New_York');
    expect(start).toBe(Date.UTC(2027, 2, 14, 5));
    expect(nextDayStart(start, 'America/New_York') - start).toBe(23 * 3_600_000);
  });
});
