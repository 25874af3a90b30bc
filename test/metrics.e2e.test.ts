/** GET /metrics: Prometheus text with request, stream, account, queue, refresh and failover series, and its token. */
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, postStream, startHarness, waitFor, type Harness } from './helpers/harness.js';
import { scrape, series } from './helpers/metrics-text.js';

const user = (content: string) => ({ role: 'user', content });

describe('metrics', () => {
  const open: Harness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });
  const start = async (env: Record<string, string> = {}): Promise<Harness> => {
    const h = await startHarness({ env });
    open.push(h);
    return h;
  };

  it('serves Prometheus text with request, stream, account, refresh and failover series, per app', async () => {
    const h = await start();
    const other = await start();
    const baseId = (await h.app.services.models.resolve('k2'))!.baseId;

    expect((await postJson(h, { model: 'k2', messages: [user('[[emu reply="one"]]')] })).status).toBe(200);
    const s = await postStream(h, { model: 'k2', messages: [user('[[emu deltas=3]]')] });
    expect(s.status).toBe(200);
    expect((await postJson(h, { model: 'no-such-model', messages: [user('x')] })).status).toBe(404);
    h.emulator.control.setTokenFault('tok-alpha', '500');
    h.emulator.control.setTokenFault('tok-beta', '500', { times: 1 });
    // Round-robin puts one of these on the failing account first: it fails over.
    for (let i = 0; i < 2; i++) await postJson(h, { model: 'k2', messages: [user(`after fault ${i}`)] });
    h.emulator.control.clearTokenFault('tok-alpha');

    await waitFor(async () => series((await scrape(h)).text, 'kimi_proxy_requests_total', { status: '200', model: baseId, key: 'env-key-1' })! >= 2, 2_000, 'request series');
    const m = await scrape(h);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const t = m.text;
    expect(series(t, 'kimi_proxy_requests_total', { status: '404', model: 'other', key: 'env-key-1' })).toBe(1);
    expect(series(t, 'kimi_proxy_stream_ttfb_seconds_count', { model: baseId })).toBe(1);
    expect(series(t, 'kimi_proxy_request_duration_seconds_count', { model: baseId, stream: 'true' })).toBe(1);
    expect(series(t, 'kimi_proxy_request_duration_seconds_count', { model: baseId, stream: 'false' })).toBeGreaterThanOrEqual(1);
    expect(series(t, 'kimi_proxy_active_streams')).toBe(0);
    expect(series(t, 'kimi_proxy_failovers_total', { code: 'upstream_http_error' })).toBeGreaterThanOrEqual(1);
    expect(series(t, 'kimi_proxy_upstream_errors_total', { code: 'upstream_http_error' })).toBeGreaterThanOrEqual(1);
    expect(series(t, 'kimi_proxy_token_refreshes_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(series(t, 'kimi_proxy_token_refreshes_total', { result: 'failed' })).toBe(0);
    expect(series(t, 'kimi_proxy_estimated_tokens_total', { type: 'completion', model: baseId })).toBeGreaterThan(0);
    for (const account of ['account-1', 'account-2']) {
      const states = ['healthy', 'cooling', 'refreshing', 'invalid', 'failing', 'disabled'].map((state) => series(t, 'kimi_proxy_account_state', { account, state }));
      expect(states.every((v) => v === 0 || v === 1)).toBe(true);
      expect(states.reduce((a, b) => a! + b!, 0)).toBe(1);
    }
    expect(series(t, 'kimi_proxy_queue_waiting')).toBe(0);
    expect(series(t, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // Labels carry names, never tokens.
    expect(t).not.toContain('tok-alpha');
    expect(t).not.toContain('tok-beta');

    // Another app in the same process has its own registry.
    const o = (await scrape(other)).text;
    expect(series(o, 'kimi_proxy_requests_total', { status: '200' })).toBeUndefined();
    expect(series(o, 'kimi_proxy_build_info')).toBe(1);
  });

  it('counts an open stream as active until it ends', async () => {
    const h = await start();
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
      body: JSON.stringify({ model: 'k2', stream: true, messages: [user('[[emu deltas=8 delay=80]]')] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(series((await scrape(h)).text, 'kimi_proxy_active_streams')).toBe(1);
    while (!(await reader.read()).done) {
      // read to the end
    }
    await waitFor(async () => series((await scrape(h)).text, 'kimi_proxy_active_streams') === 0, 2_000, 'stream gauge back to 0');
  });

  it('counts queue rejections', async () => {
    // No background chat deletions: they would queue for accounts too.
    const h = await start({ ACCOUNT_MAX_CONCURRENT: '1', QUEUE_MAX: '0', DELETE_TEMP_CHATS: 'false', CONVERSATION_REUSE: 'off' });
    // Both accounts get their access token first (a request would otherwise wait for the refresh, and QUEUE_MAX=0 refuses waiting).
    const { pool } = h.app.services;
    await h.app.services.models.refresh();
    expect(await Promise.all(pool.list().map((a) => pool.recheck(a.id)))).toEqual([true, true]);
    await waitFor(() => pool.status().every((a) => a.inFlight === 0 && a.state === 'healthy'), 2_000, 'idle healthy accounts');
    const slow = [0, 1].map(() => postJson(h, { model: 'k2', messages: [user('[[emu deltas=6 delay=100]]')] }));
    await waitFor(() => h.emulator.stats().openStreams === 2, 3_000, 'both accounts busy');
    // (The start-up catalog fetch may have been refused too, while the accounts had no token yet.)
    const before = series((await scrape(h)).text, 'kimi_proxy_queue_rejections_total', { reason: 'full' })!;
    const refused = await postJson(h, { model: 'k2', messages: [user('third')] });
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('rate_limited');
    await Promise.all(slow);
    expect(series((await scrape(h)).text, 'kimi_proxy_queue_rejections_total', { reason: 'full' })).toBe(before + 1);
  });

  it('requires the Bearer token when METRICS_TOKEN is set', async () => {
    const h = await start({ METRICS_TOKEN: 'metrics-secret-123' });
    const none = await scrape(h);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).error.type).toBe('authentication_error');
    expect((await scrape(h, { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await scrape(h, { authorization: 'Bearer metrics-secret-123' });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('kimi_proxy_requests_total');
  });
});
