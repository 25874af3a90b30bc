/**
 * Server-sent events over a Node `ServerResponse` (Fastify: `reply.raw`, after `reply.hijack()`).
 *
 * - Backpressure: `write()` resolves at once while the socket buffer has room and waits for
 *   'drain' when it does not, so a slow client holds back the producer instead of growing
 *   memory.
 * - Coalescing: frames written in the same tick are joined and handed to the socket as one
 *   write on the next tick (one HTTP chunk, one syscall). This is what cork/uncork-on-nextTick
 *   achieves, without the per-frame cost of the HTTP chunk framing. A large tick is flushed
 *   early so that the join stays bounded.
 * - Keep-alive: when nothing was written for `keepAliveMs`, an SSE comment (`: ping`) goes
 *   out, so proxies and client idle timers do not cut long silences.
 * - Client gone: `closed` turns true, `signal` aborts, pending writes resolve false, and
 *   `pipe()` stops pulling and calls the source's `return()`.
 */
import type { ServerResponse } from 'node:http';

export interface SseWriterOptions {
  /** Idle time before a `: ping` comment is written. 0 disables keep-alives. */
  keepAliveMs: number;
  /** Extra response headers (e.g. x-request-id); they may override the defaults. */
  headers?: Record<string, string>;
  /** The keep-alive frame; default an SSE comment. Anthropic clients expect `event: ping`. */
  pingFrame?: string;
}

export type PipeResult = 'completed' | 'client_closed';

/** Joined frames are flushed early once they reach this many characters. */
const FLUSH_AT = 64 * 1024;
const PING = ': ping\n\n';
const RESOLVED_TRUE = Promise.resolve(true);
const RESOLVED_FALSE = Promise.resolve(false);
const CLOSED = Symbol('closed');

export class SseWriter {
  readonly #res: ServerResponse;
  readonly #opts: SseWriterOptions;
  /** Made on first use of `signal` (most requests never ask for it). */
  #abort: AbortController | undefined;
  #closed = false;
  #ended = false;
  #opened = false;
  #pending = '';
  #flushScheduled = false;
  #headersPending = false;
  #needDrain = false;
  #drainWaiters: Array<(ok: boolean) => void> = [];
  #lastWrite = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Wakes a `pipe()` that is waiting on its source when the client goes away. */
  #wake: ((value: typeof CLOSED) => void) | undefined;

  constructor(res: ServerResponse, opts: SseWriterOptions) {
    this.#res = res;
    this.#opts = opts;
    res.on('close', this.#onClose);
    res.on('drain', this.#onDrain);
    // A response that fails to write is a client that can no longer be reached.
    res.on('error', this.#onError);
    if (res.writableEnded) {
      this.#ended = true;
    } else if (res.destroyed || res.socket?.destroyed === true) {
      // The client left before this writer existed: 'close' has already fired.
      this.#clientGone();
    }
  }

  /** The client has gone away (the response closed before it was ended). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Aborts when the client goes away: hand it to whatever produces the frames. */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#closed) this.#abort.abort(clientClosed());
    }
    return this.#abort.signal;
  }

  /** Writes status 200 and the SSE headers; they leave within this tick (see below). */
  open(): void {
    if (this.#opened || this.#closed) return;
    this.#opened = true;
    const res = this.#res;
    if (!res.headersSent) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
        ...this.#opts.headers,
      });
      // Sent on the next tick: with the first frames when they come in this tick (the role
      // chunk always does), in the same write, otherwise alone. Either way at once.
      this.#headersPending = true;
      this.#scheduleFlush();
    }
    this.#lastWrite = Date.now();
    this.#schedulePing(this.#opts.keepAliveMs);
  }

  /**
   * Writes one frame. Resolves true at once when the socket buffer has room, otherwise once it
   * drained; resolves false when the client has gone (or the writer was ended).
   */
  write(frame: string): Promise<boolean> {
    if (!this.#enqueue(frame)) return RESOLVED_FALSE;
    return this.#needDrain ? this.#waitDrain() : RESOLVED_TRUE;
  }

  /**
   * Writes every frame of `frames` until it ends ('completed') or the client goes away
   * ('client_closed'; an aborted `signal` or a writer ended meanwhile count the same). When it
   * stops early it calls the iterable's `return()` so that its cleanup runs, and it returns at
   * once even when the source is stuck waiting on its upstream. Errors thrown by the iterable
   * propagate. Does not end the response: call `end()`.
   */
  async pipe(frames: AsyncIterable<string>, signal?: AbortSignal): Promise<PipeResult> {
    const it = frames[Symbol.asyncIterator]();
    const onAbort = (): void => {
      this.#wake?.(CLOSED);
      this.#releaseWaiters(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let done = false;
    let sourceBusy = false;
    try {
      for (;;) {
        if (this.#closed || this.#ended || signal?.aborted === true) break;
        const next = it.next();
        sourceBusy = true;
        const step = await new Promise<IteratorResult<string> | typeof CLOSED>((resolve, reject) => {
          this.#wake = resolve;
          next.then(resolve, reject);
        });
        this.#wake = undefined;
        if (step === CLOSED) break;
        sourceBusy = false;
        if (step.done === true) {
          done = true;
          return 'completed';
        }
        if (!this.#enqueue(step.value)) break;
        if (this.#needDrain && !(await this.#waitDrain())) break;
      }
    } catch (err) {
      done = true; // a source that threw is finished
      throw err;
    } finally {
      this.#wake = undefined;
      signal?.removeEventListener('abort', onAbort);
      if (!done) {
        const closing = it.return?.();
        if (closing) {
          // A source still busy producing its next value runs its cleanup only once that value
          // settles (abort its upstream through this writer's `signal`); do not hold the caller
          // until then.
          if (sourceBusy) closing.catch(noop);
          else await closing.catch(noop);
        }
      }
    }
    return 'client_closed';
  }

  /** Flushes what is pending and ends the response. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopPing();
    if (this.#closed) return;
    if (!this.#opened) this.open();
    // The last frames go out with the end of the chunked body: one write instead of two.
    const last = this.#pending;
    this.#pending = '';
    if (last.length > 0) this.#res.end(last);
    else this.#res.end();
    this.#releaseWaiters(false);
  }

  /** Appends a frame to the tick's batch; false when nothing can be written any more. */
  #enqueue(frame: string): boolean {
    if (this.#closed || this.#ended) return false;
    if (!this.#opened) this.open();
    this.#pending += frame;
    if (this.#pending.length >= FLUSH_AT) this.#flush();
    else this.#scheduleFlush();
    return true;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(this.#flushTick);
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    const chunk = this.#pending;
    if (this.#closed || this.#res.writableEnded) return;
    if (chunk.length === 0) {
      if (this.#headersPending) {
        this.#headersPending = false;
        this.#res.flushHeaders();
      }
      return;
    }
    this.#headersPending = false;
    this.#pending = '';
    this.#lastWrite = Date.now();
    if (!this.#res.write(chunk)) {
      this.#needDrain = true;
      setImmediate(this.#recheckDrain);
    }
  }

  /**
   * A response can refuse a write while its socket never needs to drain: Node 26 holds the
   * writes of a tick in the response's own chunk buffer and flushes them when it uncorks; when
   * the socket takes that flush below its high-water mark, neither the socket nor the response
   * ever emits 'drain' (nodejs/node#60432). So, once the tick's writes have reached the socket,
   * a socket with room counts as drained; a full one emits 'drain' as usual.
   */
  readonly #recheckDrain = (): void => {
    const socket = this.#res.socket;
    if (!this.#needDrain || this.#closed || socket === null || socket.writableNeedDrain) return;
    if (this.#res.writableLength < this.#res.writableHighWaterMark) this.#onDrain();
  };

  #waitDrain(): Promise<boolean> {
    if (this.#closed || this.#ended) return RESOLVED_FALSE;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #releaseWaiters(ok: boolean): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve(ok);
  }

  readonly #onDrain = (): void => {
    this.#needDrain = false;
    this.#releaseWaiters(true);
  };

  readonly #onError = (): void => {
    this.#clientGone();
  };

  readonly #onClose = (): void => {
    this.#stopPing();
    if (this.#res.writableFinished) return; // normal end
    this.#clientGone();
  };

  #clientGone(): void {
    if (this.#closed) return;
    this.#stopPing();
    this.#closed = true;
    this.#pending = '';
    this.#releaseWaiters(false);
    this.#wake?.(CLOSED);
    this.#abort?.abort(clientClosed());
  }

  #schedulePing(delay: number): void {
    if (this.#opts.keepAliveMs <= 0 || this.#closed || this.#ended) return;
    this.#timer = setTimeout(this.#onPingTimer, delay);
    this.#timer.unref();
  }

  readonly #onPingTimer = (): void => {
    this.#timer = undefined;
    if (this.#closed || this.#ended) return;
    const keepAliveMs = this.#opts.keepAliveMs;
    const idle = Date.now() - this.#lastWrite;
    if (idle < keepAliveMs) {
      this.#schedulePing(keepAliveMs - idle);
      return;
    }
    // A full socket buffer means bytes are still on their way: no ping needed.
    if (!this.#needDrain) {
      this.#pending += this.#opts.pingFrame ?? PING;
      this.#flush();
    }
    this.#schedulePing(keepAliveMs);
  };

  #stopPing(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

function noop(): void {}

function clientClosed(): Error {
  return new Error('The client closed the connection.');
}
