/**
 * The last quota Kimi reported per account (quota.ts: `GetSubscriptionStats` on Connect,
 * `research/usage` on REST), read at a modest interval (QUOTA_POLL_MS) and on demand (an
 * admin re-check, `kimi-proxy check`). The admin API, the dashboard, `/metrics` and the check
 * show it. A failing quota call never marks an account: the quota is informative.
 *
 * The calls go through the pool's re-check path (no concurrency slot, no request spacing, the
 * pool's own token refresh), one account after the other.
 */
import type { Clock } from '../core/clock.js';
import { policyOf } from '../core/error-policy.js';
import { isProxyError } from '../core/errors.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import type { AccountPool } from './pool.js';
import type { AccountQuota } from './quota.js';

export type QuotaReading = AccountQuota | { error: string; checkedAt: number };

export type QuotaFetch = (credentials: AccountCredentials, signal: AbortSignal) => Promise<AccountQuota>;

export interface QuotaWatchOptions {
  pool: Pick<AccountPool, 'list' | 'status' | 'recheck'>;
  fetch: QuotaFetch;
  clock: Clock;
  /** Time between two rounds over every account; 0: only on demand. */
  intervalMs: number;
  /** Longest time one account's quota call may take. */
  timeoutMs?: number;
}

export class QuotaWatch {
  private readonly readings = new Map<string, QuotaReading>();
  private readonly stopper = new AbortController();
  private started = false;

  constructor(private readonly opts: QuotaWatchOptions) {}

  get(accountId: string): QuotaReading | undefined {
    return this.readings.get(accountId);
  }

  /** Keeps a reading made elsewhere (the admin re-check reads the quota with its probe). */
  set(accountId: string, reading: QuotaReading): void {
    this.readings.set(accountId, reading);
  }

  /** Reads an account's quota now; resolves to the reading (an error reading when the call failed). */
  async refresh(accountId: string): Promise<QuotaReading | undefined> {
    const signal = AbortSignal.any([this.stopper.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 15_000)]);
    let reading: QuotaReading | undefined;
    await this.opts.pool
      .recheck(accountId, async (credentials, probeSignal) => {
        try {
          reading = await this.opts.fetch(credentials, AbortSignal.any([probeSignal, signal]));
        } catch (err) {
          reading = { error: isProxyError(err) ? err.code : 'quota_unavailable', checkedAt: this.opts.clock.now() };
          // A refused token is the account's problem, not the quota's: the re-check must fail.
          if (policyOf(err).health === 'reauthenticate') throw err;
        }
      })
      .catch(() => undefined);
    if (reading) this.readings.set(accountId, reading);
    return reading;
  }

  /** Starts the periodic rounds (skipping disabled, invalid and failing accounts: a re-check would close an open circuit). */
  start(): void {
    if (this.started || this.opts.intervalMs <= 0) return;
    this.started = true;
    void this.loop();
  }

  stop(): void {
    this.stopper.abort();
  }

  /** The first round waits one interval: start-up already checks the accounts. */
  private async loop(): Promise<void> {
    while (!this.stopper.signal.aborted) {
      try {
        await this.opts.clock.sleep(this.opts.intervalMs, this.stopper.signal);
      } catch {
        return;
      }
      const usable = this.opts.pool.status().filter((s) => s.state === 'healthy' || s.state === 'cooling');
      for (const s of usable) {
        if (this.stopper.signal.aborted) return;
        await this.refresh(s.id);
      }
    }
  }
}
