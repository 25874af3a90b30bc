/**
 * Real proxy processes (`node dist/cli.js serve`) on loopback ports, for tests that need
 * several instances or a crash: each runs in its own temporary directory with a clean
 * environment (nothing from the developer's shell or .env leaks in). `stopAllProxies`
 * kills every process still running; call it in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface ProxyProcess {
  /** e.g. http://127.0.0.1:PORT (no /v1). */
  readonly base: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  isRunning(): boolean;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ProxyProcess>();
let exitHookInstalled = false;

/** Fails with instructions when the build output is missing (tests run the compiled CLI). */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test and npm run test:redis build before testing).`);
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface StartOptions {
  /** Longest wait for `readyPath` to answer 200. Default 15 s. */
  timeoutMs?: number;
  /** Default /health/ready. */
  readyPath?: string;
}

/** Starts `serve` with HOST=127.0.0.1, a free PORT (unless `env` names one) and `env`; resolves once `readyPath` answers 200. */
export async function startProxy(env: Record<string, string>, opts: StartOptions = {}): Promise<ProxyProcess> {
  assertBuilt();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort when a test process ends without its afterAll.
    process.once('exit', () => {
      for (const p of live) if (p.isRunning()) process.kill(p.pid, 'SIGKILL');
    });
  }
  // A given PORT is kept (a restart on the same address); otherwise a free one.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kp-proc-'));
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (d: Buffer): void => {
    log = (log + d.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      rmSync(dir, { recursive: true, force: true });
      resolve();
    }),
  );
  const proc: ProxyProcess = {
    base: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    output: () => log,
    isRunning: () => running,
    async kill(signal = 'SIGKILL') {
      if (running) child.kill(signal);
      await exited;
      live.delete(proc);
    },
  };
  live.add(proc);

  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const url = proc.base + (opts.readyPath ?? '/health/ready');
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!running) throw new Error(`the proxy exited during start:\n${log}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return proc;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await proc.kill();
  throw new Error(`the proxy did not become ready at ${url} (last: ${last}). Output:\n${log}`);
}

/** Kills every proxy process still running (SIGKILL) and waits for them. */
export async function stopAllProxies(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGKILL')));
}
