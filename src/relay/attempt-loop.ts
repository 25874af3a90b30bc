/**
 * The attempt loop of one upstream request: lease an account, get its credentials, start the
 * call; on failure, decide from the error policy (core/error-policy.ts) whether to retry on
 * the same account, fail over to the next one, migrate a pinned request, or give up. Chat
 * turns (relay.ts) and non-chat calls (unary) both run through it; a chat turn also hands it
 * the failures that happen in the stream before any content reached the client.
 */
import type { Clock } from '../core/clock.js';
import { isProxyError, type ProxyError } from '../core/errors.js';
import { policyOf } from '../core/error-policy.js';
import type { AccountLease, AcquireOptions } from '../accounts/pool.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';

/** The part of the account pool the loop uses. */
export interface LeasePool {
  readonly size: number;
  acquire(opts: AcquireOptions): Promise<AccountLease>;
}

export interface AttemptLoopOptions {
  pool: LeasePool;
  clock: Clock;
  /** Attempts across accounts for one request (a same-account retry does not count). */
  maxAttempts: number;
  /** Base of the jittered backoff before the second and later attempts, and the pause before a same-account retry that asks for one. */
  backoffMs: number;
  /** Jitter source (tests make it deterministic). Default Math.random. */
  random?: () => number;
  onFailover?: (from: string, err: ProxyError) => void;
}

/** What the loop did after a failure: try the same account again, another one, the migrated request, or give up. */
export type AttemptNext = 'retry' | 'failover' | 'migrate' | 'stop';

/** One failed attempt of a request, as the request log shows it. */
export interface AttemptFailure {
  /** The account it failed on (none when no account could be leased). */
  accountId?: string;
  code: string;
  next: AttemptNext;
}

export interface AttemptTarget {
  /** The request may run on this account only (a conversation's upstream chat lives there). */
  accountId?: string;
  /** With `accountId`: when the account or its chat can no longer serve, run unpinned instead (see `migrated`). */
  migratable?: boolean;
  /** Stops the request, the wait for an account included. */
  signal?: AbortSignal;
  /** Told of every failure and what follows it (the request log's retries and failovers). */
  onFailure?: (failure: AttemptFailure) => void;
  /** A chat turn: counts against the account's daily request budget. */
  budgeted?: boolean;
}

/** Starts the call on a leased account; `migrated` says the request left its pinned account. */
export type StartFn<T> = (lease: AccountLease, credentials: AccountCredentials, migrated: boolean) => Promise<T>;

export interface Attempt<T> {
  lease: AccountLease;
  value: T;
}

export class AttemptLoop<T> {
  private readonly tried = new Set<string>();
  private pinnedTo: string | undefined;
  private attemptNo = 1;
  private sameAccountRetried = false;
  /** The same-account retry that `open` starts next waits `backoffMs` first (policy `retryAfterPause`). */
  private pauseBeforeRetry = false;
  private movedOff = false;

  constructor(
    private readonly opts: AttemptLoopOptions,
    private readonly target: AttemptTarget,
    private start: StartFn<T> | undefined,
  ) {
    this.pinnedTo = target.accountId;
  }

  /**
   * No attempt follows (the client has seen content): the start function, and the request it
   * holds (an agent's whole prompt), is let go while the stream runs on.
   */
  settle(): void {
    this.start = undefined;
  }

  /** The request left its pinned account (its account or chat could not serve it). */
  get migrated(): boolean {
    return this.movedOff;
  }

  /**
   * Opens the next attempt. A failure on the way (no slot, no credentials, the call refused)
   * goes through `recover` like a failure in a stream does. `previous` is the failure that
   * ended the attempt before this one: when the pool has nobody left, it is the better answer.
   */
  async open(previous?: unknown): Promise<Attempt<T>> {
    const { start } = this;
    if (!start) throw new Error('AttemptLoop: no attempt may start after settle()');
    const { signal } = this.target;
    let lastError = previous;
    for (;;) {
      if (this.attemptNo > 1) await this.opts.clock.sleep(this.backoff(), signal);
      else if (this.pauseBeforeRetry) await this.opts.clock.sleep(this.opts.backoffMs, signal);
      this.pauseBeforeRetry = false;
      let lease: AccountLease;
      try {
        lease = await this.opts.pool.acquire({ accountId: this.pinnedTo, exclude: this.tried, signal, ...(this.target.budgeted ? { budgeted: true } : {}) });
      } catch (err) {
        if (lastError !== undefined && policyOf(err).noAccountLeft) throw lastError;
        if (!this.recover(err, undefined)) throw err;
        lastError = err;
        continue;
      }
      this.tried.add(lease.account.id);
      try {
        const credentials = await lease.credentials(signal);
        return { lease, value: await start(lease, credentials, this.movedOff) };
      } catch (err) {
        lease.report(err);
        lease.release();
        if (!this.recover(err, lease.account.id)) throw err;
        lastError = err;
      }
    }
  }

  /**
   * Decides what follows a failure (`failedOn`: the account it happened on, when it got that
   * far). True: `open` again. The caller has already reported the failure to the account.
   */
  recover(err: unknown, failedOn: string | undefined): boolean {
    const next = this.decide(err, failedOn);
    const { onFailure } = this.target;
    if (onFailure !== undefined && !this.target.signal?.aborted) {
      onFailure({ ...(failedOn !== undefined ? { accountId: failedOn } : {}), code: codeOf(err), next });
    }
    return next !== 'stop';
  }

  private decide(err: unknown, failedOn: string | undefined): AttemptNext {
    if (this.target.signal?.aborted) return 'stop';
    const policy = policyOf(err);
    const alone = this.pinnedTo !== undefined || this.opts.pool.size <= 1;
    if (failedOn !== undefined && policy.retrySameAccount && alone && !this.sameAccountRetried) {
      this.sameAccountRetried = true;
      this.pauseBeforeRetry = policy.retryAfterPause;
      this.tried.delete(failedOn);
      return 'retry';
    }
    if (this.pinnedTo !== undefined) {
      if (!policy.migrate || !this.target.migratable) return 'stop';
      // A fresh request on any usable account, the old one included when only its chat was lost.
      this.pinnedTo = undefined;
      this.movedOff = true;
      this.tried.clear();
      this.attemptNo = 1;
      this.sameAccountRetried = false;
      return 'migrate';
    }
    if (failedOn === undefined || !policy.failover || this.attemptNo >= this.opts.maxAttempts || this.opts.pool.size <= 1) return 'stop';
    this.attemptNo += 1;
    this.opts.onFailover?.(failedOn, err as ProxyError);
    return 'failover';
  }

  private backoff(): number {
    const base = Math.min(this.opts.backoffMs * 2 ** (this.attemptNo - 2), 2_000);
    const random = this.opts.random ?? Math.random;
    return Math.round(base / 2 + random() * (base / 2));
  }
}

function codeOf(err: unknown): string {
  return isProxyError(err) ? err.code : 'internal_error';
}
