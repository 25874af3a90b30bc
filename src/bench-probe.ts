/**
 * Diagnostics hook for benchmarks (opt-in, off by default): with `BENCH_REPORT_IPC=1` and an
 * IPC channel to a parent process (started with `child_process.fork`), the process answers
 * `{type: 'bench-probe', op: 'sample' | 'reset' | 'gc', id}` messages with its own CPU time, resident
 * memory and event-loop delay, so that a load generator can measure this process alone.
 * Nothing is installed without both the variable and the channel; the channel never keeps
 * the process alive, and when it closes (the parent is gone) the process stops as on SIGTERM.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface BenchProbeRequest {
  type: 'bench-probe';
  /** `gc` collects garbage first when the process runs with --expose-gc. */
  op: 'sample' | 'reset' | 'gc';
  id: number;
}

export interface BenchProbeSample {
  type: 'bench-probe';
  id: number;
  pid: number;
  /** process.cpuUsage(), microseconds since start. */
  cpu: { user: number; system: number };
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start, bytes. */
  maxRss: number;
  heapUsed: number;
  /** Memory of ArrayBuffers and Buffers (where decoded bytes live), bytes. */
  arrayBuffers: number;
  /** Event-loop delay since the last reset (or start), milliseconds. */
  eld: { p50: number; p99: number; max: number; mean: number; count: number };
}

function isRequest(msg: unknown): msg is BenchProbeRequest {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as Partial<BenchProbeRequest>;
  return m.type === 'bench-probe' && (m.op === 'sample' || m.op === 'reset' || m.op === 'gc') && typeof m.id === 'number';
}

const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);

export function sampleProbe(histogram: IntervalHistogram, id: number): BenchProbeSample {
  const mem = process.memoryUsage();
  return {
    type: 'bench-probe',
    id,
    pid: process.pid,
    cpu: process.cpuUsage(),
    rss: mem.rss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: mem.heapUsed,
    arrayBuffers: mem.arrayBuffers,
    eld: {
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
      count: histogram.count,
    },
  };
}

/** Installs the hook when enabled; returns true when it did. */
export function installBenchProbe(env: Record<string, string | undefined> = process.env): boolean {
  if (env.BENCH_REPORT_IPC !== '1' || typeof process.send !== 'function') return false;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  process.on('message', (msg: unknown) => {
    if (!isRequest(msg)) return;
    if (msg.op === 'gc') (globalThis as { gc?: () => void }).gc?.();
    // `reset` answers with the window that it closes, then starts a new one.
    process.send?.(sampleProbe(histogram, msg.id));
    if (msg.op === 'reset') histogram.reset();
  });
  process.channel?.unref();
  // A benchmark child outlives its parent only by accident: stop the normal way (SIGTERM handler).
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return true;
}
