/**
 * The account pool the configuration describes: its accounts (KIMI_TOKENS and the accounts
 * file) and its selection, queue, breaker, cooldown and lease settings, with token refresh
 * through the upstream HTTP client. The probe and the event observer come from the caller,
 * which owns the protocol client and the metrics.
 */
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { refreshAccessToken } from '../upstream/kimi/auth.js';
import type { KimiHttp } from '../upstream/kimi/http.js';
import { loadAccounts } from './accounts-config.js';
import { AccountPool } from './pool.js';
import type { AccountPoolOptions } from './pool-types.js';

export interface PoolDeps {
  store: Store;
  clock: Clock;
  http: KimiHttp;
  probe: NonNullable<AccountPoolOptions['probe']>;
  onEvent: NonNullable<AccountPoolOptions['onEvent']>;
}

export function poolFromConfig(config: Config, { store, clock, http, probe, onEvent }: PoolDeps): AccountPool {
  const a = config.accounts;
  const accounts = loadAccounts({
    tokens: config.kimiTokens,
    accounts: a.fromFile,
    tokenDefaults: { maxConcurrent: a.maxConcurrent, minIntervalMs: a.minIntervalMs },
  });
  return new AccountPool(accounts, {
    store,
    clock,
    selection: a.selection,
    dayTimeZone: a.dayTimeZone,
    maxQueue: a.queueMax,
    maxWaitMs: a.queueWaitMs,
    breakerThreshold: a.breakerThreshold,
    breakerCoolOffMs: a.breakerCoolOffMs,
    quotaCooldownMs: a.quotaCooldownMs,
    leaseMs: a.leaseMs,
    healthSyncMs: a.healthSyncMs,
    refresh: ({ account, refreshToken, signal }) =>
      refreshAccessToken(http, refreshToken, account.deviceId, signal, { accountId: account.id, sessionId: account.sessionId, now: () => clock.now() }),
    probe,
    onEvent,
  });
}
