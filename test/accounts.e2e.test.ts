/** Accounts that stay healthy (the account check and dead tokens: account-check.e2e.test.ts): refresh, 401 recovery, invalid accounts, cooldowns, circuit breaker, limits, migration. */
import { describe, expect, it } from 'vitest';
import type { AccountStatus } from '../src/accounts/pool.js';
import { keyId } from '../src/auth/api-keys.js';
import { CHAT_PATH, chatCallsByAccount } from './helpers/account-calls.js';
import { JumpClock } from './helpers/jump-clock.js';
import { postJson, postStream, harnessPerTest, streamText, waitFor, type Harness } from './helpers/harness.js';

const user = (content: string) => ({ role: 'user', content });
const reply = (r: { json: any }): string => r.json.choices[0].message.content;
const chatOf = (text: string): string => /chat=(\S+)/.exec(text)![1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusOf(h: Harness, name: string): AccountStatus {
  const s = h.app.services.pool.status().find((a) => a.name === name);
  if (!s) throw new Error(`no account named ${name}`);
  return s;
}

function accountNamed(h: Harness, name: string) {
  const a = h.app.services.pool.list().find((x) => x.name === name);
  if (!a) throw new Error(`no account named ${name}`);
  return a;
}

/** Chat calls made while `fn` runs, by account name. */
async function chatCallsDuring(h: Harness, fn: () => Promise<void>): Promise<Record<string, number>> {
  const before = chatCallsByAccount(h);
  await fn();
  const after = chatCallsByAccount(h);
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

const ask = (h: Harness, text: string, path?: string) => postJson(h, { model: 'k2', messages: [user(text)] }, path);

describe('account pool end to end', () => {
  const start = harnessPerTest({ emulator: { maxEventsLogged: 1000 } });

  it('refreshes short-lived access tokens before they expire: 5 s of requests all succeed without a single 401', async () => {
    const h = await start({ emulator: { accessTokenTtlSec: 2 }, env: { KIMI_TOKENS: 'tok-solo' } });
    const statuses: number[] = [];
    const answers: string[] = [];
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < 5_000; i++) {
      const r = await ask(h, `[[emu reply="answer ${i}"]]`);
      statuses.push(r.status);
      answers.push(r.status === 200 ? reply(r) : JSON.stringify(r.json));
      await sleep(150);
    }
    expect(statuses.length).toBeGreaterThan(10);
    expect(answers).toEqual(statuses.map((_, i) => `answer ${i}`));
    const refreshes = h.emulator.stats().refreshes['tok-solo'] ?? 0;
    // 5 s of 2 s tokens needs at least three of them …
    expect(refreshes).toBeGreaterThanOrEqual(3);
    // … and a token serves many requests: it is not refreshed for each one.
    expect(refreshes).toBeLessThan(statuses.length / 2);
    // The upstream never refused a token: the pool saw no failure at all.
    const s = statusOf(h, 'account-1');
    expect(s.failures).toBe(0);
    expect(s.state).toBe('healthy');
    expect(s.expiresAt).toBeGreaterThan(Date.now());
  });

  it('a rejected access token is refreshed and the user still gets 200 (two accounts)', async () => {
    const h = await start();
    // Both accounts get an access token first.
    await waitFor(async () => {
      await ask(h, 'warm up');
      const seen = chatCallsByAccount(h);
      return (seen['account-1'] ?? 0) > 0 && (seen['account-2'] ?? 0) > 0;
    }, 5_000, 'both accounts to serve');
    const alpha = accountNamed(h, 'account-1');
    const state = await h.app.services.store.getAccountState(alpha.stateKey);
    const access = state?.accessToken;
    expect(access).toMatch(/^eyJ/);
    const refreshesBefore = h.emulator.stats().refreshes['tok-alpha'] ?? 0;
    h.emulator.control.invalidateToken(access!);

    for (let i = 0; i < 6; i++) {
      const r = await ask(h, `[[emu reply="still fine ${i}"]]`);
      expect(r.status).toBe(200);
      expect(reply(r)).toBe(`still fine ${i}`);
    }
    const s = statusOf(h, 'account-1');
    expect(s.failures).toBe(1);
    expect(s.state).toBe('healthy');
    expect(h.emulator.stats().refreshes['tok-alpha']).toBe(refreshesBefore + 1);
    // The refreshed account serves again.
    const after = await h.app.services.store.getAccountState(alpha.stateKey);
    expect(after?.accessToken).not.toBe(access);
    const calls = await chatCallsDuring(h, async () => {
      for (let i = 0; i < 4; i++) expect((await ask(h, 'again')).status).toBe(200);
    });
    expect(calls['account-1']).toBeGreaterThan(0);
    expect(statusOf(h, 'account-1').failures).toBe(1);
  });

  it.each(['connect', 'rest'] as const)('with a single account, a 401 is retried once after a refresh (%s)', async (protocol) => {
    const h = await start({ env: { KIMI_TOKENS: 'tok-only', KIMI_PROTOCOL: protocol } });
    expect((await ask(h, 'first')).status).toBe(200);
    const refreshesBefore = h.emulator.stats().refreshes['tok-only'] ?? 0;
    // The next call made with this account's tokens is refused once.
    h.emulator.control.setTokenFault('tok-only', '401', { times: 1 });
    const r = await postStream(h, { model: 'k2', messages: [user('[[emu reply="after the 401"]]')] });
    expect(r.status).toBe(200);
    expect(streamText(r.events)).toBe('after the 401');
    expect(h.emulator.stats().refreshes['tok-only']).toBe(refreshesBefore + 1);
    const s = statusOf(h, 'account-1');
    expect(s.failures).toBe(1);
    expect(s.state).toBe('healthy');
  });

  it('skips an account whose refresh token was revoked, without a user-visible error, and reports it invalid', async () => {
    const h = await start();
    h.emulator.control.invalidateToken('tok-alpha');
    const calls = await chatCallsDuring(h, async () => {
      for (let i = 0; i < 6; i++) {
        const r = await ask(h, `[[emu reply="ok ${i}"]]`);
        expect(r.status).toBe(200);
        expect(reply(r)).toBe(`ok ${i}`);
      }
    });
    expect(calls['account-1'] ?? 0).toBe(0);
    expect(calls['account-2']).toBe(6);
    const s = statusOf(h, 'account-1');
    expect(s.state).toBe('invalid');
    expect(s.lastError).toMatch(/refresh token/i);
    expect(statusOf(h, 'account-2').state).toBe('healthy');
  });

  it('a rate-limited account cools down while the other serves, then comes back', async () => {
    // The proxy's clock is driven by the test: the cooldown ends when the test says so.
    const clock = new JumpClock();
    const h = await start({ env: { KIMI_TOKENS: 'tok-alpha,tok-beta' }, clock });
    h.emulator.control.setTokenFault('tok-alpha', '429', { times: 1, retryAfter: 30 });
    // The first request that lands on account-1 gets the 429 and moves to account-2.
    await waitFor(async () => {
      expect((await ask(h, 'probe')).status).toBe(200);
      return statusOf(h, 'account-1').state === 'cooling';
    }, 5_000, 'account-1 to cool down');
    const s = statusOf(h, 'account-1');
    // The upstream's Retry-After (30 s) sets the cooldown.
    expect(s.cooldownUntil! - clock.now()).toBeGreaterThan(29_000);
    expect(s.cooldownUntil! - clock.now()).toBeLessThanOrEqual(30_000);
    const cooldownUntil = s.cooldownUntil!;
    clock.advance(cooldownUntil - clock.now() - 1_000);
    const during = await chatCallsDuring(h, async () => {
      for (let i = 0; i < 4; i++) expect((await ask(h, `cooling ${i}`)).status).toBe(200);
    });
    expect(during['account-1'] ?? 0).toBe(0);
    expect(during['account-2']).toBe(4);

    clock.advance(cooldownUntil - clock.now() + 1);
    const later = await chatCallsDuring(h, async () => {
      for (let i = 0; i < 4; i++) expect((await ask(h, `later ${i}`)).status).toBe(200);
    });
    expect(later['account-1']).toBeGreaterThan(0);
    expect(statusOf(h, 'account-1').state).toBe('healthy');
  });

  it('repeated 5xx open an account’s circuit; after the cool-off one probe closes it again', async () => {
    const clock = new JumpClock();
    const h = await start({ env: { ACCOUNT_BREAKER_COOLOFF_MS: '60000' }, clock });
    h.emulator.control.setTokenFault('tok-alpha', '500', { times: 3 });
    await waitFor(async () => {
      expect((await ask(h, 'through the failures')).status).toBe(200);
      return statusOf(h, 'account-1').state === 'failing';
    }, 5_000, 'the circuit of account-1 to open');
    const open = statusOf(h, 'account-1');
    expect(open.failures).toBe(3);
    const reopensAt = open.cooldownUntil!;
    expect(reopensAt - clock.now()).toBeGreaterThan(59_000);

    clock.advance(reopensAt - clock.now() - 1_000);
    const during = await chatCallsDuring(h, async () => {
      for (let i = 0; i < 4; i++) expect((await ask(h, `open ${i}`)).status).toBe(200);
    });
    expect(during['account-1'] ?? 0).toBe(0);
    expect(during['account-2']).toBe(4);

    clock.advance(reopensAt - clock.now() + 1);
    // Half-open: the first request that account-1 takes is the probe; it succeeds and closes the circuit.
    const later = await chatCallsDuring(h, async () => {
      for (let i = 0; i < 4; i++) expect((await ask(h, `closed ${i}`)).status).toBe(200);
    });
    expect(later['account-1']).toBeGreaterThanOrEqual(2);
    const closed = statusOf(h, 'account-1');
    expect(closed.state).toBe('healthy');
    expect(closed.failures).toBe(3);
  });

  it('never exceeds per-account concurrency: 50 parallel streams over 2 accounts, all served through the queue', async () => {
    const h = await start({ env: { ACCOUNT_MAX_CONCURRENT: '2', KIMI_TOKENS: 'tok-alpha,tok-beta' } });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postStream(h, { model: 'k2', messages: [user(`[[emu reply="reply number ${i}" deltas=3 delay=15]]`)] })),
    );
    results.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(streamText(r.events)).toBe(`reply number ${i}`);
      expect(r.events.at(-1)).toBe('[DONE]');
    });
    const stats = h.emulator.stats();
    expect(stats.maxOpenStreamsByAccount['tok-alpha']).toBe(2);
    expect(stats.maxOpenStreamsByAccount['tok-beta']).toBe(2);
    expect(stats.maxOpenStreams).toBeLessThanOrEqual(4);
    expect(h.app.services.pool.counters().queueRejectedFull).toBe(0);
  });

  it('with a small queue, requests beyond it get 429 with Retry-After; the limit still holds', async () => {
    const h = await start({ env: { ACCOUNT_MAX_CONCURRENT: '2', QUEUE_MAX: '4', KIMI_TOKENS: 'tok-alpha,tok-beta' } });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postStream(h, { model: 'k2', messages: [user(`[[emu reply="slow ${i}" deltas=4 delay=100]]`)] })),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok.length + limited.length).toBe(50);
    // 4 running + 4 waiting at most when the burst arrives.
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of ok) expect(streamText(r.events)).toMatch(/^slow \d+$/);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(JSON.parse(r.raw).error.type).toBe('rate_limit_error');
    }
    expect(h.app.services.pool.counters().queueRejectedFull).toBe(limited.length);
    const stats = h.emulator.stats();
    expect(stats.maxOpenStreamsByAccount['tok-alpha']).toBeLessThanOrEqual(2);
    expect(stats.maxOpenStreamsByAccount['tok-beta']).toBeLessThanOrEqual(2);
  });

  it.each(['connect', 'rest'] as const)('moves a conversation to another account when its account loses its token (%s)', async (protocol) => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    const path = '/v1/chat/completions/migrating';
    const t1 = await ask(h, 'My name is Ada Lovelace. [[emu turn]]', path);
    expect(t1.status).toBe(200);
    const firstChat = chatOf(reply(t1));
    const owner = keyId(h.apiKey);
    const before = await h.app.services.store.getConversation(owner, 'migrating');
    const from = h.app.services.pool.get(before!.accountId)!;
    const other = h.app.services.pool.list().find((a) => a.id !== from.id)!;
    // Revoke the whole token lineage of the conversation's account (refresh and access tokens).
    h.emulator.control.invalidateToken(from.token);

    const t2 = await ask(h, 'What is my name? [[emu turn]]', path);
    expect(t2.status).toBe(200);
    const secondChat = chatOf(reply(t2));
    expect(secondChat).not.toBe(firstChat);
    expect(reply(t2)).toBe(`turn=1 chat=${secondChat}`);
    // The new upstream chat was seeded with the transcript.
    const sent = h.emulator
      .stats()
      .recentRequests.filter((r) => CHAT_PATH.test(r.path))
      .map((r) => JSON.stringify(r.body))
      .at(-1)!;
    expect(sent).toContain('My name is Ada Lovelace.');
    expect(sent).toContain(`turn=1 chat=${firstChat}`);
    expect(sent).toContain('What is my name?');
    const migrated = await h.app.services.store.getConversation(owner, 'migrating');
    expect(migrated?.accountId).toBe(other.id);
    expect(migrated?.upstreamChatId).toBe(secondChat);

    const t3 = await ask(h, 'And now? [[emu turn]]', path);
    expect(t3.status).toBe(200);
    expect(reply(t3)).toBe(`turn=2 chat=${secondChat}`);
    const view = await fetch(`${h.base}/v1/conversations/migrating`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const body = (await view.json()) as { messages: Array<{ role: string; content: string }> };
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(body.messages[0]!.content).toBe('My name is Ada Lovelace. [[emu turn]]');
    expect(statusOf(h, from.name).state).toBe('invalid');
  });
});
