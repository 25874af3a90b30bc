/**
 * A slot taken in the store (`acquireSlot`) and kept while in use: renewed by a sweep every
 * third of its lease (see RenewalSweep), taken again if it expired during a stall, and given
 * back by its owner with the current token.
 */
import type { Clock } from '../core/clock.js';
import type { Store } from './store.js';

export type SlotStore = Pick<Store, 'acquireSlot' | 'renewSlot' | 'releaseSlot'>;

export class HeldSlot {
  private released = false;

  constructor(
    private readonly store: SlotStore,
    readonly key: string,
    private current: string,
    /** Slots of `key` that may be held at once (to take it again after an expiry). */
    private readonly limit: number,
    readonly leaseMs: number,
    private readonly onStoreError: (err: unknown) => void = () => undefined,
    /** No renewals after this time (epoch ms): a slot never outlives its owner's own limit. */
    private readonly until = Infinity,
    private readonly clock?: Clock,
  ) {}

  /** The store's token for the slot (it changes when an expired slot had to be taken again). */
  get token(): string {
    return this.current;
  }

  /** Stops renewals; the owner gives the slot back with `token`. */
  markReleased(): void {
    this.released = true;
  }

  /** Extends the slot by a lease; false once it needs no more renewals. */
  async renew(): Promise<boolean> {
    if (this.released || (this.clock !== undefined && this.clock.now() >= this.until)) return false;
    try {
      if (await this.store.renewSlot(this.key, this.current, this.leaseMs)) return true;
      // The lease ran out during a stall: take it again unless someone else did.
      const again = await this.store.acquireSlot(this.key, this.limit, this.leaseMs);
      if (again && !this.released) this.current = again;
      else if (again) await this.store.releaseSlot(this.key, again);
    } catch (err) {
      this.onStoreError(err);
    }
    return !this.released;
  }
}

/** Something kept alive elsewhere that needs renewing while in use; false when no longer. */
export interface Renewable {
  renew(): Promise<boolean>;
}

/**
 * Renews every held item in one sweep every `everyMs`: one timer for all of them instead of
 * a timer, an AbortController and its abort per item (which showed in the hot-path profile).
 * An item added just after a sweep is renewed at the next one, so `everyMs` must be well
 * below the lease it keeps. The loop stops when nothing is held or `closeSignal` aborts.
 */
export class RenewalSweep {
  private readonly held = new Set<Renewable>();
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly everyMs: number,
    private readonly closeSignal?: AbortSignal,
  ) {}

  add(item: Renewable): void {
    this.held.add(item);
    if (!this.running && this.closeSignal?.aborted !== true) void this.loop();
  }

  delete(item: Renewable): void {
    this.held.delete(item);
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.held.size > 0) {
        await this.clock.sleep(this.everyMs, this.closeSignal);
        await Promise.all(
          Array.from(this.held, async (item) => {
            if (!(await item.renew())) this.held.delete(item);
          }),
        );
      }
    } catch {
      // Closed: what is held stays valid until it expires or is given back.
    } finally {
      this.running = false;
    }
  }
}
