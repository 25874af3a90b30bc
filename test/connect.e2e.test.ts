/** Today's Kimi: Connect protocol specifics, live catalog, thinking, search, errors, timeouts. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postJson, postStream, harnessPerTest, startHarness, streamText, type Harness } from './helpers/harness.js';

function chatBodies(h: Harness): any[] {
  return h.emulator
    .stats()
    .recentRequests.filter((r) => r.path.endsWith('ChatService/Chat'))
    .map((r) => r.body);
}
const lastChatBody = (h: Harness): any => chatBodies(h).at(-1);
const user = (content: string) => ({ role: 'user', content });

describe('connect: models and request shape', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', CONVERSATION_REUSE: 'off' } });
  });
  afterAll(async () => h.close());

  it('lists ids derived from the live catalog and keeps the seed ids as aliases', async () => {
    const res = await fetch(`${h.base}/v1/models`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const ids = ((await res.json()) as any).data.map((m: any) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['kimi-k2.6', 'kimi-k2.6-thinking', 'kimi-k2.6-nosearch', 'k2d6-chat', 'k2', 'k2-thinking', 'k2-nosearch', 'k1.5']));
    expect(h.app.services.models.catalogSource).toBe('live');
  });

  it('sends the ChatRequest of spec B.4: scenario, catalog model, search tool, no empty ids', async () => {
    await postJson(h, { model: 'kimi-k2.6', messages: [user('hi')] });
    const body = lastChatBody(h);
    expect(body.scenario).toBe('SCENARIO_CHAT');
    expect(body.message.scenario).toBe('SCENARIO_CHAT');
    expect(body.message.role).toBe('user');
    expect(body.message.blocks[0].text.content).toBe('hi');
    expect(body.options.model).toBe('k2d6-chat');
    expect(body.options.thinking).toBe(false);
    expect(body.options.reasoning_effort).toBe('REASONING_EFFORT_NONE');
    expect(body.tools).toEqual([{ type: 'TOOL_TYPE_SEARCH', search: {} }]);
    expect('chat_id' in body).toBe(false);
    expect('parent_id' in body.message).toBe(false);
  });

  it('maps -thinking, reasoning_effort and search switches onto the request', async () => {
    await postJson(h, { model: 'k2-thinking', messages: [user('a')] });
    expect(lastChatBody(h).options).toMatchObject({ thinking: true, reasoning_effort: 'REASONING_EFFORT_LOW' });
    await postJson(h, { model: 'kimi-k2.6', reasoning_effort: 'high', messages: [user('b')] });
    expect(lastChatBody(h).options).toMatchObject({ thinking: true, reasoning_effort: 'REASONING_EFFORT_LOW' });
    await postJson(h, { model: 'kimi-k2.6-thinking', reasoning_effort: 'none', messages: [user('c')] });
    expect(lastChatBody(h).options.thinking).toBe(true);
    await postJson(h, { model: 'k2-nosearch', messages: [user('d')] });
    expect(lastChatBody(h).tools).toEqual([]);
    await postJson(h, { model: 'k2', web_search: false, messages: [user('e')] });
    expect(lastChatBody(h).tools).toEqual([]);
  });

  it('continues a conversation with chat_id and parent_id = the last assistant message id', async () => {
    const first = await postJson(h, { model: 'k2', messages: [user('one [[emu turn]]')] }, '/v1/chat/completions/c-connect-parent');
    const chatId = /chat=(\S+)/.exec(first.json.choices[0].message.content)![1];
    const firstBodies = chatBodies(h).length;
    const second = await postJson(h, { model: 'k2', messages: [user('two [[emu history]]')] }, '/v1/chat/completions/c-connect-parent');
    expect(second.json.choices[0].message.content).toBe('one [[emu turn]]');
    const body = chatBodies(h)[firstBodies];
    expect(body.chat_id).toBe(chatId);
    expect(typeof body.message.parent_id).toBe('string');
    expect(body.message.parent_id).not.toBe('');
  });

  it('deletes temporary chats with ChatService/DeleteChat', async () => {
    const before = h.emulator.stats().chatsDeleted;
    await postJson(h, { model: 'k2', messages: [user('temp')] });
    await h.app.services.janitor.idle();
    const paths = Object.keys(h.emulator.stats().requestsByPath);
    expect(paths.some((p) => p.endsWith('ChatService/DeleteChat'))).toBe(true);
    expect(h.emulator.stats().chatsDeleted).toBeGreaterThan(before);
  });
});

describe('connect: reasoning and citations', () => {
  const start = harnessPerTest();

  it('returns reasoning as reasoning_content, streamed and not', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' } });
    const r = await postJson(h, { model: 'k2-thinking', messages: [user('[[emu think="step one" reply="answer"]]')] });
    expect(r.json.choices[0].message.reasoning_content).toBe('step one');
    expect(r.json.choices[0].message.content).toBe('answer');
    const s = await postStream(h, { model: 'k2-thinking', messages: [user('[[emu think="deep thought" reply="42"]]')] });
    const reasoning = s.events.map((e: any) => e?.choices?.[0]?.delta?.reasoning_content ?? '').join('');
    expect(reasoning).toBe('deep thought');
    expect(streamText(s.events)).toBe('42');
  });

  it('inlines reasoning as <think> tags or drops it, per REASONING_OUTPUT', async () => {
    let h = await start({ env: { KIMI_PROTOCOL: 'connect', REASONING_OUTPUT: 'think_tags' } });
    const r = await postJson(h, { model: 'k2-thinking', messages: [user('[[emu think="hmm" reply="ok"]]')] });
    expect(r.json.choices[0].message.content).toBe('<think>\nhmm\n</think>\n\nok');
    await h.close();
    h = await start({ env: { KIMI_PROTOCOL: 'connect', REASONING_OUTPUT: 'none' } });
    const n = await postJson(h, { model: 'k2-thinking', messages: [user('[[emu think="hmm" reply="ok"]]')] });
    expect(n.json.choices[0].message.content).toBe('ok');
    expect(n.json.choices[0].message.reasoning_content).toBeUndefined();
  });

  it('turns search results into citations: readable [n] markers, a sources list, url_citation annotations', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' } });
    const r = await postJson(h, { model: 'k2', messages: [user('[[emu search=2 cite reply="Fact one. More text."]]')] });
    const msg = r.json.choices[0].message;
    expect(msg.content).not.toMatch(/[\ue3a0-\ue3a8]/u);
    expect(msg.content).toMatch(/\[1\]/);
    expect(msg.content).toContain('Sources:');
    expect(msg.content).toContain('https://example.com/1');
    expect(msg.annotations.length).toBeGreaterThanOrEqual(1);
    expect(msg.annotations[0]).toMatchObject({ type: 'url_citation', url_citation: { url: 'https://example.com/1' } });
    const s = await postStream(h, { model: 'k2', messages: [user('[[emu search=2 cite reply="Fact one. More text."]]')] });
    expect(streamText(s.events)).toBe(msg.content);
  });
});

describe('connect: errors and timeouts', () => {
  // A fresh proxy per case (one shared emulator): a failure cools the only account down.
  let emu: Harness;
  let h: Harness;
  beforeAll(async () => {
    // Several proxies share this emulator; without rotation each can refresh the same token.
    emu = await startHarness({ env: { KIMI_PROTOCOL: 'connect' }, emulator: { heartbeatIntervalMs: 100, rotateRefreshTokens: false } });
  });
  afterAll(async () => emu.close());
  beforeEach(async () => {
    h = await startHarness({
      env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-solo', UPSTREAM_IDLE_TIMEOUT_MS: '400', UPSTREAM_TOTAL_TIMEOUT_MS: '3000' },
      sharedEmulator: emu.emulator,
    });
  });
  afterEach(async () => h.close());

  it.each([
    ['fault=429 retry_after=7', 429, 'upstream_rate_limited'],
    ['fault=503', 503, 'upstream_overloaded'],
    ['fault=401', 502, 'upstream_unauthenticated'],
    ['fault=unauthenticated-in-stream', 502, 'upstream_unauthenticated'],
    ['fault=exception', 503, 'upstream_overloaded'],
    ['fault=trailer-error code=resource_exhausted', 429, 'upstream_rate_limited'],
    ['fault=error-event code=invalid_argument', 400, 'upstream_bad_request'],
    ['fault=truncate after=1', 502, 'upstream_protocol_error'],
    ['fault=no-done', 502, 'upstream_protocol_error'],
  ])('maps %s to HTTP %i %s', async (directive, status, code) => {
    const r = await postJson(h, { model: 'k2', messages: [user(`[[emu ${directive}]]`)] });
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    if (status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('fails a stream that goes silent past the idle timeout, with an error chunk', async () => {
    const s = await postStream(h, { model: 'k2', messages: [user('[[emu deltas=5 fault=stall after=2 hb=0]]')] });
    const err = s.events.at(-2) as any;
    expect(err.error.code).toBe('upstream_timeout');
    expect(s.events.at(-1)).toBe('[DONE]');
  });

  it('keeps a heartbeat-only silence within the idle limit alive', async () => {
    const r = await postJson(h, { model: 'k2', messages: [user('[[emu stall=1200 hb=100 reply="patient"]]')] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('patient');
  });
});

describe('connect: path fallback and protocol detection', () => {
  const start = harnessPerTest();

  it('falls back to another Chat package path on 404 and remembers it', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect', KIMI_CONNECT_CHAT_PATH: 'kimi.retired.v1.ChatService/Chat' } });
    expect((await postJson(h, { model: 'k2', messages: [user('[[emu reply="a"]]')] })).json.choices[0].message.content).toBe('a');
    expect((await postJson(h, { model: 'k2', messages: [user('[[emu reply="b"]]')] })).json.choices[0].message.content).toBe('b');
    const byPath = h.emulator.stats().requestsByPath;
    expect(byPath['/apiv2/kimi.retired.v1.ChatService/Chat']).toBe(1);
  });

  it('detects the protocol once at start with KIMI_PROTOCOL=auto', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'auto' } });
    expect(h.app.services.client.protocol).toBe('connect');
  });

  it('serves the built-in model table when the catalog call fails', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect' }, emulator: { rotateRefreshTokens: false } });
    h.emulator.control.setCatalogFailure(true);
    const other = await startHarness({ env: { KIMI_PROTOCOL: 'connect' }, sharedEmulator: h.emulator });
    try {
      const res = await fetch(`${other.base}/v1/models`, { headers: { authorization: `Bearer ${other.apiKey}` } });
      const ids = ((await res.json()) as any).data.map((m: any) => m.id);
      expect(ids).toEqual(expect.arrayContaining(['kimi-k2.6', 'k2', 'k1.5']));
      expect(other.app.services.models.catalogSource).toBe('fallback');
      const r = await postJson(other, { model: 'k2', messages: [user('[[emu reply="still works"]]')] });
      expect(r.json.choices[0].message.content).toBe('still works');
    } finally {
      await other.close();
    }
  });
});
