/**
 * Per-key limits, both kept in the Store so that a shared store makes them cluster-wide:
 *
 * - requests per minute: @fastify/rate-limit keyed by the API key id, with the key record's
 *   own limit, over a store adapter on `Store.increment(key, windowMs)` (a window opens at a
 *   key's first request and lasts one minute);
 * - concurrent streams: a counting semaphore on `Store.acquireSlot`, renewed while the
 *   stream runs and released when its response closes.
 */
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import type { ApiKeyIdentity } from './api-keys.js';

const MINUTE_MS = 60_000;
/** Window starts remembered by this instance; older ones are swept once there are this many. */
const MAX_REMEMBERED_WINDOWS = 10_000;

/**
 * A @fastify/rate-limit store over `Store.increment`. The counter expires one window after
 * its first increment. The store does not report that moment, so this instance remembers
 * when it saw a window open; a window opened elsewhere is assumed to last a whole window
 * from now (Retry-After is then an upper bound, never too short).
 */
export function storeBackedRateLimitStore(store: Pick<Store, 'increment'>, clock: Clock): FastifyRateLimitStoreCtor {
  const opened = new Map<string, number>();
  const sweep = (now: number, windowMs: number): void => {
    if (opened.size < MAX_REMEMBERED_WINDOWS) return;
    for (const [k, at] of opened) if (at + windowMs <= now) opened.delete(k);
  };
  class StoreBackedRateLimitStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const now = clock.now();
      store.increment(`ratelimit:${key}`, timeWindow).then(
        (current) => {
          if (current === 1) {
            sweep(now, timeWindow);
            opened.set(key, now);
          }
          let start = opened.get(key);
          if (start === undefined || start + timeWindow <= now) start = now;
          callback(null, { current, ttl: Math.max(1, start + timeWindow - now) });
        },
        (err: unknown) => callback(new ProxyError('store_unavailable', 'The store failed (rate limit).', { cause: err })),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return StoreBackedRateLimitStore;
}

export interface RateLimitDeps {
  store: Pick<Store, 'increment'>;
  clock: Clock;
}

/** The caller's identity, set by the client API's auth hook before the rate limit runs. */
const identityOf = (request: FastifyRequest): ApiKeyIdentity | undefined => request.ctx.knownIdentity;
const limitOf = (request: FastifyRequest): number | undefined => identityOf(request)?.rateLimitPerMinute;

/** Registers @fastify/rate-limit on the routes of `scope` (the client API) whose key has `rateLimitPerMinute`. */
export async function registerKeyRateLimit(scope: FastifyInstance, deps: RateLimitDeps): Promise<void> {
  await scope.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: MINUTE_MS,
    store: storeBackedRateLimitStore(deps.store, deps.clock),
    keyGenerator: (request) => identityOf(request)?.id ?? 'none',
    allowList: (request) => limitOf(request) === undefined,
    max: (request) => limitOf(request) ?? Number.MAX_SAFE_INTEGER,
    errorResponseBuilder: (_request, ctx) =>
      new ProxyError('rate_limit_exceeded', `This API key is limited to ${ctx.max} requests per minute; retry in ${ctx.after}.`, {
        retryAfterMs: ctx.ttl,
      }),
  });
}

/** Slot lease in the store; renewed every third of it while the stream runs. */
const STREAM_LEASE_MS = 60_000;
const STREAM_RETRY_AFTER_MS = 5_000;

export class StreamSlots {
  constructor(
    private readonly store: Pick<Store, 'acquireSlot' | 'renewSlot' | 'releaseSlot'>,
    private readonly leaseMs = STREAM_LEASE_MS,
  ) {}

  /**
   * Takes one of the key's stream slots, or throws 429 too_many_concurrent_streams. Returns
   * the release function (idempotent); the lease is renewed until then.
   */
  async acquire(identity: ApiKeyIdentity, limit: number): Promise<() => void> {
    const key = `streams:${identity.id}`;
    let token: string | undefined;
    try {
      token = await this.store.acquireSlot(key, limit, this.leaseMs);
    } catch (err) {
      throw new ProxyError('store_unavailable', 'The store failed (acquireSlot).', { cause: err });
    }
    if (!token) {
      throw new ProxyError('too_many_concurrent_streams', `This API key may run at most ${limit} concurrent stream${limit === 1 ? '' : 's'}; wait for one to finish.`, {
        retryAfterMs: STREAM_RETRY_AFTER_MS,
      });
    }
    const held = token;
    const timer = setInterval(() => void this.store.renewSlot(key, held, this.leaseMs).catch(() => undefined), Math.max(1_000, Math.floor(this.leaseMs / 3)));
    timer.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      void this.store.releaseSlot(key, held).catch(() => undefined);
    };
  }
}
