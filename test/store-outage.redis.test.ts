/**
 * A proxy process on Redis while Redis dies (or freezes) and comes back: requests that need the store
 * fail fast with 503 store_unavailable, /health/ready says not ready, and the same process
 * serves again once Redis is back, without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { assertBuilt, startProxy, stopAllProxies, type ProxyProcess } from './helpers/proxy-process.js';
import { assertRedisServerInstalled, startRedisServer, type RedisServer } from './helpers/redis-server.js';

assertRedisServerInstalled();
assertBuilt();

const API_KEY = 'sk-outage-0123456789abcdef';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
/** "Fails fast": well within a client's patience, far from a hang. */
const FAST_MS = 2_000;

let redis: RedisServer | undefined;
let emulator: Emulator | undefined;
let proxy: ProxyProcess | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
  emulator = await startEmulator({ heartbeatIntervalMs: 0 });
  proxy = await startProxy({
    STORE_URL: redis.url,
    KIMI_BASE_URL: emulator.url,
    KIMI_TOKENS: 'tok-outage-1,tok-outage-2',
    API_KEYS: API_KEY,
    ACCOUNT_MIN_INTERVAL_MS: '0',
  });
}, 30_000);

afterAll(async () => {
  await stopAllProxies();
  await emulator?.close();
  await redis?.stop();
});

interface Timed {
  status: number;
  body: any;
  ms: number;
}

async function timed(path: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  // A hang fails the test instead of stalling it.
  const res = await fetch(proxy!.base + path, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: res.status, body, ms };
}

const chat = (content: string, opts: { conversation?: string; stream?: boolean } = {}): Promise<Timed> =>
  timed(opts.conversation ? `/v1/chat/completions/${opts.conversation}` : '/v1/chat/completions', {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'k2', stream: opts.stream === true, messages: [{ role: 'user', content }] }),
  });

describe('a proxy whose Redis goes away and comes back', () => {
  it('fails fast with 503 store_unavailable while Redis is down, reports not ready, and recovers by itself', async () => {
    const before = await chat('Before the outage. [[emu turn]]', { conversation: 'outage-conv' });
    expect(before.status, JSON.stringify(before.body)).toBe(200);
    expect((await timed('/health/ready')).status).toBe(200);

    await redis!.kill();

    for (const [label, call] of [
      ['stateless', () => chat('During the outage.')],
      ['streaming', () => chat('During the outage, streaming.', { stream: true })],
      ['stateful', () => chat('During the outage. [[emu turn]]', { conversation: 'outage-conv' })],
    ] as const) {
      const r = await call();
      expect(r.status, `${label}: ${JSON.stringify(r.body)}`).toBe(503);
      expect(r.body?.error?.code, label).toBe('store_unavailable');
      expect(r.body?.error?.message, label).toMatch(/store/i);
      expect(r.ms, `${label} took ${Math.round(r.ms)} ms`).toBeLessThan(FAST_MS);
    }

    const down = await timed('/health/ready');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'not_ready', reason: 'store_unreachable' });
    expect(down.ms).toBeLessThan(FAST_MS + 500);

    // Back, empty (no persistence): the running process reconnects on its own.
    await redis!.restart();
    const deadline = Date.now() + 10_000;
    let after = await chat('After the outage.');
    while (after.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      after = await chat('After the outage.');
    }
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect(after.body.choices[0].message.content).toMatch(/^Emulator reply/);
    expect((await timed('/health/ready')).status).toBe(200);
    expect(proxy!.isRunning()).toBe(true);
  });

  it('does not hang on a Redis that stops answering (frozen), and recovers when it answers again', async () => {
    expect((await chat('Before the freeze.')).status).toBe(200);
    redis!.freeze();
    try {
      const r = await chat('During the freeze.');
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body?.error?.code).toBe('store_unavailable');
      expect(r.ms, `took ${Math.round(r.ms)} ms`).toBeLessThan(FAST_MS + 500);
      const down = await timed('/health/ready');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'not_ready', reason: 'store_unreachable' });
    } finally {
      redis!.thaw();
    }
    const deadline = Date.now() + 10_000;
    let after = await chat('After the freeze.');
    while (after.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      after = await chat('After the freeze.');
    }
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect((await timed('/health/ready')).status).toBe(200);
  });
});
