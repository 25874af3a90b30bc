/**
 * Writes one streaming response body with full control over socket writes: batching (all
 * bytes pushed between two waits go out in one write) or one write per event, hostile/byte
 * chunking, idle heartbeats during waits, clean ends, cut connections, and client-gone
 * detection.
 */
import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { hostilePieces, mulberry32 } from './prng.js';
import type { Chunking, Writes } from './reply-plan.js';

export interface StreamOutputOptions {
  chunking: Chunking;
  /** `event`: each pushed event is its own socket write, a turn apart, even with no delay. */
  writes?: Writes;
  seed: number;
  /** Written whenever the stream has been idle this long during a wait; 0 = never. */
  heartbeatMs: number;
  heartbeat?: () => Uint8Array;
}

export class StreamOutput {
  private pending: Uint8Array[] = [];
  private lastWrite = Date.now();
  private endedByServer = false;
  private readonly abort = new AbortController();
  private readonly random: () => number;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: StreamOutputOptions,
  ) {
    this.random = mulberry32(opts.seed);
    res.on('close', () => {
      if (!this.endedByServer) this.abort.abort();
    });
  }

  /** True once the client went away before the emulator ended the response. */
  get clientGone(): boolean {
    return this.abort.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Queues bytes; they go out at the next wait, flush or end. */
  push(bytes: Uint8Array): void {
    this.pending.push(bytes);
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0 || this.clientGone) {
      this.pending = [];
      return;
    }
    if (this.opts.writes === 'event') {
      const events = this.pending;
      this.pending = [];
      for (const bytes of events) {
        if (this.clientGone) return;
        await this.writeOut(bytes);
        // The next event waits for a turn of the loop, so that no two share one write.
        await nextTurn();
      }
      return;
    }
    const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    return this.writeOut(bytes);
  }

  private async writeOut(bytes: Uint8Array): Promise<void> {
    this.lastWrite = Date.now();
    if (this.opts.chunking === 'none') return this.write(bytes);
    const pieces = this.opts.chunking === 'byte' ? hostilePieces(bytes, () => 0) : hostilePieces(bytes, this.random);
    for (const piece of pieces) {
      if (this.clientGone) return;
      await this.write(piece);
      // A separate turn per piece keeps pieces from sharing one TCP segment where possible.
      await nextTurn();
    }
  }

  /** Flushes, then idles `ms` (Infinity: until the client leaves), sending heartbeats when due. */
  async wait(ms: number): Promise<void> {
    if (ms <= 0) {
      // With one write per event, each event goes out as soon as it is produced.
      if (this.opts.writes === 'event') await this.flush();
      return;
    }
    await this.flush();
    const deadline = Date.now() + ms;
    while (!this.clientGone) {
      const now = Date.now();
      if (now >= deadline) return;
      const hb = this.opts.heartbeatMs > 0 && this.opts.heartbeat ? this.lastWrite + this.opts.heartbeatMs : Infinity;
      if (now >= hb) {
        this.push(this.opts.heartbeat!());
        await this.flush();
        continue;
      }
      await this.sleep(Math.min(deadline, hb) - now);
    }
  }

  /** Flushes and ends the response cleanly. */
  async end(): Promise<void> {
    await this.flush();
    if (this.clientGone) return;
    this.endedByServer = true;
    if (this.res.destroyed) return;
    // 'finish' never fires when the socket dies first, so 'close' also settles the end.
    await new Promise<void>((resolve) => {
      this.res.once('close', resolve);
      this.res.end(() => {
        this.res.off('close', resolve);
        resolve();
      });
    });
  }

  /** Flushes what was sent so far, then destroys the socket (no terminating chunk). */
  async cut(): Promise<void> {
    await this.flush();
    this.endedByServer = true;
    this.res.socket?.destroy();
    this.res.destroy();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // setTimeout fires after 1 ms for anything above 2^31-1 ms (e.g. an endless stall).
      const timer = setTimeout(done, Math.min(ms, 2_147_483_647));
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** One socket write, resolved once handed to the kernel (or when the client left). */
  private write(bytes: Uint8Array): Promise<void> {
    if (this.clientGone || this.res.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const onClose = (): void => resolve();
      this.res.once('close', onClose);
      this.res.write(bytes, () => {
        this.res.off('close', onClose);
        resolve();
      });
    });
  }
}
