/**
 * Chooses which account serves a request, and keeps dead, expired or throttled tokens away
 * from users while a healthy account exists.
 *
 * - Health per account (health.ts): cooling after 429, a circuit breaker for 5xx/network/
 *   timeouts, invalid after a refused token, disabled by configuration.
 * - Tokens per account (token-manager.ts): refresh before expiry, one refresh at a time
 *   (per cluster with a shared store), rotated tokens persisted.
 * - Selection (selection.ts): weighted round-robin from a store counter, or least-in-flight;
 *   a conversation stays on its account (affinity).
 * - Limits: per-account concurrent slots and start spacing in the store; requests that find
 *   every slot taken wait in a bounded FIFO (wait-queue.ts).
 * Every use is a lease (lease.ts): acquire → credentials → report(outcome) → release.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { ProxyError, isProxyError } from '../core/errors.js';
import { isRefreshTokenRejected } from '../upstream/kimi/auth.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import { maskSecret, type Account } from './account.js';
import { AccountHealth, type HealthState, type InvalidCause } from './health.js';
import { PoolLease, type AccountLease, type LeaseHost } from './lease.js';
import { LocalPoolStore } from './local-store.js';
import type { AccountPoolOptions, AccountStatus, PoolCounters, PoolEvent, PoolStore, ProbeFn } from './pool-types.js';
import { orderCandidates, ringCache, type SelectionCandidate } from './selection.js';
import { normalizeToken } from './token-kind.js';
import { TokenManager, type TokenManagerHooks } from './token-manager.js';
import { WaitQueue } from './wait-queue.js';

export type { AccountLease } from './lease.js';
export type { AccountPoolOptions, AccountStatus, PoolCounters, PoolEvent, PoolStore, ProbeFn, RefreshFn, SelectionStrategy } from './pool-types.js';

export interface AcquireOptions {
  /** Conversation affinity: only this account may serve. */
  accountId?: string;
  /** Accounts already tried by this request (failover). Ignored with `accountId`. */
  exclude?: ReadonlySet<string>;
  signal?: AbortSignal;
}

interface Entry {
  index: number;
  account: Account;
  health: AccountHealth;
  tokens: TokenManager;
  inFlight: number;
  requests: number;
  failures: number;
  lastUsedAt: number | undefined;
  lastState: HealthState;
  lastRecheckAt: number;
  rechecking: Promise<boolean> | undefined;
}

type Resolved = Required<Omit<AccountPoolOptions, 'store' | 'refresh' | 'probe' | 'onEvent'>>;

const DEFAULTS: Resolved = {
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
  refreshMarginMs: 300_000,
  minValidityMs: 15_000,
  assumedAccessTtlMs: 300_000,
  backgroundIntervalMs: 10_000,
  refreshLockTtlMs: 60_000,
  refreshPollMs: 250,
  recheckIntervalMs: 300_000,
  random: Math.random,
};

/** Retry hint when the wait queue is full or a wait timed out. */
const QUEUE_RETRY_AFTER_MS = 1_000;

const HEALTH_FAILURES = new Set(['upstream_overloaded', 'upstream_http_error', 'upstream_network_error', 'upstream_timeout']);

export class AccountPool implements LeaseHost {
  readonly clock: Clock;
  readonly store: PoolStore;
  readonly leaseMs: number;
  private readonly opts: Resolved;
  private readonly probeFn: ProbeFn | undefined;
  private readonly onEvent: ((event: PoolEvent) => void) | undefined;
  private readonly entries: Entry[];
  private readonly byId = new Map<string, Entry>();
  private readonly accounts: readonly Account[];
  private readonly closer = new AbortController();
  private readonly queue: WaitQueue<PoolLease>;
  private readonly ringFor = ringCache();
  private readonly tally = { refreshOk: 0, refreshFailed: 0, stateChanges: 0, queueRejectedFull: 0, queueRejectedTimeout: 0 };
  private started = false;

  constructor(accounts: readonly Account[], options: AccountPoolOptions = {}) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AccountPoolOptions;
    this.opts = { ...DEFAULTS, ...defined } as Resolved;
    this.clock = this.opts.clock;
    this.store = options.store ?? new LocalPoolStore(this.clock);
    this.leaseMs = this.opts.leaseMs;
    this.probeFn = options.probe;
    this.onEvent = options.onEvent;
    this.accounts = [...accounts];
    this.queue = new WaitQueue<PoolLease>(this.clock, this.opts.queuePollMs, this.closer.signal, (lease) => lease.release());
    const o = this.opts;
    const healthOpts = {
      breakerThreshold: o.breakerThreshold,
      breakerCoolOffMs: o.breakerCoolOffMs,
      breakerMaxCoolOffMs: o.breakerMaxCoolOffMs,
      rateLimitBaseMs: o.rateLimitBaseMs,
      rateLimitMaxMs: o.rateLimitMaxMs,
      random: o.random,
    };
    const tokenOpts = {
      refreshMarginMs: o.refreshMarginMs,
      minValidityMs: o.minValidityMs,
      assumedAccessTtlMs: o.assumedAccessTtlMs,
      lockTtlMs: o.refreshLockTtlMs,
      pollMs: o.refreshPollMs,
    };
    this.entries = this.accounts.map((account, index) => {
      const entry: Entry = {
        index,
        account,
        health: new AccountHealth(healthOpts, account.disabled),
        tokens: new TokenManager(account, this.store, this.clock, options.refresh, tokenOpts, this.tokenHooks(account.id), this.closer.signal),
        inFlight: 0,
        requests: 0,
        failures: 0,
        lastUsedAt: undefined,
        lastState: account.disabled ? 'disabled' : 'healthy',
        lastRecheckAt: 0,
        rechecking: undefined,
      };
      if (this.byId.has(account.id)) throw new Error(`Duplicate account id ${account.id}`);
      this.byId.set(account.id, entry);
      return entry;
    });
  }

  get size(): number {
    return this.accounts.length;
  }

  list(): readonly Account[] {
    return this.accounts;
  }

  get(id: string): Account | undefined {
    return this.byId.get(id)?.account;
  }

  get closeSignal(): AbortSignal {
    return this.closer.signal;
  }

  /**
   * Loads persisted token state (rotated refresh tokens, current access tokens) and starts
   * the background loop (due refreshes, expiries, re-checks). Call once before serving.
   */
  async init(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(
      this.entries.map(async (e) => {
        try {
          e.tokens.load(await this.store.getAccountState(e.account.stateKey));
        } catch (err) {
          this.storeError('getAccountState', err);
        }
      }),
    );
    void this.backgroundLoop();
  }

  /** Stops background work and fails waiting requests. Leases in use stay valid until released. */
  close(): void {
    if (this.closer.signal.aborted) return;
    this.closer.abort(new ProxyError('shutting_down', 'The proxy is shutting down.'));
    this.queue.rejectAll(new ProxyError('shutting_down', 'The proxy is shutting down.'));
  }

  async acquire(opts: AcquireOptions = {}): Promise<AccountLease> {
    if (this.closer.signal.aborted) throw new ProxyError('shutting_down', 'The proxy is shutting down.');
    if (this.entries.length === 0) {
      throw new ProxyError('no_accounts', 'No Kimi account is configured: set KIMI_TOKENS or an accounts list (see README).');
    }
    opts.signal?.throwIfAborted();
    if (opts.accountId !== undefined && !this.byId.has(opts.accountId)) {
      throw new ProxyError('no_accounts', 'The Kimi account that owns this conversation is no longer configured.');
    }
    let lease: PoolLease | undefined;
    if (this.queue.size === 0) lease = await this.trySlot(opts, undefined);
    if (!lease) {
      if (this.queue.size >= this.opts.maxQueue) {
        this.tally.queueRejectedFull += 1;
        this.emit({ type: 'queue-rejected', reason: 'full' });
        throw new ProxyError('rate_limited', 'Too many requests are waiting for a free Kimi account; retry shortly.', { retryAfterMs: QUEUE_RETRY_AFTER_MS });
      }
      const waiting = this.queue.enqueue((full) => this.trySlot(opts, full), {
        maxWaitMs: this.opts.maxWaitMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeoutError: () => {
          this.tally.queueRejectedTimeout += 1;
          this.emit({ type: 'queue-rejected', reason: 'timeout' });
          return new ProxyError('rate_limited', `Every Kimi account stayed busy for ${Math.round(this.opts.maxWaitMs / 1000)} s; retry shortly.`, {
            retryAfterMs: QUEUE_RETRY_AFTER_MS,
          });
        },
      });
      // Try at once in queue order: a slot may have been freed since, or this request may
      // want an account that the requests ahead of it do not.
      this.queue.wake();
      lease = await waiting;
    }
    await this.waitForStart(lease, opts.signal);
    return lease;
  }

  /** Replaces an account's token (refresh or access) at runtime; revives an invalid account. */
  async replaceToken(accountId: string, token: string): Promise<AccountStatus> {
    const e = this.entry(accountId);
    const normalized = normalizeToken(token);
    if (normalized === '' || /\s/.test(normalized)) throw new ProxyError('invalid_request', 'The token is empty or contains whitespace.', { param: 'token' });
    await e.tokens.replace(normalized);
    e.health.clearInvalid();
    e.health.lastError = undefined;
    const now = this.clock.now();
    this.expireIfNeeded(e, now);
    if (e.tokens.needsRefresh(now) && !e.health.invalid) e.tokens.refreshInBackground();
    this.syncState(e, 'token replaced');
    this.queue.wake();
    return this.statusOf(e);
  }

  /**
   * Checks an account with `probe` (the upstream user/subscription call), refreshing first
   * when it has a refresh token. Success makes it healthy again; failure leaves it as it was.
   */
  recheck(accountId: string, probe: ProbeFn | undefined = this.probeFn): Promise<boolean> {
    const e = this.entry(accountId);
    if (!probe) return Promise.reject(new ProxyError('invalid_request', 'No probe is configured to re-check accounts.'));
    e.rechecking ??= this.runRecheck(e, probe).finally(() => {
      e.rechecking = undefined;
    });
    return e.rechecking;
  }

  /** Enables or disables an account at runtime. */
  setDisabled(accountId: string, disabled: boolean): void {
    const e = this.entry(accountId);
    e.health.disabled = disabled;
    this.syncState(e, disabled ? 'disabled' : 'enabled');
    this.queue.wake();
  }

  status(): AccountStatus[] {
    return this.entries.map((e) => this.statusOf(e));
  }

  counters(): PoolCounters {
    return { ...this.tally, queueLength: this.queue.size };
  }

  // ---- lease host -------------------------------------------------------------------

  async credentialsFor(lease: PoolLease, signal: AbortSignal | undefined): Promise<AccountCredentials> {
    const e = this.entry(lease.account.id);
    if (e.health.invalid) {
      throw new ProxyError('upstream_unauthenticated', `This Kimi account is unavailable: ${e.health.invalid.reason}`, { upstreamCode: 'account_invalid' });
    }
    try {
      return await e.tokens.credentials(signal);
    } finally {
      this.expireIfNeeded(e, this.clock.now());
    }
  }

  reportFor(lease: PoolLease, outcome: unknown): void {
    const e = this.entry(lease.account.id);
    const now = this.clock.now();
    if (outcome === 'ok') {
      e.health.onSuccess(now);
    } else if (isProxyError(outcome)) {
      const code = outcome.code;
      const why = `${code}: ${outcome.message}`;
      if (code === 'upstream_unauthenticated') {
        if (this.onUnauthenticated(e, lease, why)) e.failures += 1;
      } else if (code === 'upstream_rate_limited') {
        e.failures += 1;
        e.health.lastError = why;
        e.health.onRateLimited(now, outcome.retryAfterMs);
      } else if (HEALTH_FAILURES.has(code)) {
        e.failures += 1;
        e.health.lastError = why;
        e.health.onFailure(now, lease.probe);
      }
    }
    this.syncState(e, isProxyError(outcome) ? outcome.code : undefined);
    this.queue.wake();
  }

  releasedFor(lease: PoolLease): void {
    const e = this.entry(lease.account.id);
    e.inFlight = Math.max(0, e.inFlight - 1);
    if (lease.probe) e.health.probeInFlight = false;
    this.store
      .releaseSlot(lease.slotKey, lease.token)
      .catch((err: unknown) => this.storeError('releaseSlot', err))
      .finally(() => this.queue.wake());
  }

  storeError(op: string, err: unknown): void {
    this.emit({ type: 'store-error', op, error: err instanceof Error ? err.message : String(err) });
  }

  // ---- internals --------------------------------------------------------------------

  private entry(id: string): Entry {
    const e = this.byId.get(id);
    if (!e) throw new ProxyError('not_found', `Unknown Kimi account ${id}.`);
    return e;
  }

  /** Returns true when the 401 changed anything (it was about the current token). */
  private onUnauthenticated(e: Entry, lease: PoolLease, why: string): boolean {
    const used = lease.usedToken;
    // No token handed out: the error came from getting credentials, which handled it.
    if (e.health.invalid || used === undefined) return false;
    if (!e.tokens.canRefresh) {
      if (used !== e.tokens.accessToken) return false;
      this.invalidate(e, 'access-rejected', 'Kimi rejected the access token and no refresh token is configured.');
      return true;
    }
    if (!e.tokens.rejectAccess(used)) return false;
    e.health.authFailures += 1;
    if (e.health.authFailures >= 2) {
      this.invalidate(e, 'access-rejected', 'Kimi rejects freshly refreshed access tokens for this account.');
    } else {
      e.health.lastError = why;
      e.tokens.refreshInBackground();
    }
    return true;
  }

  private invalidate(e: Entry, cause: InvalidCause, reason: string): void {
    e.health.markInvalid(cause, reason);
    this.syncState(e, reason);
  }

  private expireIfNeeded(e: Entry, now: number): void {
    if (!e.health.invalid && e.tokens.accessExpired(now)) {
      this.invalidate(e, 'access-expired', 'access token expired; configure a refresh token');
    }
  }

  private refreshing(e: Entry, now: number): boolean {
    return e.tokens.refreshing && e.tokens.needsRefresh(now);
  }

  private syncState(e: Entry, reason?: string): void {
    const to = e.health.state(this.clock.now(), this.refreshing(e, this.clock.now()));
    if (to === e.lastState) return;
    const from = e.lastState;
    e.lastState = to;
    this.tally.stateChanges += 1;
    this.emit({ type: 'state', accountId: e.account.id, from, to, ...(reason !== undefined ? { reason } : {}) });
  }

  private emit(event: PoolEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // A metrics hook must not break the pool.
    }
  }

  /** Hooks of an account's token manager (the entry is looked up on use: it does not exist yet here). */
  private tokenHooks(accountId: string): TokenManagerHooks {
    return {
      onRefreshStart: () => this.syncState(this.entry(accountId), 'refresh started'),
      onRefreshEnd: (outcome) => {
        const e = this.entry(accountId);
        if (outcome.ok) {
          this.tally.refreshOk += 1;
          this.emit({ type: 'refresh', accountId: e.account.id, ok: true, rotated: outcome.rotated });
        } else {
          this.tally.refreshFailed += 1;
          const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
          this.emit({ type: 'refresh', accountId: e.account.id, ok: false, error: message });
          if (isRefreshTokenRejected(outcome.error)) {
            this.invalidate(e, 'refresh-rejected', 'Kimi rejected the refresh token; replace it.');
          } else {
            e.health.lastError = `token refresh failed: ${message}`;
          }
        }
        this.syncState(e, outcome.ok ? 'refreshed' : 'refresh failed');
        this.queue.wake();
      },
      onStoreError: (op, err) => this.storeError(op, err),
    };
  }

  /**
   * One attempt to take a slot on an eligible account. Returns undefined when the request
   * has to wait; throws when no account can serve it (or none will within the allowed wait).
   */
  private async trySlot(opts: AcquireOptions, full: Set<string> | undefined): Promise<PoolLease | undefined> {
    opts.signal?.throwIfAborted();
    const now = this.clock.now();
    const pinned = opts.accountId !== undefined ? this.entry(opts.accountId) : undefined;
    const pool = pinned ? [pinned] : this.entries.filter((e) => !opts.exclude?.has(e.account.id));
    const ready: Array<{ e: Entry; probe: boolean }> = [];
    let pending = false;
    let earliest: number | undefined;
    for (const e of pool) {
      this.expireIfNeeded(e, now);
      this.syncState(e);
      const av = e.health.availability(now, this.refreshing(e, now));
      if (av.kind === 'ready') ready.push({ e, probe: av.probe });
      else if (av.kind === 'pending') pending = true;
      else if (av.kind === 'later') earliest = Math.min(earliest ?? Infinity, av.until);
      else if (pinned) {
        throw new ProxyError('no_accounts', `The Kimi account that owns this conversation is unavailable (${av.state}${pinned.health.invalid ? `: ${pinned.health.invalid.reason}` : ''}).`);
      }
    }
    if (ready.length === 0) {
      if (pending) return undefined;
      if (earliest !== undefined) {
        if (earliest - now <= this.opts.maxCooldownWaitMs) return undefined;
        const retryAfterMs = earliest - now;
        throw new ProxyError('accounts_exhausted', `Every usable Kimi account is cooling down or failing; retry in ${Math.ceil(retryAfterMs / 1000)} s.`, { retryAfterMs });
      }
      if (this.entries.every((e) => e.health.disabled)) throw new ProxyError('no_accounts', 'Every configured Kimi account is disabled.');
      throw new ProxyError('accounts_exhausted', 'No Kimi account can serve this request: every account is invalid, disabled or already failed for it.');
    }
    const candidates = ready.filter((c) => !full?.has(c.e.account.id));
    if (candidates.length === 0) return undefined;
    const ordered = await this.order(candidates);
    for (const c of ordered) {
      const lease = await this.takeSlot(c.e, c.probe, opts.signal);
      if (lease) return lease;
      full?.add(c.e.account.id);
    }
    return undefined;
  }

  private async order(ready: Array<{ e: Entry; probe: boolean }>): Promise<Array<{ e: Entry; probe: boolean }>> {
    if (ready.length === 1) return ready;
    const position = await this.storeCall('increment', () => this.store.increment('rr'));
    const sel: SelectionCandidate[] = ready.map((c, index) => ({ index, weight: c.e.account.weight, inFlight: c.e.inFlight }));
    return orderCandidates(this.opts.selection, sel, position - 1, this.ringFor).map((s) => ready[s.index]!);
  }

  private async takeSlot(e: Entry, probe: boolean, signal: AbortSignal | undefined): Promise<PoolLease | undefined> {
    if (probe) {
      // Exactly one probe while half-open: claim it before any await.
      if (e.health.probeInFlight) return undefined;
      e.health.probeInFlight = true;
    }
    const key = `acct:${e.account.id}`;
    let token: string | undefined;
    try {
      token = await this.storeCall('acquireSlot', () => this.store.acquireSlot(key, e.account.maxConcurrent, this.leaseMs));
    } finally {
      if (probe && !token) e.health.probeInFlight = false;
    }
    if (!token) return undefined;
    // The state may have changed while the store answered.
    const now = this.clock.now();
    const av = e.health.availability(now, this.refreshing(e, now));
    const stillOk = av.kind === 'ready' || (probe && av.kind === 'pending' && !this.refreshing(e, now));
    if (!stillOk || signal?.aborted) {
      if (probe) e.health.probeInFlight = false;
      await this.store.releaseSlot(key, token).catch((err: unknown) => this.storeError('releaseSlot', err));
      signal?.throwIfAborted();
      return undefined;
    }
    e.inFlight += 1;
    e.requests += 1;
    e.lastUsedAt = now;
    return new PoolLease(e.account, key, token, probe, e.account.maxConcurrent, this, signal);
  }

  /** Spacing between request starts on one account (spec C.1): sleeps until the reserved start. */
  private async waitForStart(lease: PoolLease, signal: AbortSignal | undefined): Promise<void> {
    const interval = lease.account.minIntervalMs;
    if (interval <= 0) return;
    try {
      const now = this.clock.now();
      const at = await this.storeCall('reserveStart', () => this.store.reserveStart(`start:${lease.account.id}`, interval, now));
      const delay = at - this.clock.now();
      if (delay > 0) await this.clock.sleep(delay, signal);
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  private async storeCall<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.storeError(op, err);
      if (isProxyError(err)) throw err;
      throw new ProxyError('store_unavailable', `The store failed (${op}).`, { cause: err });
    }
  }

  private async runRecheck(e: Entry, probe: ProbeFn): Promise<boolean> {
    const now = this.clock.now();
    e.lastRecheckAt = now;
    if (e.health.disabled || e.tokens.accessExpired(now)) return false;
    try {
      if (e.tokens.canRefresh && (e.health.invalid?.cause === 'refresh-rejected' || e.tokens.needsRefresh(now))) await e.tokens.refresh();
      await probe(e.tokens.currentCredentials(), this.closer.signal);
    } catch (err) {
      e.health.lastError = `re-check failed: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
    e.health.clearInvalid();
    e.health.onSuccess(this.clock.now());
    e.health.lastError = undefined;
    this.syncState(e, 're-check succeeded');
    this.queue.wake();
    return true;
  }

  /** Due refreshes, access-token expiries and re-checks of invalid accounts. */
  private tick(): void {
    const now = this.clock.now();
    for (const e of this.entries) {
      if (e.health.disabled) continue;
      this.expireIfNeeded(e, now);
      if (e.health.invalid) {
        if (this.probeFn && !e.rechecking && now - e.lastRecheckAt >= this.opts.recheckIntervalMs) {
          this.recheck(e.account.id).catch(() => undefined);
        }
      } else if (e.tokens.canRefresh && !e.tokens.refreshing && now >= e.tokens.nextRetryAt) {
        const due = e.tokens.refreshDueAt();
        if (due !== undefined && now >= due) e.tokens.refreshInBackground();
      }
      this.syncState(e);
    }
  }

  private async backgroundLoop(): Promise<void> {
    while (!this.closer.signal.aborted) {
      this.tick();
      try {
        await this.clock.sleep(this.opts.backgroundIntervalMs, this.closer.signal);
      } catch {
        return;
      }
    }
  }

  private statusOf(e: Entry): AccountStatus {
    const now = this.clock.now();
    const state = e.health.state(now, this.refreshing(e, now));
    const s: AccountStatus = {
      id: e.account.id,
      name: e.account.name,
      maskedToken: maskSecret(e.tokens.primaryToken),
      kind: e.tokens.kind,
      state,
      inFlight: e.inFlight,
      requests: e.requests,
      failures: e.failures,
    };
    const expiresAt = e.tokens.expiresAt;
    if (expiresAt !== undefined) s.expiresAt = expiresAt;
    const until = e.health.blockedUntil(now);
    if (until !== undefined) s.cooldownUntil = until;
    if (e.health.lastError !== undefined) s.lastError = e.health.lastError;
    if (e.lastUsedAt !== undefined) s.lastUsedAt = e.lastUsedAt;
    return s;
  }
}
