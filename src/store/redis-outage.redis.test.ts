/**
 * RedisStore when Redis goes away: calls fail fast with store_unavailable (never hang),
 * errors carry no secrets, and the same store works again once Redis is back.
 */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisServerInstalled, startRedisServer, type RedisServer } from '../../test/helpers/redis-server.js';
import { isProxyError } from '../core/errors.js';
import { apiKey, conversation, logEntry } from './contract-fixtures.js';
import { FakeClock } from './fake-clock.js';
import { openStore } from './index.js';
import { RedisStore, type RedisStoreOptions } from './redis.js';
import type { Store } from './store.js';

// Without redis-server this file fails to load, with the reason, instead of reporting skipped tests.
assertRedisServerInstalled();

const PASSWORD = 'hunter2-S3cret';
let server: RedisServer | undefined;

beforeAll(async () => {
  server = await startRedisServer({ password: PASSWORD });
});

afterAll(async () => {
  await server?.stop();
});

const running = (): RedisServer => {
  if (!server) throw new Error('redis-server did not start');
  return server;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries `check` until it passes or `timeoutMs` ran out. */
async function eventually(check: () => Promise<unknown>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`still failing after ${timeoutMs} ms: ${String(last)}`);
}

/** Everything an error would show in a log line: message, cause and own properties. */
const dump = (err: unknown): string => {
  const e = err as Error & { cause?: unknown };
  return JSON.stringify({ message: e.message, props: { ...e }, cause: e.cause instanceof Error ? { ...e.cause, message: e.cause.message } : e.cause });
};

/** Calls `op`, expecting store_unavailable within `withinMs`, with nothing secret in the error. */
async function expectUnavailable(label: string, op: () => Promise<unknown>, withinMs = 1_500): Promise<number> {
  const started = performance.now();
  const err = await op().then(
    () => new Error(`${label} succeeded`),
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  expect(isProxyError(err) ? err.code : String(err), label).toBe('store_unavailable');
  expect(elapsed, `${label} took ${Math.round(elapsed)} ms`).toBeLessThan(withinMs);
  expect(dump(err), label).not.toContain(PASSWORD);
  expect((err as Error & { cause?: { command?: unknown } }).cause?.command, label).toBeUndefined();
  return elapsed;
}

/** One call of every kind: reads, scripted writes, plain writes. */
function everyKindOfCall(store: Store, clock: FakeClock): [string, () => Promise<unknown>][] {
  const t = clock.now();
  return [
    ['ping', () => store.ping()],
    ['getConversation', () => store.getConversation('owner-a', 'c1')],
    ['saveConversation', () => store.saveConversation(conversation({ id: 'c2', updatedAt: t }))],
    ['listConversations', () => store.listConversations({ limit: 10 })],
    ['findConversationByFingerprint', () => store.findConversationByFingerprint('owner-a', 'fp')],
    ['tryLock', () => store.tryLock('job', 10_000)],
    ['acquireSlot', () => store.acquireSlot('acct', 2, 10_000)],
    ['countSlots', () => store.countSlots('acct')],
    ['reserveStart', () => store.reserveStart('acct', 1_000, t)],
    ['increment', () => store.increment('rr')],
    ['createApiKey', () => store.createApiKey(apiKey({ id: 'k9' }))],
    ['getApiKeyByHash', () => store.getApiKeyByHash('hash-k1')],
    ['appendRequestLog', () => store.appendRequestLog(logEntry({ id: 'r1', at: t }))],
    ['claimDueDeletions', () => store.claimDueDeletions(t, 10, 1_000)],
    ['getAccountState', () => store.getAccountState('acct-1')],
    ['saveAccountState', () => store.saveAccountState({ accountId: 'acct-1', updatedAt: t })],
  ];
}

describe('RedisStore during a Redis outage', () => {
  const opened: RedisStore[] = [];
  const open = async (opts: Partial<RedisStoreOptions> = {}): Promise<RedisStore> => {
    const store = await RedisStore.open({ url: running().url, prefix: 'outage:', clock: new FakeClock(), ...opts });
    opened.push(store);
    return store;
  };

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    // Leave a live server for the next test, whatever this one did to it.
    running().thaw();
    if (!running().isRunning()) await running().restart();
  });

  it('fails every call fast while Redis is down, then works again by itself when it is back', async () => {
    const clock = new FakeClock();
    const store = await open({ clock });
    await store.saveConversation(conversation({ id: 'c1', updatedAt: clock.now() }));
    expect(store.connected).toBe(true);

    await running().kill();
    for (const [label, op] of everyKindOfCall(store, clock)) await expectUnavailable(label, op);
    // Still fast while the client keeps trying to reconnect in the background.
    await sleep(300);
    expect(store.connected).toBe(false);
    for (const [label, op] of everyKindOfCall(store, clock)) await expectUnavailable(`${label} (later)`, op);

    await running().restart();
    await eventually(() => store.ping());
    expect(store.connected).toBe(true);
    // A new server: nothing survived, and everything works on the same store object.
    expect(await store.getConversation('owner-a', 'c1')).toBeUndefined();
    await store.saveConversation(conversation({ id: 'c1', updatedAt: clock.now() }));
    expect((await store.getConversation('owner-a', 'c1'))?.id).toBe('c1');
    expect(await store.increment('rr')).toBe(1);
    expect(await store.tryLock('job', 10_000)).toBeDefined();
  });

  it('fails a call to a server that stopped answering after the command timeout, and recovers', async () => {
    const clock = new FakeClock();
    const store = await open({ clock });
    await store.saveConversation(conversation({ id: 'kept', updatedAt: clock.now() }));

    running().freeze();
    const first = await expectUnavailable('getConversation (frozen)', () => store.getConversation('owner-a', 'kept'), 1_600);
    expect(first).toBeGreaterThanOrEqual(900);
    for (const [label, op] of everyKindOfCall(store, clock).slice(0, 4)) await expectUnavailable(`${label} (frozen)`, op, 1_600);

    running().thaw();
    await eventually(() => store.ping());
    expect((await store.getConversation('owner-a', 'kept'))?.id).toBe('kept');
  });

  it('settles every call of a burst that the server dies in the middle of', async () => {
    const store = await open();
    const burst = Promise.allSettled(Array.from({ length: 200 }, (_, i) => (i % 2 ? store.increment('burst') : store.acquireSlot('acct', 500, 10_000))));
    await running().kill();
    const outcomes = await Promise.race([
      burst,
      sleep(3_000).then(() => {
        throw new Error('calls still pending 3 s after the server died');
      }),
    ]);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(isProxyError(o.reason) ? o.reason.code : String(o.reason)).toBe('store_unavailable');
    }
    // The kill landed while commands were still in flight.
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(true);
    await running().restart();
    await eventually(() => store.ping());
    // No command was re-run behind the callers' backs after the reconnect.
    expect(await store.countSlots('acct')).toBe(0);
  });

  it('closes promptly while Redis is down', async () => {
    const store = await open();
    await running().kill();
    const started = performance.now();
    await store.close();
    expect(performance.now() - started).toBeLessThan(500);
    await expectUnavailable('ping after close', () => store.ping());
  });
});

describe('opening a RedisStore', () => {
  it('fails fast with store_unavailable when nothing listens, without echoing the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
      });
    });
    const url = `redis://admin:${PASSWORD}@127.0.0.1:${port}/0`;
    const started = performance.now();
    await expectUnavailable('RedisStore.open', () => RedisStore.open({ url, connectTimeoutMs: 300 }), 1_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    const err = await openStore({ url, dataDir: '/nonexistent' }).catch((e: unknown) => e);
    expect(isProxyError(err) && err.code).toBe('store_unavailable');
    expect(dump(err)).not.toContain(PASSWORD);
    expect(dump(err)).not.toContain('redis://');
  });

  it('refuses a wrong password without showing it anywhere', async () => {
    const wrong = 'not-the-Password-42';
    const seen: Error[] = [];
    const url = `redis://:${wrong}@127.0.0.1:${running().port}`;
    await expectUnavailable('open with a wrong password', () => RedisStore.open({ url, connectTimeoutMs: 300, onConnectionError: (e) => seen.push(e) }), 1_000);
    expect(seen.length).toBeGreaterThan(0);
    for (const e of seen) expect(dump(e)).not.toContain(wrong);
  });

  it('rejects malformed URLs with a message that does not contain them', async () => {
    for (const url of ['redis://:pa ss@host:notaport', 'redis://u:p%zz@host', 'redis://u:secretpw@host/notadb', 'redis://u:secretpw@host/0?password=x']) {
      const err = await RedisStore.open({ url, connectTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(Error);
      expect(dump(err), url).not.toMatch(/secretpw|pa ss|p%zz/);
    }
  });
});
