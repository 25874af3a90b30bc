/** Access control end to end: client keys, per-key limits, CORS, and the secure-by-default bind rule. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBind, isLoopbackHost } from '../src/auth/bind-check.js';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { postJson, postStream, startHarness, streamText, waitFor, type Harness } from './helpers/harness.js';

const ADMIN_TOKEN = 'adm-0123456789abcdef-secret';
const ORIGIN = 'https://chat.example.com';
const user = (content: string) => ({ role: 'user', content });

async function get(h: Harness, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(h.base + path, { headers });
  return { status: res.status, headers: res.headers, json: await res.json() };
}
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('client API keys', () => {
  let h: Harness;
  let modelIds: string[];
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN, CORS_ORIGINS: `${ORIGIN},https://other.example` } });
    modelIds = (await get(h, '/v1/models', bearer(h.apiKey))).json.data.map((m: { id: string }) => m.id);
  });
  afterAll(async () => h.close());

  const newKey = (opts: Parameters<Harness['app']['services']['apiKeys']['create']>[0]) => h.app.services.apiKeys.create(opts);

  it('refuses a request without a key, with a wrong key, and tells them apart', async () => {
    const none = await get(h, '/v1/models');
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    expect(none.json.error.message).toMatch(/Missing API key/);
    const wrong = await postJson(h, { model: 'k2', messages: [user('hi')] }, '/v1/chat/completions', bearer('sk-wrong'));
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    expect(wrong.json.error.message).toMatch(/Incorrect API key/);
    // The conversation-scoped base URL and the prefix without /v1 are guarded as well.
    expect((await get(h, '/models')).status).toBe(401);
    expect((await postJson(h, { model: 'k2', messages: [user('hi')] }, '/conversations/c1/v1/chat/completions', bearer('nope'))).status).toBe(401);
  });

  it('accepts a key as Bearer and as x-api-key, env keys and stored keys alike', async () => {
    expect((await get(h, '/v1/models', { 'x-api-key': h.apiKey })).status).toBe(200);
    const { key } = await newKey({ name: 'stored' });
    expect((await get(h, '/v1/models', bearer(key))).status).toBe(200);
    const res = await postJson(h, { model: 'k2', messages: [user('[[emu reply="ok"]]')] }, '/v1/chat/completions', { authorization: '', 'x-api-key': key });
    expect(res.status).toBe(200);
    expect(res.json.choices[0].message.content).toBe('ok');
  });

  it('answers 401 api_key_revoked and api_key_expired for stored keys that no longer work', async () => {
    const revoked = await newKey({ name: 'to-revoke' });
    expect((await get(h, '/v1/models', bearer(revoked.key))).status).toBe(200);
    await h.app.services.apiKeys.revoke(revoked.record.id);
    const r = await get(h, '/v1/models', bearer(revoked.key));
    expect(r.status).toBe(401);
    expect(r.json.error).toMatchObject({ type: 'authentication_error', code: 'api_key_revoked' });

    const expired = await newKey({ name: 'expired', expiresAt: Date.now() - 1_000 });
    const e = await postJson(h, { model: 'k2', messages: [user('hi')] }, '/v1/chat/completions', bearer(expired.key));
    expect(e.status).toBe(401);
    expect(e.json.error).toMatchObject({ type: 'authentication_error', code: 'api_key_expired' });
  });

  it('limits a key to its allowed models: 403 on others, and /v1/models lists only those', async () => {
    expect(modelIds.length).toBeGreaterThan(1);
    const [allowed, other] = modelIds as [string, string];
    const { key } = await newKey({ name: 'restricted', allowedModels: [allowed] });
    const list = await get(h, '/v1/models', bearer(key));
    // The allowed model and the aliases that resolve to it, nothing else.
    const sameModel = [];
    for (const id of modelIds) if ((await h.app.services.models.resolve(id))?.canonicalId === allowed) sameModel.push(id);
    expect(sameModel).toContain(allowed);
    expect(list.json.data.map((m: { id: string }) => m.id)).toEqual(sameModel);
    expect(sameModel).not.toContain(other);
    const denied = await postJson(h, { model: other, messages: [user('hi')] }, '/v1/chat/completions', bearer(key));
    expect(denied.status).toBe(403);
    expect(denied.json.error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    expect((await get(h, `/v1/models/${other}`, bearer(key))).status).toBe(403);
    const ok = await postJson(h, { model: allowed, messages: [user('[[emu reply="fine"]]')] }, '/v1/chat/completions', bearer(key));
    expect(ok.status).toBe(200);
    // Keys without a list still see everything.
    expect((await get(h, '/v1/models', bearer(h.apiKey))).json.data).toHaveLength(modelIds.length);
  });

  it('checks the allowlist against the resolved model: an alias of an allowed model is allowed, both ways', async () => {
    const ask = (key: string, model: string) => postJson(h, { model, messages: [user('[[emu reply="ok"]]')] }, '/v1/chat/completions', bearer(key));
    expect((await h.app.services.models.resolve('k2'))?.canonicalId).toBe('kimi-k2.6');
    const byName = await newKey({ name: 'by-name', allowedModels: ['kimi-k2.6'] });
    expect((await ask(byName.key, 'k2')).status).toBe(200);
    expect((await get(h, '/v1/models/k2', bearer(byName.key))).status).toBe(200);
    // A variant is another model: allowing the base does not allow its -thinking variant.
    const variant = await ask(byName.key, 'k2-thinking');
    expect(variant.status).toBe(403);
    expect(variant.json.error.code).toBe('model_not_allowed');
    const byAlias = await newKey({ name: 'by-alias', allowedModels: ['k2'] });
    expect((await ask(byAlias.key, 'kimi-k2.6')).status).toBe(200);
    expect((await ask(byAlias.key, 'k2-thinking')).status).toBe(403);
    // Unknown ids stay refused with 403 (not 404) for a restricted key.
    expect((await ask(byAlias.key, 'no-such-model')).status).toBe(403);
  });

  it('keeps the admin token and client keys apart, both ways', async () => {
    const adminOnClient = await get(h, '/v1/models', bearer(ADMIN_TOKEN));
    expect(adminOnClient.status).toBe(401);
    expect(adminOnClient.json.error.code).toBe('invalid_api_key');
    const clientKeyHeaders: Array<Record<string, string>> = [bearer(h.apiKey), { 'x-api-key': h.apiKey }, { 'x-admin-token': h.apiKey }];
    for (const headers of clientKeyHeaders) {
      const clientOnAdmin = await get(h, '/admin/api/keys', headers);
      expect(clientOnAdmin.status).toBe(401);
      expect(clientOnAdmin.json.error).toMatchObject({ type: 'authentication_error', code: 'invalid_admin_token' });
    }
    expect((await get(h, '/admin/api/keys', bearer(ADMIN_TOKEN))).status).toBe(200);
    expect((await get(h, '/admin/api/keys', { 'x-admin-token': ADMIN_TOKEN })).status).toBe(200);
  });

  it('applies a per-key requests-per-minute limit: 429 with Retry-After, other keys unaffected, auth first', async () => {
    const { key, record } = await newKey({ name: 'limited', rateLimitPerMinute: 2 });
    expect((await get(h, '/v1/models', bearer(key))).status).toBe(200);
    const second = await get(h, '/v1/models', bearer(key));
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-limit')).toBe('2');
    expect(second.headers.get('x-ratelimit-remaining')).toBe('0');
    const third = await postJson(h, { model: 'k2', messages: [user('hi')] }, '/v1/chat/completions', bearer(key));
    expect(third.status).toBe(429);
    expect(third.json.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    const retryAfter = Number(third.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const retryAfterMs = Number(third.headers.get('retry-after-ms'));
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    // The count lives in the store (so a shared store makes it cluster-wide), keyed by the key's id.
    expect(await h.app.services.store.increment(`ratelimit:${record.id}`, 60_000)).toBe(4);
    // Another key, and the env key, are not limited.
    expect((await get(h, '/v1/models', bearer(h.apiKey))).status).toBe(200);
    // A wrong key is refused as such, never counted against someone's limit.
    expect((await get(h, '/v1/models', bearer(`${key}x`))).status).toBe(401);
  });

  it('limits concurrent streams per key and frees the slot when a stream ends', async () => {
    const { key, record } = await newKey({ name: 'one-stream', maxConcurrentStreams: 1 });
    const slow = postStream(h, { model: 'k2', messages: [user('[[emu deltas=6 delay=150]]')] }, '/v1/chat/completions', bearer(key));
    await waitFor(async () => (await h.app.services.store.countSlots(`streams:${record.id}`)) === 1, 3_000, 'the first stream to hold its slot');
    const refused = await postJson(h, { model: 'k2', stream: true, messages: [user('second')] }, '/v1/chat/completions', bearer(key));
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_concurrent_streams' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A non-streamed request is not a stream.
    expect((await postJson(h, { model: 'k2', messages: [user('[[emu reply="x"]]')] }, '/v1/chat/completions', bearer(key))).status).toBe(200);
    const first = await slow;
    expect(first.status).toBe(200);
    expect(streamText(first.events)).toBe('w1 w2 w3 w4 w5 w6');
    await waitFor(
      async () => (await postStream(h, { model: 'k2', messages: [user('[[emu reply="again"]]')] }, '/v1/chat/completions', bearer(key))).status === 200,
      3_000,
      'a free stream slot',
    );
  });

  it('counts requests and estimated tokens per key', async () => {
    const { key, record } = await newKey({ name: 'metered' });
    await postJson(h, { model: 'k2', messages: [user('[[emu reply="one two three"]]')] }, '/v1/chat/completions', bearer(key));
    await postStream(h, { model: 'k2', messages: [user('[[emu reply="four five"]]')] }, '/v1/chat/completions', bearer(key));
    await waitFor(async () => (await h.app.services.apiKeys.listStored()).find((k) => k.id === record.id)!.usage.requests === 2, 3_000, 'usage');
    const { usage } = (await h.app.services.apiKeys.listStored()).find((k) => k.id === record.id)!;
    expect(usage.promptTokens).toBeGreaterThan(0);
    expect(usage.completionTokens).toBeGreaterThanOrEqual(4);
    expect(usage.lastUsedAt).toBeGreaterThan(0);
  });

  describe('CORS', () => {
    const preflight = (path: string, origin = ORIGIN) =>
      fetch(h.base + path, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-stainless-os' },
      });

    it('answers the preflight of /v1/chat/completions for an allowed origin', async () => {
      const res = await preflight('/v1/chat/completions');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')).toBe('authorization,content-type,x-stainless-os');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('gives no CORS grant to other origins', async () => {
      const res = await preflight('/v1/chat/completions', 'https://evil.example');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('refuses CORS on /admin (no ADMIN_CORS)', async () => {
      const res = await preflight('/admin/api/keys');
      expect(res.status).toBe(404);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const actual = await fetch(`${h.base}/admin/api/keys`, { headers: { origin: ORIGIN, ...bearer(ADMIN_TOKEN) } });
      expect(actual.status).toBe(200);
      expect(actual.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('sends the CORS headers on streams and on errors, so browsers can read both', async () => {
      const stream = await postStream(h, { model: 'k2', messages: [user('[[emu reply="hi"]]')] }, '/v1/chat/completions', { origin: ORIGIN });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(stream.headers.get('access-control-expose-headers')).toContain('x-request-id');
      const denied = await get(h, '/v1/models', { origin: ORIGIN });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    });
  });
});

describe('admin CORS on request', () => {
  it('applies CORS_ORIGINS to /admin with ADMIN_CORS=true', async () => {
    const h = await startHarness({ env: { ADMIN_TOKEN, CORS_ORIGINS: '*', ADMIN_CORS: 'true' } });
    try {
      const res = await fetch(`${h.base}/admin/api/keys`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'DELETE' } });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      await h.close();
    }
  });
});

describe('without any key', () => {
  it('serves anonymously until the first key exists, then requires one', async () => {
    const h = await startHarness({ env: { API_KEYS: '' } });
    try {
      expect((await get(h, '/v1/models')).status).toBe(200);
      expect(await h.app.services.apiKeys.enabled()).toBe(false);
      const { key, record } = await h.app.services.apiKeys.create({ name: 'first' });
      expect((await get(h, '/v1/models')).status).toBe(401);
      expect((await get(h, '/v1/models', bearer(key))).status).toBe(200);
      // Revoking the last key never opens the proxy again.
      await h.app.services.apiKeys.revoke(record.id);
      expect((await get(h, '/v1/models')).status).toBe(401);
    } finally {
      await h.close();
    }
  });
});

describe('access configuration', () => {
  it('rejects a short ADMIN_TOKEN, an ADMIN_TOKEN that is also a client key, and malformed CORS origins', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN: expected at least 16 characters/);
    expect(() => loadConfig({ ADMIN_TOKEN, API_KEYS: `sk-a,${ADMIN_TOKEN}` })).toThrow(/ADMIN_TOKEN: must differ from every API_KEYS entry/);
    expect(() => loadConfig({ CORS_ORIGINS: 'chat.example.com' })).toThrow(ConfigError);
    const config = loadConfig({ CORS_ORIGINS: 'https://a.example/, http://localhost:3000', ALLOW_NO_AUTH: 'true' });
    expect(config.access).toEqual({ adminToken: undefined, allowNoAuth: true, corsOrigins: ['https://a.example', 'http://localhost:3000'], adminCors: false, adminSessionTtlMs: 43_200_000 });
  });
});

describe('secure-by-default binding', () => {
  it('recognises loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1', '']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('listens on loopback without keys (and says so), refuses other addresses unless ALLOW_NO_AUTH', () => {
    const loopback = checkBind({ host: '127.0.0.1', keysConfigured: false, allowNoAuth: false });
    expect(loopback).toMatchObject({ ok: true, level: 'info' });
    expect(loopback.message).toMatch(/loopback only/);
    const refused = checkBind({ host: '0.0.0.0', keysConfigured: false, allowNoAuth: false });
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/Refusing to listen on 0\.0\.0\.0 without an API key/);
    expect(refused.message).toMatch(/ALLOW_NO_AUTH=true/);
    const allowed = checkBind({ host: '0.0.0.0', keysConfigured: false, allowNoAuth: true });
    expect(allowed).toMatchObject({ ok: true, level: 'warn' });
    expect(allowed.message).toMatch(/WITHOUT any API key/);
    expect(checkBind({ host: '0.0.0.0', keysConfigured: true, allowNoAuth: false })).toEqual({ ok: true });
  });

  describe('the built CLI', () => {
    const cli = resolve('dist/cli.js');
    let cwd: string;
    beforeAll(() => {
      if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does) first');
      cwd = mkdtempSync(join(tmpdir(), 'kp-bind-'));
    });
    afterAll(() => rmSync(cwd, { recursive: true, force: true }));

    const run = (env: Record<string, string>) => {
      const child = spawn(process.execPath, [cli, 'serve'], {
        cwd,
        env: { PATH: process.env.PATH ?? '', STORE_URL: 'memory:', LOG_LEVEL: 'info', PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
      const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
      return { child, output: () => out, exited };
    };

    it('refuses to start on 0.0.0.0 without a key, before listening', async () => {
      const p = run({ HOST: '0.0.0.0' });
      const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
      if (code === 'timeout') p.child.kill('SIGKILL');
      expect(code).toBe(1);
      expect(p.output()).toMatch(/Refusing to listen on 0\.0\.0\.0 without an API key/);
      expect(p.output()).not.toMatch(/kimi-proxy is listening/);
    });

    it('starts on loopback without a key and says it serves loopback only', async () => {
      const p = run({ HOST: '127.0.0.1' });
      try {
        await waitFor(() => /kimi-proxy is listening/.test(p.output()) || p.child.exitCode !== null, 15_000, 'the CLI to listen');
        expect(p.output()).toMatch(/No API key is configured: listening on loopback only/);
        const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/v1"/.exec(p.output())?.[1];
        expect(url).toBeDefined();
        expect((await fetch(`${url}/v1/models`)).status).toBe(200);
      } finally {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    });
  });
});
