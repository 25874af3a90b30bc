/**
 * Three real proxy processes on one Redis in front of one emulator, with a client that
 * spreads its requests over them (as a load balancer without sticky sessions would):
 * conversations continue on any instance and are serialized cluster-wide, per-account
 * concurrency holds for the cluster, a SIGKILLed instance's slots free themselves after
 * their lease, refreshes happen once per cluster, and an account invalidated on one
 * instance is skipped by all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountIdForToken } from '../src/accounts/account.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { RedisStore } from '../src/store/redis.js';
import { assertBuilt, startProxy, stopAllProxies, type ProxyProcess } from './helpers/proxy-process.js';
import { assertRedisServerInstalled, startRedisServer, type RedisServer } from './helpers/redis-server.js';

// Without redis-server or a build, this file fails to load with the reason (never skips).
assertRedisServerInstalled();
assertBuilt();

const API_KEY = 'sk-cluster-0123456789abcdef';
const TOKENS = ['tok-red', 'tok-blue'] as const;
/** Short, so that a crashed instance's slots come back quickly (renewed every LEASE_MS / 3). */
const LEASE_MS = 1_500;
const HEALTH_SYNC_MS = 500;
const MAX_CONCURRENT = 2;

let redis: RedisServer | undefined;
let emulator: Emulator | undefined;
let inspector: RedisStore | undefined;
const proxies: ProxyProcess[] = [];

const headers = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function emu(): Emulator {
  if (!emulator) throw new Error('the emulator did not start');
  return emulator;
}

interface Answer {
  status: number;
  text: string;
  json: any;
}

async function chat(p: ProxyProcess, content: string, opts: { conversation?: string; stream?: boolean } = {}): Promise<Answer> {
  const path = opts.conversation ? `/v1/chat/completions/${opts.conversation}` : '/v1/chat/completions';
  const res = await fetch(p.base + path, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'k2', stream: opts.stream === true, messages: [{ role: 'user', content }] }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

const content = (a: Answer): string => a.json?.choices?.[0]?.message?.content as string;

/** Text of a streamed answer (the content deltas joined). */
function streamedText(raw: string): string {
  let out = '';
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
    out += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return out;
}

async function readiness(p: ProxyProcess): Promise<{ status: number; body: any }> {
  const res = await fetch(`${p.base}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.json() };
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Slots held in Redis for the account configured with `token`. */
const slotsOf = (token: string): Promise<number> => inspector!.countSlots(`acct:${accountIdForToken(token)}`);

/** A clean emulator for a test: counters at zero, the concurrency guard back on. */
function resetEmulator(): void {
  emu().control.reset();
  // Beyond this the emulator refuses a chat: a cluster that overshoots fails requests too.
  emu().control.setMaxConcurrentPerAccount(MAX_CONCURRENT);
}

const dump = (): string => proxies.map((p, i) => `--- instance ${i} (${p.base}) ---\n${p.output()}`).join('\n');

beforeAll(async () => {
  redis = await startRedisServer();
  emulator = await startEmulator({ heartbeatIntervalMs: 0 });
  inspector = await RedisStore.open({ url: redis.url });
  const env = {
    STORE_URL: redis.url,
    KIMI_BASE_URL: emulator.url,
    KIMI_TOKENS: TOKENS.join(','),
    API_KEYS: API_KEY,
    LOG_LEVEL: 'warn',
    ACCOUNT_MAX_CONCURRENT: String(MAX_CONCURRENT),
    ACCOUNT_MIN_INTERVAL_MS: '0',
    ACCOUNT_LEASE_MS: String(LEASE_MS),
    ACCOUNT_HEALTH_SYNC_MS: String(HEALTH_SYNC_MS),
  };
  proxies.push(...(await Promise.all([startProxy(env), startProxy(env), startProxy(env)])));
}, 45_000);

afterAll(async () => {
  await stopAllProxies();
  await inspector?.close();
  await emulator?.close();
  await redis?.stop();
});

describe('a cluster of three proxies on one Redis', () => {
  it('refreshes each account once for the whole cluster; the other instances use the result', async () => {
    // Every instance needed tokens at start (the model catalog); the emulator rotates refresh
    // tokens, so a second refresh with the same token would have failed the account.
    const answers = await Promise.all(proxies.map((p) => chat(p, 'Hello from every instance.')));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const { refreshes } = emu().stats();
    for (const token of TOKENS) expect(refreshes[token], `refreshes of ${token}\n${dump()}`).toBe(1);
  });

  it('continues a conversation on whichever instance a turn lands', async () => {
    const conversation = 'conv-hopping';
    const turns: string[] = [];
    for (const p of [...proxies, proxies[0]!]) {
      const a = await chat(p, `Turn on ${p.port}. [[emu turn]]`, { conversation });
      expect(a.status, a.text).toBe(200);
      turns.push(content(a));
    }
    const chatId = /chat=(\S+)/.exec(turns[0]!)?.[1];
    expect(chatId).toBeDefined();
    expect(turns).toEqual([1, 2, 3, 4].map((k) => `turn=${k} chat=${chatId}`));

    // Every instance sees the same stored transcript.
    for (const p of proxies) {
      const res = await fetch(`${p.base}/v1/conversations/${conversation}`, { headers });
      expect(res.status).toBe(200);
      const { messages } = (await res.json()) as { messages: Array<{ role: string }> };
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    }
  });

  it('serializes two turns of one conversation that arrive at two instances at once', async () => {
    const conversation = 'conv-contended';
    const first = await chat(proxies[0]!, 'Opening line. [[emu reply="ok"]]', { conversation });
    expect(first.status, first.text).toBe(200);
    resetEmulator();
    // Each turn streams for about a second; in parallel they would overlap on the one account.
    const slow = '[[emu history deltas=10 delay=100]]';
    const [a, b] = await Promise.all([
      chat(proxies[1]!, `Left ${slow}`, { conversation, stream: true }),
      chat(proxies[2]!, `Right ${slow}`, { conversation, stream: true }),
    ]);
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    const stats = emu().stats();
    expect(stats.streamsStarted).toBe(2);
    expect(stats.maxOpenStreams, 'the two turns overlapped upstream').toBe(1);
    // The second turn saw the first one in its history: one after the other on one chat.
    const histories = [streamedText(a.text), streamedText(b.text)].sort((x, y) => x.length - y.length);
    expect(histories[0]).toBe('Opening line. [[emu reply="ok"]]');
    expect(histories[1]).toMatch(/^Opening line\. .* \| (Left|Right) \[\[emu history/);
  });

  it('never runs more than ACCOUNT_MAX_CONCURRENT streams per account across the cluster', async () => {
    resetEmulator();
    const requests = Array.from({ length: 18 }, (_, i) => chat(proxies[i % 3]!, `Request ${i}. [[emu deltas=6 delay=60]]`, { stream: i % 2 === 0 }));
    const answers = await Promise.all(requests);
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const stats = emu().stats();
    expect(stats.streamsStarted).toBe(18);
    for (const token of TOKENS) {
      expect(stats.maxOpenStreamsByAccount[token], `max open streams of ${token}`).toBeLessThanOrEqual(MAX_CONCURRENT);
    }
    // The load was enough to fill every slot: the limit, not a lack of traffic, kept it there.
    expect(stats.maxOpenStreams).toBe(MAX_CONCURRENT * TOKENS.length);
    for (const token of TOKENS) expect(await slotsOf(token)).toBe(0);
  });

  it('keeps serving when an instance is killed mid-stream, and frees its slot after the lease', async () => {
    resetEmulator();
    const victim = proxies[2]!;
    const survivors = proxies.slice(0, 2);
    const res = await fetch(`${victim.base}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'k2', stream: true, messages: [{ role: 'user', content: 'A long one. [[emu deltas=200 delay=100]]' }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"content"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended early: ${seen}`);
      seen += new TextDecoder().decode(value);
    }
    const open = emu().stats().openStreamsByAccount;
    const held = TOKENS.find((t) => (open[t] ?? 0) > 0);
    expect(held, JSON.stringify(open)).toBeDefined();
    expect(await slotsOf(held!)).toBe(1);

    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    await reader.cancel().catch(() => undefined);
    // Nobody releases the dead instance's slot: it stays taken until its lease runs out.
    expect(await slotsOf(held!)).toBe(1);

    // Meanwhile the other instances serve, conversations included.
    const during = await Promise.all(survivors.flatMap((p, i) => [chat(p, `During ${i}.`), chat(p, `During ${i} [[emu turn]]`, { conversation: `after-kill-${i}` })]));
    for (const a of during) expect(a.status, a.text).toBe(200);

    await eventually('the dead instance\'s slot to expire', async () => ((await slotsOf(held!)) === 0 ? true : undefined), LEASE_MS + 3_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS + 2_000);

    // The whole capacity is back: every slot of both accounts can be used at once.
    resetEmulator();
    const full = await Promise.all(Array.from({ length: 4 }, (_, i) => chat(survivors[i % 2]!, `Full ${i}. [[emu deltas=8 delay=100]]`, { stream: true })));
    for (const a of full) expect(a.status, a.text).toBe(200);
    const stats = emu().stats();
    expect(stats.maxOpenStreams).toBe(MAX_CONCURRENT * TOKENS.length);
    expect(stats.maxOpenStreamsByAccount[held!]).toBe(MAX_CONCURRENT);
  });

  it('skips an account on every instance once one instance found it invalid', async () => {
    resetEmulator();
    const [marker, other] = proxies as [ProxyProcess, ProxyProcess];
    // Kimi stops accepting every token of this account.
    emu().control.invalidateToken('tok-blue');

    // The first instance runs into it (and fails over, so the client never notices).
    await eventually(
      'the first instance to mark tok-blue invalid',
      async () => {
        const a = await chat(marker, 'Finding out.');
        expect(a.status, a.text).toBe(200);
        const r = await readiness(marker);
        return r.body?.accounts?.states?.invalid === 1 ? true : undefined;
      },
      10_000,
    );
    expect((emu().stats().requestsByAccount['tok-blue'] ?? 0) > 0).toBe(true);

    // Past the other instance's health cache time, it must not touch the account at all.
    await sleep(2 * HEALTH_SYNC_MS + 200);
    const before = emu().stats().requestsByAccount['tok-blue'] ?? 0;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => chat(other, `Elsewhere ${i}.`)));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    expect(emu().stats().requestsByAccount['tok-blue'] ?? 0, 'requests sent with the invalid account').toBe(before);
    expect((await readiness(other)).body.accounts.states).toMatchObject({ invalid: 1, healthy: 1 });
  });
});
