// The stack every real-client test runs against, all on loopback ephemeral ports: the built Kimi
// emulator (`node dist/cli.js emulator`), the built proxy in front of it (`node dist/cli.js serve`), and
// an egress trap, an HTTP proxy that refuses everything and records what tried to leave the machine.
// `runClient` runs one agent CLI headless in a fresh temporary directory with a bounded timeout.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, clientCommand, REPO_ROOT, type Client } from './clients.ts';
import { nonLoopbackConnects, straceAvailable, traced } from './connect-audit.ts';
import { runBounded, startServer, type RunResult, type Server } from './processes.ts';

export const API_KEY = 'sk-agents-0123456789abcdef';
/** The model id agents are configured with: one the proxy serves under both Kimi protocols. */
export const MODEL = 'k2';
/** The built CLI; KP_CLI runs the same tests against another build. */
const CLI = process.env.KP_CLI || join(REPO_ROOT, 'dist', 'cli.js');

export interface Trap {
  url: string;
  /** Requests that named another host (absolute URL or CONNECT): traffic that would have left loopback. */
  egress(): string[];
  /** Requests for a path on the trap itself (e.g. a package registry the client was pointed at). */
  local(): string[];
}

export interface Stack {
  /** The proxy's URL without /v1. */
  root: string;
  /** The proxy's OpenAI base URL (root + /v1). */
  base: string;
  key: string;
  model: string;
  emulatorUrl: string;
  trap: Trap;
  /** The proxy's output so far, for failure messages. */
  proxyOutput(): string;
  stop(): Promise<void>;
}

/** The runtime the proxy runs on: the project's own Node (its native modules are built for it). */
function proxyNode(): string {
  return process.env.KP_PROXY_NODE || process.execPath;
}

async function startTrap(): Promise<{ trap: Trap; close: () => Promise<void> }> {
  const egress: string[] = [];
  const local: string[] = [];
  const server: HttpServer = createServer((req, res) => {
    const url = req.url ?? '';
    if (/^[a-z]+:\/\//i.test(url)) egress.push(`${req.method} ${url}`);
    else local.push(`${req.method} ${url}`);
    req.resume();
    res.writeHead(403, { 'content-type': 'text/plain' }).end('refused: tests stay on loopback');
  });
  server.on('connect', (req, socket) => {
    egress.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    trap: { url, egress: () => [...egress], local: () => [...local] },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts emulator, proxy and trap; `stop()` ends all three (only the processes started here). */
export async function startStack(extraEnv: Record<string, string> = {}): Promise<Stack> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run test:agents does).`);
  const dir = mkdtempSync(join(tmpdir(), 'kp-agents-stack-'));
  const started: Server[] = [];
  const { trap, close: closeTrap } = await startTrap();
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.stop()));
    await closeTrap();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const env = { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' };
    const emulator = await startServer(proxyNode(), [CLI, 'emulator', '--host', '127.0.0.1', '--port', '0'], {
      cwd: dir,
      env,
      ready: /listening at (http:\/\/127\.0\.0\.1:\d+)/,
    });
    started.push(emulator);
    const emulatorUrl = emulator.match[1] ?? '';
    const proxy = await startServer(proxyNode(), [CLI, 'serve'], {
      cwd: dir,
      env: {
        ...env,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATA_DIR: join(dir, 'data'),
        KIMI_BASE_URL: emulatorUrl,
        KIMI_TOKENS: 'agents-account-1,agents-account-2',
        API_KEYS: API_KEY,
        // Agents send several requests in a row; the spacing that protects real accounts only slows tests.
        ACCOUNT_MIN_INTERVAL_MS: '0',
        ...extraEnv,
      },
      ready: /"url":"(http:\/\/127\.0\.0\.1:\d+)\/v1"/,
    });
    started.push(proxy);
    const root = proxy.match[1] ?? '';
    return { root, base: `${root}/v1`, key: API_KEY, model: MODEL, emulatorUrl, trap, proxyOutput: proxy.output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface ClientRun extends RunResult {
  /** Top-level files the client left in its working directory, name → content. */
  files: Record<string, string>;
  /** The working directory it ran in (already removed when runClient returns). */
  workdir: string;
  /** Non-loopback addresses the client's processes tried to connect to; undefined without strace. */
  connects?: string[];
}

/**
 * Runs one agent CLI against the stack in a fresh temporary HOME and working directory, then removes
 * both. `prompt` may be built from the working directory (file tools want absolute paths).
 */
export async function runClient(stack: Stack, client: Client, prompt: string | ((workdir: string) => string), timeoutMs = 120_000): Promise<ClientRun> {
  const scratch = mkdtempSync(join(tmpdir(), `kp-agents-${client}-`));
  const home = join(scratch, 'home');
  const workdir = join(scratch, 'work');
  mkdirSync(home);
  mkdirSync(workdir);
  try {
    const text = typeof prompt === 'function' ? prompt(workdir) : prompt;
    const { command, args, env } = clientCommand(client, { home, workdir, root: stack.root, key: stack.key, model: stack.model, prompt: text });
    const log = join(scratch, 'connect.log');
    const [cmd, argv] = straceAvailable() ? traced(log, command, args) : [command, args];
    const result = await runBounded(cmd, argv, { cwd: workdir, env: { ...baseEnv({ home, trap: stack.trap.url }), ...env }, timeoutMs });
    const files: Record<string, string> = {};
    for (const name of readdirSync(workdir)) {
      const path = join(workdir, name);
      if (statSync(path).isFile()) files[name] = readFileSync(path, 'utf8');
    }
    return { ...result, files, workdir, ...(straceAvailable() ? { connects: nonLoopbackConnects(log) } : {}) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A failure message with everything needed to see why a client run went wrong. */
export function explain(run: RunResult, stack: Stack): string {
  return [
    `exit ${run.code} signal ${run.signal} timedOut ${run.timedOut} after ${run.ms} ms`,
    `--- client stdout (tail)\n${run.stdout.slice(-4000)}`,
    `--- client stderr (tail)\n${run.stderr.slice(-4000)}`,
    `--- proxy output (tail)\n${stack.proxyOutput().slice(-4000)}`,
  ].join('\n');
}

/** Nothing the client did tried to leave loopback: no request through the trap, no direct connect(). */
export function assertStayedOnLoopback(run: ClientRun, stack: Stack): void {
  assert.deepEqual(stack.trap.egress(), [], 'requests for other hosts reached the egress trap');
  if (run.connects) assert.deepEqual(run.connects, [], 'connect() to non-loopback addresses');
}
