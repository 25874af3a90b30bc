/** Picks the store backend from a URL: `sqlite:` (default), `memory:`, `redis://`, `rediss://`. */
import type { Clock } from '../core/clock.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Backend URL; absent = SQLite in dataDir. */
  url?: string;
  dataDir: string;
  clock?: Clock;
  /** Key prefix of the Redis backend (REDIS_PREFIX); default `kimi-proxy:`. Ignored by other backends. */
  redisPrefix?: string;
}

type Opener = (rest: string, opts: OpenStoreOptions) => Promise<Store>;

/** One entry per URL scheme (lower-case, with the colon): adding a backend is one line. */
const OPENERS: Record<string, Opener> = {
  'sqlite:': async (rest, opts) => SqliteStore.open({ dataDir: sqliteDir(rest, opts.dataDir), clock: opts.clock }),
  'memory:': async (_rest, opts) => new MemoryStore(opts.clock),
  'redis:': async (rest, opts) => RedisStore.open({ url: `redis:${rest}`, prefix: opts.redisPrefix, clock: opts.clock }),
  'rediss:': async (rest, opts) => RedisStore.open({ url: `rediss:${rest}`, prefix: opts.redisPrefix, clock: opts.clock }),
};

/** `sqlite:` alone means dataDir; `sqlite:/dir` and `sqlite:///dir` name the directory. */
function sqliteDir(rest: string, dataDir: string): string {
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  return path === '' ? dataDir : decodeURIComponent(path);
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const url = opts.url?.trim() || 'sqlite:';
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon + 1).toLowerCase() : '';
  const opener = OPENERS[scheme];
  // Only the scheme is echoed: the rest of a URL may carry a password.
  if (!opener) throw new Error(`unsupported store URL scheme "${scheme}" (expected sqlite:, memory:, redis:// or rediss://)`);
  return opener(url.slice(colon + 1), opts);
}
