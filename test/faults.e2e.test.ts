/**
 * The fault table: one case per upstream or client fault, each with exactly what the client
 * sees (status, error body, how a stream ends) and what happens to the account. docs/reliability.md
 * carries the same table; faults covered elsewhere are referenced there, not repeated here.
 * A client that disconnects or reads slowly: client-faults.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { accessJwt, call, type Outcome } from './helpers/fault-calls.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { closedPort, startSilentServer } from './helpers/raw-http.js';
import { emuReply } from './helpers/texts.js';

type Protocol = 'rest' | 'connect';

const textOf = (events: unknown[]): string => events.map((e: any) => e?.choices?.[0]?.delta?.content ?? '').join('');

interface Context {
  h: Harness;
  emulator: Emulator;
}

interface FaultCase {
  fault: string;
  protocol: Protocol;
  /** Where KIMI_BASE_URL points; default the shared emulator. */
  upstream?: 'emulator' | 'closed-port' | 'unresolvable' | 'silent';
  env?: Record<string, string>;
  /** Before the request (warm-ups, per-token faults). */
  arrange?: (ctx: Context) => Promise<void> | void;
  content: string;
  stream: boolean;
  expect: {
    status: number;
    /** JSON error body (answers that fail before any byte was streamed). */
    error?: { code: string; type: string; messageIncludes?: string };
    /** Exact answer text: the message content, or the streamed content before any error. */
    text?: string;
    /** The `error.code` of the error chunk that ends a stream, before `[DONE]`. */
    streamError?: { code: string; type: string };
    headers?: Record<string, string | null>;
    /** Keep-alive comments were sent during the upstream silence. */
    pings?: boolean;
  };
  /** What happens to the account (and the upstream) afterwards. */
  after?: (ctx: Context, outcome: Outcome) => Promise<void> | void;
}

const streamPaths = (emulator: Emulator): number =>
  Object.entries(emulator.stats().requestsByPath)
    .filter(([path]) => /completion\/stream$|ChatService\/Chat$/.test(path))
    .reduce((n, [, count]) => n + count, 0);

const states = (h: Harness): Record<string, string> => Object.fromEntries(h.app.services.pool.status().map((s) => [s.name, s.state]));

const FAULTS: FaultCase[] = [
  {
    fault: 'upstream 401, one account: refresh, then success',
    protocol: 'rest',
    env: { KIMI_TOKENS: 'tok-401-solo' },
    arrange: async ({ h, emulator }) => {
      expect((await call(h, 'warm up', false)).status).toBe(200);
      emulator.control.setTokenFault('tok-401-solo', '401', { times: 1 });
    },
    content: emuReply('after a refresh'),
    stream: false,
    expect: { status: 200, text: 'after a refresh' },
    after: ({ h, emulator }) => {
      // Initial refresh + the refresh caused by the 401.
      expect(emulator.stats().refreshes['tok-401-solo']).toBe(2);
      expect(h.app.services.pool.status()[0]!.state).toBe('healthy');
    },
  },
  {
    fault: 'upstream 401 that refresh cannot fix, two accounts: failover',
    protocol: 'connect',
    env: { KIMI_TOKENS: 'tok-401-dead,tok-401-good' },
    arrange: ({ emulator }) => emulator.control.setTokenFault('tok-401-dead', '401'),
    content: emuReply('served by the other account'),
    stream: true,
    expect: { status: 200, text: 'served by the other account' },
    after: async ({ h, emulator }) => {
      for (let i = 0; i < 3; i++) expect((await call(h, emuReply(`again ${i}`), false)).json.choices[0].message.content).toBe(`again ${i}`);
      expect(emulator.stats().requestsByAccount['tok-401-good']).toBeGreaterThanOrEqual(4);
      // The first account's token is refused even after a refresh attempt: it is marked invalid.
      expect(states(h)).toEqual({ 'account-1': 'invalid', 'account-2': 'healthy' });
    },
  },
  {
    fault: 'upstream 429 with Retry-After',
    protocol: 'rest',
    content: '[[emu fault=429 retry_after=7]]',
    stream: true,
    expect: {
      status: 429,
      error: { code: 'upstream_rate_limited', type: 'rate_limit_error' },
      headers: { 'retry-after': '7', 'retry-after-ms': '7000', 'content-type': 'application/json; charset=utf-8' },
    },
    after: async ({ h, emulator }) => {
      // Both accounts cool down for Kimi's 7 s; the next request is answered without calling Kimi.
      expect(Object.values(states(h))).toEqual(['cooling', 'cooling']);
      const before = streamPaths(emulator);
      const next = await call(h, 'next', false);
      expect(next.status).toBe(429);
      expect(next.json.error.code).toBe('accounts_exhausted');
      expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(6);
      expect(Number(next.headers.get('retry-after'))).toBeLessThanOrEqual(7);
      expect(streamPaths(emulator)).toBe(before);
    },
  },
  {
    fault: 'upstream 429 without Retry-After',
    protocol: 'connect',
    content: '[[emu fault=429 retry_after=none]]',
    stream: false,
    expect: { status: 429, error: { code: 'upstream_rate_limited', type: 'rate_limit_error' }, headers: { 'retry-after': '5', 'retry-after-ms': '5000' } },
    after: async ({ h }) => {
      // Without a hint each account backs off by itself (2 s base, jittered, doubling per strike).
      expect(Object.values(states(h))).toEqual(['cooling', 'cooling']);
      const next = await call(h, 'next', false);
      expect(next.status).toBe(429);
      expect(next.json.error.code).toBe('accounts_exhausted');
      expect(Number(next.headers.get('retry-after-ms'))).toBeGreaterThan(0);
      expect(Number(next.headers.get('retry-after-ms'))).toBeLessThanOrEqual(3_000);
    },
  },
  ...(['rest', 'connect'] as const).flatMap((protocol): FaultCase[] =>
    (['500', '502'] as const).map((status) => ({
      fault: `upstream ${status}`,
      protocol,
      content: `[[emu fault=${status}]]`,
      stream: status === '502',
      expect: { status: 502, error: { code: 'upstream_http_error', type: 'upstream_error', messageIncludes: `HTTP ${status}` } },
      after: async ({ h, emulator }) => {
        // Tried on both accounts; one failure each does not open their circuits.
        expect(streamPaths(emulator)).toBe(2);
        expect(Object.values(states(h))).toEqual(['healthy', 'healthy']);
        expect((await call(h, emuReply('recovered'), false)).json.choices[0].message.content).toBe('recovered');
      },
    })),
  ),
  {
    fault: 'upstream 503',
    protocol: 'rest',
    content: '[[emu fault=503]]',
    stream: false,
    expect: { status: 503, error: { code: 'upstream_overloaded', type: 'service_unavailable' }, headers: { 'retry-after': '5', 'retry-after-ms': '5000' } },
    after: ({ emulator }) => expect(streamPaths(emulator)).toBe(2),
  },
  {
    fault: 'connection refused',
    protocol: 'rest',
    upstream: 'closed-port',
    content: 'x',
    stream: true,
    expect: {
      status: 502,
      error: { code: 'upstream_network_error', type: 'upstream_error', messageIncludes: 'ECONNREFUSED' },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
    after: async ({ h }) => {
      // Three consecutive failures open the account's circuit: then 429 without trying Kimi.
      expect((await call(h, 'x', false)).status).toBe(502);
      expect((await call(h, 'x', false)).status).toBe(502);
      const open = await call(h, 'x', false);
      expect(open.status).toBe(429);
      expect(open.json.error.code).toBe('accounts_exhausted');
      expect(Number(open.headers.get('retry-after'))).toBeGreaterThanOrEqual(29);
      expect(h.app.services.pool.status()[0]!.state).toBe('failing');
    },
  },
  {
    fault: 'DNS failure (a name that never resolves)',
    protocol: 'connect',
    upstream: 'unresolvable',
    content: 'x',
    stream: false,
    expect: { status: 502, error: { code: 'upstream_network_error', type: 'upstream_error', messageIncludes: 'ENOTFOUND' } },
  },
  {
    fault: 'first-byte timeout (the upstream accepts and never answers)',
    protocol: 'rest',
    upstream: 'silent',
    env: { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300' },
    content: 'x',
    stream: true,
    expect: {
      status: 504,
      error: { code: 'upstream_timeout', type: 'timeout_error', messageIncludes: 'first-byte' },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
  },
  {
    fault: 'idle stall past the limit, mid-answer',
    protocol: 'rest',
    env: { UPSTREAM_IDLE_TIMEOUT_MS: '400', KEEPALIVE_INTERVAL_MS: '100' },
    content: '[[emu deltas=6 fault=stall after=2]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 ', streamError: { code: 'upstream_timeout', type: 'timeout_error' }, pings: true },
  },
  {
    fault: 'heartbeat-only stall longer than the idle limit (heartbeats keep it alive)',
    protocol: 'connect',
    env: { UPSTREAM_IDLE_TIMEOUT_MS: '400', KEEPALIVE_INTERVAL_MS: '200' },
    content: '[[emu stall=1500 hb=100 reply="worth the wait"]]',
    stream: true,
    expect: { status: 200, text: 'worth the wait', pings: true },
    after: (_ctx, outcome) => {
      const finishes = outcome.events!.map((e: any) => e?.choices?.[0]?.finish_reason).filter(Boolean);
      expect(finishes).toEqual(['stop']);
    },
  },
  ...(['rest', 'connect'] as const).map(
    (protocol): FaultCase => ({
      fault: 'connection cut mid-answer, non-streamed',
      protocol,
      content: '[[emu deltas=10 fault=cut after=3]]',
      stream: false,
      expect: { status: 502, error: { code: 'upstream_network_error', type: 'upstream_error' } },
      // Output had started upstream: no failover to the other account.
      after: ({ emulator }) => expect(streamPaths(emulator)).toBe(1),
    }),
  ),
  {
    fault: 'truncated Connect envelope, streamed',
    protocol: 'connect',
    content: '[[emu deltas=6 fault=truncate after=3]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 w3 ', streamError: { code: 'upstream_protocol_error', type: 'upstream_error' } },
  },
  {
    fault: 'truncated SSE record (REST), streamed',
    protocol: 'rest',
    content: '[[emu deltas=6 fault=truncate after=3]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 w3 ', streamError: { code: 'upstream_protocol_error', type: 'upstream_error' } },
  },
  {
    fault: 'in-stream error event (REST), streamed',
    protocol: 'rest',
    content: '[[emu deltas=6 fault=error-event after=2]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 ', streamError: { code: 'upstream_generation_error', type: 'upstream_error' } },
  },
  {
    fault: 'in-stream error (Connect resource_exhausted), streamed',
    protocol: 'connect',
    content: '[[emu deltas=6 fault=error-event after=2]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 ', streamError: { code: 'upstream_rate_limited', type: 'rate_limit_error' } },
    after: ({ h }) => expect(Object.values(states(h))).toContain('cooling'),
  },
  {
    fault: 'overload exception mid-answer (Connect), streamed',
    protocol: 'connect',
    content: '[[emu deltas=6 fault=exception after=2]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 ', streamError: { code: 'upstream_overloaded', type: 'service_unavailable' } },
  },
  {
    fault: 'stream ends without its end marker (REST all_done), streamed',
    protocol: 'rest',
    content: '[[emu deltas=6 fault=no-done]]',
    stream: true,
    expect: { status: 200, text: 'w1 w2 w3 w4 w5 w6', streamError: { code: 'upstream_protocol_error', type: 'upstream_error' } },
  },
  {
    fault: 'chat still streaming another reply upstream (REST chat.user_stream_pushing)',
    protocol: 'rest',
    content: '[[emu fault=busy]]',
    stream: false,
    expect: { status: 409, error: { code: 'upstream_chat_busy', type: 'conflict_error' } },
    // Not an account problem: no failover, the account stays healthy.
    after: ({ h, emulator }) => {
      expect(streamPaths(emulator)).toBe(1);
      expect(Object.values(states(h))).toEqual(['healthy', 'healthy']);
    },
  },
];

describe('fault table', () => {
  let emulator: Emulator;
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let refusedUrl: string;
  beforeAll(async () => {
    // Several proxies share this emulator; without rotation each can refresh the same token.
    emulator = await startEmulator({ heartbeatIntervalMs: 100, rotateRefreshTokens: false });
    silent = await startSilentServer();
    refusedUrl = `http://127.0.0.1:${await closedPort()}`;
  });
  afterAll(async () => {
    await emulator.close();
    await silent.close();
  });

  it.each(FAULTS.map((c) => [`${c.fault} (${c.protocol})`, c] as const))('%s', async (_name, c) => {
    emulator.control.reset();
    const baseUrl = { emulator: emulator.url, 'closed-port': refusedUrl, unresolvable: 'http://kimi-upstream.invalid', silent: silent.url }[c.upstream ?? 'emulator'];
    const h = await startHarness({
      sharedEmulator: emulator,
      env: {
        KIMI_PROTOCOL: c.protocol,
        KIMI_BASE_URL: baseUrl,
        ...(c.upstream && c.upstream !== 'emulator' ? { KIMI_TOKENS: accessJwt() } : {}),
        ...c.env,
      },
    });
    try {
      const ctx = { h, emulator };
      await c.arrange?.(ctx);
      const out = await call(h, c.content, c.stream);
      const x = c.expect;
      expect(out.status).toBe(x.status);
      expect(out.headers.get('x-request-id')).toMatch(/\S/);
      for (const [name, value] of Object.entries(x.headers ?? {})) expect(out.headers.get(name), name).toBe(value);
      if (x.error) {
        expect(out.json.error).toMatchObject({ code: x.error.code, type: x.error.type, param: null });
        expect(typeof out.json.error.message).toBe('string');
        if (x.error.messageIncludes) expect(out.json.error.message).toContain(x.error.messageIncludes);
      }
      if (out.events) {
        expect(out.events.at(-1)).toBe('[DONE]');
        expect(textOf(out.events)).toBe(x.text);
        const errors = out.events.filter((e: any) => e?.error);
        if (x.streamError) {
          expect(errors).toHaveLength(1);
          expect(out.events.at(-2)).toMatchObject({ error: x.streamError });
          // A failed answer never ends with a made-up finish_reason.
          expect(out.events.some((e: any) => e?.choices?.[0]?.finish_reason)).toBe(false);
        } else {
          expect(errors).toHaveLength(0);
        }
      } else if (x.text !== undefined) {
        expect(out.json.choices[0].message.content).toBe(x.text);
      }
      if (x.pings !== undefined) expect(out.pings > 0).toBe(x.pings);
      await c.after?.(ctx, out);
    } finally {
      await h.close();
    }
  });

  it('first-byte timeout with one account: exactly one upstream connection, no retry behind the client', async () => {
    const before = silent.connections();
    const h = await startHarness({ env: { KIMI_PROTOCOL: 'rest', KIMI_BASE_URL: silent.url, KIMI_TOKENS: accessJwt(), UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300' } });
    try {
      expect((await call(h, 'x', false)).status).toBe(504);
      expect(silent.connections() - before).toBe(1);
    } finally {
      await h.close();
    }
  });
});
