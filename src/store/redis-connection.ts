/**
 * The ioredis client of the Redis store, set up to fail fast: no offline queue (a command
 * sent while disconnected is rejected at once), no retry of a command across reconnects,
 * a per-command timeout and a socket timeout for a server that stops answering. The client
 * keeps reconnecting in the background, so the store recovers by itself once Redis is back.
 *
 * Nothing here puts the URL, or an ioredis error as it is, into a thrown error: ioredis
 * attaches the failed command's arguments to its errors, and those can hold the password
 * (HELLO/AUTH) or stored data. Errors are rebuilt from their name and message only.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ProxyError } from '../core/errors.js';

export interface ConnectionTuning {
  /** Longest wait for a TCP/TLS connection, and for the first one when the store opens. */
  connectTimeoutMs: number;
  /** A command without a reply after this fails with store_unavailable. */
  commandTimeoutMs: number;
  /** Reconnect backoff cap (starts at 50 ms, doubles). */
  maxReconnectDelayMs: number;
}

const USAGE = 'expected redis://[user:password@]host[:port][/db] or rediss://…';

/** Host, port, credentials, database and TLS from a redis:// or rediss:// URL. */
export function connectionOptionsFromUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid Redis store URL (${USAGE})`);
  }
  const scheme = u.protocol.toLowerCase();
  if (scheme !== 'redis:' && scheme !== 'rediss:') throw new Error(`unsupported Redis URL scheme "${scheme}" (${USAGE})`);
  if (u.search !== '') throw new Error(`Redis store URL parameters are not supported (${USAGE})`);
  const dbPath = u.pathname.replace(/^\//, '');
  if (dbPath !== '' && !/^\d+$/.test(dbPath)) throw new Error(`invalid database number in the Redis store URL (${USAGE})`);
  const opts: RedisOptions = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: u.port === '' ? 6379 : Number(u.port),
    db: dbPath === '' ? 0 : Number(dbPath),
  };
  try {
    if (u.username) opts.username = decodeURIComponent(u.username);
    if (u.password) opts.password = decodeURIComponent(u.password);
  } catch {
    throw new Error(`invalid percent-encoding in the Redis store URL credentials (${USAGE})`);
  }
  if (scheme === 'rediss:') opts.tls = {};
  return opts;
}

export function createClient(url: string, tuning: ConnectionTuning): Redis {
  return new Redis({
    ...connectionOptionsFromUrl(url),
    connectionName: 'kimi-proxy',
    connectTimeout: tuning.connectTimeoutMs,
    commandTimeout: tuning.commandTimeoutMs,
    // A socket that stops answering while commands wait is dropped, which starts a reconnect.
    socketTimeout: Math.max(3 * tuning.commandTimeoutMs, 3_000),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A command whose reply was lost is failed, never silently re-run after a reconnect.
    autoResendUnfulfilledCommands: false,
    enableReadyCheck: true,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), tuning.maxReconnectDelayMs),
  });
}

/** A copy of an error that keeps only its name and message. */
export function sanitizeError(err: unknown): Error {
  const clean = new Error(err instanceof Error ? err.message : String(err));
  if (err instanceof Error) clean.name = err.name;
  return clean;
}

/** Redis error codes meaning "the server cannot serve now", not "this command is wrong". */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|NOPERM|MISCONF|OOM)\b/;

/**
 * Maps a failed Redis call to a store error. An error reply from the server is a failure of
 * that command unless its code says the server is unable to serve; anything else (closed
 * connection, offline, timeout) means Redis is unreachable: store_unavailable (503).
 */
export function storeError(op: string, err: unknown): Error {
  if (err instanceof ProxyError) return err;
  const cause = sanitizeError(err);
  const isReply = err instanceof Error && err.name === 'ReplyError';
  if (!isReply || UNAVAILABLE_REPLY.test(cause.message)) {
    return new ProxyError('store_unavailable', `The Redis store is unavailable (${op}); try again shortly.`, { cause, retryAfterMs: 1_000 });
  }
  return new Error(`Redis store: ${op} failed: ${cause.message}`, { cause });
}

/** Resolves once the client is ready; rejects with store_unavailable after `timeoutMs`. */
export function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let last: Error | undefined;
    const onError = (err: Error): void => {
      last = err;
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      const cause = last === undefined ? undefined : sanitizeError(last);
      reject(new ProxyError('store_unavailable', `The Redis store is unavailable: no connection within ${timeoutMs} ms.`, { cause }));
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
  });
}
