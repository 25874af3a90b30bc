import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { ProxyError } from '../core/errors.js';
import { estimateTokens } from '../core/tokens.js';
import type { AccountPool } from '../accounts/pool.js';
import type { ResolvedModel } from '../models/model-table.js';
import { Relay } from '../relay/relay.js';
import { ScriptedClient, collect, fakePool, meta, stop, text, type Step } from '../relay/__fixtures__/fake-upstream.js';
import { storedConversation, secondTurn } from './__fixtures__/conversation.js';
import { placeholderOf } from '../attachments/inline-data.js';
import { ChatService, type ChatInput } from './chat-service.js';
import { Janitor } from './janitor.js';

const model: ResolvedModel = { requestedId: 'kimi-k2', canonicalId: 'kimi-k2', baseId: 'kimi-k2', thinking: false, search: false };

const pools: AccountPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

function setup(names: string[], steps: Step[]) {
  const { pool, clock, store } = fakePool(names);
  pools.push(pool);
  const client = new ScriptedClient(steps);
  const relay: Relay = new Relay({ pool, clock, client, maxAttempts: 2, backoffMs: 0, discardChat: (accountId, chatId) => void janitor.schedule(accountId, chatId) });
  const janitor = new Janitor({ store, client, clock, unary: (call, opts) => relay.unary(call, opts) });
  let ids = 0;
  const chat = new ChatService({
    relay,
    store,
    janitor,
    clock,
    protocol: 'rest',
    deleteTempChats: true,
    conversationReuse: 'off',
    lengthContinuations: 0,
    conversationWaitMs: 0,
    turnTimeoutMs: 60_000,
    newConversationId: () => `conv_${++ids}`,
  });
  const input = (content: string, extra: Partial<ChatInput> = {}): ChatInput => ({ owner: 'key1', model, messages: [{ role: 'user', content }], signal: new AbortController().signal, ...extra });
  /** Asks the second question of the stored conversation `c` (see storedConversation). */
  const askSecond = () => chat.start(input('', { conversationId: 'c', messages: secondTurn() }));
  /** Waits for everything that runs after a turn (saving, the janitor's deletions). */
  const settled = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    await janitor.idle();
  };
  return { pool, clock, store, client, relay, janitor, chat, input, askSecond, settled };
}

/** Reads `n` events and leaves, as a renderer does when its client disconnects. */
async function readThenLeave(events: AsyncIterable<ChatEvent>, n: number): Promise<ChatEvent[]> {
  const seen: ChatEvent[] = [];
  for await (const ev of events) {
    seen.push(ev);
    if (seen.length === n) break;
  }
  return seen;
}

describe('ChatService: a completed turn is saved whoever reads it', () => {
  it('saves a stateful turn that Kimi finished although the client left one event before finish', async () => {
    const t = setup(['a'], [{ events: [meta('chat_1'), text('Hello'), stop] }]);
    const turn = await t.chat.start(t.input('Hi', { conversationId: 'c' }));
    const seen = await readThenLeave(turn.events, 2);
    expect(seen.at(-1)).toEqual(text('Hello'));
    await t.settled();
    const saved = await t.store.getConversation('key1', 'c');
    expect(saved).toMatchObject({ upstreamChatId: 'chat_1', accountId: 'acct_a' });
    expect(saved?.transcript).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ]);
    expect(t.client.deleted).toEqual([]);
  });

  it('does not keep the new chat of a turn whose client left before Kimi finished', async () => {
    const controller = new AbortController();
    const t = setup(['a'], [{ events: [meta('chat_1'), text('Hel')], then: 'hang' }]);
    const turn = await t.chat.start(t.input('Hi', { conversationId: 'c', signal: controller.signal }));
    await readThenLeave(turn.events, 2);
    controller.abort(new Error('client gone'));
    await t.settled();
    expect(await t.store.getConversation('key1', 'c')).toBeUndefined();
    expect(t.client.deleted).toEqual([{ accountId: 'acct_a', chatId: 'chat_1' }]);
  });
});

describe('ChatService: stateful turns', () => {
  it('continues a conversation on its account with only the new message', async () => {
    const t = setup(['a', 'b'], [{ events: [meta('chat_old'), text('second answer'), stop] }]);
    await t.store.saveConversation(storedConversation());
    const turn = await t.askSecond();
    await collect(turn.events);
    await t.settled();
    expect(t.client.calls).toHaveLength(1);
    expect(t.client.calls[0]).toMatchObject({ accountId: 'acct_a', request: { chatId: 'chat_old' } });
    expect(t.client.calls[0]?.request.text).not.toContain('first question');
    expect((await t.store.getConversation('key1', 'c'))?.transcript.at(-1)).toEqual({ role: 'assistant', content: 'second answer' });
    expect(t.client.deleted).toEqual([]);
  });

  it('migrates a conversation whose account was removed: a new chat elsewhere, seeded with the transcript; the old chat is deleted', async () => {
    const t = setup(['a', 'b'], [{ events: [meta('chat_new'), text('second answer'), stop] }]);
    await t.store.saveConversation(storedConversation());
    t.pool.remove('acct_a');
    const turn = await t.askSecond();
    await collect(turn.events);
    await t.settled();
    const call = t.client.calls[0];
    // Usage counts the text the new chat was seeded with, not the short follow-up first planned.
    expect(turn.promptTokens).toBe(estimateTokens(call!.request.text));
    expect(call?.accountId).toBe('acct_b');
    expect(call?.request.chatId).toBeUndefined();
    expect(call?.request.text).toContain('first question');
    expect(call?.request.text).toContain('second question');
    expect(await t.store.getConversation('key1', 'c')).toMatchObject({ accountId: 'acct_b', upstreamChatId: 'chat_new' });
    // The old chat's account is gone, so its deletion waits in the queue (retried later), not on the new account.
    expect(t.client.deleted).toEqual([]);
    expect((await t.store.claimDueDeletions(t.clock.now() + 3_600_000, 10, 1_000)).map((d) => [d.accountId, d.chatId])).toEqual([['acct_a', 'chat_old']]);
  });

  it('migrates a conversation whose chat turns out to be gone on its account, and deletes nothing twice', async () => {
    const t = setup(['a'], [{ refuse: new ProxyError('upstream_chat_not_found', 'gone') }, { events: [meta('chat_new'), text('fresh'), stop] }]);
    await t.store.saveConversation(storedConversation());
    const turn = await t.askSecond();
    await collect(turn.events);
    await t.settled();
    expect(t.client.calls.map((c) => [c.accountId, c.request.chatId])).toEqual([
      ['acct_a', 'chat_old'],
      ['acct_a', undefined],
    ]);
    expect(await t.store.getConversation('key1', 'c')).toMatchObject({ accountId: 'acct_a', upstreamChatId: 'chat_new' });
    expect(t.client.deleted).toEqual([{ accountId: 'acct_a', chatId: 'chat_old' }]);
  });
});

describe('ChatService: data URLs taken out of the body', () => {
  it('refuses to send a taken data URL’s placeholder to Kimi as text', async () => {
    const t = setup(['a'], [{ events: [meta('chat_1'), text('Hello'), stop] }]);
    const placeholder = placeholderOf('image/png;base64', 'ab'.repeat(32));
    const inline = new Map([[placeholder, { bytes: Buffer.from('x'), sha256: 'ab'.repeat(32), header: 'image/png;base64' }]]);
    await expect(t.chat.start(t.input(`look ${placeholder}`, { inline }))).rejects.toMatchObject({ code: 'internal_error' });
    expect(t.client.calls).toEqual([]);
    // Text that merely looks like one (nothing was taken from this body) is the client's text.
    const turn = await t.chat.start(t.input(`look ${placeholder}`));
    expect(await collect(turn.events)).toContainEqual(text('Hello'));
  });
});
