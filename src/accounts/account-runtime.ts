/**
 * One account at run time: its health, its tokens, its admission (concurrency slots in the
 * store, the half-open circuit's single probe, start spacing, counters), and the transitions
 * driven by request outcomes (`report`), refresh results, expiry, re-checks and token
 * replacement. The pool only chooses which account to ask; the account admits and releases.
 */
import type { Clock } from '../core/clock.js';
import { ERROR_POLICY } from '../core/error-policy.js';
import { ProxyError, isProxyError } from '../core/errors.js';
import { isRefreshTokenRejected } from '../upstream/kimi/auth.js';
import type { RenewalSweep } from '../store/held-slot.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import { maskSecret, type Account } from './account.js';
import { AccountHealth, type Availability, type HealthOptions, type HealthState, type InvalidCause } from './health.js';
import { HealthShare } from './health-share.js';
import { AccountAdmission } from './admission.js';
import type { LeaseOwner, PoolLease } from './lease.js';
import type { AccountStatus, PoolEvent, PoolStore, ProbeFn, RefreshFn } from './pool-types.js';
import { normalizeToken } from './token-kind.js';
import { TokenManager, type TokenManagerOptions } from './token-manager.js';

/** What an account's runtime needs from its pool. */
export interface RuntimeContext {
  clock: Clock;
  store: PoolStore;
  refresh: RefreshFn | undefined;
  closeSignal: AbortSignal;
  health: HealthOptions;
  tokens: TokenManagerOptions;
  emit(event: PoolEvent): void;
  /** Counts state changes and refresh results for metrics. */
  tally: { stateChanges: number; refreshOk: number; refreshFailed: number };
  /** Something may have become available: let waiting requests retry. */
  wake(): void;
  /** Publish health changes to the store and adopt those of other instances (health-share.ts); the half-open probe is then one per cluster. */
  shareHealth?: boolean;
  /** Slot lease length in the store. */
  leaseMs: number;
  /** Renews the slots of running requests. */
  renewals: RenewalSweep;
  /** The time zone whose midnight starts a new day for the daily request budgets. */
  dayTimeZone: string;
  /** Runs a store operation, reporting its failure and turning it into `store_unavailable`. */
  storeCall<T>(op: string, fn: () => Promise<T>): Promise<T>;
}

/** What a finished request tells the account (see PoolLease). */
export interface ReportedLease {
  usedToken: string | undefined;
  probe: boolean;
}


const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class AccountRuntime implements LeaseOwner {
  readonly health: AccountHealth;
  readonly tokens: TokenManager;
  private readonly admission: AccountAdmission;
  private failures = 0;
  private lastState: HealthState;
  private lastRecheckAt = 0;
  private rechecking: Promise<boolean> | undefined;
  /** The account's health as shared with other instances through the store. */
  readonly share: HealthShare;

  constructor(
    readonly account: Account,
    private readonly ctx: RuntimeContext,
  ) {
    this.health = new AccountHealth(ctx.health, account.disabled);
    this.admission = new AccountAdmission(this, ctx);
    this.lastState = account.disabled ? 'disabled' : 'healthy';
    this.tokens = new TokenManager(
      account,
      ctx.store,
      ctx.clock,
      ctx.refresh,
      ctx.tokens,
      {
        onRefreshStart: () => this.syncState('refresh started'),
        onRefreshEnd: (outcome) => this.onRefreshEnd(outcome),
        onStoreError: (op, err) => this.storeError(op, err),
      },
      ctx.closeSignal,
    );
    this.share = new HealthShare(
      {
        stateKey: account.stateKey,
        health: this.health,
        store: ctx.store,
        clock: ctx.clock,
        adoptTokens: (state) => this.tokens.adoptReplaced(state),
        adopted: ({ invalidAt }) => {
          // Marked invalid elsewhere: the periodic re-check counts from the marking.
          if (invalidAt !== undefined) this.lastRecheckAt = Math.max(this.lastRecheckAt, invalidAt);
          this.syncState('shared health');
          ctx.wake();
        },
      },
      ctx.shareHealth === true,
    );
  }

  get id(): string {
    return this.account.id;
  }

  /** Loads the persisted token state (rotated refresh tokens, current access token). */
  async loadPersisted(): Promise<void> {
    try {
      this.tokens.load(await this.ctx.store.getAccountState(this.account.stateKey));
    } catch (err) {
      this.storeError('getAccountState', err);
    }
  }

  /** A refresh is running and the account has no usable access token meanwhile. */
  refreshing(now: number): boolean {
    return this.tokens.refreshing && this.tokens.needsRefresh(now);
  }

  availability(now: number): Availability {
    this.expireIfNeeded(now);
    this.syncState();
    return this.health.availability(now, this.refreshing(now));
  }

  /** Requests running on this account now. */
  get inFlight(): number {
    return this.admission.running;
  }

  /**
   * Admits one request when a slot is free (and, for the half-open circuit's probe, when the
   * probe is not taken here or on another instance). Undefined when the request has to wait.
   */
  admit(probe: boolean, signal: AbortSignal | undefined, budgeted = false): Promise<PoolLease | undefined> {
    return this.admission.admit(probe, signal, budgeted);
  }

  /** Spacing between request starts on this account (spec C.1): sleeps until the start reserved for this one. */
  awaitStart(signal: AbortSignal | undefined): Promise<void> {
    return this.admission.awaitStart(signal);
  }

  /** A lease admitted here gave its slot back. */
  released(lease: PoolLease): void {
    this.admission.released(lease);
  }

  private storeError(op: string, err: unknown): void {
    this.ctx.emit({ type: 'store-error', op, error: messageOf(err) });
  }

  async credentials(signal: AbortSignal | undefined): Promise<AccountCredentials> {
    if (this.health.invalid) {
      throw new ProxyError('upstream_unauthenticated', `This Kimi account is unavailable: ${this.health.invalid.reason}`, { upstreamCode: 'account_invalid' });
    }
    try {
      return await this.tokens.credentials(signal);
    } finally {
      this.expireIfNeeded(this.ctx.clock.now());
    }
  }

  /** Applies a request's outcome as the error policy's `health` column says (core/error-policy.ts). */
  report(lease: ReportedLease, outcome: unknown): void {
    const now = this.ctx.clock.now();
    if (outcome === 'ok') {
      this.health.onSuccess(now);
    } else if (isProxyError(outcome)) {
      const why = `${outcome.code}: ${outcome.message}`;
      switch (ERROR_POLICY[outcome.code].health) {
        case 'reauthenticate':
          if (this.onUnauthenticated(lease, why)) this.failures += 1;
          break;
        case 'cool-down':
          // A Kimi 429 becomes a cooldown here: Retry-After when given, else a growing backoff.
          this.failures += 1;
          this.health.lastError = why;
          this.health.onRateLimited(now, outcome.retryAfterMs);
          break;
        case 'rest': {
          // Kimi's usage limit: rest until its reset time when it gave one, else the configured period.
          this.failures += 1;
          this.health.lastError = why;
          const hint = outcome.retryAfterMs;
          const until = now + (hint !== undefined && Number.isFinite(hint) && hint > 0 ? hint : this.ctx.health.quotaCooldownMs);
          this.health.rest(now, until, 'quota');
          break;
        }
        case 'breaker':
          this.failures += 1;
          this.health.lastError = why;
          this.health.onFailure(now, lease.probe);
          break;
        case 'none':
          break;
      }
      if (outcome.code === 'upstream_generation_error' || outcome.code === 'upstream_http_error') {
        this.ctx.emit({ type: 'unclassified-error', accountId: this.id, code: outcome.code, upstreamCode: outcome.upstreamCode ?? 'none', message: outcome.message });
      }
    }
    this.syncState(isProxyError(outcome) ? outcome.code : undefined);
    this.ctx.wake();
  }

  /** Returns true when the 401 was about the current token (and so changed something). */
  private onUnauthenticated(lease: ReportedLease, why: string): boolean {
    const used = lease.usedToken;
    // No token handed out: the error came from getting credentials, which dealt with it.
    if (this.health.invalid || used === undefined) return false;
    if (!this.tokens.canRefresh) {
      if (used !== this.tokens.accessToken) return false;
      this.invalidate('access-rejected', 'Kimi rejected the access token and no refresh token is configured.');
      return true;
    }
    if (!this.tokens.rejectAccess(used)) return false;
    this.health.authFailures += 1;
    if (this.health.authFailures >= 2) {
      this.invalidate('access-rejected', 'Kimi rejects freshly refreshed access tokens for this account.');
    } else {
      this.health.lastError = why;
      this.tokens.refreshInBackground();
    }
    return true;
  }

  private onRefreshEnd(outcome: { ok: true; rotated: boolean } | { ok: false; error: unknown }): void {
    if (outcome.ok) {
      this.ctx.tally.refreshOk += 1;
      this.ctx.emit({ type: 'refresh', accountId: this.id, ok: true, rotated: outcome.rotated });
    } else {
      this.ctx.tally.refreshFailed += 1;
      const message = messageOf(outcome.error);
      this.ctx.emit({ type: 'refresh', accountId: this.id, ok: false, error: message });
      if (isRefreshTokenRejected(outcome.error)) this.invalidate('refresh-rejected', 'Kimi rejected the refresh token; replace it.');
      else this.health.lastError = `token refresh failed: ${message}`;
    }
    this.syncState(outcome.ok ? 'refreshed' : 'refresh failed');
    this.ctx.wake();
  }

  private invalidate(cause: InvalidCause, reason: string): void {
    this.health.markInvalid(cause, reason);
    // Just found unusable: the first periodic re-check is one interval away.
    this.lastRecheckAt = this.ctx.clock.now();
    this.syncState(reason);
  }

  expireIfNeeded(now: number): void {
    if (!this.health.invalid && this.tokens.accessExpired(now)) {
      this.invalidate('access-expired', 'access token expired; configure a refresh token');
    }
  }

  /** Emits a state event when the derived state differs from the last one seen. */
  syncState(reason?: string): void {
    if (this.share.capture()) this.share.sync().catch((err: unknown) => this.storeError('shareHealth', err));
    const now = this.ctx.clock.now();
    const to = this.health.state(now, this.refreshing(now));
    if (to === this.lastState) return;
    const from = this.lastState;
    this.lastState = to;
    this.ctx.tally.stateChanges += 1;
    this.ctx.emit({ type: 'state', accountId: this.id, from, to, ...(reason !== undefined ? { reason } : {}) });
  }

  async replaceToken(token: string): Promise<void> {
    const normalized = normalizeToken(token);
    if (normalized === '' || /\s/.test(normalized)) throw new ProxyError('invalid_request', 'The token is empty or contains whitespace.', { param: 'token' });
    await this.tokens.replace(normalized);
    this.share.noteReplaced();
    this.health.clearInvalid();
    this.health.lastError = undefined;
    const now = this.ctx.clock.now();
    this.expireIfNeeded(now);
    if (!this.health.invalid && this.tokens.needsRefresh(now)) this.tokens.refreshInBackground();
    this.syncState('token replaced');
    this.ctx.wake();
  }

  /** The daily budget is spent: the account rests until the next day begins. */
  restUntil(until: number): void {
    this.health.rest(this.ctx.clock.now(), until, 'daily-budget');
    this.syncState('daily request budget spent');
    this.ctx.wake();
  }

  /** The daily budget was changed at run time: a rest it caused ends (the next request counts again). */
  budgetChanged(): void {
    this.health.endRest('daily-budget');
    this.syncState('daily request budget changed');
    this.ctx.wake();
  }

  setDisabled(disabled: boolean): void {
    this.health.disabled = disabled;
    this.syncState(disabled ? 'disabled' : 'enabled');
    this.ctx.wake();
  }

  /** Refreshes (when it can) and runs `probe`; success makes the account healthy again. */
  recheck(probe: ProbeFn): Promise<boolean> {
    this.rechecking ??= this.runRecheck(probe).finally(() => {
      this.rechecking = undefined;
    });
    return this.rechecking;
  }

  private async runRecheck(probe: ProbeFn): Promise<boolean> {
    const now = this.ctx.clock.now();
    this.lastRecheckAt = now;
    if (this.health.disabled || this.tokens.accessExpired(now)) return false;
    try {
      if (this.tokens.canRefresh && (this.health.invalid?.cause === 'refresh-rejected' || this.tokens.needsRefresh(now))) await this.tokens.refresh();
      await probe(this.tokens.currentCredentials(), this.ctx.closeSignal);
    } catch (err) {
      this.health.lastError = `re-check failed: ${messageOf(err)}`;
      return false;
    }
    this.health.clearInvalid();
    this.health.onSuccess(this.ctx.clock.now());
    this.health.lastError = undefined;
    this.syncState('re-check succeeded');
    this.ctx.wake();
    return true;
  }

  /** Background work: expiry, due refresh, periodic re-check of an invalid account. */
  tick(now: number, probe: ProbeFn | undefined, recheckIntervalMs: number): void {
    if (this.health.disabled) return;
    this.expireIfNeeded(now);
    if (this.health.invalid) {
      if (probe && !this.rechecking && now - this.lastRecheckAt >= recheckIntervalMs) this.recheck(probe).catch(() => undefined);
    } else if (this.tokens.canRefresh && !this.tokens.refreshing && now >= this.tokens.nextRetryAt) {
      const due = this.tokens.refreshDueAt();
      if (due !== undefined && now >= due) this.tokens.refreshInBackground();
    }
    this.syncState();
  }

  status(): AccountStatus {
    const now = this.ctx.clock.now();
    this.expireIfNeeded(now);
    this.syncState();
    const s: AccountStatus = {
      id: this.id,
      name: this.account.name,
      maskedToken: maskSecret(this.tokens.primaryToken),
      kind: this.tokens.kind,
      state: this.lastState,
      inFlight: this.admission.running,
      requests: this.admission.admitted,
      failures: this.failures,
    };
    const expiresAt = this.tokens.expiresAt;
    if (expiresAt !== undefined) s.expiresAt = expiresAt;
    const until = this.health.blockedUntil(now);
    if (until !== undefined) s.cooldownUntil = until;
    const rest = this.health.restReason(now);
    if (rest !== undefined) s.restReason = rest;
    const dailyUsed = this.admission.dailyUsed(now);
    if (dailyUsed !== undefined) s.dailyUsed = dailyUsed;
    if (this.health.lastError !== undefined) s.lastError = this.health.lastError;
    if (this.admission.lastUsedAt !== undefined) s.lastUsedAt = this.admission.lastUsedAt;
    return s;
  }
}
