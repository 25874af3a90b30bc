/** Public types of the account pool: options, events, status. */
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { RefreshResult } from '../upstream/kimi/auth.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import type { Account } from './account.js';
import type { HealthState, RestReason } from './health.js';
import type { TokenKind } from './token-kind.js';

/** The part of the Store the pool uses (slots, start spacing, rotation counter, locks, account state). */
export type PoolStore = Pick<
  Store,
  'acquireSlot' | 'renewSlot' | 'releaseSlot' | 'reserveStart' | 'increment' | 'tryLock' | 'releaseLock' | 'getAccountState' | 'saveAccountState'
>;

/** Exchanges a refresh token for an access token (the app binds `refreshAccessToken` to its HTTP client). */
export type RefreshFn = (req: { account: Account; refreshToken: string; signal: AbortSignal }) => Promise<RefreshResult>;

/** Checks that an account works (the app calls the upstream user/subscription endpoint). Throws when it does not. */
export type ProbeFn = (credentials: AccountCredentials, signal: AbortSignal) => Promise<unknown>;

export type SelectionStrategy = 'round-robin' | 'least-in-flight' | 'fill-first';

export interface AccountPoolOptions {
  /** Coordination and persistence; with a shared store, limits and rotation are cluster-wide. Default: in-process. */
  store?: PoolStore;
  clock?: Clock;
  /**
   * Refreshes access tokens. Without it, refresh tokens are sent as they are (no refresh),
   * which only suits an upstream that accepts them directly.
   */
  refresh?: RefreshFn;
  /** Used by the periodic re-check of invalid accounts. Without it, only replaceToken/recheck revive them. */
  probe?: ProbeFn;
  selection?: SelectionStrategy;
  /** Slot lease length in the store; renewed every leaseMs/3 while held. Default 30 s. */
  leaseMs?: number;
  /** Requests allowed to wait for a free slot. Default 100. */
  maxQueue?: number;
  /** Longest wait for a free slot before `rate_limited`. Default 30 s. */
  maxWaitMs?: number;
  /** How often waiting requests look for slots freed elsewhere (other instances, expired leases). Default 250 ms. */
  queuePollMs?: number;
  /** Wait (instead of failing with accounts_exhausted) when the earliest cooldown ends within this. Default 0. */
  maxCooldownWaitMs?: number;
  /** Consecutive 5xx/network/timeout failures that open an account's circuit. Default 3. */
  breakerThreshold?: number;
  /** First open period of the circuit. Default 30 s; doubles after each failed probe. */
  breakerCoolOffMs?: number;
  /** Longest open period. Default 10 min. */
  breakerMaxCoolOffMs?: number;
  /** Rate-limit backoff without Retry-After: from this (default 2 s) … */
  rateLimitBaseMs?: number;
  /** … up to this (default 5 min). */
  rateLimitMaxMs?: number;
  /** The time zone whose midnight ends a day of the daily request budgets (`dailyRequests`). Default UTC. */
  dayTimeZone?: string;
  /** Rest after Kimi's usage-limit answer when it gives no reset time (Retry-After). Default 1 h. */
  quotaCooldownMs?: number;
  /** Refresh this long before expiry, or at 80 % of the lifetime when that is sooner. Default 5 min. */
  refreshMarginMs?: number;
  /** A token with less validity left than this is refreshed before use. Default 15 s. */
  minValidityMs?: number;
  /** Assumed lifetime of an access token whose expiry is unknown. Default 5 min (older clients' cache time). */
  assumedAccessTtlMs?: number;
  /** Period of the background loop (due refreshes, re-checks, expiries). Default 10 s. */
  backgroundIntervalMs?: number;
  /** TTL of the cluster-wide refresh lock. Default 60 s. */
  refreshLockTtlMs?: number;
  /** How often an instance waiting for another one's refresh reads the store. Default 250 ms. */
  refreshPollMs?: number;
  /** How often an invalid account is re-checked with `probe`. Default 5 min. */
  recheckIntervalMs?: number;
  /**
   * Share health (cooldowns, circuit state, invalid marks) with the other instances using
   * `store`: changes are published at once, and other instances' changes are read at most
   * every `healthSyncMs` on acquire, and on every background pass. Default true with a store.
   */
  shareHealth?: boolean;
  /** How long this instance's view of other instances' account health may be reused. Default 500 ms. */
  healthSyncMs?: number;
  /** Jitter source (tests make it deterministic). Default Math.random. */
  random?: () => number;
  onEvent?: (event: PoolEvent) => void;
}

export type PoolEvent =
  | { type: 'state'; accountId: string; from: HealthState; to: HealthState; reason?: string }
  | { type: 'refresh'; accountId: string; ok: boolean; rotated?: boolean; error?: string }
  | { type: 'queue-rejected'; reason: 'full' | 'timeout' }
  | { type: 'store-error'; op: string; error: string }
  /** A Kimi error no table knows (generation error, unexpected HTTP status), with its raw code: the usage-limit table can grow from these. */
  | { type: 'unclassified-error'; accountId: string; code: string; upstreamCode: string; message: string };

export interface PoolCounters {
  refreshOk: number;
  refreshFailed: number;
  stateChanges: number;
  queueRejectedFull: number;
  queueRejectedTimeout: number;
  queueLength: number;
}

export interface AccountStatus {
  id: string;
  name: string;
  /** First 6 + last 4 characters of the account's current primary token (refresh token, else access token). */
  maskedToken: string;
  kind: TokenKind;
  /** Expiry of the current access token. */
  expiresAt?: number;
  state: HealthState;
  /** End of the current cooldown or open-circuit period. */
  cooldownUntil?: number;
  /** The cooldown is a rest: Kimi's usage limit is reached, or the daily request budget is spent. */
  restReason?: RestReason;
  /** Requests counted today against the account's daily budget (when it has one). */
  dailyUsed?: number;
  inFlight: number;
  lastError?: string;
  lastUsedAt?: number;
  requests: number;
  failures: number;
}
