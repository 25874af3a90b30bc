/** Health/readiness, request logs (one line per request, persisted with retention) and redaction (metrics: metrics.e2e.test.ts). */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { checkReadiness } from '../src/observability/readiness.js';
import type { AccountState } from '../src/store/store.js';
import { postJson, postStream, harnessPerTest, streamText, waitFor, type Harness } from './helpers/harness.js';
import { scrape, series } from './helpers/metrics-text.js';

const user = (content: string) => ({ role: 'user', content });

/** Parsed `request` lines of the log. */
function requestLines(h: Harness): any[] {
  return h.logs.map((l) => JSON.parse(l)).filter((o) => o.msg === 'request');
}

async function readiness(h: Harness): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const res = await fetch(`${h.base}/health/ready`);
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

describe('health and readiness', () => {
  const start = harnessPerTest();

  it('is live and ready with a reachable store and a usable account', async () => {
    const h = await start();
    const live = await fetch(`${h.base}/health`);
    expect(live.status).toBe(200);
    const r = await readiness(h);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ready', store: 'ok', accounts: { total: 2, usable: 2 } });
  });

  it('is not ready when the store does not answer', async () => {
    const h = await start();
    h.app.services.store.ping = async () => {
      throw new Error('connection refused');
    };
    const r = await readiness(h);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'not_ready', reason: 'store_unreachable' });
    expect(r.body.message).toContain('connection refused');
    expect((await fetch(`${h.base}/health`)).status).toBe(200);
  });

  it('is not ready without accounts', async () => {
    const h = await start({ env: { KIMI_TOKENS: '' } });
    const r = await readiness(h);
    expect(r.status).toBe(503);
    expect(r.body.reason).toBe('no_accounts');
  });

  it('is not ready while every account cools down, and says when the first comes back', async () => {
    const h = await start();
    h.emulator.control.setTokenFault('tok-alpha', '429', { retryAfter: 30 });
    h.emulator.control.setTokenFault('tok-beta', '429', { retryAfter: 40 });
    expect((await postJson(h, { model: 'k2', messages: [user('x')] })).status).toBe(429);
    const r = await readiness(h);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'not_ready', reason: 'accounts_unavailable', accounts: { total: 2, usable: 0, states: { cooling: 2 } } });
    expect(r.body.retry_after_ms).toBeGreaterThan(25_000);
    expect(r.body.retry_after_ms).toBeLessThanOrEqual(30_000);
    expect(Date.parse(r.body.retry_at)).toBeGreaterThan(Date.now());
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(26);
  });

  it('is not ready while shutting down', async () => {
    const r = await checkReadiness({ store: { ping: async () => undefined }, accounts: () => [], now: () => 0, draining: () => true });
    expect(r).toMatchObject({ ready: false, body: { status: 'not_ready', reason: 'shutting_down' } });
  });

  it('is not ready when every account is invalid', async () => {
    const h = await start();
    h.emulator.control.invalidateToken('tok-alpha');
    h.emulator.control.invalidateToken('tok-beta');
    await postJson(h, { model: 'k2', messages: [user('x')] });
    await waitFor(async () => (await readiness(h!)).status === 503, 3_000, 'not ready');
    const r = await readiness(h);
    expect(r.body).toMatchObject({ reason: 'accounts_unavailable', accounts: { usable: 0, states: { invalid: 2 } } });
    expect(r.body.message).toMatch(/invalid or disabled/);
    expect(r.retryAfter).toBeNull();
  });
});

describe('request log', () => {
  const start = harnessPerTest();

  it('writes one line per request; for a stream, only when it has ended, with its fields', async () => {
    const h = await start();
    const res = await fetch(`${h.base}/v1/chat/completions/conv-log-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}`, 'x-request-id': 'req-stream-1' },
      body: JSON.stringify({ model: 'k2', stream: true, messages: [user('[[emu deltas=6 delay=60]] secret-question-text')] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 100));
    expect(requestLines(h).filter((l) => l.reqId === 'req-stream-1')).toHaveLength(0);
    while (!(await reader.read()).done) {
      // read to the end
    }
    await waitFor(() => requestLines(h!).some((l) => l.reqId === 'req-stream-1'), 2_000, 'the stream log line');
    await postJson(h, { model: 'k2', messages: [user('plain')] }, '/v1/chat/completions', { 'x-request-id': 'req-plain-1' });
    await fetch(`${h.base}/health`, { headers: { 'x-request-id': 'req-health-1' } });
    await waitFor(() => requestLines(h!).some((l) => l.reqId === 'req-health-1'), 2_000, 'the health log line');

    const lines = requestLines(h);
    for (const id of ['req-stream-1', 'req-plain-1', 'req-health-1']) expect(lines.filter((l) => l.reqId === id)).toHaveLength(1);
    const s = lines.find((l) => l.reqId === 'req-stream-1');
    expect(s).toMatchObject({
      status: 200,
      key: 'env-key-1',
      model: 'k2',
      protocol: 'connect',
      conversationId: 'conv-log-1',
      stream: true,
      tokensEstimated: true,
    });
    expect(['account-1', 'account-2']).toContain(s.account);
    expect(s.ttfbMs).toBeGreaterThanOrEqual(0);
    // Five 60 ms gaps after the first delta: the line was written at the end of the stream.
    expect(s.durationMs).toBeGreaterThanOrEqual(250);
    expect(s.durationMs).toBeGreaterThanOrEqual(s.ttfbMs);
    expect(s.promptTokens).toBeGreaterThan(0);
    expect(s.completionTokens).toBeGreaterThan(0);
    expect(s.errorCode).toBeUndefined();
    expect(lines.find((l) => l.reqId === 'req-plain-1')).toMatchObject({ stream: false, status: 200 });
    expect(lines.find((l) => l.reqId === 'req-health-1')).toMatchObject({ url: '/health', status: 200 });
    // Message contents stay out of the logs unless LOG_BODIES=true.
    expect(h.logs.join('\n')).not.toContain('secret-question-text');
  });

  it('records error codes: before the stream, inside the stream, and upstream codes', async () => {
    const h = await start();
    const midStream = await postStream(h, { model: 'k2', messages: [user('[[emu deltas=5 fault=error-event after=2]]')] }, '/v1/chat/completions', { 'x-request-id': 'req-mid-err' });
    expect(midStream.status).toBe(200);
    const midCode = (midStream.events.at(-2) as any).error.code;
    expect(midCode).toMatch(/^upstream_/);
    await waitFor(async () => series((await scrape(h!)).text, 'kimi_proxy_upstream_errors_total', { code: midCode }) === 1, 2_000, 'the in-stream error counted');
    h.emulator.control.setTokenFault('tok-alpha', '429', { retryAfter: 30 });
    h.emulator.control.setTokenFault('tok-beta', '429', { retryAfter: 30 });
    expect((await postJson(h, { model: 'k2', messages: [user('x')] }, '/v1/chat/completions', { 'x-request-id': 'req-429' })).status).toBe(429);
    expect((await postJson(h, { model: 'k2', messages: [user('x')] }, '/v1/chat/completions', { 'x-request-id': 'req-401', authorization: 'Bearer sk-wrong' })).status).toBe(401);
    await waitFor(() => requestLines(h!).filter((l) => ['req-mid-err', 'req-429', 'req-401'].includes(l.reqId)).length === 3, 2_000, 'three log lines');
    const lines = requestLines(h);
    const mid = lines.find((l) => l.reqId === 'req-mid-err');
    expect(mid.status).toBe(200);
    expect(mid.errorCode).toBe((midStream.events.at(-2) as any).error.code);
    expect(mid.errorCode).toMatch(/^upstream_/);
    expect(mid.promptTokens).toBeUndefined();
    const limited = lines.find((l) => l.reqId === 'req-429');
    expect(limited).toMatchObject({ status: 429, errorCode: 'upstream_rate_limited' });
    expect(limited.upstreamCode).toBeTruthy();
    expect(lines.find((l) => l.reqId === 'req-401')).toMatchObject({ status: 401, errorCode: 'invalid_api_key' });
    const m = (await scrape(h)).text;
    expect(series(m, 'kimi_proxy_requests_total', { status: '401', key: 'none' })).toBe(1);
    // The 429s: one failover and one final answer, on top of the in-stream error.
    expect(series(m, 'kimi_proxy_upstream_errors_total', { code: 'upstream_rate_limited' })).toBe(midCode === 'upstream_rate_limited' ? 3 : 2);
  });

  it('logs a stream the client abandoned once, as client_closed, and closes its gauge', async () => {
    const h = await start();
    const ac = new AbortController();
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}`, 'x-request-id': 'req-abandoned' },
      body: JSON.stringify({ model: 'k2', stream: true, messages: [user('[[emu deltas=50 delay=100]]')] }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await waitFor(() => requestLines(h!).some((l) => l.reqId === 'req-abandoned'), 2_000, 'the log line');
    await waitFor(() => h!.emulator.stats().openStreams === 0, 2_000, 'the upstream stream to stop');
    const lines = requestLines(h).filter((l) => l.reqId === 'req-abandoned');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 200, stream: true, errorCode: 'client_closed' });
    expect(series((await scrape(h)).text, 'kimi_proxy_active_streams')).toBe(0);
  });

  it('logs message contents only with LOG_BODIES=true', async () => {
    const h = await start({ env: { LOG_BODIES: 'true' } });
    await postJson(h, { model: 'k2', messages: [user('visible-question-text')] });
    await waitFor(() => requestLines(h!).length > 0, 2_000, 'a log line');
    expect(requestLines(h)[0].messages).toEqual([user('visible-question-text')]);
  });

  it('persists entries in the store and prunes them by count and age', async () => {
    const h = await start({ env: { REQUEST_LOG_MAX_ENTRIES: '3' } });
    const { store } = h.app.services;
    for (let i = 0; i < 2; i++) await postJson(h, { model: 'k2', messages: [user(`n${i}`)] }, '/v1/chat/completions', { 'x-request-id': `req-persist-${i}` });
    await postStream(h, { model: 'k2', messages: [user('s')] }, '/v1/chat/completions/conv-persist', { 'x-request-id': 'req-persist-s' });
    await waitFor(async () => (await store.listRequestLog({ limit: 10 })).length === 3, 2_000, 'three persisted entries');
    const entries = await store.listRequestLog({ limit: 10 });
    const s = entries.find((e) => e.requestId === 'req-persist-s')!;
    expect(s).toMatchObject({ keyName: 'env-key-1', model: 'k2', protocol: 'connect', conversationId: 'conv-persist', stream: true, status: 200 });
    expect(['account-1', 'account-2']).toContain(s.accountName);
    expect(s.ttfbMs).toBeGreaterThanOrEqual(0);
    expect(s.durationMs).toBeGreaterThanOrEqual(0);
    expect(s.completionTokens).toBeGreaterThan(0);
    expect(JSON.stringify(entries)).not.toContain('tok-');

    // Two more requests exceed REQUEST_LOG_MAX_ENTRIES; an entry past the age limit goes too.
    for (let i = 2; i < 4; i++) await postJson(h, { model: 'k2', messages: [user(`n${i}`)] }, '/v1/chat/completions', { 'x-request-id': `req-persist-${i}` });
    await waitFor(async () => (await store.listRequestLog({ limit: 10 })).length === 5, 2_000, 'five persisted entries');
    await store.appendRequestLog({ id: 'old', at: Date.now() - 8 * 86_400_000, requestId: 'req-old', stream: false, status: 200, durationMs: 1 });
    await h.app.services.requestLog.prune();
    const kept = await store.listRequestLog({ limit: 10 });
    expect(kept.map((e) => e.requestId)).toEqual(['req-persist-3', 'req-persist-2', 'req-persist-s']);
  });
});

describe('redaction', () => {
  const start = harnessPerTest();

  it('keeps API keys, Kimi tokens, issued access tokens and cookies out of logs, metrics and error bodies', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' } });
    const { store, pool } = h.app.services;
    // Every token state the pool saves: issued access tokens and rotated refresh tokens.
    const saved: AccountState[] = [];
    const save = store.saveAccountState.bind(store);
    store.saveAccountState = async (state) => {
      saved.push(structuredClone(state));
      return save(state);
    };
    const cookie = 'session=cookie-secret-5f1e2d';
    const bodies: string[] = [];
    const keep = async <T extends { json: any }>(p: Promise<T>): Promise<T> => {
      const r = await p;
      bodies.push(JSON.stringify(r.json));
      return r;
    };
    const headers = { cookie, 'x-api-key': h.apiKey };

    // Stateless, streaming, stateful.
    expect((await keep(postJson(h, { model: 'k2', messages: [user('[[emu reply="a"]]')] }, '/v1/chat/completions', headers))).status).toBe(200);
    const s = await postStream(h, { model: 'k2', messages: [user('[[emu deltas=4]]')] }, '/v1/chat/completions', headers);
    expect(streamText(s.events)).toBe('w1 w2 w3 w4');
    bodies.push(s.raw);
    for (let i = 0; i < 2; i++) expect((await keep(postJson(h, { model: 'k2', messages: [user(`turn ${i}`)] }, '/v1/chat/completions/conv-secret-test', headers))).status).toBe(200);

    // An upstream 401 on the account's current access token, then a refresh.
    const account = pool.list()[0]!;
    await waitFor(async () => (await store.getAccountState(account.stateKey))?.accessToken !== undefined, 3_000, 'an issued access token');
    const issued = (await store.getAccountState(account.stateKey))!;
    const refreshesBefore = h.emulator.stats().refreshes['tok-alpha'] ?? 0;
    h.emulator.control.invalidateToken(issued.accessToken!);
    for (let i = 0; i < 4; i++) expect((await keep(postJson(h, { model: 'k2', messages: [user(`after 401 ${i}`)] }, '/v1/chat/completions', headers))).status).toBe(200);
    await waitFor(() => (h!.emulator.stats().refreshes['tok-alpha'] ?? 0) > refreshesBefore, 3_000, 'a refresh after the 401');

    // Errors: a wrong key, a bad body, an in-stream upstream error, every account refused.
    bodies.push(JSON.stringify((await postJson(h, { model: 'k2', messages: [user('x')] }, '/v1/chat/completions', { authorization: 'Bearer sk-wrong-key-abc', cookie })).json));
    bodies.push(JSON.stringify((await keep(postJson(h, '{"model":', '/v1/chat/completions', headers))).json));
    bodies.push((await postStream(h, { model: 'k2', messages: [user('[[emu deltas=3 fault=error-event after=1]]')] }, '/v1/chat/completions', headers)).raw);
    h.emulator.control.setTokenFault('tok-alpha', '401');
    h.emulator.control.setTokenFault('tok-beta', '401');
    const refused = await keep(postJson(h, { model: 'k2', messages: [user('x')] }, '/v1/chat/completions', headers));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    for (const r of ['/health/ready', '/v1/models', '/v1/conversations']) {
      bodies.push(await (await fetch(h.base + r, { headers: { authorization: `Bearer ${h.apiKey}`, cookie } })).text());
    }
    const metrics = (await scrape(h)).text;
    await h.app.services.requestLog.flush();
    const persisted = JSON.stringify(await store.listRequestLog({ limit: 1000 }));

    const tokens = new Set<string>(['tok-alpha', 'tok-beta', issued.accessToken!]);
    for (const st of saved) {
      if (st.accessToken) tokens.add(st.accessToken);
      if (st.refreshToken) tokens.add(st.refreshToken);
    }
    for (const a of pool.list()) {
      const st = await store.getAccountState(a.stateKey);
      if (st?.accessToken) tokens.add(st.accessToken);
      if (st?.refreshToken) tokens.add(st.refreshToken);
    }
    // The session really saw issued JWTs (and refreshed one after the 401).
    expect([...tokens].filter((t) => t.startsWith('eyJ')).length).toBeGreaterThanOrEqual(2);
    const secrets = [h.apiKey, 'sk-wrong-key-abc', 'cookie-secret-5f1e2d', ...tokens];

    const logs = h.logs.join('\n');
    expect(h.logs.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(logs, 'logs').not.toContain(secret);
      expect(metrics, 'metrics').not.toContain(secret);
      expect(persisted, 'request log').not.toContain(secret);
      for (const b of bodies) expect(b, 'a response body').not.toContain(secret);
    }
    // Nothing JWT-shaped or cookie-shaped leaks either, even ones this test did not see.
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(logs).not.toContain('kimi-auth=');
  });

  it('redacts secrets in log objects with the production logger', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ req: { headers: { authorization: 'Bearer SECRET1', cookie: 'SECRET2', 'x-api-key': 'SECRET3', 'proxy-authorization': 'SECRET4' } } }, 'a');
    logger.info({ upstream: { headers: { authorization: 'Bearer SECRET5', cookie: 'kimi-auth=SECRET6' } }, token: 'SECRET7', account: { refreshToken: 'SECRET8' } }, 'b');
    logger.info({ config: { kimiTokens: ['SECRET9'], apiKeys: ['SECRET10'], metricsToken: 'SECRET11' }, authorization: 'SECRET12', password: 'SECRET13' }, 'c');
    const text = lines.join('');
    expect(text).toContain('[redacted]');
    expect(text).not.toMatch(/SECRET\d/);
  });
});
