/**
 * RedisStore against a real redis-server (started here on a free loopback port): the shared
 * store contract, then what only a shared backend has to get right — several instances on
 * one Redis, crashed holders, real TTLs, key prefixes.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisServerInstalled, startRedisServer, type RedisServer } from '../../test/helpers/redis-server.js';
import { systemClock } from '../core/clock.js';
import { isProxyError } from '../core/errors.js';
import { apiKey, conversation, logEntry } from './contract-fixtures.js';
import { FakeClock } from './fake-clock.js';
import { openStore } from './index.js';
import { RedisStore, type RedisStoreOptions } from './redis.js';
import { storeContract } from './store.contract.js';
import type { Store } from './store.js';

// Without redis-server this file fails to load, with the reason, instead of reporting skipped tests.
assertRedisServerInstalled();

let server: RedisServer | undefined;
let admin: Redis | undefined;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

const url = (): string => {
  if (!server) throw new Error('redis-server did not start');
  return server.url;
};
const redis = (): Redis => {
  if (!admin) throw new Error('redis-server did not start');
  return admin;
};

/** Every key in the server, after checking that each one carries one of `prefixes`. */
async function keysUnder(...prefixes: string[]): Promise<string[]> {
  const keys = await redis().keys('*');
  expect(keys.filter((k) => !prefixes.some((p) => k.startsWith(p)))).toEqual([]);
  return keys;
}

let contractRun = 0;
const contractPrefixes = new Map<Store, string>();
storeContract(
  'redis',
  async (clock) => {
    const prefix = `contract-${++contractRun}:`;
    const store = await RedisStore.open({ url: url(), prefix, clock });
    contractPrefixes.set(store, prefix);
    return store;
  },
  async (store) => {
    const prefix = contractPrefixes.get(store) ?? '?';
    contractPrefixes.delete(store);
    try {
      // Nothing a test wrote may land outside the store's namespace.
      await keysUnder(prefix);
    } finally {
      await redis().flushdb();
    }
  },
);

describe('RedisStore with a shared Redis', () => {
  const opened: RedisStore[] = [];
  const open = async (opts: Partial<RedisStoreOptions> = {}): Promise<RedisStore> => {
    const store = await RedisStore.open({ url: url(), prefix: 'shared:', clock: new FakeClock(), ...opts });
    opened.push(store);
    return store;
  };

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await redis().flushdb();
  });

  it('lets two instances see each other’s conversations, keys, state and deletions', async () => {
    const clock = new FakeClock();
    const a = await open({ clock });
    const b = await open({ clock });
    const t = clock.now();

    await a.saveConversation(conversation({ id: 'shared', fingerprint: 'fp', implicit: true, updatedAt: t }));
    expect((await b.getConversation('owner-a', 'shared'))?.id).toBe('shared');
    expect((await b.findConversationByFingerprint('owner-a', 'fp'))?.id).toBe('shared');
    await b.saveConversation(conversation({ id: 'shared', updatedAt: t + 1, model: 'changed' }));
    expect((await a.getConversation('owner-a', 'shared'))?.model).toBe('changed');
    expect(await a.findConversationByFingerprint('owner-a', 'fp')).toBeUndefined();
    expect(await a.listIdleImplicitConversations(t + 100, 10)).toEqual([]);
    expect(await a.deleteConversation('owner-a', 'shared')).toBe(true);
    expect(await b.listConversations({ limit: 10 })).toEqual([]);

    await a.createApiKey(apiKey({ id: 'k1' }));
    await expect(b.createApiKey(apiKey({ id: 'k2', hash: 'hash-k1' }))).rejects.toThrow('hash already exists');
    await b.recordApiKeyUsage('k1', { requests: 1, promptTokens: 2, completionTokens: 3, at: t });
    expect((await a.getApiKeyByHash('hash-k1'))?.usage).toStrictEqual({ requests: 1, promptTokens: 2, completionTokens: 3, lastUsedAt: t });
    expect(await b.revokeApiKey('k1', t)).toBe(true);
    expect((await a.listApiKeys())[0]?.revokedAt).toBe(t);

    await a.saveAccountState({ accountId: 'acct-1', refreshToken: 'rotated', health: 'cooling', updatedAt: t });
    expect(await b.getAccountState('acct-1')).toStrictEqual({ accountId: 'acct-1', refreshToken: 'rotated', health: 'cooling', updatedAt: t });

    await a.appendRequestLog(logEntry({ id: 'r1', at: t }));
    await b.appendRequestLog(logEntry({ id: 'r2', at: t + 1 }));
    expect((await a.listRequestLog({ limit: 10 })).map((e) => e.id)).toEqual(['r2', 'r1']);

    await a.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });
    const [claimed] = await b.claimDueDeletions(t, 10, 60_000);
    expect(claimed?.chatId).toBe('chat-1');
    expect(await a.claimDueDeletions(t, 10, 60_000)).toEqual([]);
    await a.completeDeletion(claimed?.id ?? '');
    expect(await b.claimDueDeletions(t + 120_000, 10, 60_000)).toEqual([]);
  });

  it('shares locks, slots, counters and start reservations between instances racing each other', async () => {
    const clock = new FakeClock();
    const a = await open({ clock });
    const b = await open({ clock });
    const both = <T>(n: number, f: (s: RedisStore) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => f(i % 2 ? a : b)));
    const t = clock.now();

    const locks = await both(10, (s) => s.tryLock('refresh:acct-1', 10_000));
    expect(locks.filter((x) => x !== undefined)).toHaveLength(1);

    const slots = await both(12, (s) => s.acquireSlot('acct:acct-1', 4, 10_000));
    expect(slots.filter((x) => x !== undefined)).toHaveLength(4);
    expect(await a.countSlots('acct:acct-1')).toBe(4);
    expect(await b.countSlots('acct:acct-1')).toBe(4);
    const held = slots.filter((x): x is string => x !== undefined);
    await b.releaseSlot('acct:acct-1', held[0] ?? '');
    expect(await a.countSlots('acct:acct-1')).toBe(3);
    expect(await a.renewSlot('acct:acct-1', held[1] ?? '', 10_000)).toBe(true);

    const counts = await both(30, (s) => s.increment('rr'));
    expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

    const starts = await both(8, (s) => s.reserveStart('start:acct-1', 500, t));
    expect([...starts].sort((x, y) => x - y)).toEqual(Array.from({ length: 8 }, (_, i) => t + i * 500));

    for (let i = 0; i < 9; i++) await a.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: `chat-${i}`, dueAt: t });
    const batches = await both(6, (s) => s.claimDueDeletions(t, 2, 60_000));
    const chats = batches.flat().map((d) => d.chatId);
    expect(chats).toHaveLength(9);
    expect(new Set(chats).size).toBe(9);
  });

  it('frees the slots and lock of a crashed holder once their leases run out (fake clock)', async () => {
    const clock = new FakeClock();
    const crashed = await open({ clock });
    const survivor = await open({ clock });
    expect(await crashed.acquireSlot('acct:a', 1, 1_000)).toBeDefined();
    expect(await crashed.tryLock('janitor', 1_000)).toBeDefined();
    // The holder goes away without releasing anything.
    await crashed.close();
    expect(await survivor.acquireSlot('acct:a', 1, 1_000)).toBeUndefined();
    expect(await survivor.tryLock('janitor', 1_000)).toBeUndefined();
    clock.advance(1_001);
    expect(await survivor.countSlots('acct:a')).toBe(0);
    expect(await survivor.acquireSlot('acct:a', 1, 1_000)).toBeDefined();
    expect(await survivor.tryLock('janitor', 1_000)).toBeDefined();
  });

  it('frees the slot of a crashed holder in real time, with the system clock', async () => {
    const crashed = await open({ clock: systemClock });
    const survivor = await open({ clock: systemClock });
    expect(await crashed.acquireSlot('acct:a', 1, 300)).toBeDefined();
    crashed.close().catch(() => undefined);
    expect(await survivor.acquireSlot('acct:a', 1, 300)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 350));
    expect(await survivor.acquireSlot('acct:a', 1, 300)).toBeDefined();
  });

  it('puts real TTLs on everything that can expire, and none on lasting records', async () => {
    const clock = new FakeClock();
    const s = await open({ clock, prefix: 'ttl:', requestLogTtlMs: 3_600_000 });
    const t = clock.now();
    await s.tryLock('job', 10_000);
    await s.acquireSlot('acct', 2, 30_000);
    await s.reserveStart('acct', 1_000, t);
    await s.increment('rate', 60_000);
    await s.increment('total');
    await s.appendRequestLog(logEntry({ id: 'r1', at: t }));
    await s.saveConversation(conversation({ id: 'c1', fingerprint: 'fp', implicit: true, updatedAt: t }));
    await s.saveAccountState({ accountId: 'acct-1', updatedAt: t });
    await s.createApiKey(apiKey({ id: 'k1' }));
    await s.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });

    const pttl = async (key: string): Promise<number> => redis().pttl(`ttl:${key}`);
    const expectTtl = async (key: string, lo: number, hi: number): Promise<void> => {
      const ms = await pttl(key);
      expect(ms, key).toBeGreaterThanOrEqual(lo);
      expect(ms, key).toBeLessThanOrEqual(hi);
    };
    // Longer than the logical lifetime (so the clock, not Redis, decides), but bounded.
    await expectTtl('lock:job', 10_001, 80_000);
    await expectTtl('slots:acct', 30_001, 120_000);
    await expectTtl('start:acct', 1_001, 62_000);
    await expectTtl('ctr:rate', 60_001, 180_000);
    for (const k of ['reqlog', 'reqlog:data', 'reqlog:seq']) await expectTtl(k, 3_000_000, 3_600_000);
    expect(await pttl('ctr:total')).toBe(-1);
    expect(await pttl('account:acct-1')).toBe(-1);
    expect(await pttl('apikey:k1')).toBe(-1);
    expect(await pttl('conv-all')).toBe(-1);
    expect(await pttl('del:due')).toBe(-1);
  });

  it('isolates two deployments on one Redis by their key prefix', async () => {
    const clock = new FakeClock();
    const blue = await open({ clock, prefix: 'blue:' });
    const green = await open({ clock, prefix: 'green:' });
    const t = clock.now();
    await blue.saveConversation(conversation({ id: 'c1', fingerprint: 'fp', implicit: true, updatedAt: t }));
    await blue.createApiKey(apiKey({ id: 'k1' }));
    await blue.appendRequestLog(logEntry({ id: 'r1', at: t }));
    await blue.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });
    await blue.saveAccountState({ accountId: 'acct-1', updatedAt: t });

    expect(await green.getConversation('owner-a', 'c1')).toBeUndefined();
    expect(await green.listConversations({ limit: 10 })).toEqual([]);
    expect(await green.findConversationByFingerprint('owner-a', 'fp')).toBeUndefined();
    expect(await green.listIdleImplicitConversations(t + 1, 10)).toEqual([]);
    expect(await green.getApiKeyByHash('hash-k1')).toBeUndefined();
    expect(await green.listApiKeys()).toEqual([]);
    await green.createApiKey(apiKey({ id: 'k1' }));
    expect(await green.listRequestLog({ limit: 10 })).toEqual([]);
    expect(await green.claimDueDeletions(t, 10, 1_000)).toEqual([]);
    expect(await green.getAccountState('acct-1')).toBeUndefined();
    expect(await blue.tryLock('job', 10_000)).toBeDefined();
    expect(await green.tryLock('job', 10_000)).toBeDefined();
    expect(await blue.acquireSlot('acct', 1, 10_000)).toBeDefined();
    expect(await green.acquireSlot('acct', 1, 10_000)).toBeDefined();
    expect([await blue.increment('rr'), await green.increment('rr'), await blue.increment('rr')]).toEqual([1, 1, 2]);

    const keys = await keysUnder('blue:', 'green:');
    expect(keys.some((k) => k.startsWith('blue:'))).toBe(true);
    expect(keys.some((k) => k.startsWith('green:'))).toBe(true);
  });

  it('keeps keys apart when owner and id contain the separator', async () => {
    const clock = new FakeClock();
    const s = await open({ clock });
    const t = clock.now();
    const one = conversation({ id: 'c', owner: 'a:b', fingerprint: 'x:y', updatedAt: t });
    const two = conversation({ id: 'b:c', owner: 'a', fingerprint: 'b:x:y', updatedAt: t + 1 });
    await s.saveConversation(one);
    await s.saveConversation(two);
    expect(await s.getConversation('a:b', 'c')).toStrictEqual(one);
    expect(await s.getConversation('a', 'b:c')).toStrictEqual(two);
    expect((await s.findConversationByFingerprint('a:b', 'x:y'))?.id).toBe('c');
    expect((await s.findConversationByFingerprint('a', 'b:x:y'))?.id).toBe('b:c');
    expect(await s.findConversationByFingerprint('a', 'x:y')).toBeUndefined();
    expect(await s.deleteConversation('a', 'b:c')).toBe(true);
    expect(await s.getConversation('a:b', 'c')).toStrictEqual(one);
  });

  it('caps the request log on append and keeps the newest entries', async () => {
    const clock = new FakeClock();
    const s = await open({ clock, prefix: 'cap:', requestLogMaxEntries: 3 });
    for (let i = 0; i < 6; i++) await s.appendRequestLog(logEntry({ id: `r${i}`, at: clock.now() + i }));
    expect((await s.listRequestLog({ limit: 10 })).map((e) => e.id)).toEqual(['r5', 'r4', 'r3']);
    expect(await redis().hlen('cap:reqlog:data')).toBe(3);
    await s.pruneRequestLog({ maxEntries: 1, olderThan: 0 });
    expect(await redis().hlen('cap:reqlog:data')).toBe(1);
    expect(await redis().zcard('cap:reqlog')).toBe(1);
  });

  it('keeps working after the server forgets its scripts', async () => {
    const s = await open();
    expect(await s.increment('n')).toBe(1);
    await redis().script('FLUSH');
    expect(await s.increment('n')).toBe(2);
    expect(await s.tryLock('job', 1_000)).toBeDefined();
  });

  it('reports a failing command as an ordinary error, not as an unavailable store', async () => {
    const s = await open({ prefix: 'wrong:' });
    await redis().set('wrong:lock:job', 'not a hash');
    const err = await s.tryLock('job', 1_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isProxyError(err)).toBe(false);
    expect((err as Error).message).toMatch(/WRONGTYPE/);
  });

  it('is what openStore returns for redis: URLs, with the configured prefix', async () => {
    const clock = new FakeClock();
    const store = await openStore({ url: url(), dataDir: '/nonexistent', clock, redisPrefix: 'opened:' });
    try {
      expect(store.kind).toBe('redis');
      await store.ping();
      expect(await store.tryLock('job', 1_000)).toBeDefined();
      expect(await store.tryLock('job', 1_000)).toBeUndefined();
      clock.advance(1_001);
      expect(await store.tryLock('job', 1_000)).toBeDefined();
      expect(await keysUnder('opened:')).toEqual(['opened:lock:job']);
    } finally {
      await store.close();
    }
    const byDefault = await openStore({ url: url().replace('redis:', 'REDIS:'), dataDir: '/nonexistent' });
    try {
      await byDefault.increment('n');
      expect(await redis().exists('kimi-proxy:ctr:n')).toBe(1);
    } finally {
      await byDefault.close();
    }
  });
});
