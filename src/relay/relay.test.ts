import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { ProxyError } from '../core/errors.js';
import type { AccountPool } from '../accounts/pool.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { UpstreamChatRequest } from '../upstream/kimi/types.js';
import type { AttemptFailure } from './attempt-loop.js';
import { Relay, type RelayOptions } from './relay.js';
import { ScriptedClient, collect, fakePool, meta, stop, text, type Step } from './__fixtures__/fake-upstream.js';

const model: ResolvedModel = { requestedId: 'kimi-k2', canonicalId: 'kimi-k2', baseId: 'kimi-k2', thinking: false, search: false };
const ask = (t: string, extra: Partial<UpstreamChatRequest> = {}): UpstreamChatRequest => ({ text: t, model, ...extra });

const overloaded = (): ProxyError => new ProxyError('upstream_overloaded', 'Kimi answered 503.');
const rateLimited = (ms: number): ProxyError => new ProxyError('upstream_rate_limited', 'Kimi answered 429.', { retryAfterMs: ms });
const network = (): ProxyError => new ProxyError('upstream_network_error', 'connection reset');
const chatGone = (): ProxyError => new ProxyError('upstream_chat_not_found', 'no such chat');
const unauthenticated = (): ProxyError => new ProxyError('upstream_unauthenticated', 'Kimi answered 401.');
const chatBusy = (): ProxyError => new ProxyError('upstream_chat_busy', 'Kimi is still streaming another reply in this chat');

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

function setup(names: string[], steps: Step[] | ConstructorParameters<typeof ScriptedClient>[0], extra: Partial<RelayOptions> = {}) {
  const { pool, clock } = fakePool(names);
  pools.push(pool);
  const client = new ScriptedClient(steps);
  const discarded: Array<[string, string]> = [];
  const failovers: string[] = [];
  const relay = new Relay({
    pool,
    clock,
    client,
    maxAttempts: Math.min(3, names.length),
    backoffMs: 0,
    discardChat: (accountId, chatId) => discarded.push([accountId, chatId]),
    onFailover: (from, err) => failovers.push(`${from}:${err.code}`),
    ...extra,
  });
  const inFlight = (): number => pool.status().reduce((n, s) => n + s.inFlight, 0);
  const state = (id: string) => pool.status().find((s) => s.id === id);
  return { pool, clock, client, relay, discarded, failovers, inFlight, state };
}

const signal = (): AbortSignal => new AbortController().signal;
const textOf = (events: ChatEvent[]): string => events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');

describe('Relay: chat turns', () => {
  it('moves a turn refused before its stream opened to the next account, reporting the failure to the first', async () => {
    const t = setup(['a', 'b'], [{ refuse: overloaded() }, { events: [meta('c2'), text('hi'), stop] }]);
    const turn = await t.relay.open({ upstream: ask('hello'), signal: signal() });
    expect(turn.accountId).toBe('acct_b');
    expect(textOf(await collect(turn.events))).toBe('hi');
    expect(t.client.calls.map((c) => c.accountId)).toEqual(['acct_a', 'acct_b']);
    expect(t.failovers).toEqual(['acct_a:upstream_overloaded']);
    expect(t.state('acct_a')?.failures).toBe(1);
    expect(t.inFlight()).toBe(0);
  });

  it('moves a turn whose stream failed before any content, and discards the chat that attempt created', async () => {
    const t = setup(['a', 'b'], [{ events: [meta('c1')], then: network() }, { events: [meta('c2'), text('answer'), stop] }]);
    const turn = await t.relay.open({ upstream: ask('hello'), signal: signal() });
    const events = await collect(turn.events);
    expect(textOf(events)).toBe('answer');
    expect(events.at(-1)).toEqual(stop);
    expect(turn.accountId).toBe('acct_b');
    expect(t.discarded).toEqual([['acct_a', 'c1']]);
    expect(t.inFlight()).toBe(0);
  });

  it('never retries once content has been produced: the error reaches the reader after the text', async () => {
    const t = setup(['a', 'b'], [{ events: [meta('c1'), text('half')], then: network() }, { events: [text('other'), stop] }]);
    const turn = await t.relay.open({ upstream: ask('hello'), signal: signal() });
    const seen: ChatEvent[] = [];
    await expect(
      (async () => {
        for await (const ev of turn.events) seen.push(ev);
      })(),
    ).rejects.toMatchObject({ code: 'upstream_network_error' });
    expect(textOf(seen)).toBe('half');
    expect(t.client.calls).toHaveLength(1);
    expect(t.discarded).toEqual([]);
    expect(t.inFlight()).toBe(0);
  });

  it('answers with the last upstream error, not "exhausted", when every account failed', async () => {
    const t = setup(['a', 'b'], [{ refuse: rateLimited(60_000) }, { refuse: rateLimited(60_000) }], { maxAttempts: 3 });
    await expect(t.relay.open({ upstream: ask('hello'), signal: signal() })).rejects.toMatchObject({ code: 'upstream_rate_limited' });
    expect(t.client.calls.map((c) => c.accountId)).toEqual(['acct_a', 'acct_b']);
    expect(t.state('acct_a')?.state).toBe('cooling');
    expect(t.state('acct_b')?.state).toBe('cooling');
    expect(t.inFlight()).toBe(0);
  });

  it('stops after maxAttempts accounts', async () => {
    const t = setup(['a', 'b', 'c'], () => ({ refuse: overloaded() }), { maxAttempts: 2 });
    await expect(t.relay.open({ upstream: ask('hello'), signal: signal() })).rejects.toMatchObject({ code: 'upstream_overloaded' });
    expect(t.client.calls).toHaveLength(2);
  });

  it('does not retry errors that another account would meet as well', async () => {
    const t = setup(['a', 'b'], [{ refuse: new ProxyError('upstream_content_filter', 'refused') }]);
    await expect(t.relay.open({ upstream: ask('hello'), signal: signal() })).rejects.toMatchObject({ code: 'upstream_content_filter' });
    expect(t.client.calls).toHaveLength(1);
    expect(t.state('acct_a')?.failures).toBe(0);
  });

  it('keeps a pinned turn on its account: a failure there is the answer', async () => {
    const t = setup(['a', 'b'], [{ refuse: overloaded() }]);
    await expect(t.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', signal: signal() })).rejects.toMatchObject({ code: 'upstream_overloaded' });
    expect(t.client.calls.map((c) => c.accountId)).toEqual(['acct_a']);
    expect(t.inFlight()).toBe(0);
  });

  it('a pinned turn whose account is gone gives account_unavailable without a migration, and migrates with one', async () => {
    const t = setup(['a', 'b'], [{ events: [meta('fresh'), text('rebuilt'), stop] }]);
    t.pool.remove('acct_a');
    await expect(t.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', signal: signal() })).rejects.toMatchObject({ code: 'account_unavailable' });
    const turn = await t.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', migrate: () => ask('history + more'), signal: signal() });
    expect(turn.migrated).toBe(true);
    expect(turn.accountId).toBe('acct_b');
    expect(textOf(await collect(turn.events))).toBe('rebuilt');
    expect(t.client.calls.map((c) => c.request)).toEqual([ask('history + more')]);
  });

  it('migrates a pinned turn whose chat turns out to be gone in the stream, before any content', async () => {
    const t = setup(['a'], [{ events: [], then: chatGone() }, { events: [meta('fresh'), text('rebuilt'), stop] }]);
    const turn = await t.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', migrate: () => ask('history + more'), signal: signal() });
    // Known when open resolves: it waited for the rebuilt turn's first content.
    expect(turn.migrated).toBe(true);
    expect(textOf(await collect(turn.events))).toBe('rebuilt');
    expect(t.client.calls.map((c) => c.request.chatId)).toEqual(['c1', undefined]);
    expect(t.inFlight()).toBe(0);
  });

  it('tells the request of every failed attempt and what followed it: failover, migration, the answer', async () => {
    const t = setup(['a', 'b', 'c'], [{ refuse: overloaded() }, { events: [meta('c2')], then: network() }, { events: [text('third time'), stop] }]);
    const trail: AttemptFailure[] = [];
    const turn = await t.relay.open({ upstream: ask('hello'), signal: signal(), onFailure: (f) => trail.push(f) });
    expect(textOf(await collect(turn.events))).toBe('third time');
    const [first, second, third] = t.client.calls.map((c) => c.accountId);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(turn.accountId).toBe(third);
    expect(trail).toEqual([
      { accountId: first, code: 'upstream_overloaded', next: 'failover' },
      { accountId: second, code: 'upstream_network_error', next: 'failover' },
    ]);

    const pinned: AttemptFailure[] = [];
    const u = setup(['a'], [{ events: [], then: chatGone() }, { refuse: overloaded() }]);
    const migrating = u.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', migrate: () => ask('all'), signal: signal(), onFailure: (f) => pinned.push(f) });
    await expect(migrating.then((tu) => collect(tu.events))).rejects.toMatchObject({ code: 'upstream_overloaded' });
    expect(pinned).toEqual([
      { accountId: 'acct_a', code: 'upstream_chat_not_found', next: 'migrate' },
      { accountId: 'acct_a', code: 'upstream_overloaded', next: 'stop' },
    ]);
  });

  it('does not touch the upstream again once the caller has aborted, while waiting for content or while reading', async () => {
    const waiting = new AbortController();
    const t = setup(['a', 'b'], [{ events: [meta('c1')], then: 'hang' }, { events: [meta('c2')], then: 'hang' }, { events: [text('late'), stop] }]);
    const opening = t.relay.open({ upstream: ask('hello'), signal: waiting.signal });
    await vi.waitFor(() => expect(t.client.calls).toHaveLength(1));
    waiting.abort(new Error('client gone'));
    await expect(opening).rejects.toThrow('client gone');
    expect(t.client.calls).toHaveLength(1);
    expect(t.inFlight()).toBe(0);

    const reading = new AbortController();
    const turn = await openAfterWait(t, reading.signal);
    const events = collect(turn.events);
    reading.abort(new Error('client gone'));
    await expect(events).rejects.toThrow('client gone');
    expect(t.client.calls).toHaveLength(2);
    expect(t.inFlight()).toBe(0);
  });
});

/** Opens a turn whose upstream stays silent after its meta event: open resolves once the wait for content (15 s by default) is over. */
async function openAfterWait(t: ReturnType<typeof setup>, abort: AbortSignal) {
  const callsBefore = t.client.calls.length;
  const opening = t.relay.open({ upstream: ask('hello'), signal: abort });
  let settled = false;
  void opening.then(
    () => (settled = true),
    () => (settled = true),
  );
  await vi.waitFor(() => {
    t.clock.advance(15_000);
    expect(settled).toBe(true);
  });
  expect(t.client.calls).toHaveLength(callsBefore + 1);
  return opening;
}

describe('Relay: the response head waits for content', () => {
  it('rejects open with the real failure (and its Retry-After) when the stream fails before any content on the only account', async () => {
    const t = setup(['a'], [{ events: [meta('c1'), { type: 'search', queries: ['q'] }], then: rateLimited(7_000) }]);
    await expect(t.relay.open({ upstream: ask('hello'), signal: signal() })).rejects.toMatchObject({ code: 'upstream_rate_limited', retryAfterMs: 7_000 });
    expect(t.state('acct_a')?.state).toBe('cooling');
    expect(t.discarded).toEqual([]);
    expect(t.inFlight()).toBe(0);
  });

  it('resolves open at the first content, and the reader still gets every event from the start', async () => {
    const t = setup(['a'], [{ events: [meta('c1'), text('hi'), text(' there'), stop] }]);
    const turn = await t.relay.open({ upstream: ask('hello'), signal: signal() });
    expect(await collect(turn.events)).toEqual([meta('c1'), text('hi'), text(' there'), stop]);
    expect(t.inFlight()).toBe(0);
  });

  it('after firstOutputWaitMs of silence resolves open anyway; a failure after that reaches the reader', async () => {
    const t = setup(['a'], [{ events: [meta('c1')], then: 'hang' }]);
    const controller = new AbortController();
    const turn = await openAfterWait(t, controller.signal);
    const seen: ChatEvent[] = [];
    const reading = (async () => {
      for await (const ev of turn.events) seen.push(ev);
    })();
    controller.abort(new ProxyError('upstream_timeout', 'no first token'));
    await expect(reading).rejects.toMatchObject({ code: 'upstream_timeout' });
    expect(seen).toEqual([meta('c1')]);
    expect(t.inFlight()).toBe(0);
  });

  it('an opened turn that is abandoned before anyone reads it stops the upstream and frees the account', async () => {
    const t = setup(['a'], [{ events: [meta('c1'), text('unread'), text('more'), stop] }]);
    const turn = await t.relay.open({ upstream: ask('hello'), signal: signal() });
    expect(t.inFlight()).toBe(1);
    turn.abandon();
    await vi.waitFor(() => expect(t.inFlight()).toBe(0));
    expect(t.client.stopped).toBe(1);
  });
});

describe('Relay: 401 on the only account', () => {
  it('retries once on the same account with a refreshed token, and no more than once', async () => {
    const { pool, clock } = fakePool(['a'], {
      refresh: async () => ({ accessToken: `access-${++refreshes}` }),
    });
    let refreshes = 0;
    pools.push(pool);
    const client = new ScriptedClient([{ refuse: unauthenticated() }, { events: [text('ok'), stop] }, { refuse: unauthenticated() }, { refuse: unauthenticated() }]);
    const relay = new Relay({ pool, clock, client, maxAttempts: 1, backoffMs: 0, discardChat: () => undefined });
    const turn = await relay.open({ upstream: ask('hello'), signal: signal() });
    expect(textOf(await collect(turn.events))).toBe('ok');
    const [first, second] = client.calls;
    expect(second?.accountId).toBe(first?.accountId);
    expect(second?.accessToken).not.toBe(first?.accessToken);
    await expect(relay.open({ upstream: ask('again'), signal: signal() })).rejects.toMatchObject({ code: 'upstream_unauthenticated' });
    expect(client.calls).toHaveLength(4);
  });
});

describe('Relay: a busy upstream chat', () => {
  it('retries a pinned turn once on its account after the backoff pause, then answers the busy error', async () => {
    const t = setup(['a', 'b'], [{ refuse: chatBusy() }, { events: [text('next turn'), stop] }, { refuse: chatBusy() }, { refuse: chatBusy() }], { backoffMs: 250 });
    const opening = t.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', signal: signal() });
    await vi.waitFor(() => expect(t.client.calls).toHaveLength(1));
    // Nothing is sent again before the pause has passed.
    t.clock.advance(249);
    await new Promise((r) => setImmediate(r));
    expect(t.client.calls).toHaveLength(1);
    t.clock.advance(1);
    const turn = await opening;
    expect(textOf(await collect(turn.events))).toBe('next turn');
    expect(t.client.calls.map((c) => [c.accountId, c.request.chatId])).toEqual([
      ['acct_a', 'c1'],
      ['acct_a', 'c1'],
    ]);
    // Still busy after the pause: the answer is the busy error (409 with Retry-After), no third try, no other account.
    const again = t.relay.open({ upstream: ask('more', { chatId: 'c1' }), accountId: 'acct_a', signal: signal() });
    const failed = expect(again).rejects.toMatchObject({ code: 'upstream_chat_busy' });
    await vi.waitFor(() => expect(t.client.calls).toHaveLength(3));
    t.clock.advance(250);
    await failed;
    expect(t.client.calls.map((c) => c.accountId)).toEqual(['acct_a', 'acct_a', 'acct_a', 'acct_a']);
    expect(t.state('acct_a')?.failures).toBe(0);
  });
});

describe('Relay: unary calls', () => {
  it('report to the account: a 429 cools the account down and the call moves to the next one', async () => {
    const t = setup(['a', 'b'], []);
    const seen: string[] = [];
    const result = await t.relay.unary(
      async (ctx) => {
        seen.push(ctx.credentials.accountId);
        if (ctx.credentials.accountId === 'acct_a') throw rateLimited(30_000);
        return 'catalog';
      },
      { timeoutMs: 1_000 },
    );
    expect(result).toBe('catalog');
    expect(seen).toEqual(['acct_a', 'acct_b']);
    expect(t.state('acct_a')).toMatchObject({ state: 'cooling', cooldownUntil: t.clock.now() + 30_000 });
    expect(t.inFlight()).toBe(0);
  });

  it('a pinned call stays on its account and fails with the upstream error', async () => {
    const t = setup(['a', 'b'], []);
    const seen: string[] = [];
    const call = t.relay.unary(
      async (ctx) => {
        seen.push(ctx.credentials.accountId);
        throw chatGone();
      },
      { accountId: 'acct_b', timeoutMs: 1_000 },
    );
    await expect(call).rejects.toMatchObject({ code: 'upstream_chat_not_found' });
    expect(seen).toEqual(['acct_b']);
    expect(t.inFlight()).toBe(0);
  });
});
