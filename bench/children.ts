/**
 * The processes under test, each in its own child so that its CPU time, memory and
 * event-loop delay are its own: the Kimi emulator and kimi-proxy from the built dist
 * (`dist/cli.js emulator|serve`), and the passthrough forwarder from bench. Every child has
 * an IPC channel and answers `bench-probe` messages (BENCH_REPORT_IPC=1). Children are
 * killed when the benchmark exits, whatever the reason.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export interface ProbeSample {
  pid: number;
  cpu: { user: number; system: number };
  rss: number;
  maxRss: number;
  heapUsed: number;
  /** ArrayBuffer and Buffer memory (absent from builds older than this field, see --proxy-dist). */
  arrayBuffers?: number;
  eld: { p50: number; p99: number; max: number; mean: number; count: number };
}

/** The repository root (this file runs from dist/bench/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const PASSTHROUGH = fileURLToPath(new URL('./passthrough.js', import.meta.url));

const live = new Set<ChildProcess>();
let cleanupInstalled = false;
let scratchDir: string | undefined;

/** A scratch directory for the children (working directory, data), removed on exit. */
function scratch(): string {
  scratchDir ??= mkdtempSync(join(tmpdir(), 'kimi-proxy-bench-'));
  return scratchDir;
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  });
}

export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, (s: ProbeSample) => void>();
  readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    live.add(proc);
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    void this.exited.then(() => live.delete(proc));
    proc.on('message', (msg: unknown) => {
      const m = msg as { type?: string; id?: number };
      if (m?.type !== 'bench-probe' || typeof m.id !== 'number') return;
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(msg as ProbeSample);
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-4000);
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** The child's recent stderr (for error reports). */
  get log(): string {
    return this.stderr;
  }

  /** Asks the child for a sample; `reset` also starts a new event-loop-delay window, `gc` collects garbage first. */
  probe(op: 'sample' | 'reset' | 'gc' = 'sample', timeoutMs = 5_000): Promise<ProbeSample> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name} did not answer a probe within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.proc.send({ type: 'bench-probe', op, id });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 8_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function spawnChild(name: string, script: string, args: string[], env: Record<string, string>, execArgv: string[] = []): Child {
  installCleanup();
  // A scratch working directory: no .env or data directory of the checkout is picked up.
  const proc = fork(script, args, {
    cwd: scratch(),
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', BENCH_REPORT_IPC: '1', ...env },
    // --expose-gc only lets a `gc` probe collect garbage before a memory reading.
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return new Child(name, proc);
}

async function waitFor<T>(what: string, child: Child, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`${what}: the child exited (${child.proc.exitCode}).\n${child.log}`);
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms.\n${child.log}`);
    await sleep(50);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Started {
  child: Child;
  url: string;
}

/** `node dist/cli.js emulator` on a free loopback port. */
export async function startEmulatorChild(): Promise<Started> {
  const port = await freePort();
  const child = spawnChild('emulator', CLI, ['emulator', '--port', String(port), '--host', '127.0.0.1'], {});
  let out = '';
  child.proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const url = await waitFor('emulator', child, 15_000, async () => (/listening at (http:\/\/\S+)/.exec(out)?.[1] ? `http://127.0.0.1:${port}` : undefined));
  return { child, url };
}

/** The bench passthrough forwarder in front of `upstream`. */
export async function startPassthroughChild(upstream: string): Promise<Started> {
  const port = await freePort();
  const child = spawnChild('passthrough', PASSTHROUGH, [], { UPSTREAM_URL: upstream, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('passthrough', child, 15_000, async () => ((await fetch(`${url}/__passthrough/health`)).ok ? true : undefined));
  return { child, url };
}

export interface ProxyChildOptions {
  upstream: string;
  protocol: 'rest' | 'connect';
  tokens: string[];
  apiKey: string;
  maxConcurrent: number;
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
  /** Another build's cli.js (to compare builds against the same emulator); default: this checkout's dist. */
  cli?: string;
  /** Settings on top of the measuring ones (e.g. ADMIN_TOKEN, to measure with the dashboard on). */
  env?: Record<string, string>;
}

/** `node dist/cli.js serve` configured for measuring: no pacing, no queue limits, in-memory store, quiet logs. */
export async function startProxyChild(o: ProxyChildOptions): Promise<Started> {
  const port = await freePort();
  const child = spawnChild(
    'kimi-proxy',
    o.cli ?? CLI,
    ['serve'],
    {
      HOST: '127.0.0.1',
      PORT: String(port),
      KIMI_BASE_URL: o.upstream,
      KIMI_PROTOCOL: o.protocol,
      KIMI_TOKENS: o.tokens.join(','),
      API_KEYS: o.apiKey,
      STORE_URL: 'memory:',
      DATA_DIR: join(scratch(), 'data'),
      ACCOUNT_MIN_INTERVAL_MS: '0',
      ACCOUNT_MAX_CONCURRENT: String(o.maxConcurrent),
      QUEUE_MAX: '100000',
      CONVERSATION_REUSE: 'off',
      LOG_LEVEL: 'warn',
      ...o.env,
    },
    o.execArgv ?? [],
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('kimi-proxy', child, 20_000, async () => ((await fetch(`${url}/health`)).ok ? true : undefined));
  return { child, url };
}

