import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError } from '../core/errors.js';
import { MemoryStore } from '../store/memory.js';
import { makeAccount, type Account } from './account.js';
import { AccountPool, type AccountPoolOptions, type PoolEvent } from './pool.js';
import { SteppingClock, accessJwt, flush, scriptedRefresher, type ScriptedRefresher } from './__fixtures__/fakes.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

function account(token: string, name: string, settings: Partial<Account> = {}): Account {
  return makeAccount(token, name, `acct_${name}`, { minIntervalMs: 0, ...settings });
}

interface Setup {
  clock: SteppingClock;
  store: MemoryStore;
  refresher: ScriptedRefresher;
  pool: AccountPool;
  events: PoolEvent[];
}

function setup(accounts: Account[], opts: Partial<AccountPoolOptions> & { rotate?: boolean; ttlSec?: number; clock?: SteppingClock; store?: MemoryStore } = {}): Setup {
  const clock = opts.clock ?? new SteppingClock();
  const store = opts.store ?? new MemoryStore(clock);
  const refresher = scriptedRefresher(clock, { rotate: opts.rotate ?? false, ttlSec: opts.ttlSec ?? 900 });
  const events: PoolEvent[] = [];
  const pool = new AccountPool(accounts, { store, clock, refresh: refresher.fn, onEvent: (e) => events.push(e), ...opts });
  pools.push(pool);
  return { clock, store, refresher, pool, events };
}

const unauthenticated = (): ProxyError => new ProxyError('upstream_unauthenticated', 'Kimi rejected the account token (HTTP 401).', { upstreamCode: 'auth.token.invalid' });

async function credentialsOnce(pool: AccountPool, accountId?: string): Promise<string> {
  const lease = await pool.acquire(accountId ? { accountId } : {});
  try {
    return (await lease.credentials()).accessToken;
  } finally {
    lease.release();
  }
}

describe('AccountPool tokens', () => {
  it('gets an access token by refreshing and refreshes in the background at 80 % of a 15-minute lifetime', async () => {
    const { pool, clock, refresher } = setup([account('cpmt_a', 'a')]);
    await pool.init();
    await clock.advance(0);
    expect(refresher.calls).toEqual(['cpmt_a']);
    const first = await credentialsOnce(pool);
    expect(pool.status()[0]!.expiresAt).toBe(clock.now() + 900_000);

    await clock.advance(719_000);
    expect(refresher.calls).toHaveLength(1);
    await clock.advance(1_000); // 12 minutes: 900 s − min(300 s, 20 % of 900 s)
    expect(refresher.calls).toHaveLength(2);
    const second = await credentialsOnce(pool);
    expect(second).not.toBe(first);
  });

  it('uses a 5-minute margin for long-lived tokens', async () => {
    const { pool, clock, refresher } = setup([account('cpmt_a', 'a')], { ttlSec: 30 * 86_400, backgroundIntervalMs: 60_000 });
    await pool.init();
    await clock.advance(30 * 86_400_000 - 300_000 - 60_000);
    expect(refresher.calls).toHaveLength(1);
    await clock.advance(60_000);
    expect(refresher.calls).toHaveLength(2);
  });

  it('refreshes lazily in credentials() without the background loop', async () => {
    const { pool, clock, refresher } = setup([account('cpmt_a', 'a')]);
    const first = await credentialsOnce(pool);
    expect(refresher.calls).toHaveLength(1);
    await clock.advance(700_000);
    expect(await credentialsOnce(pool)).toBe(first);
    expect(refresher.calls).toHaveLength(1);
    await clock.advance(30_000);
    // Due (past 12 minutes) but still valid: served at once, refreshed behind the scenes.
    expect(await credentialsOnce(pool)).toBe(first);
    await flush();
    expect(refresher.calls).toHaveLength(2);
    expect(await credentialsOnce(pool)).not.toBe(first);
  });

  it('runs one refresh for concurrent credentials() calls', async () => {
    const { pool, refresher } = setup([account('cpmt_a', 'a', { maxConcurrent: 5 })]);
    refresher.hold();
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    const pending = Promise.all([...leases.map((l) => l.credentials()), leases[0]!.credentials()]);
    await flush();
    expect(refresher.calls).toEqual(['cpmt_a']);
    expect(pool.status()[0]!.state).toBe('refreshing');
    refresher.releaseAll();
    const creds = await pending;
    expect(new Set(creds.map((c) => c.accessToken)).size).toBe(1);
    expect(refresher.calls).toHaveLength(1);
    expect(creds[0]).toMatchObject({ accountId: 'acct_a', userId: 'user00000000000000001', deviceId: leases[0]!.account.deviceId });
  });

  it('stores a rotated refresh token and a new pool on the same store continues with it', async () => {
    const clock = new SteppingClock();
    const store = new MemoryStore(clock);
    const acct = account('cpmt_a', 'a');
    const one = setup([acct], { clock, store, rotate: true });
    const firstAccess = await credentialsOnce(one.pool);
    expect(one.refresher.calls).toEqual(['cpmt_a']);
    const saved = await store.getAccountState(acct.stateKey);
    expect(saved).toMatchObject({ refreshToken: 'cpmt_a~r1', accessToken: firstAccess });
    one.pool.close();

    // Restart: the stored access token is reused, then the rotated refresh token is used.
    const two = setup([account('cpmt_a', 'a')], { clock, store, rotate: true });
    await two.pool.init();
    expect(await credentialsOnce(two.pool)).toBe(firstAccess);
    expect(two.refresher.calls).toEqual([]);
    await clock.advance(901_000);
    await credentialsOnce(two.pool);
    expect(two.refresher.calls).toEqual(['cpmt_a~r1']);
    expect((await store.getAccountState(acct.stateKey))?.refreshToken).toBe('cpmt_a~r2');
  });

  it('lets only one of two instances sharing a store refresh; the other takes its result', async () => {
    const clock = new SteppingClock();
    const store = new MemoryStore(clock);
    const one = setup([account('cpmt_a', 'a')], { clock, store, rotate: true });
    const two = setup([account('cpmt_a', 'a')], { clock, store, rotate: true });
    one.refresher.hold();
    const a = credentialsOnce(one.pool);
    await flush();
    const b = credentialsOnce(two.pool);
    await flush();
    one.refresher.releaseAll();
    await clock.advance(500);
    const [ta, tb] = await Promise.all([a, b]);
    expect(ta).toBe(tb);
    expect(one.refresher.calls).toHaveLength(1);
    expect(two.refresher.calls).toHaveLength(0);

    // Later the second instance refreshes with the token the first one rotated.
    await clock.advance(800_000);
    await credentialsOnce(two.pool);
    expect(two.refresher.calls).toEqual(['cpmt_a~r1']);
  });

  it('on 401 refreshes the access token and the account becomes healthy again', async () => {
    const { pool, refresher, events } = setup([account('cpmt_a', 'a')]);
    const lease = await pool.acquire();
    const used = (await lease.credentials()).accessToken;
    events.length = 0;
    refresher.hold();
    lease.report(unauthenticated());
    lease.release();
    await flush();
    expect(pool.status()[0]!.state).toBe('refreshing');
    refresher.releaseAll();
    await flush();
    expect(pool.status()[0]!.state).toBe('healthy');
    expect(refresher.calls).toHaveLength(2);
    const next = await pool.acquire();
    expect((await next.credentials()).accessToken).not.toBe(used);
    next.report('ok');
    next.release();
    expect(events.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? e.to : ''))).toEqual(['refreshing', 'healthy']);
    expect(pool.counters()).toMatchObject({ refreshOk: 2, refreshFailed: 0 });
  });

  it('ignores a 401 for a token that was already replaced', async () => {
    const { pool, refresher } = setup([account('cpmt_a', 'a', { maxConcurrent: 2 })]);
    const l1 = await pool.acquire();
    const l2 = await pool.acquire();
    await l1.credentials();
    await l2.credentials();
    l1.report(unauthenticated());
    await flush();
    l2.report(unauthenticated());
    await flush();
    expect(refresher.calls).toHaveLength(2);
    expect(pool.status()[0]!.state).toBe('healthy');
  });

  it('marks an account invalid when a fresh token is refused as well', async () => {
    const { pool } = setup([account('cpmt_a', 'a')]);
    for (let i = 0; i < 2; i++) {
      const lease = await pool.acquire();
      await lease.credentials();
      lease.report(unauthenticated());
      lease.release();
      await flush();
    }
    expect(pool.status()[0]).toMatchObject({ state: 'invalid', lastError: 'Kimi rejects freshly refreshed access tokens for this account.' });
  });

  it('marks an account whose refresh token is refused invalid and skips it', async () => {
    const { pool, refresher } = setup([account('cpmt_a', 'a'), account('cpmt_b', 'b')]);
    refresher.rejected.add('cpmt_a');
    const lease = await pool.acquire();
    expect(lease.account.id).toBe('acct_a');
    const err = await lease.credentials().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_unauthenticated' });
    lease.report(err);
    lease.release();
    expect(pool.status()[0]).toMatchObject({ state: 'invalid', lastError: 'Kimi rejected the refresh token; replace it.' });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      const l = await pool.acquire();
      served.push(l.account.id);
      l.release();
    }
    expect(served).toEqual(['acct_b', 'acct_b', 'acct_b', 'acct_b']);
    expect(refresher.calls.filter((t) => t === 'cpmt_a')).toHaveLength(1);
    expect(pool.counters().refreshFailed).toBe(1);

    const status = await pool.replaceToken('acct_a', 'Bearer cpmt_a2');
    expect(status).toMatchObject({ id: 'acct_a', kind: 'refresh' });
    await flush();
    expect(pool.status()[0]!.state).toBe('healthy');
    expect(refresher.calls).toContain('cpmt_a2');
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const l = await pool.acquire();
      ids.add(l.account.id);
      l.release();
    }
    expect(ids).toEqual(new Set(['acct_a', 'acct_b']));
  });

  it('a token replaced during a refresh wins over the old refresh result', async () => {
    const { pool, refresher } = setup([account('cpmt_a', 'a')]);
    refresher.rejected.add('cpmt_a');
    refresher.hold();
    const lease = await pool.acquire();
    const pending = lease.credentials();
    await flush();
    await pool.replaceToken('acct_a', 'cpmt_b');
    refresher.releaseAll();
    const creds = await pending;
    lease.release();
    expect(refresher.calls).toEqual(['cpmt_a', 'cpmt_b']);
    expect(pool.status()[0]).toMatchObject({ state: 'healthy', maskedToken: 'cp…' });
    expect(creds.accessToken.startsWith('eyJ')).toBe(true);
  });

  it('still refreshes when the store cannot take the lock', async () => {
    const clock = new SteppingClock();
    const store = new MemoryStore(clock);
    store.tryLock = async () => {
      throw new Error('store down');
    };
    const { pool, refresher, events } = setup([account('cpmt_a', 'a')], { clock, store });
    await credentialsOnce(pool);
    expect(refresher.calls).toEqual(['cpmt_a']);
    expect(events).toContainEqual({ type: 'store-error', op: 'tryLock', error: 'store down' });
  });

  it('uses an access JWT until exp, then reports it invalid', async () => {
    const clock = new SteppingClock();
    const token = accessJwt(clock.now(), 60);
    const { pool } = setup([account(token, 'jwt')], { clock });
    expect(pool.status()[0]).toMatchObject({ kind: 'access', state: 'healthy', expiresAt: clock.now() + 60_000 });
    expect(await credentialsOnce(pool)).toBe(token);
    await clock.advance(60_000);
    const err = await pool.acquire().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'accounts_invalid' });
    expect(pool.status()[0]).toMatchObject({ state: 'invalid', lastError: 'access token expired; configure a refresh token' });
    await expect(pool.acquire({ accountId: 'acct_jwt' })).rejects.toMatchObject({ code: 'account_unavailable' });
  });

  it('marks an access-only account invalid on 401 (nothing to refresh)', async () => {
    const clock = new SteppingClock();
    const { pool, refresher } = setup([account(accessJwt(clock.now(), 3600), 'jwt')], { clock });
    const lease = await pool.acquire();
    await lease.credentials();
    lease.report(unauthenticated());
    lease.release();
    expect(pool.status()[0]!.state).toBe('invalid');
    expect(refresher.calls).toHaveLength(0);
  });

  it('revives an invalid account through recheck(probe), and periodically with the probe option', async () => {
    const probed: string[] = [];
    let probeOk = false;
    const probe = async (creds: { accessToken: string }): Promise<void> => {
      probed.push(creds.accessToken);
      if (!probeOk) throw new ProxyError('upstream_unauthenticated', 'still refused');
    };
    const { pool, clock, refresher } = setup([account('cpmt_a', 'a')], { probe, recheckIntervalMs: 60_000 });
    refresher.rejected.add('cpmt_a');
    await pool.init();
    await clock.advance(0);
    expect(pool.status()[0]!.state).toBe('invalid');

    refresher.rejected.clear();
    expect(await pool.recheck('acct_a', probe)).toBe(false);
    expect(pool.status()[0]).toMatchObject({ state: 'invalid', lastError: 're-check failed: still refused' });
    expect(probed).toHaveLength(1);

    probeOk = true;
    await clock.advance(60_000);
    expect(probed).toHaveLength(2);
    expect(pool.status()[0]!.state).toBe('healthy');
    expect(pool.status()[0]!.lastError).toBeUndefined();
  });

  it('a replaced access token that has already expired makes the account invalid at once', async () => {
    const clock = new SteppingClock();
    const { pool } = setup([account('cpmt_a', 'a')], { clock });
    const status = await pool.replaceToken('acct_a', accessJwt(clock.now() - 7_200_000, 3600));
    expect(status).toMatchObject({ kind: 'access', state: 'invalid' });
  });
});
