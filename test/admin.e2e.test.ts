/** The admin API end to end: its own token, API keys, accounts, conversations and the request log. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyId } from '../src/auth/api-keys.js';
import { postJson, startHarness, waitFor, type Harness } from './helpers/harness.js';

const ADMIN_TOKEN = 'adm-0123456789abcdef-secret';
const user = (content: string) => ({ role: 'user', content });

interface Res {
  status: number;
  headers: Headers;
  json: any;
}

async function call(h: Harness, method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }): Promise<Res> {
  const res = await fetch(h.base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
const admin = (h: Harness) => ({
  get: (path: string) => call(h, 'GET', `/admin/api${path}`),
  post: (path: string, body: unknown = {}) => call(h, 'POST', `/admin/api${path}`, body),
  del: (path: string) => call(h, 'DELETE', `/admin/api${path}`),
});

describe('admin API disabled', () => {
  it('answers 404 everywhere under /admin without ADMIN_TOKEN', async () => {
    const h = await startHarness();
    try {
      for (const path of ['/admin/api/keys', '/admin/api/accounts', '/admin/api']) {
        const res = await call(h, 'GET', path);
        expect(res.status, path).toBe(404);
        expect(res.json.error.code).toBe('not_found');
      }
      expect((await call(h, 'POST', '/admin/api/keys', { name: 'x' })).status).toBe(404);
    } finally {
      await h.close();
    }
  });
});

describe('admin API', () => {
  let h: Harness;
  let a: ReturnType<typeof admin>;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    a = admin(h);
  });
  afterAll(async () => h.close());

  it('requires its token (Bearer or x-admin-token) and answers in the OpenAI error shape', async () => {
    const missing = await call(h, 'GET', '/admin/api/accounts', undefined, {});
    expect(missing.status).toBe(401);
    expect(missing.json.error).toMatchObject({ type: 'authentication_error', code: 'invalid_admin_token' });
    expect(missing.json.error.message).toMatch(/Missing admin token/);
    const wrong = await call(h, 'GET', '/admin/api/accounts', undefined, { 'x-admin-token': `${ADMIN_TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.message).toMatch(/Incorrect admin token/);
    expect((await call(h, 'GET', '/admin/api/accounts', undefined, { 'x-admin-token': ADMIN_TOKEN })).status).toBe(200);
  });

  describe('API keys', () => {
    it('create → use → revoke → 401, showing the key only once and storing only its hash', async () => {
      const created = await a.post('/keys', { name: 'ci', rate_limit_per_minute: 100, max_concurrent_streams: 2, expires_in: 3600 });
      expect(created.status).toBe(201);
      const { key, id, prefix } = created.json;
      expect(key).toMatch(/^sk-kp-[A-Za-z0-9]{40}$/);
      expect(prefix).toBe(key.slice(0, 12));
      expect(created.json).toMatchObject({ object: 'api_key', name: 'ci', status: 'active', rate_limit_per_minute: 100, max_concurrent_streams: 2, allowed_models: null });
      expect(created.json.expires_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);

      // Never again in clear: not in listings, not in the store.
      const list = await a.get('/keys');
      expect(JSON.stringify(list.json)).not.toContain(key);
      expect(list.json.data.find((k: any) => k.id === id)).toMatchObject({ prefix, status: 'active' });
      expect(list.json.data.find((k: any) => k.source === 'env')).toMatchObject({ id: keyId(h.apiKey), name: 'env-key-1' });
      expect(JSON.stringify(list.json)).not.toContain(h.apiKey);
      const stored = await h.app.services.store.listApiKeys();
      expect(JSON.stringify(stored)).not.toContain(key);
      expect(stored.find((k) => k.id === id)!.hash).toBe(createHash('sha256').update(key).digest('hex'));

      const used = await postJson(h, { model: 'k2', messages: [user('[[emu reply="hello"]]')] }, '/v1/chat/completions', { authorization: `Bearer ${key}` });
      expect(used.status).toBe(200);
      expect(used.json.choices[0].message.content).toBe('hello');
      await waitFor(async () => (await a.get(`/keys/${id}`)).json.usage.requests === 1, 3_000, 'usage');
      const shown = await a.get(`/keys/${id}`);
      expect(shown.json.usage.completion_tokens).toBeGreaterThan(0);
      expect(shown.json.key).toBeUndefined();

      const revoked = await a.del(`/keys/${id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.json).toMatchObject({ id, status: 'revoked' });
      expect(revoked.json.revoked_at).toBeGreaterThan(0);
      const refused = await postJson(h, { model: 'k2', messages: [user('hi')] }, '/v1/chat/completions', { authorization: `Bearer ${key}` });
      expect(refused.status).toBe(401);
      expect(refused.json.error.code).toBe('api_key_revoked');

      expect((await a.del('/keys/ak_nope')).status).toBe(404);
      const envRevoke = await a.del(`/keys/${keyId(h.apiKey)}`);
      expect(envRevoke.status).toBe(400);
      expect(envRevoke.json.error.message).toMatch(/API_KEYS/);
    });

    it('accepts allowed models and an ISO expiry', async () => {
      const at = new Date(Date.now() + 86_400_000).toISOString();
      const res = await a.post('/keys', { name: 'scoped', allowed_models: ['k2', 'kimi-k2*'], expires_at: at });
      expect(res.status).toBe(201);
      expect(res.json.allowed_models).toEqual(['k2', 'kimi-k2*']);
      expect(res.json.expires_at).toBe(Math.floor(Date.parse(at) / 1000));
    });

    it('validates the body with clear messages', async () => {
      const cases: Array<[unknown, RegExp, string | null]> = [
        [{}, /name: /, 'name'],
        [{ name: '' }, /name: must not be empty/, 'name'],
        [{ name: 'x', colour: 'red' }, /colour/, null],
        [{ name: 'x', rate_limit_per_minute: 0 }, /rate_limit_per_minute/, 'rate_limit_per_minute'],
        [{ name: 'x', allowed_models: [] }, /allowed_models: expected at least one model id/, 'allowed_models'],
        [{ name: 'x', expires_at: 1_000 }, /expires_at: must be in the future/, 'expires_at'],
        [{ name: 'x', expires_at: 'tomorrow' }, /expires_at: expected unix seconds or an ISO 8601 date-time/, 'expires_at'],
        [{ name: 'x', expires_at: 4_000_000_000, expires_in: 60 }, /not both/, 'expires_in'],
      ];
      for (const [body, message, param] of cases) {
        const res = await a.post('/keys', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param });
        expect(res.json.error.message).toMatch(message);
      }
      const badJson = await call(h, 'POST', '/admin/api/keys', '{"name":', { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(badJson.status).toBe(400);
      expect(badJson.json.error.code).toBe('invalid_json');
    });
  });

  describe('accounts', () => {
    const GAMMA = 'tok-gamma-0123456789abcdef';

    it('lists accounts with masked tokens and health', async () => {
      const res = await a.get('/accounts');
      expect(res.status).toBe(200);
      expect(res.json.data.map((x: any) => x.name)).toEqual(['account-1', 'account-2']);
      for (const acc of res.json.data) expect(acc).toMatchObject({ object: 'account', source: 'config', state: 'healthy' });
      expect(JSON.stringify(res.json)).not.toMatch(/tok-alpha|tok-beta/);
    });

    it('adds an account that then serves requests; disables, re-checks, replaces its token, removes it', async () => {
      const added = await a.post('/accounts', { name: 'gamma', token: GAMMA, max_concurrent: 3 });
      expect(added.status).toBe(201);
      expect(added.json).toMatchObject({ name: 'gamma', source: 'admin', state: 'healthy' });
      expect(added.json.masked_token).not.toBe(GAMMA);
      expect(added.json.masked_token.startsWith(GAMMA.slice(0, 6))).toBe(true);
      const id = added.json.id as string;
      expect((await a.post('/accounts', { name: 'gamma', token: 'tok-other-0123456789' })).json.error.code).toBe('already_exists');
      expect((await a.post('/accounts', { name: 'delta', token: GAMMA })).status).toBe(409);

      // With the configured accounts disabled, only the added one can answer.
      for (const name of ['account-1', 'account-2']) expect((await a.post(`/accounts/${name}/disable`)).json.state).toBe('disabled');
      try {
        const served = await postJson(h, { model: 'k2', messages: [user('[[emu reply="via gamma"]]')] });
        expect(served.status).toBe(200);
        expect(served.json.choices[0].message.content).toBe('via gamma');
        expect((await a.get(`/accounts/${id}`)).json.requests).toBe(1);
      } finally {
        for (const name of ['account-1', 'account-2']) expect((await a.post(`/accounts/${name}/enable`)).json.state).toBe('healthy');
      }

      expect((await a.post(`/accounts/${id}/disable`)).json.state).toBe('disabled');
      expect((await a.post(`/accounts/${id}/enable`)).json.state).toBe('healthy');

      // Re-check against the upstream: a refused token fails, a working one passes.
      h.emulator.control.setTokenFault(GAMMA, '401', { times: 100 });
      const failing = await a.post(`/accounts/${id}/recheck`);
      expect(failing.status).toBe(200);
      expect(failing.json.ok).toBe(false);
      expect(failing.json.account.last_error).toMatch(/re-check failed|refresh/);
      h.emulator.control.clearTokenFault(GAMMA);
      const passing = await a.post(`/accounts/${id}/recheck`);
      expect(passing.json).toMatchObject({ ok: true, account: { state: 'healthy', last_error: null } });

      const replaced = await a.post(`/accounts/${id}/token`, { token: 'tok-gamma-replaced-9876543210' });
      expect(replaced.status).toBe(200);
      expect(replaced.json.masked_token.startsWith('tok-ga')).toBe(true);
      expect(replaced.json.masked_token.endsWith('3210')).toBe(true);
      expect((await a.post(`/accounts/${id}/token`, { token: '  ' })).status).toBe(400);

      const removed = await a.del(`/accounts/${id}`);
      expect(removed.json).toEqual({ id, object: 'account.deleted', deleted: true });
      expect((await a.get('/accounts')).json.data.map((x: any) => x.name)).toEqual(['account-1', 'account-2']);
      expect((await a.get(`/accounts/${id}`)).status).toBe(404);
      expect((await a.post(`/accounts/${id}/disable`)).status).toBe(404);
    });

    it('validates new accounts', async () => {
      const res = await a.post('/accounts', { name: 'has space', token: '', max_concurrent: 0 });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(/token: must not be empty/);
      expect(res.json.error.message).toMatch(/name: expected 1-64 characters/);
      expect(res.json.error.message).toMatch(/max_concurrent/);
    });
  });

  describe('conversations', () => {
    it('lists every owner\'s conversations, shows one, and deletes it with its upstream chat', async () => {
      const first = await postJson(h, { model: 'k2', messages: [user('[[emu reply="kept"]] remember me')] }, '/v1/chat/completions/admin-conv-1');
      expect(first.status).toBe(200);
      const list = await a.get('/conversations?limit=10');
      expect(list.status).toBe(200);
      const listed = list.json.data.find((c: any) => c.id === 'admin-conv-1');
      expect(listed).toMatchObject({ owner: keyId(h.apiKey), owner_name: 'env-key-1', message_count: 2, implicit: false });
      expect(listed.messages).toBeUndefined();

      const shown = await a.get('/conversations/admin-conv-1');
      expect(shown.json.messages).toEqual([
        { role: 'user', content: '[[emu reply="kept"]] remember me' },
        { role: 'assistant', content: 'kept' },
      ]);
      expect((await a.get(`/conversations/admin-conv-1?owner=${keyId(h.apiKey)}`)).status).toBe(200);
      expect((await a.get('/conversations/admin-conv-1?owner=someone-else')).status).toBe(404);

      const deletedBefore = h.emulator.stats().chatsDeleted;
      const deleted = await a.del('/conversations/admin-conv-1');
      expect(deleted.json).toMatchObject({ id: 'admin-conv-1', object: 'conversation.deleted', deleted: true });
      await waitFor(() => h.emulator.stats().chatsDeleted > deletedBefore, 3_000, 'the upstream chat to be deleted');
      expect((await a.get('/conversations/admin-conv-1')).status).toBe(404);
      const client = await fetch(`${h.base}/v1/conversations/admin-conv-1`, { headers: { authorization: `Bearer ${h.apiKey}` } });
      expect(client.status).toBe(404);
    });

    it('pages the list', async () => {
      for (const id of ['page-a', 'page-b', 'page-c']) await postJson(h, { model: 'k2', messages: [user('[[emu reply="x"]]')] }, `/v1/chat/completions/${id}`);
      const p1 = await a.get('/conversations?limit=2');
      const p2 = await a.get('/conversations?limit=2&offset=2');
      expect(p1.json.data).toHaveLength(2);
      expect(p1.json.has_more).toBe(true);
      const ids = [...p1.json.data, ...p2.json.data].map((c: any) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
      expect((await a.get('/conversations?limit=0')).status).toBe(400);
    });
  });

  describe('request log', () => {
    it('reads the newest entries, paged with before', async () => {
      const { store } = h.app.services;
      const base = Date.now() + 60_000;
      for (let i = 0; i < 3; i++) {
        await store.appendRequestLog({ id: `log-${i}`, at: base + i, requestId: `req_test_${i}`, keyName: 'env-key-1', model: 'k2', stream: i === 1, status: 200, durationMs: 10 + i, promptTokens: 5, completionTokens: 7 });
      }
      const page1 = await a.get('/requests?limit=2');
      expect(page1.status).toBe(200);
      expect(page1.json.data.map((e: any) => e.request_id)).toEqual(['req_test_2', 'req_test_1']);
      expect(page1.json.data[1]).toMatchObject({ key_name: 'env-key-1', model: 'k2', stream: true, status: 200, duration_ms: 11, prompt_tokens: 5, completion_tokens: 7 });
      expect(page1.json.next_before).toBe(base + 1);
      const page2 = await a.get(`/requests?limit=2&before=${page1.json.next_before}`);
      expect(page2.json.data[0].request_id).toBe('req_test_0');
      expect((await a.get('/requests?limit=abc')).status).toBe(400);
    });
  });
});
