/**
 * The tokens of one account: the refresh token (possibly rotated), the current access token
 * and its expiry. Refreshes run one at a time per account (callers share the promise) and,
 * through the store's lock, one at a time per cluster: an instance that does not get the
 * lock waits for the holder's result in the store. Rotated tokens are persisted so that a
 * restart does not lose them.
 */
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { AccountState } from '../store/store.js';
import type { RefreshResult } from '../upstream/kimi/auth.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import type { Account } from './account.js';
import type { PoolStore, RefreshFn } from './pool-types.js';
import { describeToken, normalizeToken, type TokenKind } from './token-kind.js';

export interface TokenManagerOptions {
  refreshMarginMs: number;
  minValidityMs: number;
  assumedAccessTtlMs: number;
  lockTtlMs: number;
  pollMs: number;
}

export interface TokenManagerHooks {
  onRefreshStart(): void;
  onRefreshEnd(outcome: { ok: true; rotated: boolean } | { ok: false; error: unknown }): void;
  onStoreError(op: string, err: unknown): void;
}

interface AccessToken {
  token: string;
  expiresAt: number | undefined;
  issuedAt: number;
  userId: string | undefined;
}

export class TokenManager {
  private refreshToken: string | undefined;
  private access: AccessToken | undefined;
  /** An access token the upstream refused: never adopted again from the store. */
  private rejected: string | undefined;
  private inflight: Promise<void> | undefined;
  /** Bumped by replace(): a refresh started before must not overwrite the new token. */
  private epoch = 0;
  /** Background refreshes after a transient failure wait until then. */
  nextRetryAt = 0;
  private retryStrikes = 0;
  private lastCredentials: AccountCredentials | undefined;

  constructor(
    private readonly account: Account,
    private readonly store: PoolStore,
    private readonly clock: Clock,
    private readonly refreshFn: RefreshFn | undefined,
    private readonly opts: TokenManagerOptions,
    private readonly hooks: TokenManagerHooks,
    private readonly closeSignal: AbortSignal,
  ) {
    this.setToken(account.token);
  }

  /** Kind of the token that identifies the account now (the refresh token when there is one). */
  get kind(): TokenKind {
    return describeToken(this.primaryToken).kind;
  }

  get primaryToken(): string {
    return this.refreshToken ?? this.access?.token ?? this.account.token;
  }

  /** True when access tokens come from refreshing. */
  get canRefresh(): boolean {
    return this.refreshToken !== undefined && this.refreshFn !== undefined;
  }

  get refreshing(): boolean {
    return this.inflight !== undefined;
  }

  get accessToken(): string | undefined {
    return this.access?.token;
  }

  get expiresAt(): number | undefined {
    return this.access?.expiresAt;
  }

  /** Only an access token, and it has expired: nothing can bring the account back but a new token. */
  accessExpired(now: number): boolean {
    return !this.canRefresh && this.access?.expiresAt !== undefined && now >= this.access.expiresAt;
  }

  hasUsableAccess(now: number): boolean {
    if (!this.access) return false;
    if (this.access.expiresAt === undefined) return true;
    return this.access.expiresAt - now > (this.canRefresh ? this.minValidity(this.access) : 0);
  }

  /** Validity a token must have left to be used: minValidityMs, but at most a tenth of its lifetime (short-lived tokens stay usable). */
  private minValidity(a: AccessToken): number {
    if (a.expiresAt === undefined) return this.opts.minValidityMs;
    return Math.min(this.opts.minValidityMs, 0.1 * Math.max(0, a.expiresAt - a.issuedAt));
  }

  /** When the current access token should be replaced (undefined when it cannot be refreshed). */
  refreshDueAt(): number | undefined {
    if (!this.canRefresh) return undefined;
    if (!this.access) return 0;
    const a = this.access;
    if (a.expiresAt === undefined) return a.issuedAt + this.opts.assumedAccessTtlMs;
    const lifetime = Math.max(0, a.expiresAt - a.issuedAt);
    return a.expiresAt - Math.min(this.opts.refreshMarginMs, 0.2 * lifetime);
  }

  /** Waiting on a refresh is needed before the account can serve a request. */
  needsRefresh(now: number): boolean {
    return this.canRefresh && !this.hasUsableAccess(now);
  }

  currentCredentials(): AccountCredentials {
    const token = this.access?.token ?? this.refreshToken ?? this.account.token;
    const userId = this.access?.userId;
    const last = this.lastCredentials;
    // The same object while the token stays the same: the HTTP layer keys its header cache on it.
    if (last && last.accessToken === token && last.userId === userId) return last;
    const creds: AccountCredentials = { accountId: this.account.id, accessToken: token, deviceId: this.account.deviceId, sessionId: this.account.sessionId };
    if (userId !== undefined) creds.userId = userId;
    this.lastCredentials = Object.freeze(creds);
    return creds;
  }

  /** Credentials for a request; refreshes first when the access token is missing or about to expire. */
  async credentials(signal?: AbortSignal): Promise<AccountCredentials> {
    signal?.throwIfAborted();
    const now = this.clock.now();
    if (!this.canRefresh) {
      if (this.accessExpired(now)) {
        throw new ProxyError('upstream_unauthenticated', 'The access token of this Kimi account has expired; configure a refresh token.', {
          upstreamCode: 'access_token_expired',
        });
      }
      return this.currentCredentials();
    }
    if (this.hasUsableAccess(now)) {
      const due = this.refreshDueAt();
      if (due !== undefined && now >= due && !this.inflight && now >= this.nextRetryAt) this.refreshInBackground();
      return this.currentCredentials();
    }
    // A second round covers a refresh that was overtaken by replace() while we waited.
    for (let round = 0; round < 2 && !this.hasUsableAccess(this.clock.now()); round++) await abortable(this.refresh(), signal);
    if (!this.hasUsableAccess(this.clock.now())) {
      throw new ProxyError('upstream_unauthenticated', 'Refreshing did not produce a usable Kimi access token.', { upstreamCode: 'refresh_unusable_token' });
    }
    return this.currentCredentials();
  }

  refreshInBackground(): void {
    this.refresh().catch(() => undefined);
  }

  /** Refreshes now (or joins the refresh in progress). */
  refresh(): Promise<void> {
    if (!this.canRefresh) return Promise.reject(new ProxyError('upstream_unauthenticated', 'This Kimi account has no refresh token.'));
    if (!this.inflight) {
      this.inflight = this.runRefresh().then(
        (rotated) => {
          this.inflight = undefined;
          this.retryStrikes = 0;
          this.nextRetryAt = 0;
          this.hooks.onRefreshEnd({ ok: true, rotated });
        },
        (error: unknown) => {
          this.inflight = undefined;
          this.retryStrikes += 1;
          this.nextRetryAt = this.clock.now() + Math.min(300_000, 5_000 * 2 ** Math.min(this.retryStrikes - 1, 10));
          this.hooks.onRefreshEnd({ ok: false, error });
          throw error;
        },
      );
      this.hooks.onRefreshStart();
    }
    return this.inflight;
  }

  /** The upstream refused `token` (401): drop it so the next use refreshes. False when it is not current any more. */
  rejectAccess(token: string): boolean {
    if (this.access?.token !== token) return false;
    this.rejected = token;
    this.access = undefined;
    return true;
  }

  /** Replaces the account's token (refresh or access) and persists it. */
  async replace(token: string): Promise<void> {
    this.epoch += 1;
    this.rejected = undefined;
    this.nextRetryAt = 0;
    this.retryStrikes = 0;
    this.setToken(normalizeToken(token));
    await this.persist(await this.readState(), true);
  }

  /** Adopts persisted state (a rotated refresh token, a still valid access token). */
  load(state: AccountState | undefined): void {
    if (!state) return;
    if (state.refreshToken) this.refreshToken = state.refreshToken;
    this.adoptAccess(state, this.clock.now());
  }

  /**
   * Takes over tokens that another instance put in place with replace(), as read back from
   * the store (the replacement, possibly refreshed or rotated since). A refresh still running
   * here with the old tokens is ignored when it ends.
   */
  adoptReplaced(state: AccountState | undefined): void {
    const token = state?.refreshToken ?? state?.accessToken;
    if (!state || !token) return;
    this.epoch += 1;
    this.rejected = undefined;
    this.nextRetryAt = 0;
    this.retryStrikes = 0;
    this.setToken(token);
    if (state.refreshToken !== undefined) this.adoptAccess(state, this.clock.now());
  }

  private setToken(token: string): void {
    const info = describeToken(token);
    if (info.kind === 'access') {
      this.refreshToken = undefined;
      this.access = { token, expiresAt: info.expiresAt, issuedAt: info.issuedAt ?? this.clock.now(), userId: info.userId };
    } else {
      this.refreshToken = token;
      this.access = undefined;
      // Without a way to refresh, the token is sent as it is (an upstream that accepts it directly).
      if (!this.refreshFn) this.access = { token, expiresAt: undefined, issuedAt: this.clock.now(), userId: info.userId };
    }
  }

  /** Takes the access token from `state` when it is newer than ours and still good. */
  private adoptAccess(state: AccountState | undefined, now: number): boolean {
    const token = state?.accessToken;
    if (!state || !token || token === this.access?.token || token === this.rejected) return false;
    const info = describeToken(token);
    const expiresAt = state.accessTokenExpiresAt ?? info.expiresAt;
    const candidate: AccessToken = { token, expiresAt, issuedAt: info.issuedAt ?? state.updatedAt, userId: info.userId };
    if (expiresAt !== undefined && expiresAt - now <= this.minValidity(candidate)) return false;
    const previous = this.access;
    this.access = candidate;
    const due = this.refreshDueAt();
    if (this.canRefresh && due !== undefined && now >= due) {
      this.access = previous;
      return false;
    }
    if (state.refreshToken && this.refreshToken !== undefined) this.refreshToken = state.refreshToken;
    return true;
  }

  /** Returns whether the refresh token rotated. */
  private async runRefresh(): Promise<boolean> {
    const lockKey = `refresh:${this.account.id}`;
    let lock = await this.takeLock(lockKey);
    if (lock === undefined) {
      const waited = await this.waitForPeer(lockKey);
      if (waited === 'adopted') return false;
      lock = waited;
    }
    try {
      const epoch = this.epoch;
      const state = await this.readState();
      if (this.adoptAccess(state, this.clock.now())) return false;
      // Another instance may have rotated the refresh token since we read it.
      if (state?.refreshToken) this.refreshToken = state.refreshToken;
      const used = this.refreshToken;
      const refreshFn = this.refreshFn;
      if (used === undefined || !refreshFn) return false;
      let result: RefreshResult;
      try {
        result = await refreshFn({ account: this.account, refreshToken: used, signal: this.closeSignal });
      } catch (err) {
        // The token was replaced meanwhile: the old one's fate no longer matters.
        if (epoch !== this.epoch) return false;
        throw err;
      }
      if (epoch !== this.epoch) return false;
      const rotated = this.apply(result, used);
      await this.persist(state, false);
      return rotated;
    } finally {
      if (lock !== null) await this.store.releaseLock(lockKey, lock).catch((err: unknown) => this.hooks.onStoreError('releaseLock', err));
    }
  }

  /** The lock token; undefined when another instance holds it; null when the store failed (refresh anyway). */
  private async takeLock(lockKey: string): Promise<string | undefined | null> {
    try {
      return await this.store.tryLock(lockKey, this.opts.lockTtlMs);
    } catch (err) {
      this.hooks.onStoreError('tryLock', err);
      return null;
    }
  }

  /** Another instance holds the refresh lock: wait for its token in the store, or for the lock. */
  private async waitForPeer(lockKey: string): Promise<'adopted' | string | null> {
    const deadline = this.clock.now() + 2 * this.opts.lockTtlMs;
    while (this.clock.now() < deadline) {
      await this.clock.sleep(this.opts.pollMs, this.closeSignal);
      if (this.adoptAccess(await this.readState(), this.clock.now())) return 'adopted';
      const lock = await this.takeLock(lockKey);
      if (lock !== undefined) return lock;
    }
    throw new ProxyError('upstream_timeout', 'Timed out waiting for another instance to refresh the Kimi token.', { upstreamCode: 'refresh_lock_timeout' });
  }

  private apply(result: RefreshResult, used: string): boolean {
    const now = this.clock.now();
    const info = describeToken(result.accessToken);
    const issuedAt = info.issuedAt !== undefined && info.issuedAt <= now ? info.issuedAt : now;
    this.access = { token: result.accessToken, expiresAt: result.expiresAt ?? info.expiresAt ?? now + this.opts.assumedAccessTtlMs, issuedAt, userId: info.userId };
    this.rejected = undefined;
    const rotated = result.refreshToken !== undefined && result.refreshToken !== used;
    if (rotated) this.refreshToken = result.refreshToken;
    return rotated;
  }

  private async readState(): Promise<AccountState | undefined> {
    try {
      return await this.store.getAccountState(this.account.stateKey);
    } catch (err) {
      this.hooks.onStoreError('getAccountState', err);
      return undefined;
    }
  }

  /** Saves the tokens; `replaceAll` also clears fields that no longer apply. */
  private async persist(previous: AccountState | undefined, replaceAll: boolean): Promise<void> {
    const state: AccountState = { ...(replaceAll ? {} : previous), accountId: this.account.stateKey, updatedAt: this.clock.now() };
    if (previous?.health !== undefined) state.health = previous.health;
    if (this.refreshToken !== undefined) state.refreshToken = this.refreshToken;
    else delete state.refreshToken;
    if (this.access && this.access.token !== this.refreshToken) {
      state.accessToken = this.access.token;
      if (this.access.expiresAt !== undefined) state.accessTokenExpiresAt = this.access.expiresAt;
      else delete state.accessTokenExpiresAt;
    } else {
      delete state.accessToken;
      delete state.accessTokenExpiresAt;
    }
    try {
      await this.store.saveAccountState(state);
    } catch (err) {
      this.hooks.onStoreError('saveAccountState', err);
    }
  }
}

/** Waits for `promise`, or rejects with the signal's reason when it aborts first (the promise keeps running). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
