/**
 * The admin API as the dashboard uses it: login sessions with CSRF, the login rate limit,
 * the /admin page and its headers, account changes reaching every instance on one store,
 * pasted credentials, quota, the overview statistics and the filtered request log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwt } from '../src/accounts/__fixtures__/fakes.js';
import { postJson, startHarness, waitFor, type Harness } from './helpers/harness.js';

const ADMIN_TOKEN = 'adm-0123456789abcdef-secret';
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const user = (content: string) => ({ role: 'user', content });

interface Res {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

async function call(h: Harness, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(h.base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

async function login(h: Harness, headers: Record<string, string> = {}): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await call(h, 'POST', '/admin/api/session', { token: ADMIN_TOKEN }, headers);
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, csrf: res.json.csrf_token, setCookie };
}

describe('dashboard sessions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
  });
  afterAll(async () => h.close());

  it('logs in with the admin token into an HttpOnly, SameSite=Strict, expiring cookie', async () => {
    expect((await call(h, 'POST', '/admin/api/session', { token: `${ADMIN_TOKEN}x` })).status).toBe(401);
    // A client API key is not the admin token, neither to log in nor as a bearer.
    expect((await call(h, 'POST', '/admin/api/session', { token: h.apiKey })).status).toBe(401);
    expect((await call(h, 'GET', '/admin/api/accounts', undefined, { authorization: `Bearer ${h.apiKey}` })).status).toBe(401);

    const { cookie, setCookie } = await login(h);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/admin/);
    expect(setCookie).toMatch(/Max-Age=43200/);
    expect(setCookie).not.toMatch(/Secure/);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const me = await call(h, 'GET', '/admin/api/session', undefined, { cookie });
    expect(me.json).toMatchObject({ via: 'session', csrf_token: expect.any(String) });
    expect((await call(h, 'GET', '/admin/api/accounts', undefined, { cookie })).status).toBe(200);
    // Behind a TLS-terminating proxy the cookie is Secure.
    expect((await login(h, { 'x-forwarded-proto': 'https' })).setCookie).toMatch(/Secure/);
  });

  it('refuses a state-changing call without the session CSRF token', async () => {
    const { cookie, csrf } = await login(h);
    const other = await login(h);
    const bare = await call(h, 'POST', '/admin/api/keys', { name: 'csrf-test' }, { cookie });
    expect(bare.status).toBe(403);
    expect(bare.json.error.code).toBe('csrf_token_invalid');
    expect((await call(h, 'POST', '/admin/api/keys', { name: 'csrf-test' }, { cookie, 'x-csrf-token': other.csrf })).status).toBe(403);
    expect((await call(h, 'DELETE', '/admin/api/conversations/x', undefined, { cookie })).status).toBe(403);
    expect((await call(h, 'POST', '/admin/api/keys', { name: 'csrf-test' }, { cookie, 'x-csrf-token': csrf })).status).toBe(201);
    // Scripts with the token in a header need no CSRF token (browsers never send that header by themselves).
    expect((await call(h, 'POST', '/admin/api/keys', { name: 'script' }, BEARER)).status).toBe(201);
  });

  it('ends the session at logout', async () => {
    const { cookie, csrf } = await login(h);
    const out = await call(h, 'DELETE', '/admin/api/session', undefined, { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const after = await call(h, 'GET', '/admin/api/accounts', undefined, { cookie });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe('invalid_admin_token');
  });

  it('serves the dashboard with a strict Content-Security-Policy', async () => {
    const res = await call(h, 'GET', '/admin');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('limits login attempts per address', async () => {
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++) last = (await call(h, 'POST', '/admin/api/session', { token: 'wrong-token-0123456789' })).status;
    expect(last).toBe(429);
    // Even the right token is refused until the minute is over.
    expect((await call(h, 'POST', '/admin/api/session', { token: ADMIN_TOKEN })).status).toBe(429);
  });
});

describe('dashboard without ADMIN_TOKEN', () => {
  it('explains at /admin how to enable it', async () => {
    const h = await startHarness();
    try {
      const res = await call(h, 'GET', '/admin');
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.text).toContain('ADMIN_TOKEN');
      expect((await call(h, 'POST', '/admin/api/session', { token: ADMIN_TOKEN })).status).toBe(404);
    } finally {
      await h.close();
    }
  });
});

describe('account changes on a shared store', () => {
  let dir: string;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-dash-'));
    const env = { ADMIN_TOKEN, STORE_URL: `sqlite:${dir}`, ACCOUNT_SYNC_MS: '100' };
    a = await startHarness({ env });
    b = await startHarness({ env, sharedEmulator: a.emulator });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const accountOn = async (h: Harness, name: string): Promise<any> =>
    (await call(h, 'GET', '/admin/api/accounts', undefined, BEARER)).json.data.find((x: any) => x.name === name);

  it('applies an account added, changed, disabled and removed on one instance on the other too', async () => {
    const added = await call(a, 'POST', '/admin/api/accounts', { name: 'gamma', token: 'tok-gamma-0123456789abcdef' }, BEARER);
    expect(added.status).toBe(201);
    // Without any admin call on b: its background sync picks the account up and serves with it.
    await waitFor(() => b.app.services.pool.get(added.json.id) !== undefined, 5_000, 'the account on b');
    // A refresh token: b refreshes it first ('refreshing'), then the account serves.
    await waitFor(async () => (await accountOn(b, 'gamma'))?.state === 'healthy', 5_000, 'the account healthy on b');
    expect(await accountOn(b, 'gamma')).toMatchObject({ source: 'admin', state: 'healthy', weight: 1 });

    expect((await call(a, 'PATCH', '/admin/api/accounts/gamma', { weight: 5, max_concurrent: 4 }, BEARER)).json).toMatchObject({ weight: 5, max_concurrent: 4 });
    expect(await accountOn(b, 'gamma')).toMatchObject({ weight: 5, max_concurrent: 4 });

    for (const name of ['account-1', 'account-2']) expect((await call(a, 'POST', `/admin/api/accounts/${name}/disable`, undefined, BEARER)).json.state).toBe('disabled');
    await waitFor(() => b.app.services.pool.status().filter((s) => s.state === 'disabled').length === 2, 5_000, 'disabled on b');
    const served = await postJson(b, { model: 'k2', messages: [user('[[emu reply="via gamma on b"]]')] });
    expect(served.json.choices[0].message.content).toBe('via gamma on b');
    expect((await accountOn(b, 'gamma')).requests).toBeGreaterThanOrEqual(1);
    for (const name of ['account-1', 'account-2']) await call(b, 'POST', `/admin/api/accounts/${name}/enable`, undefined, BEARER);
    expect((await accountOn(a, 'account-1')).state).toBe('healthy');

    const replaced = await call(b, 'POST', '/admin/api/accounts/gamma/token', { token: 'tok-gamma-replaced-9876543210' }, BEARER);
    expect(replaced.json.masked_token.endsWith('3210')).toBe(true);
    expect((await accountOn(a, 'gamma')).masked_token.endsWith('3210')).toBe(true);

    expect((await call(b, 'DELETE', '/admin/api/accounts/gamma', undefined, BEARER)).status).toBe(200);
    await waitFor(() => a.app.services.pool.status().every((s) => s.id !== added.json.id), 5_000, 'removed on a');
    expect(await accountOn(a, 'gamma')).toBeUndefined();
  });

  it('keeps the changes across a restart', async () => {
    await call(a, 'POST', '/admin/api/accounts', { name: 'delta', token: 'tok-delta-0123456789abcdef', disabled: true }, BEARER);
    const c = await startHarness({ env: { ADMIN_TOKEN, STORE_URL: `sqlite:${dir}` }, sharedEmulator: a.emulator });
    try {
      expect(await accountOn(c, 'delta')).toMatchObject({ source: 'admin', state: 'disabled' });
      expect(await accountOn(c, 'gamma')).toBeUndefined();
    } finally {
      await c.close();
    }
  });
});

describe('dashboard data', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
  });
  afterAll(async () => h.close());

  it('reads the token out of a pasted "Copy as cURL" and adds the account with it', async () => {
    const access = jwt({ typ: 'access', app_id: 'kimi', sub: 'user-curl', exp: Math.floor(Date.now() / 1000) + 3600 });
    const curl = `curl 'https://www.kimi.com/api/user' \\\n  -H 'authorization: Bearer ${access}' \\\n  -H 'accept: application/json'`;
    const parsed = await call(h, 'POST', '/admin/api/accounts/parse', { text: curl }, BEARER);
    expect(parsed.json).toMatchObject({ token_kind: 'access', source: 'authorization', user_id: 'user-curl' });
    expect(parsed.text).not.toContain(access);
    const added = await call(h, 'POST', '/admin/api/accounts', { text: curl }, BEARER);
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ name: 'account-3', token_kind: 'access', source: 'admin' });
    const none = await call(h, 'POST', '/admin/api/accounts', { text: 'no token in here' }, BEARER);
    expect(none.status).toBe(400);
    expect(none.json.error.message).toMatch(/No Kimi token found/);
    await call(h, 'DELETE', `/admin/api/accounts/${added.json.id}`, undefined, BEARER);
  });

  it('shows the quota Kimi reports after a re-check', async () => {
    const res = await call(h, 'POST', '/admin/api/accounts/account-1/recheck', undefined, BEARER);
    expect(res.json.ok).toBe(true);
    // The emulator speaks Connect by default: GetSubscriptionStats' amountUsedRatio.
    expect(res.json.account.quota).toMatchObject({ used_ratio: 0, checked_at: expect.any(Number) });
  });

  it('shows the failed attempts behind an answer: which account failed, with what, and what followed', async () => {
    // Round-robin puts one of two requests on the failing account first: it fails over.
    h.emulator.control.setTokenFault('tok-alpha', '500');
    try {
      for (let i = 0; i < 2; i++) {
        const res = await postJson(h, { model: 'k2', messages: [user(`[[emu reply="answer ${i}"]]`)] });
        expect(res.status).toBe(200);
      }
    } finally {
      h.emulator.control.clearTokenFault('tok-alpha');
    }
    await h.app.services.requestLog.flush();
    const log = await call(h, 'GET', '/admin/api/requests?limit=2', undefined, BEARER);
    const failedOver = log.json.data.filter((e: any) => e.failed_attempts.length > 0);
    expect(failedOver).toHaveLength(1);
    const [entry] = failedOver;
    expect(entry.status).toBe(200);
    expect(entry.failed_attempts).toEqual([{ account: 'account-1', code: 'upstream_http_error', next: 'failover' }]);
    expect(entry.account_name).toBe('account-2');
    const one = await call(h, 'GET', `/admin/api/requests/${entry.id}`, undefined, BEARER);
    expect(one.json.failed_attempts).toEqual(entry.failed_attempts);
  });

  it('counts requests, errors and tokens per bucket, account and key, and filters the log', async () => {
    const before = (await call(h, 'GET', '/admin/api/stats?window=hour', undefined, BEARER)).json;
    expect(before.series).toHaveLength(60);
    expect(before.accounts_by_state).toMatchObject({ healthy: 2 });
    expect((await postJson(h, { model: 'k2', messages: [user('[[emu reply="counted"]]')] })).status).toBe(200);
    expect((await postJson(h, { model: 'no-such-model', messages: [user('hi')] })).status).toBe(404);
    await h.app.services.requestLog.flush();
    // The other window: a fresh computation (each window's result is reused for 2 s).
    const after = (await call(h, 'GET', '/admin/api/stats?window=day', undefined, BEARER)).json;
    expect(after.totals.requests).toBe(before.totals.requests + 2);
    expect(after.totals.errors).toBe(before.totals.errors + 1);
    expect(after.totals.tokens).toBeGreaterThan(before.totals.tokens);
    expect(after.series.at(-1).requests).toBeGreaterThanOrEqual(2);
    expect(after.per_key.find((k: any) => k.name === 'env-key-1').requests).toBeGreaterThanOrEqual(2);
    expect(after.per_account.some((k: any) => k.name.startsWith('account-'))).toBe(true);

    const errors = await call(h, 'GET', '/admin/api/requests?status=4xx', undefined, BEARER);
    expect(errors.json.data.length).toBeGreaterThanOrEqual(1);
    expect(errors.json.data.every((e: any) => e.status >= 400 && e.status < 500)).toBe(true);
    const byModel = await call(h, 'GET', '/admin/api/requests?model=k2&key=env-key-1', undefined, BEARER);
    expect(byModel.json.data.every((e: any) => e.model === 'k2')).toBe(true);
    const one = await call(h, 'GET', `/admin/api/requests/${errors.json.data[0].id}`, undefined, BEARER);
    expect(one.json).toMatchObject({ id: errors.json.data[0].id, error_code: 'model_not_found' });
    expect(JSON.stringify(errors.json) + JSON.stringify(byModel.json)).not.toContain(h.apiKey);
    expect((await call(h, 'GET', '/admin/api/requests?status=abc', undefined, BEARER)).status).toBe(400);
  });
});
