import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError } from '../core/errors.js';
import { MemoryStore } from '../store/memory.js';
import { makeAccount, type Account } from './account.js';
import { AccountPool, type AccountLease, type AccountPoolOptions } from './pool.js';
import { SteppingClock, accessJwt, flush, scriptedRefresher } from './__fixtures__/fakes.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const account = (name: string, settings: Partial<Account> = {}): Account => makeAccount(`cpmt_${name}_token`, name, `acct_${name}`, { minIntervalMs: 0, ...settings });

function setup(accounts: Account[], opts: Partial<AccountPoolOptions> & { clock?: SteppingClock; store?: MemoryStore } = {}) {
  const clock = opts.clock ?? new SteppingClock();
  const store = opts.store ?? new MemoryStore(clock);
  const pool = new AccountPool(accounts, { store, clock, random: () => 0, ...opts });
  pools.push(pool);
  return { pool, clock, store };
}

async function take(pool: AccountPool, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const lease = await pool.acquire();
    ids.push(lease.account.id.replace('acct_', ''));
    lease.release();
  }
  return ids;
}

describe('AccountPool selection', () => {
  it('rotates round-robin', async () => {
    const { pool } = setup([account('a'), account('b'), account('c')]);
    expect(await take(pool, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('shares the rotation through the store (two instances alternate as one)', async () => {
    const clock = new SteppingClock();
    const store = new MemoryStore(clock);
    const one = setup([account('a'), account('b')], { clock, store }).pool;
    const two = setup([account('a'), account('b')], { clock, store }).pool;
    const ids = [...(await take(one, 1)), ...(await take(two, 1)), ...(await take(one, 1)), ...(await take(two, 1))];
    expect(ids).toEqual(['a', 'b', 'a', 'b']);
  });

  it('respects weights', async () => {
    const { pool } = setup([account('a', { weight: 2 }), account('b', { weight: 1 }), account('c', { weight: 0.5 })]);
    const ids = await take(pool, 350);
    const count = (x: string): number => ids.filter((i) => i === x).length;
    expect([count('a'), count('b'), count('c')]).toEqual([200, 100, 50]);
    // Smooth: the heavy account is not served in long runs.
    expect(ids.join('')).not.toContain('aaa');
  });

  it('spreads the share of an unavailable account over the others', async () => {
    const { pool } = setup([account('a'), account('b'), account('c')]);
    pool.setDisabled('acct_b', true);
    expect(await take(pool, 4)).toEqual(['a', 'c', 'a', 'c']);
  });

  it('skips excluded accounts (failover) and reports exhaustion when all were tried', async () => {
    const { pool } = setup([account('a'), account('b')]);
    const lease = await pool.acquire({ exclude: new Set(['acct_a']) });
    expect(lease.account.id).toBe('acct_b');
    lease.release();
    await expect(pool.acquire({ exclude: new Set(['acct_a', 'acct_b']) })).rejects.toMatchObject({ code: 'accounts_exhausted' });
  });

  it('least-in-flight prefers the account with the fewest running requests per weight', async () => {
    const { pool } = setup([account('a', { maxConcurrent: 10 }), account('b', { maxConcurrent: 10 }), account('c', { maxConcurrent: 10, weight: 2 })], {
      selection: 'least-in-flight',
    });
    const held: AccountLease[] = [];
    for (let i = 0; i < 8; i++) held.push(await pool.acquire());
    expect(pool.status().map((s) => s.inFlight)).toEqual([2, 2, 4]);
    for (const l of held.filter((l) => l.account.id === 'acct_b')) l.release();
    const next = [await pool.acquire(), await pool.acquire()];
    expect(next.map((l) => l.account.id)).toEqual(['acct_b', 'acct_b']);
  });

  it('never exceeds maxConcurrent per account under 50 parallel acquires', async () => {
    const { pool, clock, store } = setup([account('a'), account('b'), account('c')], { maxWaitMs: 120_000 });
    const current = new Map<string, number>();
    const peak = new Map<string, number>();
    let served = 0;
    let slotPeak = 0;
    const jobs = Array.from({ length: 50 }, (_, i) =>
      pool.acquire().then(async (lease) => {
        const id = lease.account.id;
        current.set(id, (current.get(id) ?? 0) + 1);
        peak.set(id, Math.max(peak.get(id) ?? 0, current.get(id)!));
        slotPeak = Math.max(slotPeak, await store.countSlots(`acct:${id}`));
        await clock.sleep(100 + ((i * 37) % 400));
        current.set(id, current.get(id)! - 1);
        served += 1;
        lease.release();
      }),
    );
    for (let t = 0; t < 200 && served < 50; t++) await clock.advance(50);
    await Promise.all(jobs);
    expect(served).toBe(50);
    expect([...peak.values()]).toEqual([2, 2, 2]);
    expect(slotPeak).toBe(2);
    expect(pool.status().map((s) => s.inFlight)).toEqual([0, 0, 0]);
    expect(pool.status().reduce((n, s) => n + s.requests, 0)).toBe(50);
  });

  it('spaces request starts on one account by minIntervalMs', async () => {
    const { pool, clock } = setup([account('a', { maxConcurrent: 5, minIntervalMs: 500 })]);
    const t0 = clock.now();
    const starts: number[] = [];
    const all = [0, 1, 2].map(() =>
      pool.acquire().then((l) => {
        starts.push(clock.now() - t0);
        l.release();
      }),
    );
    await clock.advance(2_000);
    await Promise.all(all);
    expect(starts).toEqual([0, 500, 1_000]);
  });

  it('an abort during the spacing wait releases the slot', async () => {
    const { pool, clock, store } = setup([account('a', { maxConcurrent: 5, minIntervalMs: 500 })]);
    const first = await pool.acquire();
    const ac = new AbortController();
    const second = pool.acquire({ signal: ac.signal }).catch((e: unknown) => e);
    await flush();
    expect(await store.countSlots('acct:acct_a')).toBe(2);
    ac.abort(new Error('client left'));
    expect(await second).toMatchObject({ message: 'client left' });
    await flush();
    expect(await store.countSlots('acct:acct_a')).toBe(1);
    first.release();
    await clock.advance(0);
  });

  it('queues when every slot is taken, serves waiters in order, and rejects beyond maxQueue', async () => {
    const { pool } = setup([account('a', { maxConcurrent: 1 })], { maxQueue: 2 });
    const holder = await pool.acquire();
    const order: number[] = [];
    const w1 = pool.acquire().then((l) => (order.push(1), l));
    const w2 = pool.acquire().then((l) => (order.push(2), l));
    await flush();
    expect(pool.counters().queueLength).toBe(2);
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'rate_limited', retryAfterMs: 1_000 });
    holder.release();
    const l1 = await w1;
    await flush();
    expect(order).toEqual([1]);
    l1.release();
    (await w2).release();
    expect(order).toEqual([1, 2]);
    expect(pool.counters()).toMatchObject({ queueRejectedFull: 1, queueLength: 0 });
  });

  it('does not let a new request overtake one already waiting', async () => {
    const { pool } = setup([account('a', { maxConcurrent: 1 })]);
    const holder = await pool.acquire();
    const order: string[] = [];
    const first = pool.acquire().then((l) => (order.push('first'), l));
    await flush();
    holder.release();
    const second = pool.acquire().then((l) => (order.push('second'), l));
    await flush();
    expect(order).toEqual(['first']);
    (await first).release();
    (await second).release();
    expect(order).toEqual(['first', 'second']);
  });

  it('rejects a waiter with rate_limited after maxWaitMs', async () => {
    const { pool, clock } = setup([account('a', { maxConcurrent: 1 })], { maxWaitMs: 5_000 });
    const holder = await pool.acquire();
    const waiting = pool.acquire().catch((e: unknown) => e);
    await clock.advance(4_999);
    expect(pool.counters().queueLength).toBe(1);
    await clock.advance(1);
    expect(await waiting).toMatchObject({ code: 'rate_limited', retryAfterMs: 1_000 });
    expect(pool.counters().queueLength).toBe(0);
    holder.release();
  });

  it('removes an aborted waiter from the queue', async () => {
    const { pool } = setup([account('a', { maxConcurrent: 1 })]);
    const holder = await pool.acquire();
    const ac = new AbortController();
    const waiting = pool.acquire({ signal: ac.signal }).catch((e: unknown) => e);
    await flush();
    ac.abort(new Error('gone'));
    expect(await waiting).toMatchObject({ message: 'gone' });
    expect(pool.counters().queueLength).toBe(0);
    holder.release();
  });

  it('picks up a slot freed by another instance through the poll', async () => {
    const clock = new SteppingClock();
    const store = new MemoryStore(clock);
    const one = setup([account('a', { maxConcurrent: 1 })], { clock, store }).pool;
    const two = setup([account('a', { maxConcurrent: 1 })], { clock, store }).pool;
    const held = await one.acquire();
    let got: AccountLease | undefined;
    const waiting = two.acquire().then((l) => (got = l));
    await flush();
    held.release();
    await flush();
    expect(got).toBeUndefined();
    await clock.advance(250);
    await waiting;
    expect(got?.account.id).toBe('acct_a');
  });

  it('release() is idempotent, an aborted request releases its slot, and leases are renewed while held', async () => {
    const { pool, clock, store } = setup([account('a', { maxConcurrent: 2 })], { leaseMs: 3_000 });
    const ac = new AbortController();
    const aborted = await pool.acquire({ signal: ac.signal });
    const kept = await pool.acquire();
    ac.abort();
    await flush();
    expect(pool.status()[0]!.inFlight).toBe(1);
    expect(await store.countSlots('acct:acct_a')).toBe(1);
    aborted.release();
    aborted.release();
    await flush();
    expect(pool.status()[0]!.inFlight).toBe(1);
    expect(await store.countSlots('acct:acct_a')).toBe(1);
    await clock.advance(10_000);
    expect(await store.countSlots('acct:acct_a')).toBe(1);
    kept.release();
    await flush();
    expect(await store.countSlots('acct:acct_a')).toBe(0);
  });

  it('renews every held lease in one sweep, also one taken just after a sweep, and stops sweeping when none is held', async () => {
    const { pool, clock, store } = setup([account('a', { maxConcurrent: 2 })], { leaseMs: 3_000 });
    const first = await pool.acquire();
    await clock.advance(1_100); // the first sweep (at 1 s) has run
    const late = await pool.acquire();
    // Without a renewal, `late` would expire at 4.1 s; the sweeps at 2, 3, 4… s keep both alive.
    await clock.advance(8_000);
    expect(await store.countSlots('acct:acct_a')).toBe(2);
    expect(clock.pending).toBe(1); // one timer for the pool, not one per lease
    first.release();
    late.release();
    await clock.advance(1_000);
    expect(clock.pending).toBe(0);
    // A new lease starts the sweeps again.
    const again = await pool.acquire();
    await clock.advance(5_000);
    expect(await store.countSlots('acct:acct_a')).toBe(1);
    again.release();
  });

  it('works without a store or clock (in-process coordination)', async () => {
    const pool = new AccountPool([account('a', { maxConcurrent: 1 }), account('b', { maxConcurrent: 1 })]);
    pools.push(pool);
    const l1 = await pool.acquire();
    const l2 = await pool.acquire();
    expect(new Set([l1.account.id, l2.account.id])).toEqual(new Set(['acct_a', 'acct_b']));
    const third = pool.acquire();
    l1.release();
    const l3 = await third;
    expect(l3.account.id).toBe(l1.account.id);
    l2.release();
    l3.release();
    expect(pool.status().map((s) => s.inFlight)).toEqual([0, 0]);
  });

  it('counts only the first report of a lease', async () => {
    const { pool } = setup([account('a')]);
    const lease = await pool.acquire();
    lease.report('ok');
    lease.report(new ProxyError('upstream_rate_limited', 'late'));
    lease.release();
    expect(pool.status()[0]).toMatchObject({ state: 'healthy', failures: 0 });
  });

  it('close() fails waiting requests with shutting_down', async () => {
    const { pool } = setup([account('a', { maxConcurrent: 1 })]);
    await pool.acquire();
    const waiting = pool.acquire().catch((e: unknown) => e);
    await flush();
    pool.close();
    expect(await waiting).toMatchObject({ code: 'shutting_down' });
  });
});

describe('AccountPool status', () => {
  it('masks tokens and never includes them', async () => {
    const clock = new SteppingClock();
    const refresher = scriptedRefresher(clock);
    const jwtToken = accessJwt(clock.now(), 3600);
    const refreshToken = 'cpmt_0123456789abcdefghijklmnopqrstuvwxyz';
    const { pool } = setup([makeAccount(refreshToken, 'r', 'acct_r', { minIntervalMs: 0 }), makeAccount(jwtToken, 'j', 'acct_j', { minIntervalMs: 0 })], {
      clock,
      refresh: refresher.fn,
    });
    const lease = await pool.acquire({ accountId: 'acct_r' });
    const access = (await lease.credentials()).accessToken;
    lease.release();
    const status = pool.status();
    expect(status[0]).toMatchObject({ id: 'acct_r', name: 'r', maskedToken: 'cpmt_0…wxyz', kind: 'refresh', state: 'healthy', requests: 1, lastUsedAt: clock.now() });
    expect(status[1]).toMatchObject({ id: 'acct_j', maskedToken: `${jwtToken.slice(0, 6)}…${jwtToken.slice(-4)}`, kind: 'access' });
    const text = JSON.stringify(status);
    for (const secret of [refreshToken, jwtToken, access]) expect(text).not.toContain(secret);
  });
});
