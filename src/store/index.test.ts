import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isProxyError } from '../core/errors.js';
import { FakeClock } from './fake-clock.js';
import { openStore } from './index.js';
import { DEFAULT_DB_FILE } from './sqlite.js';
import type { Store } from './store.js';

describe('openStore', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  const freshDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'kimi-proxy-open-'));
    dirs.push(dir);
    return dir;
  };
  const track = (s: Store): Store => {
    stores.push(s);
    return s;
  };

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('opens SQLite in dataDir without a URL or with a bare sqlite:', async () => {
    for (const url of [undefined, '', 'sqlite:']) {
      const dir = freshDir();
      const store = track(await openStore({ url, dataDir: dir }));
      expect(store.kind).toBe('sqlite');
      expect(existsSync(join(dir, DEFAULT_DB_FILE))).toBe(true);
    }
  });

  it('opens SQLite in the directory a sqlite: URL names', async () => {
    const dataDir = freshDir();
    const named = join(freshDir(), 'elsewhere');
    track(await openStore({ url: `sqlite:${named}`, dataDir }));
    expect(existsSync(join(named, DEFAULT_DB_FILE))).toBe(true);
    expect(existsSync(join(dataDir, DEFAULT_DB_FILE))).toBe(false);

    const tripleSlash = join(freshDir(), 'url-form');
    track(await openStore({ url: `sqlite://${tripleSlash}`, dataDir }));
    expect(existsSync(join(tripleSlash, DEFAULT_DB_FILE))).toBe(true);
  });

  it('opens a memory store that uses the given clock', async () => {
    const clock = new FakeClock();
    const store = track(await openStore({ url: 'memory:', dataDir: freshDir(), clock }));
    expect(store.kind).toBe('memory');
    expect(await store.tryLock('k', 1_000)).toBeDefined();
    clock.advance(1_001);
    expect(await store.tryLock('k', 1_000)).toBeDefined();
  });

  it('opens redis: and rediss: URLs with the Redis store, failing with store_unavailable when nothing listens', async () => {
    // A port that was just free: connecting is refused at once, no redis-server needed.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
      });
    });
    const errors = await Promise.all(
      ['redis', 'rediss'].map((scheme) =>
        openStore({ url: `${scheme}://user:secret@127.0.0.1:${port}/0`, dataDir: freshDir(), redisPrefix: 'p:' }).then(
          (s) => track(s),
          (e: unknown) => e,
        ),
      ),
    );
    for (const err of errors) {
      expect(isProxyError(err) && err.code).toBe('store_unavailable');
      expect(JSON.stringify({ message: (err as Error).message, cause: String((err as Error).cause) })).not.toContain('secret');
    }
  });

  it('rejects an unknown scheme without echoing the URL', async () => {
    const err = await openStore({ url: 'postgres://user:secret@db/kimi', dataDir: freshDir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('postgres:');
    expect((err as Error).message).not.toContain('secret');
  });
});
