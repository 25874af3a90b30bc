/**
 * One turn at a time per conversation: the lock is a one-slot lease in the store (so it holds
 * across processes sharing the store), renewed while its turn runs, and bounded by the turn's
 * own limit so that it never outlives it.
 */
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import { HeldSlot, RenewalSweep, type SlotStore } from '../store/held-slot.js';

export type Unlock = () => void;

export interface ConversationLocksOptions {
  store: SlotStore;
  clock: Clock;
  /** Bounded wait for a busy conversation before answering 409. */
  waitMs: number;
  /** The longest a turn may hold its lock (every attempt and continuation of the turn included). */
  holdMs: number;
}

const LOCK_POLL_MS = 50;
/**
 * The lease renewed while a turn runs: the lock of a process that died mid-turn (kill -9,
 * crash) frees itself within this time.
 */
const CONVERSATION_LEASE_MS = 10_000;

const lockKey = (owner: string, id: string): string => `conv:${owner}:${id}`;

export class ConversationLocks {
  /** Keeps the locks of running turns alive (renewed every third of their lease). */
  private readonly renewals: RenewalSweep;

  constructor(private readonly opts: ConversationLocksOptions) {
    this.renewals = new RenewalSweep(opts.clock, CONVERSATION_LEASE_MS);
  }

  /** One attempt at the lock; resolves to its unlock function, or undefined when it is held. */
  async tryLock(owner: string, conversationId: string): Promise<Unlock | undefined> {
    const { store, clock } = this.opts;
    const key = lockKey(owner, conversationId);
    const token = await store.acquireSlot(key, 1, CONVERSATION_LEASE_MS);
    if (token === undefined) return undefined;
    const slot = new HeldSlot(store, { key, token, limit: 1, leaseMs: CONVERSATION_LEASE_MS, deadline: { clock, at: clock.now() + this.opts.holdMs } });
    this.renewals.add(slot);
    return () => {
      this.renewals.delete(slot);
      void slot.release().catch(() => undefined);
    };
  }

  /** Takes the lock, waiting up to `waitMs`; then 409. Resolves to the unlock function. */
  async lock(owner: string, conversationId: string, signal: AbortSignal): Promise<Unlock> {
    const { clock } = this.opts;
    const deadline = clock.now() + this.opts.waitMs;
    for (;;) {
      const unlock = await this.tryLock(owner, conversationId);
      if (unlock) return unlock;
      if (clock.now() >= deadline) {
        throw new ProxyError('conversation_busy', 'This conversation is already answering another request; retry when it has finished.', {
          retryAfterMs: 1_000,
        });
      }
      await clock.sleep(LOCK_POLL_MS, signal);
    }
  }
}
