/**
 * One measured phase: the load of one variant for one workload and concurrency, with the
 * CPU time, peak RSS and event-loop delay of the process under test (kimi-proxy or the
 * forwarder) and of the emulator over exactly that phase.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child, ProbeSample } from './children.js';
import { runPhase, type PhaseOptions, type PhaseResult, type Target, type WorkloadName } from './load.js';

export interface Measured extends PhaseResult {
  /** CPU of the process under test (undefined for direct). */
  cpuMs: number | undefined;
  peakRss: number | undefined;
  eldP99: number | undefined;
  eldMax: number | undefined;
  emulatorCpuMs: number;
  generatorCpuMs: number;
  /** Time spent settling before and after the load (background deletions, probes). */
  settleMs: number;
}

const cpuMs = (a: ProbeSample, b: ProbeSample): number => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;

/** Waits until the emulator has no open stream and its chat count is stable (deletions done). */
async function settleUpstream(emulatorUrl: string): Promise<void> {
  let last = -1;
  let stable = 0;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const stats = (await (await fetch(`${emulatorUrl}/__emulator/stats`)).json()) as { openStreams: number; liveChats: number };
    if (stats.openStreams === 0 && stats.liveChats === last) {
      if (++stable >= 2) return;
    } else stable = 0;
    last = stats.liveChats;
    await sleep(25);
  }
}

export async function measurePhase(t: Target, workload: WorkloadName, o: PhaseOptions, underTest: Child | undefined, emulator: Child, emulatorUrl: string): Promise<Measured> {
  const t0 = Date.now();
  await settleUpstream(emulatorUrl);
  // Its counters keep one entry per request path (REST paths carry chat ids): start afresh.
  await fetch(`${emulatorUrl}/__emulator/reset`, { method: 'POST', body: '{}' });
  const before = underTest ? await underTest.probe('reset') : undefined;
  const emuBefore = await emulator.probe('reset');
  const genBefore = process.cpuUsage();
  let peak = before?.rss ?? 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const timer = underTest
    ? setInterval(() => {
        inFlight = underTest.probe('sample').then(
          (s) => (peak = Math.max(peak, s.rss)),
          () => undefined,
        );
      }, 200)
    : undefined;
  const result = await runPhase(t, workload, o);
  clearInterval(timer);
  await inFlight;
  // Event-loop delay over the load itself, before the idle settling below.
  const end = underTest ? await underTest.probe('sample') : undefined;
  await settleUpstream(emulatorUrl);
  const genAfter = process.cpuUsage(genBefore);
  const after = underTest ? await underTest.probe('sample') : undefined;
  const emuAfter = await emulator.probe('sample');
  if (after) peak = Math.max(peak, after.rss);
  return {
    ...result,
    cpuMs: before && after ? cpuMs(before, after) : undefined,
    peakRss: underTest ? peak : undefined,
    eldP99: end?.eld.p99,
    eldMax: end?.eld.max,
    emulatorCpuMs: cpuMs(emuBefore, emuAfter),
    generatorCpuMs: (genAfter.user + genAfter.system) / 1000,
    settleMs: Date.now() - t0 - result.elapsedMs,
  };
}
