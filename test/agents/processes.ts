// Child processes with a bounded life. Each runs in its own process group so that a stop reaches the
// children it started (a language server, a plugin install); only groups started here are signalled.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
}

/** Runs a command to its end, or until `timeoutMs`, then kills its process group. */
export function runBounded(command: string, args: string[], { cwd, env, timeoutMs }: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 3000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the client left running in its group goes too.
      killGroup(child.pid, 'SIGKILL');
      resolve({ code, signal, timedOut, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export interface Server {
  match: RegExpMatchArray;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  /** SIGTERM to its group, SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts a long-running server and resolves when its output matches `ready`. */
export function startServer(
  command: string,
  args: string[],
  { cwd, env, ready, timeoutMs = 30_000 }: { cwd: string; env: Record<string, string>; ready: RegExp; timeoutMs?: number },
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let isReady = false;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} was not ready within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child.pid, 'SIGTERM');
      const late = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(late);
    };
    const onData = (d: string): void => {
      // Keep the tail only: a long run must not grow this without bound.
      out = (out + d).slice(-200_000);
      const match = isReady ? null : out.match(ready);
      if (match) {
        isReady = true;
        clearTimeout(timer);
        resolve({ match, stop, output: () => out });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`${command} ${args.join(' ')} exited (${code}) before it was ready:\n${out}`));
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
