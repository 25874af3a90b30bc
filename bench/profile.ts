/**
 * CPU profile of kimi-proxy under load (`npm run bench -- --profile`): the proxy child runs
 * with `node --cpu-prof`, serves the benchmark's workloads, stops cleanly (which writes the
 * .cpuprofile), and the profile's self time is summed per function and per module.
 *
 * Also usable alone on any profile: `node dist/bench/profile.js <file.cpuprofile> [top]`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './children.js';
import type { Target, WorkloadName } from './load.js';
import { runPhase } from './load.js';
import { workload } from './workloads.js';
import { fmt } from './stats.js';
import type { Protocol } from './wire.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  where: string;
  selfMs: number;
  share: number;
  /** The callers this function's self time came through, most first. */
  callers?: Array<{ name: string; ms: number }>;
}

export interface ProfileSummary {
  busyMs: number;
  functions: ProfileRow[];
  modules: ProfileRow[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith('/') ? relative(ROOT, path) : path;
}

/** Which module a frame belongs to: a package, a folder of dist/, or node internals. */
function moduleOf(url: string): string {
  if (url === '') return '(native / V8)';
  const short = shortUrl(url);
  if (short.startsWith('node:')) return 'node: internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const m = /^dist\/(.+)\/[^/]+$/.exec(short) ?? /^dist\/([^/]+)$/.exec(short);
  return m ? `dist/${m[1]}` : short;
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, ProfileRow>();
  const mod = new Map<string, ProfileRow>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    const ms = us / 1000;
    busy += ms;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const row = fn.get(key) ?? { name, where, selfMs: 0, share: 0, callers: [] };
    row.selfMs += ms;
    const p = byId.get(parent.get(id) ?? -1);
    if (p) {
      const caller = `${p.callFrame.functionName || '(anonymous)'} ${p.callFrame.url ? `${shortUrl(p.callFrame.url)}:${p.callFrame.lineNumber + 1}` : ''}`.trim();
      const entry = row.callers!.find((c) => c.name === caller);
      if (entry) entry.ms += ms;
      else row.callers!.push({ name: caller, ms });
    }
    fn.set(key, row);
    const mname = functionName.startsWith('(') && url === '' ? functionName : moduleOf(url);
    const mrow = mod.get(mname) ?? { name: mname, where: '', selfMs: 0, share: 0 };
    mrow.selfMs += ms;
    mod.set(mname, mrow);
  }
  const finish = (rows: Iterable<ProfileRow>): ProfileRow[] =>
    [...rows]
      .map((r) => ({ ...r, share: busy > 0 ? r.selfMs / busy : 0, ...(r.callers ? { callers: [...r.callers].sort((a, b) => b.ms - a.ms).slice(0, 3) } : {}) }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return { busyMs: busy, functions: finish(fn.values()), modules: finish(mod.values()) };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const lines = [`${title}: ${fmt(s.busyMs, 0)} ms of CPU (idle excluded)`, '', 'self time by module:'];
  for (const r of s.modules) lines.push(`  ${fmt(r.share * 100, 1).padStart(5)}%  ${fmt(r.selfMs, 0).padStart(7)} ms  ${r.name}`);
  lines.push('', 'self time by function:');
  for (const r of s.functions) {
    lines.push(`  ${fmt(r.share * 100, 1).padStart(5)}%  ${fmt(r.selfMs, 0).padStart(7)} ms  ${r.name}  ${r.where}`);
    const via = (r.callers ?? []).filter((c) => c.ms >= r.selfMs * 0.1);
    if (via.length > 0) lines.push(`                    via ${via.map((c) => `${c.name} (${fmt(c.ms, 0)} ms)`).join(', ')}`);
  }
  return lines.join('\n');
}

interface ProfStack {
  targets: Record<'kimi-proxy', Target>;
  close(): Promise<void>;
}

/** Seconds of load per workload, at the workload's highest concurrency up to 16 (the regime the CPU targets are set in). */
const PROFILE_SECONDS = 4;

export async function runProfile(
  protocols: Protocol[],
  workloads: WorkloadName[],
  startStack: (protocol: Protocol, execArgv: string[]) => Promise<ProfStack>,
  log: (line: string) => void,
): Promise<number> {
  let failed = 0;
  for (const protocol of protocols) {
    const dir = join(ROOT, 'dist', 'bench', 'profiles', protocol);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const stack = await startStack(protocol, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    try {
      const t = stack.targets['kimi-proxy'];
      await runPhase(t, 'stream200', { concurrency: 16, durationMs: 1_000, verifyEvery: 10 });
      for (const name of workloads) {
        const concurrency = Math.max(...workload(name).concurrency.filter((c) => c <= 16), 1);
        const r = await runPhase(t, name, { concurrency, durationMs: PROFILE_SECONDS * 1000, verifyEvery: 25 });
        failed += r.errors;
        log(`${protocol} ${name} c=${concurrency}: ${r.requests} requests, ${r.errors} errors`);
      }
    } finally {
      await stack.close();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      log(`${protocol}: no .cpuprofile was written in ${dir}`);
      failed++;
      continue;
    }
    const text = formatSummary(`kimi-proxy (${protocol})`, summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile));
    writeFileSync(join(dir, 'summary.txt'), `${text}\n`);
    log(`\n${text}\n\nprofile: ${join(dir, file)}\n`);
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatSummary(file, summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 25))));
}
