import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRestChat, json, restCompletion, send, sseRecords } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

const TOKEN = 'plain-token-a';

describe('legacy completion stream', () => {
  it('streams req → resp → cmpl… → all_done with the default digest answer and never echoes the prompt', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    expect(chatId).toMatch(/^[0-9a-v]{20}$/);
    const prompt = 'tell me a secret about zebras';
    const res = await restCompletion(emu.url, TOKEN, chatId, prompt);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const body = res.body.toString('utf8');
    expect(body).toMatch(/^data: \{"event":"req","id":"[0-9a-v]{20}"\}\n\n/);
    expect(body).not.toContain('\r');
    const records = sseRecords(res.body);
    expect(records.map((r) => r.event)).toEqual(['req', 'resp', ...Array(records.length - 3).fill('cmpl'), 'all_done']);
    const text = records.filter((r) => r.event === 'cmpl').map((r) => r.text).join('');
    const digest = createHash('sha256').update(prompt).digest('hex').slice(0, 8);
    expect(text).toBe(`Emulator reply: the message has ${prompt.length} characters (digest ${digest}).`);
    expect(records.filter((r) => r.event === 'cmpl').map((r) => r.text)).toEqual(text.match(/\S+\s*/g));
    expect(body).not.toContain('zebras');
  });

  it('uses reply= and deltas= (code-point split, no broken surrogate pairs) and CRLF records', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const res = await restCompletion(emu.url, TOKEN, chatId, '[[emu reply="a😀b😀c" deltas=3 crlf]]');
    expect(res.body.toString('utf8')).toContain('\r\n\r\n');
    const cmpl = sseRecords(res.body).filter((r) => r.event === 'cmpl').map((r) => r.text);
    expect(cmpl).toEqual(['a😀', 'b😀', 'c']);
  });

  it('generates w1..wN deltas without reply=', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const res = await restCompletion(emu.url, TOKEN, chatId, 'x [[emu deltas=4]]');
    expect(sseRecords(res.body).filter((r) => r.event === 'cmpl').map((r) => r.text)).toEqual(['w1 ', 'w2 ', 'w3 ', 'w4']);
  });

  it('emits search_plus start_res and get_res×N before resp when use_search is on', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const res = await restCompletion(emu.url, TOKEN, chatId, '[[emu search=2 reply="ok"]]', { use_search: true });
    const records = sseRecords(res.body);
    expect(records.slice(0, 5)).toEqual([
      { event: 'req', id: expect.any(String) },
      { event: 'search_plus', msg: { type: 'start_res' } },
      { event: 'search_plus', msg: expect.objectContaining({ type: 'get_res', successNum: 1, title: 'Result 1', url: 'https://example.com/1', site_name: 'example.com' }) },
      { event: 'search_plus', msg: expect.objectContaining({ type: 'get_res', successNum: 2, title: 'Result 2', url: 'https://example.com/2' }) },
      { event: 'resp' },
    ]);
    const off = await restCompletion(emu.url, TOKEN, chatId, '[[emu search=2 reply="ok"]]', { use_search: false });
    expect(sseRecords(off.body).some((r) => r.event === 'search_plus')).toBe(false);
  });

  it('emits k1 thinking before cmpl for -thinking models and the K1 agent id only', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const res = await restCompletion(emu.url, TOKEN, chatId, '[[emu think="hmm let me see" reply="done"]]', { model: 'k1.5-thinking' });
    expect(sseRecords(res.body).map((r) => [r.event, r.text])).toEqual([
      ['req', undefined],
      ['resp', undefined],
      ['k1', 'hmm '],
      ['k1', 'let '],
      ['k1', 'me '],
      ['k1', 'see'],
      ['cmpl', 'done'],
      ['all_done', undefined],
    ]);
    const k1 = await restCompletion(emu.url, TOKEN, chatId, 'abc', { model: '', kimiplus_id: 'crm40ee9e5jvhsn7ptcg' });
    expect(sseRecords(k1.body).filter((r) => r.event === 'k1').map((r) => r.text).join('')).toBe('Thinking about a message of 3 characters.');
    const plain = await restCompletion(emu.url, TOKEN, chatId, '[[emu think="x"]]', { model: 'k1.5' });
    expect(sseRecords(plain.body).some((r) => r.event === 'k1')).toBe(false);
  });

  it('keeps the chat history: turn and history follow the user messages', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const texts = async (t: string): Promise<string> =>
      sseRecords((await restCompletion(emu.url, TOKEN, chatId, t)).body)
        .filter((r) => r.event === 'cmpl')
        .map((r) => r.text)
        .join('');
    expect(await texts('[[emu history]]')).toBe('(empty)');
    expect(await texts('second [[emu turn]]')).toBe(`turn=2 chat=${chatId}`);
    expect(await texts('[[emu history]]')).toBe('[[emu history]] | second [[emu turn]]');
  });

  it('length fault sends half the deltas, then length and all_done; continue streams the rest', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const res = await restCompletion(emu.url, TOKEN, chatId, '[[emu deltas=6 fault=length]]');
    const records = sseRecords(res.body);
    expect(records.map((r) => r.event)).toEqual(['req', 'resp', 'cmpl', 'cmpl', 'cmpl', 'length', 'all_done']);
    const segmentId = records[0]!.id as string;
    const more = await restCompletion(emu.url, TOKEN, chatId, ' ', { segment_id: segmentId, action: 'continue' });
    const rest = sseRecords(more.body);
    expect(rest.map((r) => r.event)).toEqual(['req', 'resp', 'cmpl', 'cmpl', 'cmpl', 'all_done']);
    expect(rest.filter((r) => r.event === 'cmpl').map((r) => r.text)).toEqual(['w4 ', 'w5 ', 'w6']);
  });

  it('answers 404 chat.not_found for unknown and foreign chats', async () => {
    const missing = await restCompletion(emu.url, TOKEN, 'aaaaaaaaaaaaaaaaaaaa', 'hi');
    expect(missing.status).toBe(404);
    expect(json(missing)).toEqual({ error_type: 'chat.not_found', message: expect.any(String) });
    const chatId = await createRestChat(emu.url, TOKEN);
    const foreign = await restCompletion(emu.url, 'another-account', chatId, 'hi');
    expect(foreign.status).toBe(404);
  });

  it('answers chat.user_stream_pushing while another reply streams in the chat', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const first = restCompletion(emu.url, TOKEN, chatId, '[[emu deltas=3 delay=150]]');
    await new Promise((r) => setTimeout(r, 100));
    const second = await restCompletion(emu.url, TOKEN, chatId, 'again');
    expect(json(second).error_type).toBe('chat.user_stream_pushing');
    expect(second.status).toBe(400);
    expect((await first).status).toBe(200);
    const third = await restCompletion(emu.url, TOKEN, chatId, 'after');
    expect(third.status).toBe(200);
  });

  it('honours delay= between deltas', async () => {
    const chatId = await createRestChat(emu.url, TOKEN);
    const t0 = Date.now();
    const res = await restCompletion(emu.url, TOKEN, chatId, '[[emu deltas=4 delay=60]]');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(170);
    expect(res.reads.length).toBeGreaterThanOrEqual(3);
  });
});

describe('legacy unary endpoints', () => {
  it('serves user, chat list/delete, catalog, research usage and stubs', async () => {
    const user = json(await send(`${emu.url}/api/user`, { method: 'GET', token: TOKEN }));
    expect(user).toEqual({ id: expect.stringMatching(/^[0-9a-v]{20}$/), status: 'normal' });
    const a = await createRestChat(emu.url, TOKEN);
    const b = await createRestChat(emu.url, TOKEN);
    const list = json(await send(`${emu.url}/api/chat/list`, { token: TOKEN, body: JSON.stringify({ offset: 0, size: 50 }), contentType: 'application/json' }));
    expect((list.items as { id: string }[]).map((c) => c.id).sort()).toEqual([a, b].sort());
    const del = await send(`${emu.url}/api/chat/${a}`, { method: 'DELETE', token: TOKEN });
    expect(del.status).toBe(200);
    expect((await send(`${emu.url}/api/chat/${a}`, { method: 'DELETE', token: TOKEN })).status).toBe(404);
    const catalog = json(await send(`${emu.url}/api/chat/models/available?t=1`, { method: 'GET', token: TOKEN }));
    expect((catalog.model_list as { model: string }[]).map((m) => m.model)).toEqual(['k2', 'k1.5']);
    expect(catalog).toHaveProperty('switch.model', 'k2');
    expect(json(await send(`${emu.url}/api/chat/research/usage`, { method: 'GET', token: TOKEN }))).toEqual({ remain: 20, total: 20, used: 0 });
    expect(json(await send(`${emu.url}/api/suggestion`, { token: TOKEN, body: '{"query":"x"}', contentType: 'application/json' }))).toEqual({});
    expect(json(await send(`${emu.url}/api/chat/${b}/pre-n2s`, { token: TOKEN, body: '{}', contentType: 'application/json' }))).toEqual({});
    const unknown = await send(`${emu.url}/api/nothing/here`, { method: 'GET', token: TOKEN });
    expect(unknown.status).toBe(404);
    expect(json(unknown).error_type).toBe('internal.error');
    expect(emu.stats()).toMatchObject({ chatsCreated: 2, chatsDeleted: 1, liveChats: 1 });
  });

  it('runs the legacy file flow: pre-sign, PUT, register (initialized → parsed), parse_process', async () => {
    const signed = json(await send(`${emu.url}/api/pre-sign-url`, { token: TOKEN, body: JSON.stringify({ action: 'file', name: 'a.txt' }), contentType: 'application/json' }));
    expect(signed).toEqual({ url: expect.stringContaining(emu.url), object_name: expect.any(String), file_id: expect.any(String) });
    const put = await send(signed.url as string, { method: 'PUT', body: 'hello file', contentType: 'text/plain' });
    expect(put.status).toBe(200);
    const reg = { type: 'file', name: 'a.txt', object_name: signed.object_name, file_id: '', chat_id: '' };
    const first = json(await send(`${emu.url}/api/file`, { token: TOKEN, body: JSON.stringify(reg), contentType: 'application/json' }));
    expect(first).toMatchObject({ name: 'a.txt', size: 10, status: 'initialized', object_name: signed.object_name, type: 'file' });
    const again = json(await send(`${emu.url}/api/file`, { token: TOKEN, body: JSON.stringify(reg), contentType: 'application/json' }));
    expect(again).toMatchObject({ id: first.id, status: 'parsed' });
    const parse = await send(`${emu.url}/api/file/parse_process`, { token: TOKEN, body: JSON.stringify({ ids: [first.id], timeout: 120000 }), contentType: 'application/json' });
    expect(sseRecords(parse.body)).toEqual([{ event: 'resp', file_info: expect.objectContaining({ id: first.id, status: 'parsed' }) }]);
  });

  it('redirects /api to / and rejects missing bearers with auth.token.invalid', async () => {
    const redirect = await send(`${emu.url}/api`, { method: 'GET', token: TOKEN });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe('/');
    const anon = await send(`${emu.url}/api/user`, { method: 'GET' });
    expect(anon.status).toBe(401);
    expect(json(anon).error_type).toBe('auth.token.invalid');
  });
});
