import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError, type ErrorCode } from '../core/errors.js';
import { MemoryStore } from '../store/memory.js';
import { makeAccount, type Account } from './account.js';
import { AccountPool, type AccountLease, type AccountPoolOptions } from './pool.js';
import { SteppingClock, flush } from './__fixtures__/fakes.js';

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const account = (name: string, settings: Partial<Account> = {}): Account => makeAccount(`cpmt_${name}_token`, name, `acct_${name}`, { minIntervalMs: 0, ...settings });

function setup(accounts: Account[], opts: Partial<AccountPoolOptions> = {}): { pool: AccountPool; clock: SteppingClock } {
  const clock = new SteppingClock();
  // No refresher: opaque tokens are used as they are, which keeps these tests about health only.
  const pool = new AccountPool(accounts, { store: new MemoryStore(clock), clock, random: () => 0, ...opts });
  pools.push(pool);
  return { pool, clock };
}

const err = (code: ErrorCode, retryAfterMs?: number): ProxyError => new ProxyError(code, `simulated ${code}`, retryAfterMs === undefined ? {} : { retryAfterMs });

async function run(pool: AccountPool, outcome: unknown, accountId?: string): Promise<string> {
  const lease = await pool.acquire(accountId ? { accountId } : {});
  await lease.credentials();
  lease.report(outcome);
  lease.release();
  return lease.account.id;
}

const stateOf = (pool: AccountPool, id: string): string => pool.status().find((s) => s.id === id)!.state;

describe('AccountPool health', () => {
  it('cools an account down for the Retry-After of a 429 and serves it again afterwards', async () => {
    const { pool, clock } = setup([account('a')]);
    await run(pool, err('upstream_rate_limited', 7_000));
    expect(pool.status()[0]).toMatchObject({ state: 'cooling', cooldownUntil: clock.now() + 7_000, failures: 1 });
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 7_000 });
    await clock.advance(6_999);
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 1 });
    await clock.advance(1);
    expect(await run(pool, 'ok')).toBe('acct_a');
    expect(stateOf(pool, 'acct_a')).toBe('healthy');
  });

  it('backs off exponentially from 2 s up to 5 min without Retry-After, and resets on success', async () => {
    const { pool, clock } = setup([account('a')]);
    const cooldowns: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = clock.now();
      await run(pool, err('upstream_rate_limited'));
      cooldowns.push(pool.status()[0]!.cooldownUntil! - start);
      await clock.advance(pool.status()[0]!.cooldownUntil! - start);
    }
    expect(cooldowns).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
    await run(pool, 'ok');
    const start = clock.now();
    await run(pool, err('upstream_rate_limited'));
    expect(pool.status()[0]!.cooldownUntil! - start).toBe(2_000);
  });

  it('adds up to 20 % jitter to the backoff', async () => {
    const { pool, clock } = setup([account('a')], { random: () => 0.999 });
    const start = clock.now();
    await run(pool, err('upstream_rate_limited'));
    const delay = pool.status()[0]!.cooldownUntil! - start;
    expect(delay).toBeGreaterThan(2_390);
    expect(delay).toBeLessThanOrEqual(2_400);
  });

  it('counts parallel 429s of one burst once', async () => {
    const { pool, clock } = setup([account('a', { maxConcurrent: 2 })]);
    const l1 = await pool.acquire();
    const l2 = await pool.acquire();
    l1.report(err('upstream_rate_limited'));
    l2.report(err('upstream_rate_limited'));
    l1.release();
    l2.release();
    expect(pool.status()[0]!.cooldownUntil! - clock.now()).toBe(2_000);
  });

  it('opens the circuit after 3 consecutive failures; successes in between reset the count', async () => {
    const { pool, clock } = setup([account('a'), account('b')]);
    await run(pool, err('upstream_http_error'), 'acct_a');
    await run(pool, err('upstream_timeout'), 'acct_a');
    await run(pool, 'ok', 'acct_a');
    await run(pool, err('upstream_network_error'), 'acct_a');
    await run(pool, err('upstream_overloaded'), 'acct_a');
    expect(stateOf(pool, 'acct_a')).toBe('healthy');
    await run(pool, err('upstream_http_error'), 'acct_a');
    expect(pool.status()[0]).toMatchObject({ state: 'failing', cooldownUntil: clock.now() + 30_000, failures: 5 });
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add(await run(pool, 'ok'));
    expect(served).toEqual(new Set(['acct_b']));
  });

  it('lets exactly one probe through when half-open; success closes the circuit', async () => {
    const { pool, clock } = setup([account('a', { maxConcurrent: 5 })]);
    for (let i = 0; i < 3; i++) await run(pool, err('upstream_http_error'));
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 30_000 });
    await clock.advance(30_000);

    const got: AccountLease[] = [];
    const waiting = [pool.acquire(), pool.acquire(), pool.acquire()].map((p) => p.then((l) => got.push(l)));
    await flush();
    expect(got).toHaveLength(1);
    expect(pool.status()[0]!.inFlight).toBe(1);
    got[0]!.report('ok');
    got[0]!.release();
    await Promise.all(waiting);
    expect(got).toHaveLength(3);
    expect(stateOf(pool, 'acct_a')).toBe('healthy');
  });

  it('reopens the circuit for longer when the probe fails', async () => {
    const { pool, clock } = setup([account('a', { maxConcurrent: 5 })]);
    for (let i = 0; i < 3; i++) await run(pool, err('upstream_network_error'));
    await clock.advance(30_000);
    const probe = await pool.acquire();
    const second = pool.acquire().catch((e: unknown) => e);
    await flush();
    probe.report(err('upstream_http_error'));
    probe.release();
    expect(await second).toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 60_000 });
    expect(pool.status()[0]).toMatchObject({ state: 'failing', cooldownUntil: clock.now() + 60_000 });
    await clock.advance(60_000);
    await run(pool, err('upstream_http_error'));
    expect(pool.status()[0]!.cooldownUntil! - clock.now()).toBe(120_000);
  });

  it('a half-open probe that ends without a verdict frees the probe for the next request', async () => {
    const { pool, clock } = setup([account('a', { maxConcurrent: 5 })]);
    for (let i = 0; i < 3; i++) await run(pool, err('upstream_http_error'));
    await clock.advance(30_000);
    const probe = await pool.acquire();
    probe.report(err('upstream_bad_request'));
    probe.release();
    const next = await pool.acquire();
    next.report('ok');
    next.release();
    expect(stateOf(pool, 'acct_a')).toBe('healthy');
  });

  it('leaves health alone for request-level errors and client aborts', async () => {
    const { pool } = setup([account('a')]);
    const codes: ErrorCode[] = ['upstream_bad_request', 'upstream_generation_error', 'upstream_content_filter', 'upstream_chat_busy', 'upstream_protocol_error'];
    for (let round = 0; round < 2; round++) {
      for (const code of codes) await run(pool, err(code));
      await run(pool, new DOMException('The operation was aborted.', 'AbortError'));
    }
    expect(pool.status()[0]).toMatchObject({ state: 'healthy', failures: 0, requests: 12 });
    expect(pool.status()[0]!.lastError).toBeUndefined();
  });

  it('fails with accounts_exhausted and the earliest cooldown when nothing is usable', async () => {
    const { pool, clock } = setup([account('a'), account('b'), account('c'), account('d')]);
    await run(pool, err('upstream_rate_limited', 10_000), 'acct_a');
    await run(pool, err('upstream_rate_limited', 45_000), 'acct_b');
    for (let i = 0; i < 3; i++) await run(pool, err('upstream_http_error'), 'acct_c');
    pool.setDisabled('acct_d', true);
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 10_000 });
    await clock.advance(10_000);
    expect(await run(pool, 'ok')).toBe('acct_a');
  });

  it('waits for a short cooldown instead of failing when maxCooldownWaitMs allows', async () => {
    const { pool, clock } = setup([account('a')], { maxCooldownWaitMs: 5_000 });
    await run(pool, err('upstream_rate_limited', 3_000));
    let served = false;
    const pending = pool.acquire().then((l) => {
      served = true;
      l.release();
    });
    await clock.advance(2_900);
    expect(served).toBe(false);
    await clock.advance(400);
    await pending;
    expect(served).toBe(true);
  });

  it('with affinity, an invalid, disabled or removed owner gives account_unavailable (not no_accounts); a cooling one gives accounts_exhausted', async () => {
    const { pool } = setup([account('a'), account('b'), account('c')]);
    const lease = await pool.acquire({ accountId: 'acct_a' });
    await lease.credentials();
    lease.report(err('upstream_unauthenticated'));
    lease.release();
    expect(stateOf(pool, 'acct_a')).toBe('invalid');
    const e1 = await pool.acquire({ accountId: 'acct_a' }).catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'account_unavailable' });
    expect((e1 as Error).message).toContain('owns this conversation is unavailable');
    pool.setDisabled('acct_b', true);
    await expect(pool.acquire({ accountId: 'acct_b' })).rejects.toMatchObject({ code: 'account_unavailable' });
    await expect(pool.acquire({ accountId: 'acct_nope' })).rejects.toMatchObject({ code: 'account_unavailable' });
    await run(pool, err('upstream_rate_limited', 4_000), 'acct_c');
    await expect(pool.acquire({ accountId: 'acct_c' })).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 4_000 });
  });

  it('gives no_accounts only when nothing is configured', async () => {
    await expect(setup([]).pool.acquire()).rejects.toMatchObject({ code: 'no_accounts' });
  });

  it('gives accounts_invalid (not a wait) naming each account, never its token, when every account is invalid or disabled', async () => {
    const { pool } = setup([account('main'), account('spare', { disabled: true })]);
    await run(pool, err('upstream_unauthenticated'));
    const refused = await pool.acquire().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'accounts_invalid', retryAfterMs: undefined });
    const message = (refused as Error).message;
    expect(message).toContain('main (invalid: Kimi rejected the access token');
    expect(message).toContain('spare (disabled)');
    expect(message).toContain('replace the token');
    expect(message).toContain('`kimi-proxy check`');
    expect(message).not.toContain('cpmt_');
    // Only disabled: the fix is to enable one.
    const off = await setup([account('a', { disabled: true })]).pool.acquire().catch((e: unknown) => e);
    expect(off).toMatchObject({ code: 'accounts_invalid' });
    expect((off as Error).message).toBe('No Kimi account can serve: a (disabled). To fix: enable a disabled account.');
  });

  it('while one account is only cooling down, the others being invalid is a wait (429 accounts_exhausted), not accounts_invalid', async () => {
    const { pool } = setup([account('a'), account('b')]);
    await run(pool, err('upstream_unauthenticated'), 'acct_a');
    await run(pool, err('upstream_rate_limited', 9_000), 'acct_b');
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'accounts_exhausted', retryAfterMs: 9_000 });
  });

  it('reports state changes as events', async () => {
    const events: string[] = [];
    const { pool, clock } = setup([account('a')], { onEvent: (e) => e.type === 'state' && events.push(`${e.from}>${e.to}`) });
    await run(pool, err('upstream_rate_limited', 1_000));
    await clock.advance(1_000);
    await run(pool, 'ok');
    expect(events).toEqual(['healthy>cooling', 'cooling>healthy']);
    expect(pool.counters().stateChanges).toBe(2);
  });
});
