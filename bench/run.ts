/**
 * `npm run bench` — kimi-proxy against the floor (a forwarder that understands nothing) and
 * against no proxy at all, on loopback, one run measuring every variant side by side.
 *
 *   npm run bench                 full run; rewrites docs/benchmarks.md
 *   npm run bench -- --quick      harness check for CI: every variant answers exactly, no timing targets
 *   npm run bench -- --profile    CPU profile of kimi-proxy under load; prints its hottest functions
 *
 * Options: --rounds N, --duration MS (per phase), --protocols rest,connect,
 * --workloads a,b (names in workloads.ts), --proxy-dist DIR (another build of
 * kimi-proxy to measure instead of this checkout's), --compare DIR (another build run beside
 * it as a fourth variant, `baseline`, same run), --baseline-env K=V,… (settings of that
 * variant only, e.g. ADMIN_TOKEN to measure with the dashboard on), --streams N (open-streams
 * test; 0 skips it), --no-write, --report (rewrite docs/benchmarks.md from the last run's results).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startEmulatorChild, startPassthroughChild, startProxyChild, type Child, type Started } from './children.js';
import { holdStreams } from './hold.js';
import { measureAttachment, type AttachmentResult } from './attachment.js';
import { measureToolDelay, type ToolDelayResult } from './tool-delay.js';
import { makePool, VARIANTS, type Target, type VariantName } from './load.js';
import { measurePhase, type Measured } from './measure.js';
import { runProfile } from './profile.js';
import { renderMarkdown, type RunInfo } from './report.js';
import { aggregate, attachmentTargets, evaluateTargets, TARGETS, type Cell, type HoldCell, type TargetLine } from './results.js';
import { fmt, percentile } from './stats.js';
import type { Protocol } from './wire.js';
import { isLoadWorkload, workload as workloadOf, WORKLOADS, type WorkloadName } from './workloads.js';

const TOKENS = 16;
const MAX_CONCURRENT_PER_TOKEN = 64;
const API_KEY = 'sk-bench-0123456789abcdef';
const POOL_CONNECTIONS = 1_100;
const HOLD_STALL_MS = 10_000;
/** Requests per workload and variant in --quick. */
const QUICK_REQUESTS = 8;

interface Options {
  quick: boolean;
  profile: boolean;
  rounds: number;
  durationMs: number;
  protocols: Protocol[];
  workloads: WorkloadName[];
  /** Rewrite docs/benchmarks.md from the last run's dist/bench/results.json (--report). */
  reportOnly: boolean;
  /** Open-streams test size (--streams N; 0 skips it). */
  holdStreams: number;
  /** Concurrencies for every workload instead of each workload's own (--concurrency 1,16). */
  concurrency?: number[];
  /** Pairs of streams for the tool parser's hold-back delay (--tool-delay N; 0 skips it). */
  toolDelayStreams: number;
  /** cli.js of the kimi-proxy build under test (--proxy-dist DIR). */
  proxyCli?: string;
  /** cli.js of a second build run beside it as the `baseline` variant (--compare DIR). */
  baselineCli?: string;
  /** Extra settings of the baseline variant (--baseline-env K=V,…; with --compare). */
  baselineEnv?: Record<string, string>;
  write: boolean;
}

/** `K=V,K2=V2` → settings; a value may not contain a comma. */
function parseEnvList(list: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of list.split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--baseline-env: "${pair}" is not KEY=VALUE`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      protocols: { type: 'string' },
      workloads: { type: 'string' },
      'proxy-dist': { type: 'string' },
      compare: { type: 'string' },
      'baseline-env': { type: 'string' },
      streams: { type: 'string' },
      concurrency: { type: 'string' },
      'tool-delay': { type: 'string' },
      report: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const protocols = (values.protocols ?? 'rest,connect').split(',').map((p) => p.trim()) as Protocol[];
  for (const p of protocols) if (p !== 'rest' && p !== 'connect') throw new Error(`unknown protocol ${p}`);
  const workloads = (values.workloads ?? WORKLOADS.join(',')).split(',').map((w) => w.trim()).filter(Boolean) as WorkloadName[];
  for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
  return {
    quick: values.quick === true,
    profile: values.profile === true,
    rounds: Number(values.rounds ?? 2),
    durationMs: Number(values.duration ?? 800),
    protocols,
    workloads,
    holdStreams: Number(values.streams ?? 1_000),
    ...(values.concurrency ? { concurrency: values.concurrency.split(',').map(Number) } : {}),
    toolDelayStreams: Number(values['tool-delay'] ?? 10),
    reportOnly: values.report === true,
    ...(values['proxy-dist'] ? { proxyCli: join(resolve(values['proxy-dist']), 'cli.js') } : {}),
    ...(values.compare ? { baselineCli: join(resolve(values.compare), 'cli.js') } : {}),
    ...(values['baseline-env'] ? { baselineEnv: parseEnvList(values['baseline-env']) } : {}),
    write: values['no-write'] !== true && values.quick !== true && values.profile !== true,
  };
}

let startCount = 0;

/** Fresh token names per proxy start: the emulator rotates refresh tokens, so a used one cannot be used again. */
function proxyTokens(protocol: Protocol): string[] {
  startCount++;
  return Array.from({ length: TOKENS }, (_, i) => `bench-${protocol}-${startCount}-${i}-${process.pid}`);
}

interface Stack {
  emulator: Started;
  passthrough: Started;
  proxy: Started;
  targets: Partial<Record<VariantName, Target>> & Record<'direct' | 'passthrough' | 'kimi-proxy', Target>;
  underTest: Partial<Record<VariantName, Child>>;
  close(): Promise<void>;
}

let proxyCli: string | undefined;
let baselineCli: string | undefined;
/** Settings of the baseline variant on top of the measuring ones (--baseline-env K=V,…). */
let baselineEnv: Record<string, string> | undefined;
/** The variants of this run: the three, and `baseline` with --compare. */
let variants: VariantName[] = VARIANTS;

async function startStack(protocol: Protocol, proxyExecArgv: string[] = []): Promise<Stack> {
  const emulator = await startEmulatorChild();
  const passthrough = await startPassthroughChild(emulator.url);
  const startProxy = (cli: string | undefined, env?: Record<string, string>): Promise<Started> =>
    startProxyChild({ upstream: emulator.url, protocol, tokens: proxyTokens(protocol), apiKey: API_KEY, maxConcurrent: MAX_CONCURRENT_PER_TOKEN, execArgv: proxyExecArgv, ...(cli ? { cli } : {}), ...(env ? { env } : {}) });
  const proxy = await startProxy(proxyCli);
  const baseline = baselineCli ? await startProxy(baselineCli, baselineEnv) : undefined;
  const nativeTokens = Array.from({ length: TOKENS }, (_, i) => `native-${protocol}-${i}-${process.pid}`);
  const target = (variant: VariantName, url: string): Target => ({
    variant,
    protocol,
    url,
    upstreamUrl: emulator.url,
    dispatcher: makePool(url, POOL_CONNECTIONS),
    nativeTokens,
    apiKey: API_KEY,
  });
  const targets: Stack['targets'] = { direct: target('direct', emulator.url), passthrough: target('passthrough', passthrough.url), 'kimi-proxy': target('kimi-proxy', proxy.url) };
  if (baseline) targets.baseline = target('baseline', baseline.url);
  return {
    emulator,
    passthrough,
    proxy,
    targets,
    underTest: { passthrough: passthrough.child, 'kimi-proxy': proxy.child, ...(baseline ? { baseline: baseline.child } : {}) },
    async close() {
      await Promise.all(Object.values(targets).map((t) => t.dispatcher.destroy().catch(() => undefined)));
      await proxy.child.stop();
      await baseline?.child.stop();
      await passthrough.child.stop();
      await emulator.child.stop();
    },
  };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Variant order per round: every variant runs first, middle and last in turn. */
function order(round: number): VariantName[] {
  const rot = round % variants.length;
  const base = [...variants.slice(rot), ...variants.slice(0, rot)];
  return round % 2 === 1 ? base.reverse() : base;
}

async function measure(stack: Stack, variant: VariantName, workload: WorkloadName, o: Parameters<typeof measurePhase>[2]): Promise<Measured> {
  return measurePhase(stack.targets[variant]!, workload, o, stack.underTest[variant], stack.emulator.child, stack.emulator.url);
}

/** The attachment workloads of this run, each measured on fresh processes per protocol. */
async function attachments(opts: Options, o: Parameters<typeof measureAttachment>[2]): Promise<AttachmentResult[]> {
  const results: AttachmentResult[] = [];
  for (const protocol of opts.protocols) {
    for (const name of opts.workloads.filter((w) => !isLoadWorkload(w))) {
      const r = await measureAttachment(protocol, name, o);
      results.push(r);
      log(
        `${r.errors === 0 ? 'ok  ' : 'FAIL'} ${protocol.padEnd(7)} ${name.padEnd(10)} kimi-proxy  first request ${fmt(r.firstMs, 0)} ms, RSS ${fmt(r.rssBefore / 2 ** 20, 1)} → peak ${fmt(r.rssPeak / 2 ** 20, 1)} MiB ` +
          `(${fmt((r.rssPeak - r.rssBefore) / r.imageBytes)}× the file, ${r.probeSamples} samples), heap +${fmt((r.heapPeak - r.heapBefore) / 2 ** 20, 1)} MiB, buffers +${fmt((r.arrayBuffersPeak - r.arrayBuffersBefore) / 2 ** 20, 1)} MiB; ` +
          `re-sent CPU ${r.imageCpuMs.map((v) => fmt(v)).join('/')} vs text ${r.textCpuMs.map((v) => fmt(v)).join('/')} ms/req, wall ${fmt(r.imageMs)} vs ${fmt(r.textMs)} ms, ${r.resendUploads} re-uploads` +
          `${r.errorMessages.length ? ` — ${r.errorMessages.join(' | ')}` : ''}`,
      );
    }
  }
  return results;
}

async function quick(opts: Options): Promise<number> {
  let failures = 0;
  for (const protocol of opts.protocols) {
    const stack = await startStack(protocol);
    try {
      for (const workload of opts.workloads.filter(isLoadWorkload)) {
        for (const variant of variants) {
          const m = await measure(stack, variant, workload, { concurrency: 4, durationMs: 20_000, maxRequests: QUICK_REQUESTS, verifyEvery: 1 });
          const ok = m.errors === 0 && m.requests === QUICK_REQUESTS;
          if (!ok) failures++;
          log(`${ok ? 'ok  ' : 'FAIL'} ${protocol.padEnd(7)} ${workload.padEnd(10)} ${variant.padEnd(11)} ${m.requests} requests, ${m.errors} errors, ttfb p50 ${fmt(percentile(m.ttfb, 50))} ms${m.errorMessages.length ? ` — ${m.errorMessages.join(' | ')}` : ''}`);
        }
      }
      const td = await measureToolDelay(stack.targets['kimi-proxy'], 2);
      if (td.errors > 0) failures++;
      log(`${td.errors === 0 ? 'ok  ' : 'FAIL'} ${protocol.padEnd(7)} tool-delay kimi-proxy  held text p50 ${fmt(td.withTools.p50)} ms, ${td.errors} errors${td.errorMessages.length ? ` — ${td.errorMessages.join(' | ')}` : ''}`);
      for (const variant of ['passthrough', 'kimi-proxy'] as const) {
        const h = await holdStreams(stack.targets[variant], stack.underTest[variant]!, 20, 1_500);
        const ok = h.errors === 0 && h.opened === h.streams;
        if (!ok) failures++;
        log(`${ok ? 'ok  ' : 'FAIL'} ${protocol.padEnd(7)} hold-open  ${variant.padEnd(11)} ${h.opened}/${h.streams} open at once, ${h.errors} errors${h.errorMessages.length ? ` — ${h.errorMessages.join(' | ')}` : ''}`);
      }
    } finally {
      await stack.close();
    }
  }
  failures += (await attachments(opts, { rounds: 1, batch: 2 })).filter((r) => r.errors > 0).length;
  log(failures === 0 ? 'bench --quick: every variant answered correctly' : `bench --quick: ${failures} check(s) failed`);
  return failures === 0 ? 0 : 1;
}

async function full(opts: Options): Promise<number> {
  const started = Date.now();
  const cells: Cell[] = [];
  const holds: HoldCell[] = [];
  const toolDelays: Array<ToolDelayResult & { protocol: Protocol }> = [];
  let errors = 0;
  const loadWorkloads = opts.workloads.filter(isLoadWorkload);
  for (const protocol of loadWorkloads.length > 0 || opts.toolDelayStreams > 0 ? opts.protocols : []) {
    const stack = await startStack(protocol);
    try {
      log(`== ${protocol}: warming up`);
      for (const workload of loadWorkloads) {
        for (const variant of variants) {
          const m = await measure(stack, variant, workload, { concurrency: Math.min(16, ...workloadOf(workload).concurrency), durationMs: 600, verifyEvery: 5 });
          if (m.errors > 0) throw new Error(`warm-up ${protocol} ${workload} ${variant}: ${m.errorMessages.join(' | ')}`);
        }
      }
      for (const workload of loadWorkloads) {
        for (const concurrency of opts.concurrency ?? workloadOf(workload).concurrency) {
          const phases = new Map<VariantName, Measured[]>(variants.map((v) => [v, []]));
          // A workload judged against the chat door's stream has that stream measured beside it,
          // round by round: measured once earlier in the run, it would see a younger process.
          const compared = workload in TARGETS.sameStreamCpuRatio && workload !== 'stream200';
          const reference: Measured[] = [];
          for (let round = 0; round < opts.rounds; round++) {
            for (const variant of order(round)) {
              phases.get(variant)!.push(await measure(stack, variant, workload, { concurrency, durationMs: opts.durationMs, verifyEvery: 25 }));
            }
            if (compared) reference.push(await measure(stack, 'kimi-proxy', 'stream200', { concurrency, durationMs: opts.durationMs, verifyEvery: 25 }));
          }
          for (const variant of variants) {
            const cell = aggregate(protocol, workload, concurrency, variant, phases.get(variant)!);
            if (compared && variant === 'kimi-proxy') cell.referenceCpuMsPerReq = aggregate(protocol, 'stream200', concurrency, variant, reference).cpuMsPerReq;
            cells.push(cell);
            errors += cell.errors;
            log(
              `${protocol.padEnd(7)} ${workload.padEnd(10)} c=${String(concurrency).padEnd(3)} ${variant.padEnd(11)} ` +
                `ttfb p50 ${fmt(cell.ttfbP50).padStart(8)} p99 ${fmt(cell.ttfbP99).padStart(8)} ms  ${fmt(cell.rps, 0).padStart(6)} req/s  ` +
                `cpu ${fmt(cell.cpuMsPerReq, 3).padStart(7)} ms/req  eld p99 ${fmt(cell.eldP99, 1).padStart(6)} ms  n=${cell.requests}  settle ${fmt(phases.get(variant)!.reduce((a, p) => a + p.settleMs, 0) / opts.rounds, 0)} ms${cell.errors ? `  ERRORS ${cell.errors}: ${cell.errorMessages.join(' | ')}` : ''}`,
            );
          }
        }
      }
      const td = opts.toolDelayStreams > 0 ? await measureToolDelay(stack.targets['kimi-proxy'], opts.toolDelayStreams) : undefined;
      if (td) toolDelays.push({ ...td, protocol });
      errors += td?.errors ?? 0;
      if (td)
        log(
        `${protocol.padEnd(7)} tool parser, held-back text: p50 ${fmt(td.withTools.p50)} p95 ${fmt(td.withTools.p95)} ms ` +
          `(without tools p50 ${fmt(td.withoutTools.p50)} p95 ${fmt(td.withoutTools.p95)} ms; deltas ${td.deltaIntervalMs} ms apart)${td.errors ? `  ERRORS ${td.errorMessages.join(' | ')}` : ''}`,
      );
      const logs = [stack.passthrough.child, stack.proxy.child].filter((c) => c.log.trim() !== '');
      for (const c of logs) log(`-- ${c.name} stderr (last lines):\n${c.log.trim().split('\n').slice(-10).join('\n')}`);
    } finally {
      await stack.close();
    }
  }
  for (const protocol of opts.holdStreams > 0 ? opts.protocols : []) {
    // Fresh processes: what holding the streams costs, not what earlier load left behind.
    const stack = await startStack(protocol);
    try {
      for (const variant of ['passthrough', 'kimi-proxy'] as const) {
        const warm = await holdStreams(stack.targets[variant], stack.underTest[variant]!, 50, 1_000);
        if (warm.errors > 0) throw new Error(`hold warm-up ${protocol} ${variant}: ${warm.errorMessages.join(' | ')}`);
        const h = await holdStreams(stack.targets[variant], stack.underTest[variant]!, opts.holdStreams, HOLD_STALL_MS);
        holds.push({ ...h, protocol, variant });
        errors += h.errors;
        log(
          `${protocol.padEnd(7)} hold ${h.streams}  ${variant.padEnd(11)} ${h.opened} open at once after ${fmt(h.openMs, 0)} ms, RSS ${fmt(h.rssBefore / 2 ** 20, 1)} → ${fmt(h.rssDuring / 2 ** 20, 1)} MiB, ` +
            `${fmt((h.rssDuring - h.rssBefore) / h.streams / 1024, 1)} KiB/stream (after GC ${fmt((h.rssAfterGc - h.rssBefore) / h.streams / 1024, 1)}, heap ${fmt((h.heapDuring - h.heapBefore) / h.streams / 1024, 1)}), ${h.errors} errors${h.errorMessages.length ? ` — ${h.errorMessages.join(' | ')}` : ''}`,
        );
      }
    } finally {
      await stack.close();
    }
  }
  const attached = await attachments(opts, { rounds: Math.max(4, opts.rounds * 2), batch: 10 });
  errors += attached.reduce((a, r) => a + r.errors, 0);
  const lines = [...evaluateTargets(cells, holds, opts.protocols, loadWorkloads), ...attachmentTargets(attached)];
  for (const td of toolDelays) lines.push({ pass: td.errors === 0, text: `${td.errors === 0 ? 'INFO' : 'FAIL'} ${td.protocol} tool parser: held-back text reaches the client p50 ${fmt(td.withTools.p50)} ms, p95 ${fmt(td.withTools.p95)} ms later than the rest of its delta (deltas ${td.deltaIntervalMs} ms apart; without tools p95 ${fmt(td.withoutTools.p95)} ms)` });
  log('');
  for (const l of lines) log(l.text);
  const info: RunInfo = { startedAt: new Date(started), durationS: (Date.now() - started) / 1000, rounds: opts.rounds, phaseMs: opts.durationMs };
  writeFileSync(join(ROOT, 'dist', 'bench', 'results.json'), JSON.stringify({ info, cells, holds, toolDelays, attachments: attached, targets: lines }, null, 2));
  if (opts.write) {
    const path = join(ROOT, 'docs', 'benchmarks.md');
    writeFileSync(path, renderMarkdown(info, cells, holds, lines, attached));
    log(`\nwrote ${path}`);
  }
  log(`done in ${fmt(info.durationS, 0)} s`);
  return errors > 0 ? 1 : 0;
}

async function main(): Promise<void> {
  const opts = options();
  proxyCli = opts.proxyCli;
  baselineCli = opts.baselineCli;
  baselineEnv = opts.baselineEnv;
  if (baselineCli) variants = [...VARIANTS, 'baseline'];
  // A hard stop, whatever happens: the children are killed on exit.
  const limitMs = opts.quick ? 300_000 : 30 * 60_000;
  setTimeout(() => {
    console.error(`bench: still running after ${limitMs / 1000} s; stopping`);
    process.exit(2);
  }, limitMs).unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  let code: number;
  if (opts.reportOnly) {
    const saved = JSON.parse(readFileSync(join(ROOT, 'dist', 'bench', 'results.json'), 'utf8')) as {
      info: RunInfo & { startedAt: string };
      cells: Cell[];
      holds: HoldCell[];
      attachments?: AttachmentResult[];
      targets: TargetLine[];
    };
    const info: RunInfo = { ...saved.info, startedAt: new Date(saved.info.startedAt) };
    writeFileSync(join(ROOT, 'docs', 'benchmarks.md'), renderMarkdown(info, saved.cells, saved.holds, saved.targets, saved.attachments ?? []));
    log('rewrote docs/benchmarks.md from dist/bench/results.json');
    code = 0;
  } else if (opts.profile) {
    code = await runProfile(opts.protocols, opts.workloads.filter(isLoadWorkload), (protocol, execArgv) => startStack(protocol, execArgv), log);
  } else if (opts.quick) {
    code = await quick(opts);
  } else {
    code = await full(opts);
  }
  process.exit(code);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
