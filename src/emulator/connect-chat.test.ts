import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chatRequest, connectChat, connectText, createRestChat, decodeFrames, send, type Frame } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

const TOKEN = 'connect-token';
const UUID_8000 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-8000-[0-9a-f]{12}$/;

/** A frame's identity for order assertions: mask, marker name, or `trailer`. */
function kind(f: Frame): string {
  if (f.flags === 2) return 'trailer';
  if (typeof f.json.mask === 'string') return f.json.mask;
  return Object.keys(f.json).filter((k) => k !== 'eventOffset')[0]!;
}

async function chat(payload: unknown, path?: string): Promise<Frame[]> {
  const res = await connectChat(emu.url, TOKEN, payload, path);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/connect+json');
  return decodeFrames(res.body).frames;
}

function assistantId(frames: Frame[]): string {
  const f = frames.find((x) => x.json.mask === 'message' && (x.json.message as { role: string }).role === 'assistant')!;
  return (f.json.message as { id: string }).id;
}

function chatId(frames: Frame[]): string {
  return ((frames[1]!.json.chat as { id: string }).id);
}

describe('Connect Chat stream', () => {
  it('emits the B.5 frame order with eventOffset increasing from 1', async () => {
    const frames = await chat(chatRequest('hello there [[emu reply="Hi there!"]]'));
    expect(frames.map(kind)).toEqual([
      'heartbeat',
      'chat.lastRequest',
      'message',
      'message',
      'block.text',
      'block.text.content',
      'chat.name',
      'message.status',
      'done',
      'trailer',
    ]);
    const offsets = frames.filter((f) => f.flags === 0 && 'eventOffset' in f.json).map((f) => f.json.eventOffset);
    expect(offsets).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(frames.at(-1)).toEqual({ flags: 2, json: {} });
    const c = frames[1]!.json.chat as Record<string, string>;
    expect(c.id).toMatch(UUID_8000);
    expect(c.name).toBe('Untitled Chat');
    expect(c.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const user = frames[2]!.json.message as Record<string, unknown>;
    expect(user).toMatchObject({ role: 'user', status: 'MESSAGE_STATUS_COMPLETED', scenario: 'SCENARIO_CHAT', blocks: [{ id: 'text_0_0', text: { content: 'hello there [[emu reply="Hi there!"]]' } }] });
    const asst = frames[3]!.json.message as Record<string, unknown>;
    expect(asst).toMatchObject({ parentId: user.id, role: 'assistant', status: 'MESSAGE_STATUS_GENERATING' });
    expect(asst.id).toMatch(UUID_8000);
    expect(frames[4]!.json).toMatchObject({ op: 'set', block: { text: { content: 'Hi ' } } });
    expect(frames[5]!.json).toMatchObject({ op: 'append', block: { text: { content: 'there!' } } });
    expect(frames[7]!.json).toEqual({ op: 'set', mask: 'message.status', eventOffset: 7, message: { id: asst.id, status: 'MESSAGE_STATUS_COMPLETED' } });
    expect(connectText(frames)).toBe('Hi there!');
  });

  it('serves both package paths and accepts lowerCamel fields', async () => {
    const first = await chat(chatRequest('one'), 'kimi.chat.v1.ChatService/Chat');
    const id = chatId(first);
    const camel = {
      scenario: 'SCENARIO_K2D5',
      chatId: id,
      tools: [],
      message: { parentId: assistantId(first), role: 'user', blocks: [{ messageId: '', text: { content: '[[emu turn]]' } }], scenario: 'SCENARIO_K2D5' },
      options: { thinking: false },
    };
    const second = await chat(camel);
    expect(connectText(second)).toBe(`turn=2 chat=${id}`);
    expect((second[2]!.json.message as { scenario: string }).scenario).toBe('SCENARIO_K2D5');
  });

  it('treats empty chat_id and parent_id as absent', async () => {
    const frames = await chat(chatRequest('[[emu turn]]', { chatId: '', parentId: '' }));
    expect(connectText(frames)).toBe(`turn=1 chat=${chatId(frames)}`);
  });

  it('branches on parent_id: history follows the chosen branch only', async () => {
    const a = await chat(chatRequest('A'));
    const id = chatId(a);
    const b = await chat(chatRequest('B', { chatId: id, parentId: assistantId(a) }));
    await chat(chatRequest('C', { chatId: id, parentId: assistantId(b) }));
    // Branch off after A: C is not on this branch.
    const branch = await chat(chatRequest('[[emu history]]', { chatId: id, parentId: assistantId(a) }));
    expect(connectText(branch)).toBe('A');
    const turn = await chat(chatRequest('[[emu turn]]', { chatId: id, parentId: assistantId(b) }));
    expect(connectText(turn)).toBe(`turn=3 chat=${id}`);
    // Without parent_id the turn continues from the latest reply (the previous one).
    const latest = await chat(chatRequest('[[emu history]]', { chatId: id }));
    expect(connectText(latest)).toBe('A | B | [[emu turn]]');
    expect((latest[2]!.json.message as { parentId: string }).parentId).toBe(assistantId(turn));
  });

  it('continues a chat created with legacy POST /api/chat', async () => {
    const legacy = await createRestChat(emu.url, TOKEN);
    const frames = await chat(chatRequest('[[emu turn]]', { chatId: legacy }));
    expect(connectText(frames)).toBe(`turn=1 chat=${legacy}`);
  });

  it('emits multiStage START, stage, think set/append, multiStage END before the text when thinking', async () => {
    const frames = await chat(chatRequest('[[emu think="step one two" reply="ok"]]', { thinking: true }));
    expect(frames.map(kind).slice(4, 11)).toEqual([
      'block.multiStage',
      'block.stage',
      'block.think',
      'block.think.content',
      'block.think.content',
      'block.multiStage',
      'block.text',
    ]);
    const stages = (f: Frame): unknown => (f.json.block as { multiStage: { stages: unknown[] } }).multiStage.stages;
    expect(stages(frames[4]!)).toEqual([{ name: 'STAGE_NAME_THINKING', status: 'STAGE_STATUS_START' }]);
    expect(stages(frames[9]!)).toEqual([{ name: 'STAGE_NAME_THINKING', status: 'STAGE_STATUS_END' }]);
    expect(frames[5]!.json.block).toMatchObject({ parentId: (frames[4]!.json.block as { id: string }).id, stage: { name: 'STAGE_NAME_THINKING' } });
    expect(connectText(frames, 'think')).toBe('step one two');
    const none = await chat(chatRequest('[[emu think="x"]]', { thinking: false }));
    expect(none.some((f) => kind(f).startsWith('block.think'))).toBe(false);
    const dflt = await chat(chatRequest('abcd', { thinking: true }));
    expect(connectText(dflt, 'think')).toBe('Thinking about a message of 4 characters.');
  });

  it('emits 2025 search blocks only when search is enabled and search=N is given', async () => {
    const frames = await chat(chatRequest('[[emu search=2 reply="ok"]]', { search: true }));
    expect(frames.map(kind).slice(4, 8)).toEqual(['block.search.keywords', 'block.search.webPages', 'block.search.webPages', 'block.text']);
    expect(frames[5]!.json).toMatchObject({
      op: 'append',
      block: { id: '0_0', search: { webPages: [{ title: 'Result 1', url: 'https://example.com/1', siteName: 'example.com' }] } },
    });
    const notEnabled = await chat(chatRequest('[[emu search=2]]', { search: false }));
    expect(notEnabled.some((f) => kind(f).startsWith('block.search'))).toBe(false);
    const noCount = await chat(chatRequest('hi', { search: true }));
    expect(noCount.some((f) => kind(f).startsWith('block.search'))).toBe(false);
  });

  it('with cite emits 2026 tool blocks, inline citation markers and message.refs.searchChunks', async () => {
    const frames = await chat(chatRequest('[[emu search=2 cite reply="First sentence. Second one."]]', { search: true }));
    expect(frames.map(kind)).toEqual([
      'heartbeat',
      'chat.lastRequest',
      'message',
      'message',
      'block.tool',
      'block.tool.args',
      'block.tool.contents',
      'block.text',
      'block.text.content',
      'block.text.content',
      'block.text.content',
      'message.refs.searchChunks',
      'chat.name',
      'message.status',
      'done',
      'trailer',
    ]);
    expect(connectText(frames)).toBe('First sentence.\ue3a0cite\ue3a3web_search:1#0\ue3a3web_search:1#1\ue3a8 Second one.');
    const contents = (frames[6]!.json.block as { tool: { contents: { searchResult: { refIndex: string; base: { url: string } } }[] } }).tool.contents;
    expect(contents.map((c) => [c.searchResult.refIndex, c.searchResult.base.url])).toEqual([
      ['web_search:1#0', 'https://example.com/1'],
      ['web_search:1#1', 'https://example.com/2'],
    ]);
    expect(frames[11]!.json.message).toMatchObject({ refs: { searchChunks: contents } });
  });

  it('renames a new chat in chat.name without echoing the prompt', async () => {
    const frames = await chat(chatRequest('a very private prompt'));
    const name = (frames.find((f) => f.json.mask === 'chat.name')!.json.chat as { name: string }).name;
    expect(name).toMatch(/^Chat [0-9a-f]{8}$/);
    expect(JSON.stringify(frames.slice(3))).not.toContain('private');
  });

  it('rejects bare JSON with HTTP 200 and only an invalid_argument trailer', async () => {
    const res = await send(`${emu.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, {
      token: TOKEN,
      body: JSON.stringify(chatRequest('hi')),
      contentType: 'application/connect+json',
    });
    expect(res.status).toBe(200);
    expect(decodeFrames(res.body).frames).toEqual([{ flags: 2, json: { error: { code: 'invalid_argument', message: expect.any(String) } } }]);
    expect(emu.stats().streamsStarted).toBe(0);
  });

  it('answers 405 with allow: POST on GET', async () => {
    const res = await send(`${emu.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, { method: 'GET', token: TOKEN });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('answers unknown chats and parents with a not_found trailer', async () => {
    const res = await connectChat(emu.url, TOKEN, chatRequest('hi', { chatId: '00000000-0000-8000-8000-000000000000' }));
    expect(decodeFrames(res.body).frames).toEqual([{ flags: 2, json: { error: { code: 'not_found', message: expect.any(String) } } }]);
    const a = await chat(chatRequest('A'));
    const bad = await connectChat(emu.url, TOKEN, chatRequest('hi', { chatId: chatId(a), parentId: 'nope' }));
    expect(decodeFrames(bad.body).frames[0]!.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('accepts the kimi-auth cookie when no bearer is sent (cookie-only auth is unknown in the spec)', async () => {
    const { request } = await import('undici');
    const { encodeJsonEnvelope } = await import('../upstream/kimi/connect/envelope.js');
    const res = await request(`${emu.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, {
      method: 'POST',
      headers: { cookie: 'other=1; kimi-auth=cookie-token', 'content-type': 'application/connect+json' },
      body: encodeJsonEnvelope(chatRequest('[[emu reply=ok]]')),
    });
    expect(res.statusCode).toBe(200);
    await res.body.arrayBuffer();
    expect(emu.stats().requestsByAccount).toEqual({ 'cookie-token': 1 });
    const none = await send(`${emu.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, { body: new Uint8Array([0, 0, 0, 0, 2, 123, 125]), contentType: 'application/connect+json' });
    expect(none.status).toBe(401);
  });

  it('sends heartbeats between slow deltas at the heartbeatIntervalMs option', async () => {
    const slow = await startEmulator({ heartbeatIntervalMs: 40 });
    try {
      const res = await connectChat(slow.url, TOKEN, chatRequest('[[emu deltas=3 delay=130]]'));
      const frames = decodeFrames(res.body).frames;
      const firstText = frames.findIndex((f) => f.json.mask === 'block.text');
      const between = frames.slice(firstText + 1, frames.findIndex((f) => f.json.mask === 'chat.name'));
      expect(between.filter((f) => 'heartbeat' in f.json).length).toBeGreaterThanOrEqual(4);
      expect(connectText(frames)).toBe('w1 w2 w3');
      const off = await connectChat(slow.url, TOKEN, chatRequest('[[emu deltas=3 delay=130 hb=0]]'));
      expect(decodeFrames(off.body).frames.filter((f) => 'heartbeat' in f.json)).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('answers HTTP 401 unauthenticated for an expired emulator-issued token', async () => {
    const short = await startEmulator({ accessTokenTtlSec: 0 });
    try {
      const tokens = (await send(`${short.url}/api/auth/token/refresh`, { method: 'GET', token: 'refresh-x' })).body.toString();
      const access = (JSON.parse(tokens) as { access_token: string }).access_token;
      const res = await connectChat(short.url, access, chatRequest('hi'));
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body.toString())).toEqual({ code: 'unauthenticated', message: expect.any(String) });
    } finally {
      await short.close();
    }
  });
});
