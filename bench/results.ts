/** Aggregation of measured phases into table cells, and the pass/fail targets. */
import type { HoldResult } from './hold.js';
import type { VariantName, WorkloadName } from './load.js';
import type { Measured } from './measure.js';
import { fmt, fmtInt, KiB, percentile } from './stats.js';
import type { Protocol } from './wire.js';

export interface Cell {
  protocol: Protocol;
  workload: WorkloadName;
  concurrency: number;
  variant: VariantName;
  phases: number;
  requests: number;
  errors: number;
  errorMessages: string[];
  ttfbP50: number;
  ttfbP99: number;
  totalP50: number;
  totalP99: number;
  rps: number;
  cpuMsPerReq: number;
  emulatorCpuMsPerReq: number;
  peakRss: number;
  eldP99: number;
  bytesPerReq: number;
}

export function aggregate(protocol: Protocol, workload: WorkloadName, concurrency: number, variant: VariantName, phases: Measured[]): Cell {
  const ttfb = phases.flatMap((p) => p.ttfb);
  const total = phases.flatMap((p) => p.total);
  const requests = phases.reduce((a, p) => a + p.requests, 0);
  const elapsed = phases.reduce((a, p) => a + p.elapsedMs, 0);
  const cpu = phases.every((p) => p.cpuMs !== undefined) ? phases.reduce((a, p) => a + p.cpuMs!, 0) : NaN;
  const peaks = phases.map((p) => p.peakRss ?? NaN);
  const elds = phases.map((p) => p.eldP99 ?? NaN);
  return {
    protocol,
    workload,
    concurrency,
    variant,
    phases: phases.length,
    requests,
    errors: phases.reduce((a, p) => a + p.errors, 0),
    errorMessages: phases.flatMap((p) => p.errorMessages).slice(0, 5),
    ttfbP50: percentile(ttfb, 50),
    ttfbP99: percentile(ttfb, 99),
    totalP50: percentile(total, 50),
    totalP99: percentile(total, 99),
    rps: elapsed > 0 ? (requests * 1000) / elapsed : NaN,
    cpuMsPerReq: requests > 0 ? cpu / requests : NaN,
    emulatorCpuMsPerReq: requests > 0 ? phases.reduce((a, p) => a + p.emulatorCpuMs, 0) / requests : NaN,
    peakRss: Math.max(...peaks),
    eldP99: Math.max(...elds),
    bytesPerReq: requests > 0 ? phases.reduce((a, p) => a + p.bytes, 0) / requests : NaN,
  };
}

export interface HoldCell extends HoldResult {
  protocol: Protocol;
  variant: VariantName;
}

export interface TargetLine {
  pass: boolean;
  text: string;
}

export const TARGETS = {
  ttfbConcurrency: 64,
  ttfbP50ExtraMs: 1,
  ttfbP99ExtraMs: 5,
  cpuConcurrency: 64,
  cpuRatio200: 2,
  cpuRatio5000: 1.5,
  holdStreams: 1000,
  holdKiBPerStream: 32,
  eldConcurrency: 256,
  eldP99Ms: 20,
};

function find(cells: Cell[], protocol: Protocol, workload: WorkloadName, concurrency: number, variant: VariantName): Cell | undefined {
  return cells.find((c) => c.protocol === protocol && c.workload === workload && c.concurrency === concurrency && c.variant === variant);
}

const mark = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${fmt(n)}`;

export function evaluateTargets(cells: Cell[], holds: HoldCell[], protocols: Protocol[], workloads: WorkloadName[]): TargetLine[] {
  const lines: TargetLine[] = [];
  const T = TARGETS;
  for (const protocol of protocols) {
    for (const workload of workloads) {
      const d = find(cells, protocol, workload, T.ttfbConcurrency, 'direct');
      const p = find(cells, protocol, workload, T.ttfbConcurrency, 'passthrough');
      const k = find(cells, protocol, workload, T.ttfbConcurrency, 'kimi-proxy');
      if (!d || !p || !k) continue;
      const addP50 = { p: p.ttfbP50 - d.ttfbP50, k: k.ttfbP50 - d.ttfbP50 };
      const addP99 = { p: p.ttfbP99 - d.ttfbP99, k: k.ttfbP99 - d.ttfbP99 };
      const pass = addP50.k - addP50.p <= T.ttfbP50ExtraMs && addP99.k - addP99.p <= T.ttfbP99ExtraMs;
      lines.push({
        pass,
        text:
          `${mark(pass)} ${protocol} ${workload} c=${T.ttfbConcurrency} added TTFB over direct: ` +
          `p50 kimi-proxy ${signed(addP50.k)} ms vs passthrough ${signed(addP50.p)} ms (extra ${signed(addP50.k - addP50.p)} ms, limit ${T.ttfbP50ExtraMs}); ` +
          `p99 ${signed(addP99.k)} vs ${signed(addP99.p)} ms (extra ${signed(addP99.k - addP99.p)} ms, limit ${T.ttfbP99ExtraMs})`,
      });
    }
    for (const [workload, limit] of [
      ['stream200', T.cpuRatio200],
      ['stream5000', T.cpuRatio5000],
    ] as const) {
      const p = find(cells, protocol, workload, T.cpuConcurrency, 'passthrough');
      const k = find(cells, protocol, workload, T.cpuConcurrency, 'kimi-proxy');
      if (!p || !k) continue;
      const ratio = k.cpuMsPerReq / p.cpuMsPerReq;
      const pass = ratio <= limit;
      lines.push({
        pass,
        text: `${mark(pass)} ${protocol} ${workload} c=${T.cpuConcurrency} CPU per request: kimi-proxy ${fmt(k.cpuMsPerReq, 3)} ms vs passthrough ${fmt(p.cpuMsPerReq, 3)} ms = ${fmt(ratio)}x (limit ${limit}x)`,
      });
    }
    const h = holds.find((x) => x.protocol === protocol && x.variant === 'kimi-proxy');
    const hp = holds.find((x) => x.protocol === protocol && x.variant === 'passthrough');
    if (h) {
      const perStream = (h.rssDuring - h.rssBefore) / h.streams / KiB;
      const floor = hp ? `; passthrough ${fmt((hp.rssDuring - hp.rssBefore) / hp.streams / KiB, 1)} KiB` : '';
      const pass = h.errors === 0 && h.opened === h.streams && Number.isFinite(h.openMs) && h.rssDuring > 0 && perStream <= T.holdKiBPerStream;
      lines.push({
        pass,
        text:
          `${mark(pass)} ${protocol} ${fmtInt(h.streams)} concurrent open streams: ${fmtInt(h.opened)} open at once, ${h.errors} errors, ` +
          `RSS growth ${fmt(perStream, 1)} KiB per stream (limit ${T.holdKiBPerStream}${floor})`,
      });
    }
    const at = cells.filter((c) => c.protocol === protocol && c.concurrency === T.eldConcurrency && c.variant === 'kimi-proxy');
    if (at.length > 0) {
      const worst = at.reduce((a, c) => (c.eldP99 > a.eldP99 ? c : a));
      const floor = cells.filter((c) => c.protocol === protocol && c.concurrency === T.eldConcurrency && c.variant === 'passthrough');
      const floorWorst = floor.length > 0 ? Math.max(...floor.map((c) => c.eldP99)) : NaN;
      const pass = worst.eldP99 <= T.eldP99Ms;
      lines.push({
        pass,
        text:
          `${mark(pass)} ${protocol} c=${T.eldConcurrency} event-loop delay p99 inside kimi-proxy: worst ${fmt(worst.eldP99, 1)} ms (${worst.workload}) ` +
          `(limit ${T.eldP99Ms} ms; passthrough worst ${fmt(floorWorst, 1)} ms)`,
      });
    }
  }
  return lines;
}
