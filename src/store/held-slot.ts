/**
 * A slot taken in the store (`acquireSlot`) and kept while in use: renewed by a sweep every
 * third of its lease (see RenewalSweep), taken again if it expired during a stall, and given
 * back exactly once with its current token.
 */
import type { Clock } from '../core/clock.js';
import type { Store } from './store.js';

export type SlotStore = Pick<Store, 'acquireSlot' | 'renewSlot' | 'releaseSlot'>;

export interface HeldSlotOptions {
  key: string;
  /** The token `acquireSlot` handed out. */
  token: string;
  /** Slots of `key` that may be held at once (to take it again after an expiry). */
  limit: number;
  leaseMs: number;
  /** A renewal the store failed (the next sweep tries again). */
  onStoreError?: (err: unknown) => void;
  /** No renewals after `at` (epoch ms on `clock`): a slot never outlives its owner's own limit. */
  deadline?: { clock: Clock; at: number };
}

export class HeldSlot {
  readonly key: string;
  private current: string;
  private released = false;

  constructor(
    private readonly store: SlotStore,
    private readonly opts: HeldSlotOptions,
  ) {
    this.key = opts.key;
    this.current = opts.token;
  }

  /** The store's token for the slot (it changes when an expired slot had to be taken again). */
  get token(): string {
    return this.current;
  }

  /** Stops renewals and gives the slot back (once; later calls resolve at once). */
  release(): Promise<void> {
    if (this.released) return Promise.resolve();
    this.released = true;
    return this.store.releaseSlot(this.key, this.current);
  }

  /** Extends the slot by a lease; false once it needs no more renewals. */
  async renew(): Promise<boolean> {
    const { deadline, leaseMs } = this.opts;
    if (this.released || (deadline !== undefined && deadline.clock.now() >= deadline.at)) return false;
    try {
      if (await this.store.renewSlot(this.key, this.current, leaseMs)) return true;
      // The lease ran out during a stall: take it again unless someone else did.
      const again = await this.store.acquireSlot(this.key, this.opts.limit, leaseMs);
      if (again && !this.released) this.current = again;
      else if (again) await this.store.releaseSlot(this.key, again);
    } catch (err) {
      this.opts.onStoreError?.(err);
    }
    return !this.released;
  }
}

/** Something kept alive elsewhere that needs renewing while in use; false when no longer. */
export interface Renewable {
  renew(): Promise<boolean>;
}

/**
 * Renews every held item in one sweep every third of `leaseMs`: one timer for all of them
 * instead of a timer, an AbortController and its abort per item (which showed in the hot-path
 * profile). An item added just after a sweep is renewed at the next one, well before its
 * lease runs out. The loop stops when nothing is held or `closeSignal` aborts.
 */
export class RenewalSweep {
  private readonly held = new Set<Renewable>();
  private readonly everyMs: number;
  private running = false;

  constructor(
    private readonly clock: Clock,
    leaseMs: number,
    private readonly closeSignal?: AbortSignal,
  ) {
    this.everyMs = Math.max(1, Math.floor(leaseMs / 3));
  }

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
