/**
 * One use of an account: holds a concurrency slot in the store (renewed every leaseMs/3),
 * hands out credentials, takes the outcome report, and gives the slot back exactly once —
 * on release() or when the request's signal aborts.
 */
import type { HeldSlot, RenewalSweep } from '../store/held-slot.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import type { Account } from './account.js';

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
  readonly renewals: RenewalSweep;
  credentialsFor(lease: PoolLease, signal: AbortSignal | undefined): Promise<AccountCredentials>;
  reportFor(lease: PoolLease, outcome: unknown): void;
  releasedFor(lease: PoolLease): void;
}

export class PoolLease implements AccountLease {
  /** The access token handed out by credentials() (to tell a stale 401 from a current one). */
  usedToken: string | undefined;
  private reported = false;
  private released = false;
  private readonly onAbort = (): void => this.release();

  constructor(
    readonly account: Account,
    /** The account's concurrency slot, renewed by the pool's sweep while held. */
    readonly slot: HeldSlot,
    /** This lease is the half-open circuit's single probe. */
    readonly probe: boolean,
    private readonly host: LeaseHost,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    host.renewals.add(slot);
  }

  get isReleased(): boolean {
    return this.released;
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
    this.host.renewals.delete(this.slot);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.host.releasedFor(this);
  }
}
