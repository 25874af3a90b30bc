/** Two (or three) pools on one store behave as instances of one cluster: account health is shared. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../core/clock.js';
import { ProxyError, type ErrorCode } from '../core/errors.js';
import { MemoryStore } from '../store/memory.js';
import type { AccountState } from '../store/store.js';
import { makeAccount, type Account } from './account.js';
import { AccountPool, type AccountLease, type AccountPoolOptions } from './pool.js';
import { decodeSharedHealth, emptySharedHealth, encodeSharedHealth, healthKey } from './shared-health.js';
import { SteppingClock, flush } from './__fixtures__/fakes.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

/** Counts reads of shared health records. */
class CountingStore extends MemoryStore {
  healthReads = 0;
  override async getAccountState(accountId: string): Promise<AccountState | undefined> {
    if (accountId.startsWith('health:')) this.healthReads += 1;
    return super.getAccountState(accountId);
  }
}

// Opaque tokens without a refresher are used as they are: these tests are about health only.
const account = (name: string): Account => makeAccount(`cpmt_${name}_token`, name, `acct_${name}`, { minIntervalMs: 0 });

interface Cluster {
  clock: SteppingClock;
  store: CountingStore;
  /** A new instance on the same store (and clock). */
  instance(opts?: Partial<AccountPoolOptions>): AccountPool;
}

function cluster(opts: Partial<AccountPoolOptions> = {}): Cluster {
  const clock = new SteppingClock();
  const store = new CountingStore(clock as Clock);
  return {
    clock,
    store,
    instance(more = {}) {
      const pool = new AccountPool([account('a'), account('b')], { store, clock, random: () => 0, ...opts, ...more });
      pools.push(pool);
      return pool;
    },
  };
}

const err = (code: ErrorCode, retryAfterMs?: number): ProxyError => new ProxyError(code, `simulated ${code}`, retryAfterMs === undefined ? {} : { retryAfterMs });

async function run(pool: AccountPool, outcome: unknown, accountId?: string): Promise<{ id: string; token: string }> {
  const lease = await pool.acquire(accountId ? { accountId } : {});
  const { accessToken } = await lease.credentials();
  lease.report(outcome);
  lease.release();
  await flush();
  return { id: lease.account.id, token: accessToken };
}

const stateOf = (pool: AccountPool, id: string): string => pool.status().find((s) => s.id === id)!.state;

describe('AccountPool health shared through the store', () => {
  it('honours a cooldown set by another instance, re-reading shared health at most every healthSyncMs', async () => {
    const { clock, store, instance } = cluster();
    const one = instance();
    const two = instance();
    await run(two, 'ok');
    await run(one, err('upstream_rate_limited', 60_000), 'acct_a');
    expect(stateOf(one, 'acct_a')).toBe('cooling');

    // Within the cache time the other instance does not read the store again.
    const reads = store.healthReads;
    for (let i = 0; i < 10; i++) await run(two, 'ok', 'acct_b');
    expect(store.healthReads).toBe(reads);
    expect(stateOf(two, 'acct_a')).toBe('healthy');

    await clock.advance(500);
    await expect(two.acquire({ accountId: 'acct_a' })).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 59_500 });
    expect(store.healthReads).toBe(reads + 2);
    expect(two.status().find((s) => s.id === 'acct_a')).toMatchObject({ state: 'cooling', cooldownUntil: clock.now() + 59_500, lastError: expect.stringContaining('upstream_rate_limited') });
    for (let i = 0; i < 4; i++) expect((await run(two, 'ok')).id).toBe('acct_b');

    await clock.advance(59_500);
    expect((await run(two, 'ok', 'acct_a')).id).toBe('acct_a');
  });

  it('skips an account another instance marked invalid; a token replaced anywhere revives it everywhere', async () => {
    const { clock, instance } = cluster();
    const one = instance();
    const two = instance();
    await run(one, err('upstream_unauthenticated'), 'acct_a');
    expect(stateOf(one, 'acct_a')).toBe('invalid');

    await clock.advance(500);
    for (let i = 0; i < 4; i++) expect((await run(two, 'ok')).id).toBe('acct_b');
    expect(stateOf(two, 'acct_a')).toBe('invalid');
    await expect(two.acquire({ accountId: 'acct_a' })).rejects.toMatchObject({ code: 'account_unavailable' });

    await two.replaceToken('acct_a', 'cpmt_a_fresh');
    expect(stateOf(two, 'acct_a')).toBe('healthy');
    await flush();
    await clock.advance(500);
    // The first instance serves the account again, with the new token.
    expect(await run(one, 'ok', 'acct_a')).toEqual({ id: 'acct_a', token: 'cpmt_a_fresh' });
    expect(stateOf(one, 'acct_a')).toBe('healthy');
  });

  it('clears an invalid mark everywhere when a re-check succeeds on one instance', async () => {
    const { clock, instance } = cluster();
    const one = instance();
    const two = instance();
    await run(one, err('upstream_unauthenticated'), 'acct_a');
    await clock.advance(500);
    await run(two, 'ok', 'acct_b');
    expect(stateOf(two, 'acct_a')).toBe('invalid');

    expect(await two.recheck('acct_a', async () => 'works')).toBe(true);
    await flush();
    await clock.advance(500);
    expect((await run(one, 'ok', 'acct_a')).id).toBe('acct_a');
    expect(stateOf(one, 'acct_a')).toBe('healthy');
  });

  it('shares the circuit: open on every instance, one probe in the cluster when half-open, closed everywhere by its success', async () => {
    const { clock, instance } = cluster({ breakerCoolOffMs: 30_000 });
    const one = instance();
    const two = instance();
    for (let i = 0; i < 3; i++) await run(one, err('upstream_overloaded'), 'acct_a');
    expect(stateOf(one, 'acct_a')).toBe('failing');
    await clock.advance(500);
    await expect(two.acquire({ accountId: 'acct_a' })).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 29_500 });
    expect(stateOf(two, 'acct_a')).toBe('failing');

    await clock.advance(29_500);
    const probe = await one.acquire({ accountId: 'acct_a' });
    // The other instance must not probe too: its request waits for the verdict.
    let second: AccountLease | undefined;
    const waiting = two.acquire({ accountId: 'acct_a' }).then((l) => (second = l));
    await clock.advance(1_000);
    expect(second).toBeUndefined();

    probe.report('ok');
    probe.release();
    await clock.advance(500);
    await waiting;
    expect(second?.account.id).toBe('acct_a');
    // Released without a verdict: only the first instance's success can close the circuit here.
    second?.release();
    await clock.advance(500);
    await run(two, 'ok', 'acct_b');
    expect(stateOf(one, 'acct_a')).toBe('healthy');
    expect(stateOf(two, 'acct_a')).toBe('healthy');
  });

  it('a failed probe on one instance reopens the circuit for longer on both', async () => {
    const { clock, instance } = cluster({ breakerCoolOffMs: 30_000 });
    const one = instance();
    const two = instance();
    for (let i = 0; i < 3; i++) await run(one, err('upstream_overloaded'), 'acct_a');
    await clock.advance(30_000);
    await run(two, err('upstream_overloaded'), 'acct_a');
    expect(two.status().find((s) => s.id === 'acct_a')).toMatchObject({ state: 'failing', cooldownUntil: clock.now() + 60_000 });
    await clock.advance(500);
    await expect(one.acquire({ accountId: 'acct_a' })).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 59_500 });
  });

  it('keeps health apart from the token state, and a new instance starts with what the cluster knows', async () => {
    const { clock, store, instance } = cluster();
    const one = instance();
    const a = account('a');
    await store.saveAccountState({ accountId: a.stateKey, refreshToken: 'rotated-refresh-token', updatedAt: clock.now() });
    await run(one, err('upstream_unauthenticated'), 'acct_a');
    await run(one, err('upstream_rate_limited', 120_000), 'acct_b');

    expect(await store.getAccountState(a.stateKey)).toEqual({ accountId: a.stateKey, refreshToken: 'rotated-refresh-token', updatedAt: expect.any(Number) });
    const stored = await store.getAccountState(healthKey(a.stateKey));
    expect(decodeSharedHealth(stored)?.invalid).toMatchObject({ cause: 'access-rejected' });
    expect(JSON.stringify(stored)).not.toContain('cpmt_a_token');

    const later = instance();
    await later.init();
    expect(stateOf(later, 'acct_a')).toBe('invalid');
    expect(later.status().find((s) => s.id === 'acct_b')).toMatchObject({ state: 'cooling', cooldownUntil: clock.now() + 120_000 });
  });

  it('writes its knowledge again when a concurrent write lost it', async () => {
    const { clock, store, instance } = cluster();
    const one = instance();
    const stateKey = account('a').stateKey;
    await run(one, err('upstream_unauthenticated'), 'acct_a');
    // Another instance, unaware of the mark, overwrote the record.
    await store.saveAccountState(encodeSharedHealth(stateKey, emptySharedHealth(), clock.now()));

    await clock.advance(500);
    await run(one, 'ok', 'acct_b');
    expect(decodeSharedHealth(await store.getAccountState(healthKey(stateKey)))?.invalid).toMatchObject({ cause: 'access-rejected' });
    const two = instance();
    await run(two, 'ok', 'acct_b');
    expect(stateOf(two, 'acct_a')).toBe('invalid');
  });

  it('ignores an invalid mark about a token that another instance had already replaced', async () => {
    const { instance } = cluster();
    const one = instance();
    const two = instance();
    const stale = await one.acquire({ accountId: 'acct_a' });
    expect((await stale.credentials()).accessToken).toBe('cpmt_a_token');

    await two.replaceToken('acct_a', 'cpmt_a_fresh');
    await flush();
    // The request that started with the old token fails afterwards.
    stale.report(err('upstream_unauthenticated'));
    stale.release();
    await flush();

    expect(stateOf(one, 'acct_a')).toBe('healthy');
    expect(await run(one, 'ok', 'acct_a')).toEqual({ id: 'acct_a', token: 'cpmt_a_fresh' });
    expect(await run(two, 'ok', 'acct_a')).toEqual({ id: 'acct_a', token: 'cpmt_a_fresh' });
    expect(stateOf(two, 'acct_a')).toBe('healthy');
  });

  it('shares nothing without a store, or with shareHealth off', async () => {
    const { clock, store, instance } = cluster({ shareHealth: false });
    const one = instance();
    const two = instance();
    await run(one, err('upstream_unauthenticated'), 'acct_a');
    await clock.advance(500);
    await run(two, 'ok', 'acct_b');
    expect(stateOf(two, 'acct_a')).toBe('healthy');
    expect(await store.getAccountState(healthKey(account('a').stateKey))).toBeUndefined();
  });
});
