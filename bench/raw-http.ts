/**
 * One HTTP exchange through an undici dispatcher, measured at the byte level: when the
 * response headers arrived, when the first body byte arrived, when a marker (the first
 * answer text) was first seen, and when the body ended. The body is kept only when asked.
 */
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';

export interface RawRequest {
  origin: string;
  path: string;
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string | Buffer | undefined;
}

export interface RawOptions {
  /** Bytes whose first occurrence marks the first answer text (searched across chunk boundaries). */
  mark?: Buffer | undefined;
  /** Keep the whole body. */
  keepBody?: boolean;
  /** Keep at least this many bytes of the body's beginning. */
  keepHead?: number;
  /** Called once, when the first body byte arrives. */
  onFirstByte?: () => void;
  /** Called with every body chunk as it arrives (performance.now() time). */
  onChunk?: (chunk: Buffer, at: number) => void;
  signal?: AbortSignal;
}

export interface RawResult {
  status: number;
  /** performance.now() timestamps, milliseconds. */
  start: number;
  headersAt: number;
  firstByteAt: number;
  /** First occurrence of the marker; firstByteAt when no marker was asked for; NaN when never seen. */
  markAt: number;
  endAt: number;
  bytes: number;
  body: Buffer | undefined;
  head: Buffer;
  /** The last bytes of the body (up to 64). */
  tail: Buffer;
}

const TAIL = 64;

export function rawRequest(dispatcher: Dispatcher, req: RawRequest, opts: RawOptions = {}): Promise<RawResult> {
  return new Promise<RawResult>((resolve, reject) => {
    const start = performance.now();
    let status = 0;
    let headersAt = NaN;
    let firstByteAt = NaN;
    let markAt = opts.mark ? NaN : -1;
    let bytes = 0;
    const mark = opts.mark;
    let carry: Buffer | undefined;
    const parts: Buffer[] | undefined = opts.keepBody ? [] : undefined;
    const headParts: Buffer[] = [];
    let headBytes = 0;
    const keepHead = opts.keepHead ?? 0;
    let prev: Buffer | undefined;
    let last: Buffer | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        if (opts.signal) {
          if (opts.signal.aborted) controller.abort(opts.signal.reason);
          else opts.signal.addEventListener('abort', () => controller.abort(opts.signal!.reason), { once: true });
        }
      },
      onResponseStart(_controller, statusCode) {
        status = statusCode;
        headersAt = performance.now();
      },
      onResponseData(_controller, chunk) {
        if (bytes === 0) {
          firstByteAt = performance.now();
          opts.onFirstByte?.();
        }
        bytes += chunk.byteLength;
        opts.onChunk?.(chunk, performance.now());
        if (mark && Number.isNaN(markAt)) {
          const hay = carry ? Buffer.concat([carry, chunk]) : chunk;
          if (hay.indexOf(mark) >= 0) {
            markAt = performance.now();
            carry = undefined;
          } else {
            carry = hay.subarray(Math.max(0, hay.byteLength - mark.byteLength + 1));
          }
        }
        if (parts) parts.push(chunk);
        if (headBytes < keepHead) {
          headParts.push(chunk);
          headBytes += chunk.byteLength;
        }
        prev = last;
        last = chunk;
      },
      onResponseEnd() {
        if (settled) return;
        settled = true;
        const endAt = performance.now();
        if (Number.isNaN(firstByteAt)) firstByteAt = endAt;
        if (markAt === -1) markAt = firstByteAt;
        let tail = last ?? Buffer.alloc(0);
        if (tail.byteLength < TAIL && prev) tail = Buffer.concat([prev, tail]);
        if (tail.byteLength > TAIL) tail = tail.subarray(tail.byteLength - TAIL);
        resolve({
          status,
          start,
          headersAt,
          firstByteAt,
          markAt,
          endAt,
          bytes,
          body: parts ? Buffer.concat(parts) : undefined,
          head: headParts.length === 1 ? headParts[0]! : Buffer.concat(headParts),
          tail,
        });
      },
      onResponseError(_controller, err) {
        fail(err);
      },
    };
    try {
      dispatcher.dispatch(
        {
          origin: req.origin,
          path: req.path,
          method: req.method,
          headers: req.headers,
          body: req.body ?? null,
        },
        handler,
      );
    } catch (err) {
      fail(err as Error);
    }
  });
}
