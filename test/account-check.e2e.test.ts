/**
 * Accounts that cannot serve, as an operator meets them: GET /v1/accounts/check, the
 * `kimi-proxy check` command, and what a client is answered when every token was refused
 * (503 accounts_invalid, which SDKs do not retry, rather than a rate limit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import OpenAI, { InternalServerError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { chatCallsByAccount } from './helpers/account-calls.js';
import { postJson, postStream, harnessPerTest, streamText, waitFor, type Harness } from './helpers/harness.js';
import { processWorldPerTest } from './helpers/process-world.js';
import { CLI, startProxy } from './helpers/proxy-process.js';

const user = (content: string) => ({ role: 'user', content });
const ask = (h: Harness, text: string) => postJson(h, { model: 'k2', messages: [user(text)] });

describe('account check', () => {
  const GOOD = 'cpmt_alpha_0123456789';
  const BAD = 'cpmt_revoked_9876543210';
  const start = harnessPerTest();

  it('GET /v1/accounts/check validates every account against the upstream and masks tokens', async () => {
    const h = await start({ env: { KIMI_TOKENS: `${GOOD},${BAD}` } });
    h.emulator.control.invalidateToken(BAD);
    const denied = await fetch(`${h.base}/v1/accounts/check`);
    expect(denied.status).toBe(401);

    const t0 = Date.now();
    const res = await fetch(`${h.base}/v1/accounts/check`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(res.status).toBe(200);
    const raw = await res.text();
    const body = JSON.parse(raw);
    expect(body.ok).toBe(false);
    expect(body.data).toHaveLength(2);
    const [good, bad] = body.data;
    expect(good).toMatchObject({ name: 'account-1', token_kind: 'refresh', masked_token: 'cpmt_a…6789', status: 'ok', state: 'healthy', last_error: null });
    // The emulator issues 900 s access tokens.
    expect(good.access_token_expires_at * 1000).toBeGreaterThan(t0 + 800_000);
    expect(good.access_token_expires_at * 1000).toBeLessThan(Date.now() + 901_000);
    expect(bad).toMatchObject({ name: 'account-2', token_kind: 'refresh', masked_token: 'cpmt_r…3210', status: 'invalid', state: 'invalid' });
    expect(bad.last_error).toMatch(/refresh token/i);
    // No token in any form but the masked one.
    expect(raw).not.toContain(GOOD);
    expect(raw).not.toContain(BAD);
    expect(raw).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);

    // Once the second account works again, the check says so.
    h.emulator.control.reset();
    const again = (await (await fetch(`${h.base}/v1/accounts/check`, { headers: { 'x-api-key': h.apiKey } })).json()) as any;
    expect(again.ok).toBe(true);
    expect(again.data.map((a: any) => a.status)).toEqual(['ok', 'ok']);
  });

  it('checks without taking a slot or refreshing a token that is still good, while every slot is busy', async () => {
    const h = await start({ env: { KIMI_TOKENS: `${GOOD},${BAD}`, ACCOUNT_MAX_CONCURRENT: '1' } });
    const h0 = h;
    // Both accounts have an access token, then both slots are taken by slow streams.
    await waitFor(async () => {
      await ask(h0, 'warm up');
      const seen = chatCallsByAccount(h0);
      return (seen['account-1'] ?? 0) > 0 && (seen['account-2'] ?? 0) > 0;
    }, 5_000, 'both accounts to serve');
    const refreshes = { ...h.emulator.stats().refreshes };
    const slow = [0, 1].map((i) => postStream(h0, { model: 'k2', messages: [user(`[[emu reply="slow ${i}" deltas=5 delay=150]]`)] }));
    await waitFor(() => h0.emulator.stats().openStreams === 2, 2_000, 'both slots to be busy');

    let streamsDone = 0;
    for (const stream of slow) void stream.then(() => (streamsDone += 1));
    const res = await fetch(`${h.base}/v1/accounts/check`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const body = (await res.json()) as any;
    expect(body.data.map((a: any) => a.status)).toEqual(['ok', 'ok']);
    // It did not wait for a stream to free a slot: both were still running when it answered.
    expect(streamsDone).toBe(0);
    expect(h.emulator.stats().openStreams).toBe(2);
    expect(h.emulator.stats().refreshes).toEqual(refreshes);
    const done = await Promise.all(slow);
    expect(done.map((r) => streamText(r.events))).toEqual(['slow 0', 'slow 1']);
    expect(h.app.services.pool.status().map((s) => s.inFlight)).toEqual([0, 0]);
  });
});

describe('no account can serve (every token refused)', () => {
  const start = harnessPerTest();

  it('with no account configured: 503 no_accounts, no Retry-After, x-should-retry: false', async () => {
    const h = await start({ env: { KIMI_TOKENS: '' } });
    const res = await postJson(h, { model: 'k2', messages: [user('hi')] });
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('no_accounts');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('x-should-retry')).toBe('false');
  });

  it('each door answers 503 accounts_invalid in its own dialect, with x-should-retry: false and no Retry-After', async () => {
    const h = await start({ env: { KIMI_TOKENS: 'cpmt_revoked_9876543210,cpmt_spare_0123456789' } });
    h.emulator.control.invalidateToken('cpmt_revoked_9876543210');
    h.app.services.pool.setDisabled(h.app.services.pool.list()[1]!.id, true);
    const post = (path: string, body: unknown) =>
      fetch(`${h!.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${h!.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answers = {
      chat: await post('/v1/chat/completions', { model: 'k2', messages: [user('hi')], stream: true }),
      messages: await post('/v1/messages', { model: 'k2', max_tokens: 100, messages: [user('hi')], stream: true }),
      responses: await post('/v1/responses', { model: 'k2', input: 'hi', stream: true }),
    };
    for (const [door, res] of Object.entries(answers)) {
      expect(res.status, door).toBe(503);
      expect(res.headers.get('retry-after'), door).toBeNull();
      expect(res.headers.get('x-should-retry'), door).toBe('false');
    }
    const chat = (await answers.chat.json()) as any;
    expect(chat.error).toMatchObject({ code: 'accounts_invalid', type: 'service_unavailable' });
    expect(chat.error.message).toBe(
      'No Kimi account can serve: account-1 (invalid: Kimi rejected the refresh token; replace it.); account-2 (disabled). ' +
        'To fix: replace the token (KIMI_TOKENS, the accounts file or the admin API); run `kimi-proxy check`; enable a disabled account.',
    );
    // Anthropic clients retry an overloaded_error; this is not one.
    expect(await answers.messages.json()).toMatchObject({ type: 'error', error: { type: 'api_error', message: chat.error.message } });
    expect(await answers.responses.json()).toMatchObject({ error: { code: 'accounts_invalid', message: chat.error.message } });
  });
});

describe('kimi-proxy check (the built CLI)', () => {
  const API_KEY = 'sk-check-e2e-0123456789abcdef';
  const GOOD = 'cpmt_alpha_0123456789';
  const BAD = 'cpmt_revoked_9876543210';
  const children = new Set<ChildProcess>();
  const world = processWorldPerTest('kp-check-', {});
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
  });

  function runCheck(cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      // A clean environment and working directory: nothing from the developer's .env leaks in.
      const child = spawn(process.execPath, [CLI, 'check'], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('prints a table of every account and exits non-zero when one fails', async () => {
    const { emulator, dir, dataDir } = await world();
    emulator.control.invalidateToken(BAD);
    const env = { KIMI_BASE_URL: emulator.url, DATA_DIR: dataDir, KIMI_PROTOCOL: 'connect', LOG_LEVEL: 'silent' };

    const failing = await runCheck(dir, { ...env, KIMI_TOKENS: `${GOOD},${BAD}` });
    expect(failing.code).toBe(1);
    const lines = failing.stdout.split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT\s+KIND\s+TOKEN\s+ACCESS TOKEN EXPIRES\s+STATUS\s+QUOTA\s+LAST ERROR$/);
    const row1 = lines.find((l) => l.startsWith('account-1'))!;
    const row2 = lines.find((l) => l.startsWith('account-2'))!;
    expect(row1).toMatch(/^account-1\s+refresh\s+cpmt_a…6789\s+\d{4}-\d\d-\d\dT\S+Z \(in 1[45]m \d+s\)\s+ok\s+0% of credit used\s+-$/);
    expect(row2).toMatch(/^account-2\s+refresh\s+cpmt_r…3210\s+-\s+invalid\s+.*refresh token/i);
    expect(failing.stdout).toContain('1 of 2 account(s) failed the check.');
    for (const out of [failing.stdout, failing.stderr]) {
      expect(out).not.toContain(GOOD);
      expect(out).not.toContain(BAD);
      expect(out).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    }

    // Same data directory, only the working account: exit 0. Its rotated refresh token comes
    // from the store (the configured one was spent by the first run's refresh).
    const passing = await runCheck(dir, { ...env, KIMI_TOKENS: GOOD });
    // The quota Kimi reports (GetSubscriptionStats on Connect) is read for a working account.
    expect(passing.stdout).toMatch(/^account-1\s.*\sok\s+0% of credit used\s+-$/m);
    expect(passing.stdout).toContain('All 1 checked account(s) work.');
    expect(passing.code).toBe(0);
  });

  it('one revoked token: the openai SDK gets 503 accounts_invalid at once, without retrying, and `kimi-proxy check` names the account', async () => {
    const { emulator, dir, dataDir } = await world();
    emulator.control.invalidateToken(BAD);
    const env = { KIMI_BASE_URL: emulator.url, DATA_DIR: dataDir, KIMI_PROTOCOL: 'connect', KIMI_TOKENS: BAD, API_KEYS: API_KEY };
    // Not ready (no usable account), but alive.
    const proxy = await startProxy(env, { readyPath: '/health' });
    try {
      let calls = 0;
      const counting: typeof fetch = (input, init) => {
        calls += 1;
        return fetch(input, init);
      };
      // The SDK's defaults: two retries with backoff for a retryable answer.
      const sdk = new OpenAI({ baseURL: `${proxy.base}/v1`, apiKey: API_KEY, fetch: counting });
      for (const stream of [false, true]) {
        calls = 0;
        const t0 = Date.now();
        const err = await sdk.chat.completions.create({ model: 'k2', messages: [{ role: 'user', content: 'hello' }], stream }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(InternalServerError);
        const e = err as InternalServerError;
        expect(e.status).toBe(503);
        expect(e.code).toBe('accounts_invalid');
        expect(e.headers?.get('retry-after')).toBeNull();
        expect(e.headers?.get('x-should-retry')).toBe('false');
        expect(e.message).toContain('account-1 (invalid');
        expect(e.message).toContain('kimi-proxy check');
        expect(e.message).not.toContain(BAD);
        expect(calls, 'the SDK must not retry').toBe(1);
        expect(Date.now() - t0).toBeLessThan(5_000);
      }
    } finally {
      await proxy.kill();
    }
    const check = await runCheck(dir, env);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^account-1\s+refresh\s+cpmt_r…3210\s+-\s+invalid\s+.*refresh token/im);
    expect(check.stdout).not.toContain(BAD);
  });
});
