/**
 * The real CLI (`node dist/cli.js`) as a new user meets it: the config file named by
 * CONFIG_FILE, what a bad file or a bad command line prints, a busy port, the bind check
 * before any upstream call, and a demo that leaves the real data directory alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { assertBuilt, CLI, freePort, startProxy, stopAllProxies } from './helpers/proxy-process.js';

const API_KEY = 'sk-cli-e2e-0123456789abcdef';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its exit (killed after `timeoutMs`) in `cwd` with a clean environment. */
function runCli(args: string[], env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Node prints a stack trace as lines starting with "    at ". */
const STACK_LINE = /^\s+at /m;

// Every test starts real processes; on a loaded machine a start can take many seconds.
vi.setConfig({ testTimeout: 120_000 });

let dir: string;
let emulator: Emulator;

beforeAll(async () => {
  assertBuilt();
  emulator = await startEmulator({ heartbeatIntervalMs: 0 });
});
afterAll(async () => {
  await stopAllProxies();
  await emulator.close();
});

describe('CONFIG_FILE', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kp-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(stopAllProxies);

  // The emulator rotates refresh tokens like Kimi: each test gets tokens of its own.
  const twoAccounts = (tag: string): string => {
    const file = join(dir, `kimi-proxy-${tag}.yaml`);
    writeFileSync(
      file,
      [
        `API_KEYS: [${API_KEY}]`,
        `KIMI_BASE_URL: ${emulator.url}`,
        'accounts:',
        '  - name: main',
        `    token: tok-${tag}-main`,
        '    weight: 2',
        '  - name: spare',
        `    token: tok-${tag}-spare`,
        '    maxConcurrent: 1',
        '    minIntervalMs: 0',
        '',
      ].join('\n'),
    );
    return file;
  };

  it('serve reads the accounts and keys of the file', async () => {
    const proxy = await startProxy({ CONFIG_FILE: twoAccounts('serve') }, { timeoutMs: 60_000 });
    const auth = { authorization: `Bearer ${API_KEY}` };
    const check = await fetch(`${proxy.base}/v1/accounts/check`, { headers: auth });
    expect(check.status).toBe(200);
    const report = (await check.json()) as { ok: boolean; data: Array<{ name: string; status: string }> };
    expect(report.data.map((a) => a.name)).toEqual(['main', 'spare']);
    expect(report.ok).toBe(true);
    const chat = await fetch(`${proxy.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(chat.status).toBe(200);
  });

  it('check validates the accounts of the file', async () => {
    const run = await runCli(['check'], { CONFIG_FILE: twoAccounts('check'), DATA_DIR: join(dir, 'data') }, dir);
    expect(run.stdout).toMatch(/^main\s/m);
    expect(run.stdout).toMatch(/^spare\s/m);
    expect(run.stdout).toContain('All 2 checked account(s) work.');
    expect(run.code).toBe(0);
  });

  it('a bad file stops every command with the file, the key and the problem', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, ['CITATIONS: loud', 'accounts:', '  - name: main', '    token: tok-a', '    maxConcurrent: 99', ''].join('\n'));
    const commands = ['serve', 'check', 'demo'];
    const runs = await Promise.all(commands.map((command) => runCli([command, '--port', '0'], { CONFIG_FILE: file }, dir)));
    for (const [i, run] of runs.entries()) {
      expect(run.code, commands[i]).toBe(1);
      expect(run.stderr).toContain(`${file}: CITATIONS: expected list, footnotes or none, got "loud"`);
      expect(run.stderr).toContain(`${file}: accounts[0].maxConcurrent: expected an integer from 1 to 64, got 99`);
      expect(run.stderr).not.toMatch(STACK_LINE);
    }
  });

  it('a missing file and a file with a syntax error stop the server', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'accounts: [\n');
    const [missing, syntax] = await Promise.all([runCli(['serve'], { CONFIG_FILE: join(dir, 'absent.yaml') }, dir), runCli(['serve'], { CONFIG_FILE: broken }, dir)]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`CONFIG_FILE: cannot read ${join(dir, 'absent.yaml')}: no such file`);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toContain(`${broken}: not valid YAML`);
    expect(syntax.stderr).not.toMatch(STACK_LINE);
  });
});

describe('the command line', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kp-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the usage and exits 2 for an unknown option or command, or a missing value', async () => {
    const cases = [['--prot', '9000'], ['-x'], ['--port'], ['serve', 'extra'], ['bogus'], ['--port', 'eighty']];
    const runs = await Promise.all(cases.map((args) => runCli(args, {}, dir)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]!.join(' ')).toBe(2);
      expect(run.stderr).toContain('Usage: kimi-proxy [command] [options]');
      expect(run.stderr).not.toMatch(STACK_LINE);
    });
    expect(runs[0]!.stderr).toMatch(/^Unknown option '--prot'/);
    expect(runs[2]!.stderr).toMatch(/^Option '--port <value>' argument missing/);
    expect(runs[5]!.stderr).toMatch(/^--port: expected an integer from 0 to 65535, got "eighty"/);
  });

  it('shows the usage for help, -h and --help', async () => {
    const runs = await Promise.all([['help'], ['-h'], ['--help']].map((args) => runCli(args, {}, dir)));
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: kimi-proxy [command] [options]');
    }
  });

  it('says which port is in use and how to change it', async () => {
    const busy: NetServer = createNetServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const run = await runCli(['serve'], { PORT: String(port), DATA_DIR: join(dir, 'data') }, dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`port ${port} is in use on 127.0.0.1; set PORT or pass --port`);
      expect(run.stderr).not.toMatch(STACK_LINE);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it('refuses a public address without a key before contacting Kimi, and says so first', async () => {
    let upstreamCalls = 0;
    const upstream: HttpServer = createHttpServer((_req, res) => {
      upstreamCalls += 1;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    try {
      const run = await runCli(['serve'], { HOST: '0.0.0.0', PORT: '0', KIMI_BASE_URL: url, KIMI_TOKENS: 'tok-refresh-a,tok-refresh-b', KIMI_PROTOCOL: 'auto', DATA_DIR: join(dir, 'data') }, dir);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toMatch(/^Refusing to listen on 0\.0\.0\.0 without an API key/);
      expect(run.stdout).toBe('');
      expect(upstreamCalls).toBe(0);
    } finally {
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  it('the emulator banner says how to point the proxy at it', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'emulator', '--port', String(port)], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const deadline = Date.now() + 60_000;
    while (!out.includes('npm start') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    expect(out).toContain(`KIMI_BASE_URL=http://127.0.0.1:${port} KIMI_TOKENS=anything npm start`);
  });
});

describe('npm start under a supervisor', () => {
  it('a SIGTERM to npm reaches the server, which shuts down', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'kp-npm-start-'));
    const port = await freePort();
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: join(dirname(CLI), '..'),
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: join(cwd, 'data'), API_KEYS: API_KEY, KIMI_TOKENS: '', LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
    const health = (): Promise<boolean> => fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    try {
      const deadline = Date.now() + 60_000;
      while (!(await health()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await health()).toBe(true);
      npm.kill('SIGTERM');
      await exited;
      const stopBy = Date.now() + 10_000;
      while ((await health()) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
      expect(await health()).toBe(false);
    } finally {
      npm.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('npm run demo', () => {
  it('leaves the data directory of the working directory untouched', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'kp-demo-'));
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'demo', '--port', String(port)], { cwd, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      const deadline = Date.now() + 60_000;
      while (!/API key\s+:\s+(\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const key = /API key\s+:\s+(\S+)/.exec(out)![1]!;
      for (const conversation of ['', '/demo-trip']) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions${conversation}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: 'Hello' }] }),
        });
        expect(res.status).toBe(200);
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(cwd, 'data'))).toBe(false);
    } finally {
      child.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
