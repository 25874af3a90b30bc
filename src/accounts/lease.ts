/**
 * One use of an account: holds a concurrency slot in the store (renewed every leaseMs/3),
 * hands out credentials, takes the outcome report, and gives the slot back exactly once —
 * on release() or when the request's signal aborts. The account it was admitted to
 * (account-runtime.ts) serves the credentials, takes the report and frees the slot.
 */
import type { HeldSlot, RenewalSweep } from '../store/held-slot.js';
import type { AccountCredentials } from '../upstream/kimi/types.js';
import type { Account } from './account.js';

export interface AccountLease {
  readonly account: Account;
  credentials(signal?: AbortSignal): Promise<AccountCredentials>;
  /** Tells the account how the request went (success, or the error that ended it). Only the first report counts. */
  report(outcome: 'ok' | unknown): void;
  /** Gives the account back. Idempotent. */
  release(): void;
}

/** The account a lease was admitted to. */
export interface LeaseOwner {
  readonly account: Account;
  credentials(signal: AbortSignal | undefined): Promise<AccountCredentials>;
  report(lease: PoolLease, outcome: unknown): void;
  /** The lease gave its slot back (called once). */
  released(lease: PoolLease): void;
}

export class PoolLease implements AccountLease {
  /** The access token handed out by credentials() (to tell a stale 401 from a current one). */
  usedToken: string | undefined;
  private reported = false;
  private released = false;
  private readonly onAbort = (): void => this.release();

  constructor(
    private readonly owner: LeaseOwner,
    /** The account's concurrency slot, renewed by the sweep while held. */
    readonly slot: HeldSlot,
    /** This lease is the half-open circuit's single probe. */
    readonly probe: boolean,
    private readonly renewals: RenewalSweep,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    renewals.add(slot);
  }

  get account(): Account {
    return this.owner.account;
  }

  get isReleased(): boolean {
    return this.released;
  }

  async credentials(signal?: AbortSignal): Promise<AccountCredentials> {
    const creds = await this.owner.credentials(signal);
    this.usedToken = creds.accessToken;
    return creds;
  }

  report(outcome: 'ok' | unknown): void {
    if (this.reported) return;
    this.reported = true;
    this.owner.report(this, outcome);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.renewals.delete(this.slot);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.owner.released(this);
  }
}
