/**
 * One use of an account: holds a concurrency slot in the store (renewed every leaseMs/3),
 * hands out credentials, takes the outcome report, and gives the slot back exactly once —
 * on release() or when the request's signal aborts.
 */
import { STOPPED } from '../core/signals.js';
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
  readonly closeSignal: AbortSignal;
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
  private readonly stop = new AbortController();
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
    void this.renewLoop();
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
    this.stop.abort(STOPPED);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.host.releasedFor(this);
  }

  private async renewLoop(): Promise<void> {
    const { clock, store, leaseMs, closeSignal } = this.host;
    const every = Math.max(1, Math.floor(leaseMs / 3));
    // Not AbortSignal.any([stop, closeSignal]): on Node 20 every call leaves an entry in the
    // long-lived close signal for good (nodejs/node#55351), one per lease. A listener that is
    // removed when the loop ends leaves nothing behind.
    if (closeSignal.aborted) return;
    const stopOnClose = (): void => this.stop.abort();
    closeSignal.addEventListener('abort', stopOnClose, { once: true });
    try {
      for (;;) {
        try {
          await clock.sleep(every, this.stop.signal);
        } catch {
          return;
        }
        if (this.released) return;
        try {
          if (await store.renewSlot(this.slotKey, this.slotToken, leaseMs)) continue;
          // The lease expired (a long stall): take a slot again if one is free.
          const again = await store.acquireSlot(this.slotKey, this.maxConcurrent, leaseMs);
          if (again && !this.released) this.slotToken = again;
          else if (again) await store.releaseSlot(this.slotKey, again);
        } catch (err) {
          this.host.storeError('renewSlot', err);
        }
      }
    } finally {
      closeSignal.removeEventListener('abort', stopOnClose);
    }
  }
}
