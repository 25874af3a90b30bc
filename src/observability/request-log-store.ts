/**
 * Persists request-log entries in the store off the response path: entries are queued and
 * written in the background, and old ones are pruned periodically (count and age limits).
 * A store that fails loses entries (with a throttled warning), never requests.
 */
import type { Clock } from '../core/clock.js';
import type { RequestLogEntry, Store } from '../store/store.js';

export interface RequestLogStoreOptions {
  store: Pick<Store, 'appendRequestLog' | 'pruneRequestLog'>;
  clock: Clock;
  maxEntries: number;
  maxAgeMs: number;
  /** Default 60 s. */
  pruneIntervalMs?: number;
  /** Entries kept in memory while the store is slow; the oldest are dropped beyond. Default 10 000. */
  maxPending?: number;
  onError: (op: string, err: unknown) => void;
}

/** At most one store warning per this period. */
const WARN_EVERY_MS = 60_000;

export class RequestLogStore {
  private pending: RequestLogEntry[] = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private lastWarnAt = -Infinity;
  private closed = false;
  dropped = 0;

  constructor(private readonly opts: RequestLogStoreOptions) {}

  /** Starts periodic pruning (and prunes once now). */
  start(): void {
    if (this.timer || this.closed) return;
    void this.prune();
    this.timer = setInterval(() => void this.prune(), this.opts.pruneIntervalMs ?? 60_000);
    this.timer.unref();
  }

  add(entry: RequestLogEntry): void {
    if (this.closed) return;
    this.pending.push(entry);
    const max = this.opts.maxPending ?? 10_000;
    if (this.pending.length > max) {
      this.dropped += this.pending.length - max;
      this.pending.splice(0, this.pending.length - max);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  /** Writes everything queued so far. */
  flush(): Promise<void> {
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  async prune(): Promise<void> {
    try {
      await this.opts.store.pruneRequestLog({ maxEntries: this.opts.maxEntries, olderThan: this.opts.clock.now() - this.opts.maxAgeMs });
    } catch (err) {
      this.warn('pruneRequestLog', err);
    }
  }

  /** Stops pruning and writes what is queued. The store itself is closed by its owner. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    // A flush already running when close began may have left entries queued behind it.
    if (this.pending.length > 0) await this.flush();
    this.closed = true;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      for (const entry of batch) {
        try {
          await this.opts.store.appendRequestLog(entry);
        } catch (err) {
          this.dropped += 1;
          this.warn('appendRequestLog', err);
        }
      }
    }
  }

  private warn(op: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.opts.onError(op, err);
  }
}
