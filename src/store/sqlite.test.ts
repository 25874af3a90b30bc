import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKey, conversation, fullConversation, logEntry } from './contract-fixtures.js';
import { FakeClock } from './fake-clock.js';
import { DEFAULT_DB_FILE, MIGRATIONS, SCHEMA_VERSION, SqliteStore, migrate } from './sqlite.js';
import { storeContract } from './store.contract.js';
import type { Store } from './store.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'kimi-proxy-store-'));

const contractDirs = new Map<Store, string>();
storeContract(
  'sqlite',
  (clock) => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir, clock });
    contractDirs.set(store, dir);
    return store;
  },
  async (store) => {
    const dir = contractDirs.get(store);
    contractDirs.delete(store);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
);

describe('SqliteStore on disk', () => {
  const dirs: string[] = [];
  const opened: SqliteStore[] = [];
  const freshDir = (): string => {
    const dir = tempDir();
    dirs.push(dir);
    return dir;
  };
  const open = (dataDir: string, clock = new FakeClock()): SqliteStore => {
    const store = SqliteStore.open({ dataDir, clock });
    opened.push(store);
    return store;
  };

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates a missing data directory and honours fileName', async () => {
    const dir = join(freshDir(), 'nested', 'data');
    const store = SqliteStore.open({ dataDir: dir, fileName: 'custom.db' });
    opened.push(store);
    await store.ping();
    expect(existsSync(join(dir, 'custom.db'))).toBe(true);
    expect(existsSync(join(dir, DEFAULT_DB_FILE))).toBe(false);
  });

  it('keeps every kind of data across close and reopen', async () => {
    const dir = freshDir();
    const clock = new FakeClock();
    const t = clock.now();
    const first = open(dir, clock);
    const conv = fullConversation('c1', t);
    await first.saveConversation(conv);
    await first.createApiKey(apiKey({ id: 'k1' }));
    await first.recordApiKeyUsage('k1', { requests: 1, promptTokens: 2, completionTokens: 3, at: t });
    await first.appendRequestLog(logEntry({ id: 'r1', at: t }));
    await first.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });
    await first.saveAccountState({ accountId: 'acct-1', refreshToken: 'rt', updatedAt: t });
    await first.increment('hits');
    await first.reserveStart('acct-1', 1_000, t);
    await first.close();

    const second = open(dir, clock);
    expect(await second.getConversation(conv.owner, conv.id)).toStrictEqual(conv);
    expect((await second.getApiKeyByHash('hash-k1'))?.usage).toStrictEqual({ requests: 1, promptTokens: 2, completionTokens: 3, lastUsedAt: t });
    expect((await second.listRequestLog({ limit: 10 })).map((e) => e.id)).toEqual(['r1']);
    expect((await second.claimDueDeletions(t, 10, 1_000)).map((d) => d.chatId)).toEqual(['chat-1']);
    expect(await second.getAccountState('acct-1')).toStrictEqual({ accountId: 'acct-1', refreshToken: 'rt', updatedAt: t });
    expect(await second.increment('hits')).toBe(2);
    expect(await second.reserveStart('acct-1', 1_000, t)).toBe(t + 1_000);
  });

  it('records each migration once and does not re-apply it on reopen', async () => {
    const dir = freshDir();
    const clock = new FakeClock();
    const openedAt = clock.now();
    await open(dir, clock).close();
    clock.advance(60_000);
    await open(dir, clock).close();

    const db = new Database(join(dir, DEFAULT_DB_FILE));
    try {
      const rows = db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all();
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, applied_at: openedAt })));
      expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
      expect(migrate(db, clock.now())).toEqual([]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer schema', async () => {
    const dir = freshDir();
    await open(dir).close();
    const db = new Database(join(dir, DEFAULT_DB_FILE));
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(SCHEMA_VERSION + 1, 0);
    db.close();
    expect(() => SqliteStore.open({ dataDir: dir })).toThrow(/newer than this build/);
  });

  it('lets two instances on the same file see each other’s writes and share locks and slots', async () => {
    const dir = freshDir();
    const clock = new FakeClock();
    const a = open(dir, clock);
    const b = open(dir, clock);
    const t = clock.now();

    await a.saveConversation(conversation({ id: 'shared', updatedAt: t }));
    expect((await b.getConversation('owner-a', 'shared'))?.id).toBe('shared');
    await b.saveConversation(conversation({ id: 'shared', updatedAt: t + 1, model: 'changed' }));
    expect((await a.getConversation('owner-a', 'shared'))?.model).toBe('changed');

    const token = await a.tryLock('janitor', 10_000);
    expect(token).toBeDefined();
    expect(await b.tryLock('janitor', 10_000)).toBeUndefined();
    await a.releaseLock('janitor', token ?? '');
    expect(await b.tryLock('janitor', 10_000)).toBeDefined();

    expect(await a.acquireSlot('acct', 2, 10_000)).toBeDefined();
    expect(await b.acquireSlot('acct', 2, 10_000)).toBeDefined();
    expect(await a.acquireSlot('acct', 2, 10_000)).toBeUndefined();
    expect(await b.countSlots('acct')).toBe(2);

    expect([await a.increment('n'), await b.increment('n'), await a.increment('n')]).toEqual([1, 2, 3]);
    expect([await a.reserveStart('k', 100, t), await b.reserveStart('k', 100, t)]).toEqual([t, t + 100]);

    await a.enqueueDeletion({ accountId: 'acct-1', protocol: 'rest', chatId: 'chat-1', dueAt: t });
    expect(await b.claimDueDeletions(t, 10, 60_000)).toHaveLength(1);
    expect(await a.claimDueDeletions(t, 10, 60_000)).toEqual([]);
  });

  it('keeps a saved conversation readable after the writing process is killed', async () => {
    const dir = freshDir();
    const survivor = fullConversation('survivor', 1_700_000_000_000);
    const child = fork(new URL('./__fixtures__/crash-writer.mjs', import.meta.url), [dir, JSON.stringify(survivor)], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      // Kill while the child is busy rewriting another conversation, never letting it close.
      await new Promise<void>((resolve, reject) => {
        child.on('message', (msg: { churning?: boolean }) => {
          if (msg.churning) resolve();
        });
        child.once('exit', (code) => reject(new Error(`crash writer exited early with code ${code}`)));
      });
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }

    const store = open(dir);
    expect(await store.getConversation(survivor.owner, survivor.id)).toStrictEqual(survivor);
    const churn = await store.getConversation('crash', 'churn');
    expect(churn?.transcript).toHaveLength(Number(churn?.upstreamChatId));
    await store.close();

    const db = new Database(join(dir, DEFAULT_DB_FILE));
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});
