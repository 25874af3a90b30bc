/**
 * Chooses which account serves a request, and keeps dead, expired or throttled tokens away
 * from users while a healthy account exists. The pool keeps the registry of accounts, the
 * wait queue and the ordering; each account admits and releases its own requests.
 *
 * - Per account (account-runtime.ts): health (cooling after 429, a circuit breaker for
 *   5xx/network/timeouts, invalid after a refused token, disabled) and tokens (refresh
 *   before expiry, one refresh at a time per cluster, rotated tokens persisted). With a
 *   store, cooldowns, circuit state and invalid marks are shared with every instance using
 *   it (health-share.ts), and a half-open circuit lets one probe through per cluster.
 * - Selection (selection.ts): weighted round-robin from a store counter, or least-in-flight;
 *   a conversation stays on its account (affinity).
 * - Admission (admission.ts, owned by the account): concurrent slots and start spacing in the
 *   store, the half-open probe; requests that find every slot taken wait in a bounded FIFO
 *   (wait-queue.ts).
 * Every use is a lease (lease.ts): acquire → credentials → report(outcome) → release.
 */
import type { Clock } from '../core/clock.js';
import { ProxyError, isProxyError } from '../core/errors.js';
import { policyOf } from '../core/error-policy.js';
import type { Account, AccountSettings } from './account.js';
import { unlimitedController } from '../core/signals.js';
import { MemoryStore } from '../store/memory.js';
import { AccountRuntime, type RuntimeContext } from './account-runtime.js';
import { RenewalSweep } from '../store/held-slot.js';
import type { AccountLease, PoolLease } from './lease.js';
import { accountOptions, resolvePoolOptions, type ResolvedPoolOptions } from './pool-options.js';
import type { AccountPoolOptions, AccountStatus, PoolCounters, PoolEvent, PoolStore, ProbeFn } from './pool-types.js';
import { laterError } from './later-error.js';
import { orderCandidates, ringCache, type SelectionCandidate } from './selection.js';
import { accountsInvalid } from './accounts-invalid.js';
import { WaitQueue } from './wait-queue.js';

export type { AccountLease } from './lease.js';
export type { AccountPoolOptions, AccountStatus, PoolCounters, PoolEvent, PoolStore, ProbeFn, RefreshFn, SelectionStrategy } from './pool-types.js';

export interface AcquireOptions {
  /** Conversation affinity: only this account may serve. */
  accountId?: string;
  /** Accounts already tried by this request (failover). Ignored with `accountId`. */
  exclude?: ReadonlySet<string>;
  /** A chat turn: counts against the account's daily request budget (other calls — catalog, deletions — do not). */
  budgeted?: boolean;
  signal?: AbortSignal;
}

/** Retry hint when the wait queue is full or a wait timed out. */
const QUEUE_RETRY_AFTER_MS = 1_000;

const shuttingDown = (): ProxyError => new ProxyError('shutting_down', 'The proxy is shutting down.');

interface Ready {
  rt: AccountRuntime;
  probe: boolean;
}

export class AccountPool {
  private readonly clock: Clock;
  private readonly store: PoolStore;
  private readonly opts: ResolvedPoolOptions;
  private readonly probeFn: ProbeFn | undefined;
  private readonly onEvent: ((event: PoolEvent) => void) | undefined;
  private readonly accounts: Account[];
  private readonly runtimes: AccountRuntime[];
  private readonly byId = new Map<string, AccountRuntime>();
  /** Aborted by close(); every in-flight lease listens to it, so it has no listener cap. */
  private readonly closer = unlimitedController();
  private readonly queue: WaitQueue<PoolLease>;
  private readonly ringFor = ringCache();
  private readonly tally = { refreshOk: 0, refreshFailed: 0, stateChanges: 0, queueRejectedFull: 0, queueRejectedTimeout: 0 };
  private started = false;
  /** Health is shared through the store (a store was given and sharing is on). */
  private readonly sharing: boolean;
  private lastHealthSync = -Infinity;
  private healthSyncing: Promise<unknown> | undefined;
  private readonly ctx: RuntimeContext;
  /** Accounts removed at run time; kept in byId until their running requests finish. */
  private readonly removed = new Set<string>();

  constructor(accounts: readonly Account[], options: AccountPoolOptions = {}) {
    const o = resolvePoolOptions(options);
    this.opts = o;
    this.clock = o.clock;
    // Without a store, coordination stays in this process (nothing shared, nothing kept).
    this.store = options.store ?? new MemoryStore(this.clock);
    this.sharing = options.store !== undefined && o.shareHealth;
    this.probeFn = options.probe;
    this.onEvent = options.onEvent;
    this.accounts = [...accounts];
    this.queue = new WaitQueue<PoolLease>(this.clock, o.queuePollMs, this.closer.signal, (lease) => lease.release());
    const ctx: RuntimeContext = {
      clock: this.clock,
      store: this.store,
      refresh: options.refresh,
      closeSignal: this.closer.signal,
      ...accountOptions(o),
      emit: (event) => this.emit(event),
      tally: this.tally,
      wake: () => this.queue.wake(),
      shareHealth: this.sharing,
      leaseMs: o.leaseMs,
      dayTimeZone: o.dayTimeZone,
      renewals: new RenewalSweep(this.clock, o.leaseMs, this.closer.signal),
      storeCall: (op, fn) => this.storeCall(op, fn),
    };
    this.ctx = ctx;
    this.runtimes = this.accounts.map((account) => {
      if (this.byId.has(account.id)) throw new Error(`Duplicate account id ${account.id}`);
      const rt = new AccountRuntime(account, ctx);
      this.byId.set(account.id, rt);
      return rt;
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

  /**
   * Loads persisted token state (rotated refresh tokens, current access tokens) and starts
   * the background loop (due refreshes, expiries, re-checks). Call once before serving.
   */
  async init(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.runtimes.map((rt) => rt.loadPersisted()));
    // Cooldowns, open circuits and invalid marks that other instances (or a previous run) left.
    await this.syncHealth(true);
    void this.backgroundLoop();
  }

  /** Stops background work and fails waiting requests. Leases in use stay valid until released. */
  close(): void {
    if (this.closer.signal.aborted) return;
    this.closer.abort(shuttingDown());
    this.queue.rejectAll(shuttingDown());
  }

  async acquire(opts: AcquireOptions = {}): Promise<AccountLease> {
    if (this.closer.signal.aborted) throw shuttingDown();
    if (this.runtimes.length === 0) {
      throw new ProxyError('no_accounts', 'No Kimi account is configured: set KIMI_TOKENS or an accounts list (see README).');
    }
    opts.signal?.throwIfAborted();
    if (opts.accountId !== undefined && (!this.byId.has(opts.accountId) || this.removed.has(opts.accountId))) {
      throw new ProxyError('account_unavailable', 'The Kimi account that owns this conversation is no longer configured.');
    }
    // FIFO: while others wait, a new request queues behind them.
    let lease = this.queue.size === 0 ? await this.trySlot(opts, undefined) : undefined;
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
          const seconds = Math.round(this.opts.maxWaitMs / 1000);
          return new ProxyError('rate_limited', `Every Kimi account stayed busy for ${seconds} s; retry shortly.`, { retryAfterMs: QUEUE_RETRY_AFTER_MS });
        },
      });
      // Try at once in queue order: a slot may have been freed since, or this request may
      // want an account that the requests ahead of it do not.
      this.queue.wake();
      lease = await waiting;
    }
    try {
      await this.runtime(lease.account.id).awaitStart(opts.signal);
    } catch (err) {
      lease.release();
      throw err;
    }
    return lease;
  }

  /** Replaces an account's token (refresh or access) at runtime; revives an invalid account. */
  async replaceToken(accountId: string, token: string): Promise<AccountStatus> {
    const rt = this.runtime(accountId);
    await rt.replaceToken(token);
    return rt.status();
  }

  /**
   * Checks an account with `probe` (the app's call to the upstream user/subscription
   * endpoint), refreshing first when it has a refresh token. Resolves true when the account
   * works (it becomes healthy), false when it still does not.
   */
  recheck(accountId: string, probe: ProbeFn | undefined = this.probeFn): Promise<boolean> {
    const rt = this.runtime(accountId);
    if (!probe) return Promise.reject(new ProxyError('invalid_request', 'No probe is configured to re-check accounts.'));
    return rt.recheck(probe);
  }

  /**
   * Adds an account at run time (admin API), loading its persisted token state. Throws
   * `already_exists` when an account has the same id, name or token.
   */
  async add(account: Account): Promise<AccountStatus> {
    if (this.closer.signal.aborted) throw shuttingDown();
    const clash = (): void => {
      const other = this.runtimes.find((rt) => rt.id === account.id || rt.account.name === account.name || rt.account.token === account.token);
      if (other) throw new ProxyError('already_exists', `An account with the same name or token already exists (${other.account.name}).`);
    };
    clash();
    const rt = new AccountRuntime(account, this.ctx);
    await rt.loadPersisted();
    await rt.share.sync().catch((err: unknown) => this.storeError('shareHealth', err));
    clash();
    this.removed.delete(account.id);
    this.byId.set(account.id, rt);
    this.runtimes.push(rt);
    this.accounts.push(account);
    this.queue.wake();
    return rt.status();
  }

  /**
   * Removes an account at run time: no new request gets it (conversations pinned to it get
   * `account_unavailable`); requests already running on it finish. False when there is no such account.
   */
  remove(accountId: string): boolean {
    const rt = this.runtimes.find((r) => r.id === accountId);
    if (!rt) return false;
    rt.setDisabled(true);
    this.removed.add(accountId);
    this.runtimes.splice(this.runtimes.indexOf(rt), 1);
    this.accounts.splice(this.accounts.indexOf(rt.account), 1);
    return true;
  }

  /** Changes an account's weight and limits at run time; the next selection and slot use them. */
  updateSettings(accountId: string, settings: Partial<Pick<AccountSettings, 'weight' | 'maxConcurrent' | 'minIntervalMs' | 'dailyRequests'>>): void {
    const rt = this.runtime(accountId);
    const { account } = rt;
    if (settings.dailyRequests !== undefined && settings.dailyRequests !== account.dailyRequests) {
      account.dailyRequests = settings.dailyRequests;
      rt.budgetChanged();
    }
    if (settings.weight !== undefined) account.weight = settings.weight;
    if (settings.maxConcurrent !== undefined) account.maxConcurrent = settings.maxConcurrent;
    if (settings.minIntervalMs !== undefined) account.minIntervalMs = settings.minIntervalMs;
    this.queue.wake();
  }

  /** Enables or disables an account at runtime. */
  setDisabled(accountId: string, disabled: boolean): void {
    this.runtime(accountId).setDisabled(disabled);
  }

  status(): AccountStatus[] {
    return this.runtimes.map((rt) => rt.status());
  }

  counters(): PoolCounters {
    return { ...this.tally, queueLength: this.queue.size };
  }

  // ---- internals --------------------------------------------------------------------

  private runtime(id: string): AccountRuntime {
    const rt = this.byId.get(id);
    if (!rt) throw new ProxyError('not_found', `Unknown Kimi account ${id}.`);
    return rt;
  }

  private emit(event: PoolEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // A metrics hook must not break the pool.
    }
  }

  private storeError(op: string, err: unknown): void {
    this.emit({ type: 'store-error', op, error: err instanceof Error ? err.message : String(err) });
  }

  /**
   * One attempt to take a slot on an eligible account. Returns undefined when the request
   * has to wait; throws when no account can serve it (or none will within the allowed wait).
   */
  private async trySlot(opts: AcquireOptions, full: Set<string> | undefined): Promise<PoolLease | undefined> {
    opts.signal?.throwIfAborted();
    const syncing = this.syncHealth();
    if (syncing) {
      const failure = await syncing;
      // The store does not answer: the slot it would hand out next would fail (or time out) as well.
      if (policyOf(failure).endsSelection) throw failure;
      opts.signal?.throwIfAborted();
    }
    const now = this.clock.now();
    const pinned = opts.accountId !== undefined ? this.runtime(opts.accountId) : undefined;
    const eligible = pinned ? [pinned] : this.runtimes.filter((rt) => !opts.exclude?.has(rt.id));
    const ready: Ready[] = [];
    let pending = false;
    let earliest = Infinity;
    /** Every account that comes back later rests: its usage limit is reached or its daily budget spent. */
    let allResting = true;
    for (const rt of eligible) {
      const av = rt.availability(now);
      if (av.kind === 'ready') ready.push({ rt, probe: av.probe });
      else if (av.kind === 'pending') pending = true;
      else if (av.kind === 'later') {
        earliest = Math.min(earliest, av.until);
        if (av.rest === undefined) allResting = false;
      }
      else if (pinned) {
        const why = pinned.health.invalid ? `: ${pinned.health.invalid.reason}` : '';
        throw new ProxyError('account_unavailable', `The Kimi account that owns this conversation is unavailable (${av.state}${why}).`);
      }
    }
    if (ready.length === 0) {
      if (pending) return undefined;
      if (earliest !== Infinity) {
        const retryAfterMs = earliest - now;
        if (retryAfterMs <= this.opts.maxCooldownWaitMs) return undefined;
        throw laterError(retryAfterMs, allResting);
      }
      const rejected = accountsInvalid(this.runtimes, now);
      if (rejected) throw rejected;
      throw new ProxyError('accounts_exhausted', 'No Kimi account can serve this request: every other account is invalid, disabled or already failed for it.');
    }
    const candidates = ready.filter((c) => !full?.has(c.rt.id));
    if (candidates.length === 0) return undefined;
    for (const c of await this.order(candidates)) {
      const lease = await c.rt.admit(c.probe, opts.signal, opts.budgeted === true);
      if (lease) return lease;
      full?.add(c.rt.id);
    }
    return undefined;
  }

  private async order(ready: Ready[]): Promise<Ready[]> {
    if (ready.length === 1) return ready;
    // Fill-first needs no rotation counter: its order is fixed.
    const position = this.opts.selection === 'fill-first' ? 1 : await this.storeCall('increment', () => this.store.increment('rr'));
    const sel: SelectionCandidate[] = ready.map((c, index) => ({ index, weight: c.rt.account.weight, inFlight: c.rt.inFlight }));
    return orderCandidates(this.opts.selection, sel, position - 1, this.ringFor).map((s) => ready[s.index]!);
  }

  /**
   * Reads the health other instances shared, unless this instance's view is younger than
   * healthSyncMs (`force` reads anyway). Undefined when there is nothing to wait for. Never
   * rejects: a store error is reported, leaves the local view as it is, and is what the
   * promise resolves to.
   */
  private syncHealth(force = false): Promise<unknown> | undefined {
    if (!this.sharing) return undefined;
    if (this.healthSyncing) return this.healthSyncing;
    const now = this.clock.now();
    if (!force && now - this.lastHealthSync < this.opts.healthSyncMs) return undefined;
    this.lastHealthSync = now;
    const run = async (): Promise<unknown> => {
      const results = await Promise.allSettled(this.runtimes.map((rt) => rt.share.sync()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) return undefined;
      this.storeError('shareHealth', failed.reason);
      return failed.reason;
    };
    this.healthSyncing = run().finally(() => {
      this.healthSyncing = undefined;
    });
    return this.healthSyncing;
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

  private async backgroundLoop(): Promise<void> {
    while (!this.closer.signal.aborted) {
      await this.syncHealth();
      const now = this.clock.now();
      for (const rt of this.runtimes) rt.tick(now, this.probeFn, this.opts.recheckIntervalMs);
      try {
        await this.clock.sleep(this.opts.backgroundIntervalMs, this.closer.signal);
      } catch {
        return;
      }
    }
  }
}
