/** Kimi's usage limits end to end: an account that runs out rests, others serve, the client sees an error only when all are out. */
import { describe, expect, it } from 'vitest';
import { checkAccounts, formatCheckReport } from '../src/accounts/check.js';
import type { AccountStatus } from '../src/accounts/pool.js';
import { chatCallAccounts } from './helpers/account-calls.js';
import { JumpClock } from './helpers/jump-clock.js';
import { postJson, harnessPerTest, type Harness } from './helpers/harness.js';

const ADMIN_TOKEN = 'adm-0123456789abcdef-quota';

async function admin(h: Harness, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${h.base}/admin/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json();
}

const ask = (h: Harness, text: string) => postJson(h, { model: 'k2', messages: [{ role: 'user', content: text }] });

function statusOf(h: Harness, name: string): AccountStatus {
  const s = h.app.services.pool.status().find((a) => a.name === name);
  if (!s) throw new Error(`no account named ${name}`);
  return s;
}

describe('usage limits end to end', () => {
  const start = harnessPerTest({ emulator: { maxEventsLogged: 200 } });

  it.each([
    ['connect', 'stream-error'],
    ['connect', 'exception'],
    ['rest', undefined],
  ] as const)('an account that runs out mid-session rests until the reset; the next requests go to the other one without an error (%s, %s)', async (protocol, shape) => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    h.emulator.control.setQuota('tok-alpha', { limit: 1, resetSec: 7200, ...(shape ? { shape } : {}) });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ask(h, `[[emu reply="answer ${i}"]] question ${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const alpha = statusOf(h, 'account-1');
    expect(alpha).toMatchObject({ state: 'cooling', restReason: 'quota' });
    // The reset time came with the answer (HTTP Retry-After) or is the configured hour.
    expect(alpha.cooldownUntil! - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(statusOf(h, 'account-2').state).toBe('healthy');
  });

  it('when every account is out, the client gets 429 insufficient_quota with the reset time and x-should-retry: false', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' } });
    h.emulator.control.setQuota('tok-alpha', { limit: 0, resetSec: 600, shape: 'http' });
    h.emulator.control.setQuota('tok-beta', { limit: 0, resetSec: 900, shape: 'http' });
    const first = await ask(h, 'hello');
    expect(first.status).toBe(429);
    expect(first.json.error).toMatchObject({ code: 'quota_exhausted', type: 'insufficient_quota' });
    expect(first.headers.get('x-should-retry')).toBe('false');
    const again = await ask(h, 'hello again');
    expect(again.status).toBe(429);
    expect(again.json.error.code).toBe('quota_exhausted');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(590);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(600);
  });

  it('fill-first uses account A until its usage limit, then B; kimi-proxy check shows the remaining quota', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'rest', ACCOUNT_SELECTION: 'fill-first' } });
    h.emulator.control.setQuota('tok-alpha', { limit: 3, resetSec: 3600 });
    h.emulator.control.setQuota('tok-beta', { limit: 10, resetSec: 3600 });
    for (let i = 0; i < 6; i++) expect((await ask(h, `question ${i}`)).status).toBe(200);
    // The fourth request met A's limit and moved to B before any output.
    expect(chatCallAccounts(h)).toEqual(['account-1', 'account-1', 'account-1', 'account-1', 'account-2', 'account-2', 'account-2']);
    const report = await checkAccounts(h.app.services);
    expect(report.accounts.map((a) => a.quota)).toEqual([expect.objectContaining({ remaining: 0, total: 3 }), expect.objectContaining({ remaining: 7, total: 10 })]);
    const text = formatCheckReport(report);
    expect(text).toMatch(/account-1 .* 0\/3 left; usage limit reached, back in (59m|1h 0m)/);
    expect(text).toMatch(/account-2 .* 7\/10 left/);
    // The same numbers in /metrics and the admin API.
    const metrics = await (await fetch(`${h.base}/metrics`)).text();
    expect(metrics).toMatch(/kimi_proxy_account_quota_remaining\{account="account-2"\} 7/);
  });

  it('a daily request budget set in the admin API rests the account until the next day (moved clock)', async () => {
    const clock = new JumpClock();
    // Access tokens that outlive the jump to the next day (the emulator judges them in real time).
    const h = await start({ clock, emulator: { accessTokenTtlSec: 3 * 86_400 }, env: { ACCOUNT_SELECTION: 'fill-first', ADMIN_TOKEN, DAILY_BUDGET_TIMEZONE: 'UTC' } });
    const patched = await admin(h, 'PATCH', '/accounts/account-1', { daily_requests: 2 });
    expect(patched).toMatchObject({ daily_requests: 2, daily_used: 0 });
    for (let i = 0; i < 4; i++) expect((await ask(h, `question ${i}`)).status).toBe(200);
    expect(chatCallAccounts(h)).toEqual(['account-1', 'account-1', 'account-2', 'account-2']);
    const view = await admin(h, 'GET', '/accounts/account-1');
    expect(view).toMatchObject({ state: 'cooling', rest_reason: 'daily-budget', daily_used: 2 });
    const nextDay = Math.ceil(clock.now() / 86_400_000) * 86_400_000;
    expect(view.cooldown_until).toBe(nextDay / 1000);
    clock.advance(nextDay - clock.now());
    expect((await ask(h, 'a new day')).status).toBe(200);
    expect(chatCallAccounts(h).at(-1)).toBe('account-1');
    const after = await admin(h, 'GET', '/accounts/account-1');
    expect(after).toMatchObject({ state: 'healthy', daily_used: 1 });
  });

  it('a conversation whose account runs out goes on on another account, rebuilt from its transcript', async () => {
    const h = await start({ env: { ACCOUNT_SELECTION: 'fill-first' } });
    const first = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: '[[emu reply="first answer"]] hello' }] });
    expect(first.status).toBe(200);
    h.emulator.control.setQuota('tok-alpha', { limit: 0, resetSec: 3600 });
    const history = [
      { role: 'user', content: '[[emu reply="first answer"]] hello' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: '[[emu reply="second answer"]] and then?' },
    ];
    const second = await postJson(h, { model: 'k2', messages: history });
    expect(second.status).toBe(200);
    expect(second.json.choices[0].message.content).toBe('second answer');
    // The continuation was refused on A (its usage limit), then the rebuilt turn ran on B.
    expect(chatCallAccounts(h)).toEqual(['account-1', 'account-1', 'account-2']);
  });
});
