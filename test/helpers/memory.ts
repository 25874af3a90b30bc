/** Heap measurements for tests: a forced GC without the --expose-gc command-line flag. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | undefined;

/** The V8 `gc()` function; exposes it on first use when the process was not started with --expose-gc. */
export function forceGc(): void {
  if (!gcFn) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') gcFn = existing;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  // Twice: the first pass can leave weakly held and finalizable objects for the second.
  gcFn();
  gcFn();
}

export interface MemorySample {
  heapUsed: number;
  /** Memory V8 has reserved for its heap (used or not). */
  heapTotal: number;
  rss: number;
  /** Memory of ArrayBuffers and Buffers (outside the JS heap). */
  arrayBuffers: number;
  /** Memory of C++ objects bound to JS objects, ArrayBuffers included (outside the JS heap). */
  external: number;
}

/** Memory after a full GC. */
export function sampleMemory(): MemorySample {
  forceGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, arrayBuffers: m.arrayBuffers, external: m.external };
}

export const MB = 1024 * 1024;
