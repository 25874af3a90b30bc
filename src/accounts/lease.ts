/**
 * One use of an account: holds a concurrency slot in the store (renewed every leaseMs/3),
 * hands out credentials, takes the outcome report, and gives the slot back exactly once —
 * on release() or when the request's signal aborts.
 */
import type { Clock } from '../core/clock.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import type { Account } from './account.js';
import type { PoolStore } from './pool-types.js';

export interface AccountLease {
  readonly account: Account;
  credentials(signal?: AbortSignal): Promise<AccountCredentials>;
  /** Tells the pool how the request went (success, or the error that ended it). Only the first report counts. */
  report(outcome: 'ok' | unknown): void;
  /** Gives the account back. Idempotent. */
  release(): void;
}

/** What a lease needs from its pool. */
export interface LeaseHost {
  readonly clock: Clock;
  readonly store: PoolStore;
  readonly leaseMs: number;
  readonly renewals: LeaseRenewals;
  credentialsFor(lease: PoolLease, signal: AbortSignal | undefined): Promise<AccountCredentials>;
  reportFor(lease: PoolLease, outcome: unknown): void;
  releasedFor(lease: PoolLease): void;
  storeError(op: string, err: unknown): void;
}

export class PoolLease implements AccountLease {
  /** The access token handed out by credentials() (to tell a stale 401 from a current one). */
  usedToken: string | undefined;
  private reported = false;
  private released = false;
  private readonly onAbort = (): void => this.release();

  constructor(
    readonly account: Account,
    readonly slotKey: string,
    private slotToken: string,
    /** This lease is the half-open circuit's single probe. */
    readonly probe: boolean,
    private readonly maxConcurrent: number,
    private readonly host: LeaseHost,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    host.renewals.add(this);
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** The store's token for the held slot (it changes if an expired lease had to be taken again). */
  get slot(): string {
    return this.slotToken;
  }

  async credentials(signal?: AbortSignal): Promise<AccountCredentials> {
    const creds = await this.host.credentialsFor(this, signal);
    this.usedToken = creds.accessToken;
    return creds;
  }

  report(outcome: 'ok' | unknown): void {
    if (this.reported) return;
    this.reported = true;
    this.host.reportFor(this, outcome);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.host.renewals.delete(this);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.host.releasedFor(this);
  }

  /** Extends the held slot by a lease length; takes one again if it expired during a stall. */
  async renew(): Promise<void> {
    const { store, leaseMs } = this.host;
    try {
      if (await store.renewSlot(this.slotKey, this.slotToken, leaseMs)) return;
      const again = await store.acquireSlot(this.slotKey, this.maxConcurrent, leaseMs);
      if (again && !this.released) this.slotToken = again;
      else if (again) await store.releaseSlot(this.slotKey, again);
    } catch (err) {
      this.host.storeError('renewSlot', err);
    }
  }
}

/**
 * Keeps every held lease's slot alive: one sweep every third of a lease length renews them
 * all. One timer for the pool instead of a timer, a controller and its abort per request
 * (which showed in the hot-path profile); a lease taken just after a sweep is still renewed
 * well before it could expire. The loop stops when nothing is held or the pool closes.
 */
export class LeaseRenewals {
  private readonly held = new Set<PoolLease>();
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly closeSignal: AbortSignal,
  ) {}

  add(lease: PoolLease): void {
    this.held.add(lease);
    if (!this.running && !this.closeSignal.aborted) void this.loop();
  }

  delete(lease: PoolLease): void {
    this.held.delete(lease);
  }

  private async loop(): Promise<void> {
    this.running = true;
    const every = Math.max(1, Math.floor(this.leaseMs / 3));
    try {
      while (this.held.size > 0) {
        await this.clock.sleep(every, this.closeSignal);
        await Promise.all(Array.from(this.held, (lease) => lease.renew()));
      }
    } catch {
      // The pool closed: leases in use stay valid until they expire or are released.
    } finally {
      this.running = false;
    }
  }
}
