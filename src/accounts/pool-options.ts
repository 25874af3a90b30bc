/** The account pool's options with their defaults, and the per-account parts derived from them. */
import { systemClock } from '../core/clock.js';
import type { RuntimeContext } from './account-runtime.js';
import type { AccountPoolOptions } from './pool-types.js';

export type ResolvedPoolOptions = Required<Omit<AccountPoolOptions, 'store' | 'refresh' | 'probe' | 'onEvent'>>;

const DEFAULTS: ResolvedPoolOptions = {
  clock: systemClock,
  selection: 'round-robin',
  leaseMs: 30_000,
  maxQueue: 100,
  maxWaitMs: 30_000,
  queuePollMs: 250,
  maxCooldownWaitMs: 0,
  breakerThreshold: 3,
  breakerCoolOffMs: 30_000,
  breakerMaxCoolOffMs: 600_000,
  rateLimitBaseMs: 2_000,
  rateLimitMaxMs: 300_000,
  quotaCooldownMs: 3_600_000,
  dayTimeZone: 'UTC',
  refreshMarginMs: 300_000,
  minValidityMs: 15_000,
  assumedAccessTtlMs: 300_000,
  backgroundIntervalMs: 10_000,
  refreshLockTtlMs: 60_000,
  refreshPollMs: 250,
  recheckIntervalMs: 300_000,
  shareHealth: true,
  healthSyncMs: 500,
  random: Math.random,
};

/** Options with every default filled in (an option given as undefined takes the default). */
export function resolvePoolOptions(options: AccountPoolOptions): ResolvedPoolOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AccountPoolOptions;
  return { ...DEFAULTS, ...defined };
}

/** What each account's health and token manager take from the pool's options. */
export function accountOptions(o: ResolvedPoolOptions): Pick<RuntimeContext, 'health' | 'tokens'> {
  return {
    health: {
      breakerThreshold: o.breakerThreshold,
      breakerCoolOffMs: o.breakerCoolOffMs,
      breakerMaxCoolOffMs: o.breakerMaxCoolOffMs,
      rateLimitBaseMs: o.rateLimitBaseMs,
      rateLimitMaxMs: o.rateLimitMaxMs,
      quotaCooldownMs: o.quotaCooldownMs,
      random: o.random,
    },
    tokens: {
      refreshMarginMs: o.refreshMarginMs,
      minValidityMs: o.minValidityMs,
      assumedAccessTtlMs: o.assumedAccessTtlMs,
      lockTtlMs: o.refreshLockTtlMs,
      pollMs: o.refreshPollMs,
    },
  };
}
