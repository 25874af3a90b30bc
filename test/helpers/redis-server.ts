/**
 * A real, throwaway redis-server for tests: loopback only, a free port, no persistence, its
 * own temporary directory. `kill()` simulates a crash (SIGKILL) and `restart()` brings a
 * fresh, empty server back on the same port. `stop()` is safe to call in any state.
 *
 * When redis-server is not installed, `startRedisServer` rejects with an explanation:
 * Redis tests fail rather than skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  /** `redis://` URL of the server (with the password, when one is set). */
  readonly url: string;
  /** SIGKILL, as a crash would: no shutdown, no goodbye to clients. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same port (after kill or stop). */
  restart(): Promise<void>;
  /** Whether a server process is up (possibly frozen). */
  isRunning(): boolean;
  /** SIGSTOP: the server keeps its connections open but stops answering. */
  freeze(): void;
  /** SIGCONT after freeze. */
  thaw(): void;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** The server's recent output, for failure messages. */
  output(): string;
}

export interface RedisServerOptions {
  /** Started with `--requirepass`. */
  password?: string;
  /** How long to wait for the server to answer PING. Default 10 s. */
  startTimeoutMs?: number;
}

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Fails with a clear message when redis-server cannot be run at all. */
export function assertRedisServerInstalled(): void {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `redis-server is required for the Redis tests but could not be run (${probe.error?.message ?? `exit code ${probe.status}`}). ` +
        'Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_SERVER_BIN to its path.',
    );
  }
}

async function freePort(): Promise<number> {
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

/** One PING over a raw socket; true on +PONG (or NOAUTH, which also proves the server is up). */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (buf) => {
      const reply = buf.toString('utf8');
      done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  assertRedisServerInstalled();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort if a test process dies without running its afterAll.
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kimi-proxy-redis-'));
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
    if (opts.password !== undefined) args.push('--requirepass', opts.password);
    const proc = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    const append = (chunk: Buffer): void => {
      log = (log + chunk.toString('utf8')).slice(-8_000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        live.delete(proc);
        resolve();
      });
    });
    const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      if (await pingOnce(port)) return;
      const err = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
      if (err) throw new Error(`redis-server could not be started: ${err.message}`);
    }
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`redis-server did not become ready on 127.0.0.1:${port} within ${startTimeoutMs} ms. Output:\n${log}`);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
    if (signal !== 'SIGKILL') proc.kill('SIGCONT');
    await exited;
    clearTimeout(timer);
  };

  let stopped = false;
  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    kill: () => halt('SIGKILL'),
    async restart() {
      if (stopped) throw new Error('redis-server was stopped for good');
      await halt('SIGKILL');
      await launch();
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    freeze() {
      if (!child) throw new Error('redis-server is not running');
      child.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // A frozen server ignores SIGTERM until it runs again.
      child?.kill('SIGCONT');
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log,
  };
}
