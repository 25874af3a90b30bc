/** Aggregation of measured phases into table cells, and the pass/fail targets. */
import type { AttachmentResult } from './attachment.js';
import type { HoldResult } from './hold.js';
import type { VariantName } from './load.js';
import type { WorkloadName } from './workloads.js';
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
  /**
   * For a workload compared with the chat door's stream (sameStreamCpuRatio): kimi-proxy's CPU
   * per request on `stream200` measured in the same rounds, each right after this workload's
   * phase, so both see the process in the same state.
   */
  referenceCpuMsPerReq?: number;
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

/** The targets of issue "fast where it counts": each relative to the passthrough (the floor) measured in the same run. */
export const TARGETS = {
  /** CPU per request, kimi-proxy ÷ passthrough, per workload, at each of `cpuConcurrency`. */
  cpuRatio: { stream200: 1.6, stream5000: 1.3 } as Partial<Record<WorkloadName, number>>,
  cpuConcurrency: [1, 16],
  /** Added TTFB p50 over the passthrough at concurrency 1, streamed answers (ms). */
  ttfbWorkloads: ['stream200', 'stream5000'] as WorkloadName[],
  ttfbAddedP50Ms: 0.5,
  /** The short non-streamed answer one at a time. */
  lowRateCpuRatio: 2.0,
  lowRateAddedP50Ms: 0.3,
  /**
   * kimi-proxy's CPU on a variant of the 200-delta stream ÷ the same stream through the OpenAI
   * chat door without tools, same run: 14 tools offered, and the other front doors.
   */
  sameStreamCpuRatio: { tools200: ['14 tools', 1.15], messages200: ['Anthropic Messages door', 1.1], responses200: ['Responses door', 1.1] } as Record<string, [string, number]>,
  holdStreams: 1000,
  /** RSS growth per open stream, kimi-proxy ÷ passthrough. */
  holdRatio: 1.2,
  eldConcurrency: 256,
  /** Event-loop delay p99 at eldConcurrency (stream200): at most the passthrough's plus this (ms). */
  eldExtraMs: 10,
  /** A large image as a data URL: peak RSS growth of the first request ÷ the file's size. */
  attachmentMemoryRatio: 3,
  /** The same image re-sent (upload cache hit): CPU per request ÷ a text-only request's. */
  attachmentCpuRatio: 1.2,
};

function find(cells: Cell[], protocol: Protocol, workload: WorkloadName, concurrency: number, variant: VariantName): Cell | undefined {
  return cells.find((c) => c.protocol === protocol && c.workload === workload && c.concurrency === concurrency && c.variant === variant);
}

const mark = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${fmt(n)}`;

export function evaluateTargets(cells: Cell[], holds: HoldCell[], protocols: Protocol[], workloads: WorkloadName[]): TargetLine[] {
  const lines: TargetLine[] = [];
  const T = TARGETS;
  const line = (pass: boolean, text: string): void => {
    lines.push({ pass, text: `${mark(pass)} ${text}` });
  };
  const pair = (protocol: Protocol, workload: WorkloadName, c: number): { p: Cell; k: Cell } | undefined => {
    const p = find(cells, protocol, workload, c, 'passthrough');
    const k = find(cells, protocol, workload, c, 'kimi-proxy');
    return p && k ? { p, k } : undefined;
  };
  for (const protocol of protocols) {
    for (const [workload, limit] of Object.entries(T.cpuRatio) as Array<[WorkloadName, number]>) {
      for (const c of T.cpuConcurrency) {
        const x = workloads.includes(workload) ? pair(protocol, workload, c) : undefined;
        if (!x) continue;
        const ratio = x.k.cpuMsPerReq / x.p.cpuMsPerReq;
        line(ratio <= limit, `${protocol} ${workload} c=${c} CPU per request: kimi-proxy ${fmt(x.k.cpuMsPerReq, 3)} ms vs passthrough ${fmt(x.p.cpuMsPerReq, 3)} ms = ${fmt(ratio)}x (limit ${limit}x)`);
      }
    }
    for (const workload of T.ttfbWorkloads) {
      const x = workloads.includes(workload) ? pair(protocol, workload, 1) : undefined;
      if (!x) continue;
      const added = x.k.ttfbP50 - x.p.ttfbP50;
      line(added <= T.ttfbAddedP50Ms, `${protocol} ${workload} c=1 added TTFB p50 over the passthrough: ${signed(added)} ms (${fmt(x.k.ttfbP50)} vs ${fmt(x.p.ttfbP50)} ms; limit +${T.ttfbAddedP50Ms})`);
    }
    const low = workloads.includes('lowrate') ? pair(protocol, 'lowrate', 1) : undefined;
    if (low) {
      const ratio = low.k.cpuMsPerReq / low.p.cpuMsPerReq;
      const added = low.k.ttfbP50 - low.p.ttfbP50;
      line(
        ratio <= T.lowRateCpuRatio && added <= T.lowRateAddedP50Ms,
        `${protocol} lowrate short answer one at a time: CPU ${fmt(low.k.cpuMsPerReq, 3)} vs ${fmt(low.p.cpuMsPerReq, 3)} ms = ${fmt(ratio)}x (limit ${T.lowRateCpuRatio}x); ` +
          `added TTFB p50 ${signed(added)} ms (limit +${T.lowRateAddedP50Ms})`,
      );
    }
    for (const [variant, [what, limit]] of Object.entries(T.sameStreamCpuRatio)) {
      if (!workloads.includes(variant as WorkloadName)) continue;
      for (const c of T.cpuConcurrency) {
        const other = find(cells, protocol, variant as WorkloadName, c, 'kimi-proxy');
        const plain = find(cells, protocol, 'stream200', c, 'kimi-proxy');
        const reference = other?.referenceCpuMsPerReq ?? plain?.cpuMsPerReq;
        if (!other || reference === undefined) continue;
        const ratio = other.cpuMsPerReq / reference;
        const when = other.referenceCpuMsPerReq === undefined ? '' : ', measured in the same rounds';
        line(ratio <= limit, `${protocol} c=${c} ${what}: kimi-proxy CPU ${fmt(other.cpuMsPerReq, 3)} ms vs ${fmt(reference, 3)} ms for the same stream through the chat door${when} = ${fmt(ratio)}x (limit ${limit}x)`);
      }
    }
    const h = holds.find((x) => x.protocol === protocol && x.variant === 'kimi-proxy');
    const hp = holds.find((x) => x.protocol === protocol && x.variant === 'passthrough');
    if (h && hp) {
      const perStream = (h.rssDuring - h.rssBefore) / h.streams / KiB;
      const floor = (hp.rssDuring - hp.rssBefore) / hp.streams / KiB;
      const ratio = perStream / floor;
      const pass = h.errors === 0 && h.opened === h.streams && Number.isFinite(h.openMs) && h.rssDuring > 0 && ratio <= T.holdRatio;
      line(
        pass,
        `${protocol} ${fmtInt(h.streams)} concurrent open streams: ${fmtInt(h.opened)} open at once, ${h.errors} errors, ` +
          `RSS growth ${fmt(perStream, 1)} KiB per stream vs passthrough ${fmt(floor, 1)} KiB = ${fmt(ratio)}x (limit ${T.holdRatio}x)`,
      );
    }
    const eld = workloads.includes('stream200') ? pair(protocol, 'stream200', T.eldConcurrency) : undefined;
    if (eld) {
      line(
        eld.k.eldP99 <= eld.p.eldP99 + T.eldExtraMs,
        `${protocol} stream200 c=${T.eldConcurrency} event-loop delay p99: kimi-proxy ${fmt(eld.k.eldP99, 1)} ms vs passthrough ${fmt(eld.p.eldP99, 1)} ms (limit passthrough +${T.eldExtraMs} ms)`,
      );
    }
  }
  // Same-run A/B (--compare): this build's CPU and TTFB against the other build's, per cell.
  for (const b of cells.filter((c) => c.variant === 'baseline')) {
    const k = find(cells, b.protocol, b.workload, b.concurrency, 'kimi-proxy');
    if (!k) continue;
    lines.push({
      pass: true,
      text: `A/B  ${b.protocol} ${b.workload} c=${b.concurrency}: CPU per request ${fmt(k.cpuMsPerReq, 3)} vs baseline ${fmt(b.cpuMsPerReq, 3)} ms = ${fmt(k.cpuMsPerReq / b.cpuMsPerReq, 3)}x; TTFB p50 ${fmt(k.ttfbP50)} vs ${fmt(b.ttfbP50)} ms`,
    });
  }
  const errors = cells.reduce((a, c) => a + c.errors, 0) + holds.reduce((a, h) => a + h.errors, 0);
  line(errors === 0, `errors in the whole run: ${errors}`);
  return lines;
}

/** Median CPU per request of the re-sent image ÷ of the text-only request, batch medians of one run. */
export function attachmentCpuRatio(r: AttachmentResult): number {
  return percentile(r.imageCpuMs, 50) / percentile(r.textCpuMs, 50);
}

export function attachmentTargets(results: AttachmentResult[]): TargetLine[] {
  const lines: TargetLine[] = [];
  const T = TARGETS;
  for (const r of results) {
    const mib = r.imageBytes / 2 ** 20;
    const growth = (r.rssPeak - r.rssBefore) / r.imageBytes;
    const memOk = growth <= T.attachmentMemoryRatio && r.errors === 0;
    lines.push({ pass: memOk, text: `${mark(memOk)} ${r.protocol} ${fmt(mib, 0)} MiB image: peak RSS growth ${fmt(growth)}× the file (target ≤ ${T.attachmentMemoryRatio}×; heap +${fmt((r.heapPeak - r.heapBefore) / 2 ** 20, 1)} MiB, buffers +${fmt((r.arrayBuffersPeak - r.arrayBuffersBefore) / 2 ** 20, 1)} MiB)` });
    const ratio = attachmentCpuRatio(r);
    const cpuOk = ratio <= T.attachmentCpuRatio && r.errors === 0;
    lines.push({
      pass: cpuOk,
      text: `${mark(cpuOk)} ${r.protocol} ${fmt(mib, 0)} MiB image re-sent (cache hit, ${r.resendUploads} uploads): CPU ${fmt(percentile(r.imageCpuMs, 50))} ms/req = ${fmt(ratio)}× the text-only request's ${fmt(percentile(r.textCpuMs, 50))} (target ≤ ${T.attachmentCpuRatio}×; for scale, on this body: base64 ${fmt(r.floor.decodeMs)} + SHA-256 ${fmt(r.floor.hashMs)} ms, and a whole-body JSON.parse ${fmt(r.floor.parseMs)} ms that the body reader no longer pays)${r.errors ? `; ERRORS ${r.errorMessages.join(' | ')}` : ''}`,
    });
  }
  return lines;
}
