/**
 * Bounded FIFO of requests waiting for a free account slot. Waiters are retried in arrival
 * order whenever something may have freed a slot locally (`wake`) and on a short poll (slots
 * freed by other instances or by expired leases). A waiter leaves on success, on a definite
 * error, when its signal aborts, or at its deadline.
 */
import type { Clock } from '../core/clock.js';
import { STOPPED, linkSignals } from '../core/signals.js';

/** Tries once: a value when served, undefined to keep waiting, or throws to give up. */
export type Attempt<T> = (fullInThisPass: Set<string>) => Promise<T | undefined>;

interface Waiter<T> {
  attempt: Attempt<T>;
  settle(outcome: { value: T } | { error: unknown }): boolean;
}

export interface WaitOptions {
  maxWaitMs: number;
  signal?: AbortSignal;
  timeoutError: () => Error;
}

export class WaitQueue<T> {
  private readonly waiters: Waiter<T>[] = [];
  private draining = false;
  private redrain = false;
  private polling = false;

  constructor(
    private readonly clock: Clock,
    private readonly pollMs: number,
    private readonly closeSignal: AbortSignal,
    /** Gives back a value that arrived for a waiter that had already left. */
    private readonly dispose: (value: T) => void,
  ) {}

  get size(): number {
    return this.waiters.length;
  }

  enqueue(attempt: Attempt<T>, opts: WaitOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = new AbortController();
      let settled = false;
      const onAbort = (): void => void waiter.settle({ error: opts.signal?.reason });
      const waiter: Waiter<T> = {
        attempt,
        settle: (outcome) => {
          if (settled) return false;
          settled = true;
          const i = this.waiters.indexOf(waiter);
          if (i !== -1) this.waiters.splice(i, 1);
          timer.abort(STOPPED);
          opts.signal?.removeEventListener('abort', onAbort);
          if ('value' in outcome) resolve(outcome.value);
          else reject(outcome.error);
          return true;
        },
      };
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // Not AbortSignal.any(): on Node 20 it leaves an entry in the long-lived close signal per wait.
      const deadline = linkSignals([timer.signal, this.closeSignal]);
      this.clock
        .sleep(opts.maxWaitMs, deadline.signal)
        .then(
          () => waiter.settle({ error: opts.timeoutError() }),
          () => undefined,
        )
        .finally(deadline.unlink);
      this.waiters.push(waiter);
      void this.poll();
    });
  }

  /** Something may have become available: retry the waiters now. */
  wake(): void {
    if (this.waiters.length > 0) void this.drain();
  }

  /** Rejects every waiter (shutdown). */
  rejectAll(error: unknown): void {
    for (const w of [...this.waiters]) w.settle({ error });
  }

  private async drain(): Promise<void> {
    if (this.draining) {
      this.redrain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.redrain = false;
        const full = new Set<string>();
        for (const waiter of [...this.waiters]) {
          if (this.closeSignal.aborted) return;
          let value: T | undefined;
          try {
            value = await waiter.attempt(full);
          } catch (error) {
            waiter.settle({ error });
            continue;
          }
          if (value !== undefined && !waiter.settle({ value })) this.dispose(value);
        }
      } while (this.redrain && this.waiters.length > 0);
    } finally {
      this.draining = false;
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      while (this.waiters.length > 0 && !this.closeSignal.aborted) {
        await this.clock.sleep(this.pollMs, this.closeSignal);
        await this.drain();
      }
    } catch {
      // Closed.
    } finally {
      this.polling = false;
    }
  }
}
