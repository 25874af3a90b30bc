/**
 * Graceful shutdown of the real CLI (`node dist/cli.js serve`, built by `npm test`): SIGTERM
 * stops new connections, refuses new requests with 503 + Retry-After, lets a running stream
 * finish within SHUTDOWN_GRACE_MS or ends it with a `shutting_down` error chunk, and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

const CLI = resolve('dist/cli.js');
const KEY = 'sk-shutdown-test-0123456789';

interface Proxy {
  child: ChildProcess;
  base: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

async function startProxy(emulator: Emulator, cwd: string, env: Record<string, string>): Promise<Proxy> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      KIMI_BASE_URL: emulator.url,
      KIMI_TOKENS: 'tok-one,tok-two',
      API_KEYS: KEY,
      STORE_URL: 'memory:',
      LOG_LEVEL: 'info',
      ACCOUNT_MIN_INTERVAL_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/v1"/.exec(out);
    if (m) return { child, base: m[1]!, exited, output: () => out };
    if (child.exitCode !== null) throw new Error(`the proxy exited at start:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the proxy did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const chatBody = (content: string, stream: boolean): string => JSON.stringify({ model: 'k2', stream, messages: [{ role: 'user', content }] });

/** Parsed SSE data payloads. */
function sseEvents(raw: string): unknown[] {
  return raw
    .split('\n\n')
    .filter((r) => r.startsWith('data: '))
    .map((r) => r.slice(6))
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
}

const text = (events: unknown[]): string =>
  events.map((e) => (typeof e === 'object' && e && 'choices' in e ? ((e as any).choices[0]?.delta?.content ?? '') : '')).join('');

describe('graceful shutdown of `kimi-proxy serve`', () => {
  let emulator: Emulator;
  let cwd: string;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (`npm test` does).');
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const setUp = async (env: Record<string, string>): Promise<Proxy> => {
    emulator = await startEmulator();
    cleanups.push(() => emulator.close());
    cwd = mkdtempSync(join(tmpdir(), 'kimi-proxy-shutdown-'));
    cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
    const p = await startProxy(emulator, cwd, env);
    cleanups.push(() => {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    });
    return p;
  };

  it('lets a stream that fits the grace period finish, refuses new requests with 503 + Retry-After, exits 0', async () => {
    const p = await setUp({ SHUTDOWN_GRACE_MS: '8000' });
    const streamConn = new Client(p.base);
    const otherConn = new Client(p.base);
    cleanups.push(() => streamConn.destroy());
    cleanups.push(() => otherConn.destroy());
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

    const stream = await streamConn.request({ path: '/v1/chat/completions', method: 'POST', headers, body: chatBody('[[emu deltas=12 delay=150]]', true) });
    expect(stream.statusCode).toBe(200);
    const chunks: string[] = [];
    const streamDone = (async () => {
      for await (const c of stream.body) chunks.push(Buffer.from(c as Uint8Array).toString('utf8'));
    })();
    // A shorter request on another keep-alive connection, still running at SIGTERM.
    const short = otherConn.request({ path: '/v1/chat/completions', method: 'POST', headers, body: chatBody('[[emu deltas=4 delay=150]]', false) });
    const deadline = Date.now() + 5_000;
    while (emulator.stats().openStreams < 2 || chunks.join('').split('"content":"w').length < 2) {
      if (Date.now() > deadline) throw new Error('the two requests did not start');
      await new Promise((r) => setTimeout(r, 10));
    }

    const signalledAt = Date.now();
    p.child.kill('SIGTERM');
    const shortRes = await short;
    expect(shortRes.statusCode).toBe(200);
    expect(((await shortRes.body.json()) as any).choices[0].message.content).toBe('w1 w2 w3 w4');

    // Its connection stays open for a moment: a new request on it is refused while draining.
    const refused = await otherConn.request({ path: '/v1/chat/completions', method: 'POST', headers, body: chatBody('too late', false) });
    expect(refused.statusCode).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers.connection).toBe('close');
    const refusedBody = (await refused.body.json()) as any;
    expect(refusedBody.error).toMatchObject({ code: 'shutting_down', type: 'service_unavailable' });
    // New connections are no longer accepted.
    const fresh = new Client(p.base);
    cleanups.push(() => fresh.destroy());
    await expect(fresh.request({ path: '/health', method: 'GET' })).rejects.toThrow();

    await streamDone;
    const events = sseEvents(chunks.join(''));
    expect(events.at(-1)).toBe('[DONE]');
    expect(text(events)).toBe(Array.from({ length: 12 }, (_, i) => `w${i + 1}`).join(' '));
    expect((events.at(-2) as any).choices[0].finish_reason).toBe('stop');
    expect(events.some((e) => typeof e === 'object' && e !== null && 'error' in e)).toBe(false);

    const { code, signal } = await p.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(8_000);
    // One log line per request, the stream's included.
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'request' && l.url === '/v1/chat/completions');
    expect(lines.map((l) => l.status).sort()).toEqual([200, 200, 503]);
  });

  it('ends a stream that outlasts the grace period with a shutting_down error chunk and [DONE], then exits 0', async () => {
    const p = await setUp({ SHUTDOWN_GRACE_MS: '400' });
    const conn = new Client(p.base);
    cleanups.push(() => conn.destroy());
    const res = await conn.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: chatBody('[[emu deltas=60 delay=150]]', true),
    });
    expect(res.statusCode).toBe(200);
    const chunks: string[] = [];
    let signalledAt = 0;
    for await (const c of res.body) {
      chunks.push(Buffer.from(c as Uint8Array).toString('utf8'));
      if (signalledAt === 0 && chunks.join('').includes('"content":"w1 "')) {
        signalledAt = Date.now();
        p.child.kill('SIGTERM');
      }
    }
    const endedAfter = Date.now() - signalledAt;
    expect(signalledAt).toBeGreaterThan(0);
    const events = sseEvents(chunks.join(''));
    expect(events.at(-1)).toBe('[DONE]');
    const err = events.at(-2) as any;
    expect(err.error).toMatchObject({ code: 'shutting_down', type: 'service_unavailable' });
    expect(events.some((e: any) => e?.choices?.[0]?.finish_reason)).toBe(false);
    const partial = text(events);
    expect(partial.length).toBeGreaterThan(0);
    expect(Array.from({ length: 60 }, (_, i) => `w${i + 1}`).join(' ').startsWith(partial)).toBe(true);
    expect(partial).not.toContain('w60');
    // The grace period (0.4 s), not the whole answer (9 s), decided the end.
    expect(endedAfter).toBeGreaterThanOrEqual(300);
    expect(endedAfter).toBeLessThan(3_000);

    const { code, signal } = await p.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    // The upstream request was stopped too.
    const until = Date.now() + 2_000;
    while (emulator.stats().openStreams > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(emulator.stats().openStreams).toBe(0);
    expect(emulator.stats().streamsCancelled).toBeGreaterThanOrEqual(1);
  });
});
