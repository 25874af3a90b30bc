/** Contract: API keys, the request log, account state, ping and close. */
import { describe, expect, it } from 'vitest';
import { accountState, apiKey, ids, logEntry, type UseContext } from './contract-fixtures.js';
import type { ApiKeyRecord } from './store.js';

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function recordsContract(use: UseContext): void {
  describe('API keys', () => {
    it('creates keys and finds them by hash', async () => {
      const { store } = use();
      const minimal = apiKey({ id: 'k1' });
      const full: ApiKeyRecord = apiKey({
        id: 'k2',
        expiresAt: 1_800_000_000_000,
        allowedModels: ['kimi-k2', 'kimi-thinking'],
        rateLimitPerMinute: 60,
        maxConcurrentStreams: 2,
        usage: { requests: 3, promptTokens: 30, completionTokens: 40, lastUsedAt: 1_700_000_001_000 },
      });
      await store.createApiKey(minimal);
      await store.createApiKey(full);
      expect(await store.getApiKeyByHash('hash-k1')).toStrictEqual(minimal);
      expect(await store.getApiKeyByHash('hash-k2')).toStrictEqual(full);
      expect(await store.getApiKeyByHash('hash-unknown')).toBeUndefined();
    });

    it('refuses a second key with the same hash', async () => {
      const { store } = use();
      await store.createApiKey(apiKey({ id: 'k1', hash: 'dup' }));
      await expect(store.createApiKey(apiKey({ id: 'k2', hash: 'dup' }))).rejects.toThrow();
      expect((await store.getApiKeyByHash('dup'))?.id).toBe('k1');
    });

    it('lists every key', async () => {
      const { store } = use();
      expect(await store.listApiKeys()).toEqual([]);
      const keys = [apiKey({ id: 'k2', createdAt: 2 }), apiKey({ id: 'k1', createdAt: 1 }), apiKey({ id: 'k3', createdAt: 3, revokedAt: 4 })];
      for (const k of keys) await store.createApiKey(k);
      expect([...(await store.listApiKeys())].sort(byId)).toStrictEqual([...keys].sort(byId));
    });

    it('revokes a key, and reports an unknown one', async () => {
      const { store, clock } = use();
      await store.createApiKey(apiKey({ id: 'k1' }));
      expect(await store.revokeApiKey('k1', clock.now())).toBe(true);
      expect((await store.getApiKeyByHash('hash-k1'))?.revokedAt).toBe(clock.now());
      expect(await store.revokeApiKey('nope', clock.now())).toBe(false);
      expect(await store.listApiKeys()).toHaveLength(1);
    });

    it('accumulates usage and remembers the latest use', async () => {
      const { store, clock } = use();
      const t = clock.now();
      await store.createApiKey(apiKey({ id: 'k1' }));
      await store.createApiKey(apiKey({ id: 'k2' }));
      await store.recordApiKeyUsage('k1', { requests: 1, promptTokens: 10, completionTokens: 5, at: t + 20 });
      await store.recordApiKeyUsage('k1', { requests: 2, promptTokens: 7, completionTokens: 3, at: t + 10 });
      expect((await store.getApiKeyByHash('hash-k1'))?.usage).toStrictEqual({ requests: 3, promptTokens: 17, completionTokens: 8, lastUsedAt: t + 20 });
      expect((await store.getApiKeyByHash('hash-k2'))?.usage).toStrictEqual({ requests: 0, promptTokens: 0, completionTokens: 0 });
    });

    it('loses no usage under concurrent updates, and ignores an unknown key', async () => {
      const { store, clock } = use();
      await store.createApiKey(apiKey({ id: 'k1' }));
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.recordApiKeyUsage('k1', { requests: 1, promptTokens: i, completionTokens: 1, at: clock.now() })));
      expect((await store.getApiKeyByHash('hash-k1'))?.usage).toMatchObject({ requests: 10, promptTokens: 45, completionTokens: 10 });
      await store.recordApiKeyUsage('nope', { requests: 1, promptTokens: 1, completionTokens: 1, at: clock.now() });
      expect(await store.listApiKeys()).toHaveLength(1);
    });
  });

  describe('request log', () => {
    it('round-trips entries with and without optional fields', async () => {
      const { store, clock } = use();
      const minimal = logEntry({ id: 'r1', at: clock.now() });
      const full = logEntry({
        id: 'r2',
        at: clock.now() + 1,
        keyName: 'ci',
        model: 'kimi-k2',
        accountName: 'alpha',
        protocol: 'connect',
        conversationId: 'conv-1',
        stream: true,
        status: 502,
        ttfbMs: 80,
        durationMs: 900,
        promptTokens: 12,
        completionTokens: 0,
        errorCode: 'upstream_error',
        upstreamCode: 'rate_limited',
        failedAttempts: [
          { account: 'beta', code: 'upstream_timeout', next: 'failover' },
          { code: 'accounts_exhausted', next: 'stop' },
        ],
      });
      await store.appendRequestLog(minimal);
      await store.appendRequestLog(full);
      expect(await store.listRequestLog({ limit: 10 })).toStrictEqual([full, minimal]);
    });

    it('lists newest first and pages with `before`', async () => {
      const { store, clock } = use();
      const t = clock.now();
      for (const i of [2, 0, 4, 1, 3]) await store.appendRequestLog(logEntry({ id: `r${i}`, at: t + i * 100 }));
      expect(ids(await store.listRequestLog({ limit: 10 }))).toEqual(['r4', 'r3', 'r2', 'r1', 'r0']);
      const page1 = await store.listRequestLog({ limit: 2 });
      expect(ids(page1)).toEqual(['r4', 'r3']);
      const page2 = await store.listRequestLog({ limit: 2, before: page1[1]?.at });
      expect(ids(page2)).toEqual(['r2', 'r1']);
      const page3 = await store.listRequestLog({ limit: 2, before: page2[1]?.at });
      expect(ids(page3)).toEqual(['r0']);
      expect(await store.listRequestLog({ limit: 2, before: t })).toEqual([]);
    });

    it('prunes down to the newest `maxEntries`', async () => {
      const { store, clock } = use();
      const t = clock.now();
      for (let i = 0; i < 5; i++) await store.appendRequestLog(logEntry({ id: `r${i}`, at: t + i }));
      await store.pruneRequestLog({ maxEntries: 3, olderThan: 0 });
      expect(ids(await store.listRequestLog({ limit: 10 }))).toEqual(['r4', 'r3', 'r2']);
      await store.pruneRequestLog({ maxEntries: 0, olderThan: 0 });
      expect(await store.listRequestLog({ limit: 10 })).toEqual([]);
    });

    it('prunes entries older than `olderThan`, keeping those at exactly that time', async () => {
      const { store, clock } = use();
      const t = clock.now();
      for (let i = 0; i < 5; i++) await store.appendRequestLog(logEntry({ id: `r${i}`, at: t + i * 1_000 }));
      await store.pruneRequestLog({ maxEntries: 100, olderThan: t + 2_000 });
      expect(ids(await store.listRequestLog({ limit: 10 }))).toEqual(['r4', 'r3', 'r2']);
      await store.pruneRequestLog({ maxEntries: 1, olderThan: t + 2_000 });
      expect(ids(await store.listRequestLog({ limit: 10 }))).toEqual(['r4']);
    });
  });

  describe('account state', () => {
    it('round-trips and replaces the state of each account', async () => {
      const { store, clock } = use();
      expect(await store.getAccountState('acct-1')).toBeUndefined();
      const full = accountState({
        accountId: 'acct-1',
        refreshToken: 'rt-rotated',
        accessToken: 'at-1',
        accessTokenExpiresAt: clock.now() + 3_600_000,
        health: 'cooling',
        cooldownUntil: clock.now() + 60_000,
        lastError: 'rate limited',
        updatedAt: clock.now(),
      });
      const other = accountState({ accountId: 'acct-2', health: 'ok', updatedAt: clock.now() });
      await store.saveAccountState(full);
      await store.saveAccountState(other);
      expect(await store.getAccountState('acct-1')).toStrictEqual(full);
      const next = accountState({ accountId: 'acct-1', refreshToken: 'rt-rotated', health: 'ok', updatedAt: clock.now() + 1 });
      await store.saveAccountState(next);
      expect(await store.getAccountState('acct-1')).toStrictEqual(next);
      expect(await store.getAccountState('acct-2')).toStrictEqual(other);
    });
  });

  describe('lifecycle', () => {
    it('answers ping', async () => {
      await expect(use().store.ping()).resolves.toBeUndefined();
    });

    it('closes, and closing twice is harmless', async () => {
      const { store } = use();
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });
  });
}
