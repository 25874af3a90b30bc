import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chatRequest, connectChat, decodeFrames, json, send, unary } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

const TOKEN = 'unary-token';

async function newChat(text: string, token = TOKEN, extra: Parameters<typeof chatRequest>[1] = {}): Promise<{ chatId: string; assistantId: string }> {
  const frames = decodeFrames((await connectChat(emu.url, token, chatRequest(text, extra))).body).frames;
  const asst = frames.find((f) => f.json.mask === 'message' && (f.json.message as { role: string }).role === 'assistant')!;
  return { chatId: (frames[1]!.json.chat as { id: string }).id, assistantId: (asst.json.message as { id: string }).id };
}

describe('Connect unary RPCs', () => {
  it('GetAvailableModels returns the 2026-09 catalog; setCatalogFailure makes it 500', async () => {
    const res = await unary(emu.url, TOKEN, 'kimi.gateway.config.v1.ConfigService/GetAvailableModels');
    const body = json(res);
    const models = body.availableModels as Record<string, unknown>[];
    expect(models.map((m) => m.id)).toEqual(['k2d6-chat', 'k3-agent', 'k3-agent-swarm']);
    expect(models[0]).toMatchObject({
      scenario: 'SCENARIO_CHAT',
      key: 'k2d6',
      reasoningEffortOptions: [{ effort: 'REASONING_EFFORT_NONE' }, { effort: 'REASONING_EFFORT_LOW' }],
      defaultReasoningEffort: 'REASONING_EFFORT_LOW',
    });
    expect(models[1]).toMatchObject({ scenario: 'SCENARIO_OK_COMPUTER', kimiPlusId: 'ok-computer', agentMode: 'TYPE_NORMAL' });
    expect(models[2]).toMatchObject({ scenario: 'SCENARIO_OK_COMPUTER_SWARM', agentMode: 'TYPE_ULTRA' });
    expect(body.defaultScenario).toEqual({ scenario: 'SCENARIO_CHAT', model: 'k2d6-chat' });
    emu.control.setCatalogFailure(true);
    const failed = await unary(emu.url, TOKEN, 'kimi.gateway.config.v1.ConfigService/GetAvailableModels');
    expect(failed.status).toBe(500);
    expect(json(failed)).toEqual({ code: 'internal', message: expect.any(String) });
  });

  it('GetSubscription returns a subscription with a stable user id per account', async () => {
    const a = json(await unary(emu.url, TOKEN, 'kimi.gateway.order.v1.SubscriptionService/GetSubscription'));
    const again = json(await unary(emu.url, TOKEN, 'kimi.gateway.order.v1.SubscriptionService/GetSubscription'));
    const b = json(await unary(emu.url, 'other', 'kimi.gateway.order.v1.SubscriptionService/GetSubscription'));
    expect(a.subscription).toMatchObject({ userId: expect.stringMatching(/^[0-9a-v]{20}$/), userName: expect.any(String), email: expect.any(String) });
    expect(again).toEqual(a);
    expect((b.subscription as { userId: string }).userId).not.toBe((a.subscription as { userId: string }).userId);
  });

  it('ListChats pages with nextPageToken and only shows the caller’s chats', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await newChat(`chat ${i}`)).chatId);
    await newChat('foreign', 'someone-else');
    const page1 = json(await unary(emu.url, TOKEN, 'kimi.chat.v1.ChatService/ListChats', { project_id: '', page_size: 2, query: '' }));
    expect((page1.chats as unknown[]).length).toBe(2);
    expect(page1.nextPageToken).not.toBe('');
    const page2 = json(await unary(emu.url, TOKEN, 'kimi.gateway.chat.v1.ChatService/ListChats', { page_size: 2, pageToken: page1.nextPageToken }));
    expect(page2.nextPageToken).toBe('');
    const all = [...(page1.chats as { id: string }[]), ...(page2.chats as { id: string }[])];
    expect(all.map((c) => c.id).sort()).toEqual(ids.sort());
    expect(all[0]).toEqual({ id: expect.any(String), name: expect.stringMatching(/^Chat /), createTime: expect.any(String), updateTime: expect.any(String), messageContent: expect.stringContaining('Emulator reply') });
  });

  it('ListMessages returns the tree newest first; GetChat and DeleteChat accept chat_id and chatId', async () => {
    const { chatId, assistantId } = await newChat('[[emu reply="one" think="hm"]]', TOKEN, { thinking: true });
    await connectChat(emu.url, TOKEN, chatRequest('[[emu reply="two"]]', { chatId, parentId: assistantId }));
    const list = json(await unary(emu.url, TOKEN, 'kimi.gateway.chat.v1.ChatService/ListMessages', { chat_id: chatId, page_size: 10 }));
    const messages = list.messages as Record<string, unknown>[];
    expect(messages.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant', 'user']);
    expect(messages[0]!.blocks).toEqual([{ id: '1', text: { content: 'two' } }]);
    expect(messages[1]!.parentId).toBe(assistantId);
    expect(messages[2]).toMatchObject({ id: assistantId, status: 'MESSAGE_STATUS_COMPLETED', blocks: [{ think: { content: 'hm' } }, { text: { content: 'one' } }] });
    expect(messages[3]).toMatchObject({ role: 'user', blocks: [{ id: 'text_0_0', text: { content: '[[emu reply="one" think="hm"]]' } }] });
    expect(messages[3]!.parentId).toBeUndefined();

    expect(json(await unary(emu.url, TOKEN, 'kimi.gateway.chat.v1.ChatService/GetChat', { chatId })).chat).toMatchObject({ id: chatId });
    expect((await unary(emu.url, TOKEN, 'kimi.chat.v1.ChatService/DeleteChat', { chatId })).status).toBe(200);
    const gone = await unary(emu.url, TOKEN, 'kimi.gateway.chat.v1.ChatService/DeleteChat', { chat_id: chatId });
    expect(gone.status).toBe(404);
    expect(json(gone)).toEqual({ code: 'not_found', message: expect.any(String) });
    expect((await unary(emu.url, TOKEN, 'kimi.gateway.chat.v1.ChatService/GetChat', { chat_id: chatId })).status).toBe(404);
  });

  it('answers 405 on GET, 404 unimplemented for unknown RPCs, 401 without a token', async () => {
    const get = await send(`${emu.url}/apiv2/kimi.gateway.config.v1.ConfigService/GetAvailableModels`, { method: 'GET', token: TOKEN });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const unknown = await unary(emu.url, TOKEN, 'kimi.gateway.nothing.v1.Nope/Call');
    expect(unknown.status).toBe(404);
    expect(json(unknown).code).toBe('unimplemented');
    const anon = await send(`${emu.url}/apiv2/kimi.gateway.order.v1.SubscriptionService/GetSubscription`, { body: '{}', contentType: 'application/json' });
    expect(anon.status).toBe(401);
    expect(json(anon)).toEqual({ code: 'unauthenticated', message: expect.any(String) });
  });

  it('keeps files per account and scripts a failed parse by file name', async () => {
    const upload = async (name: string, token: string): Promise<string> => {
      const boundary = 'B0';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`),
        Buffer.from('text'),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const res = await send(`${emu.url}/apiv2-files/file/upload`, { token, body, contentType: `multipart/form-data; boundary=${boundary}` });
      return (json(res).file as { id: string }).id;
    };
    const progress = (id: string, token: string) =>
      send(`${emu.url}/apiv2-files/kimi.gateway.file.v1.FileService/GetFileParseProgress`, { token, body: JSON.stringify({ file_ids: [id] }), contentType: 'application/json' });
    const mine = await upload('notes.txt', TOKEN);
    const theirs = await progress(mine, 'another-account-token');
    expect(theirs.status).toBe(404);
    expect(json(theirs).code).toBe('not_found');
    const bad = await upload('emu-fail.txt', TOKEN);
    expect(json(await progress(bad, TOKEN)).progresses).toEqual([{ fileId: bad, status: 'PROCESS_STATUS_PROCESSING' }]);
    expect(json(await progress(bad, TOKEN)).progresses).toEqual([{ fileId: bad, status: 'PROCESS_STATUS_FAILED' }]);
    expect(emu.stats().filesUploaded).toBe(2);
  });

  it('runs the Connect file flow: upload, parse progress (PROCESSING → SUCCESS), signed object', async () => {
    const boundary = 'XyZ';
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="pic.png"\r\nContent-Type: image/png\r\n\r\n`),
      Buffer.from([1, 2, 3, 4]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await send(`${emu.url}/apiv2-files/file/upload`, { token: TOKEN, body: multipart, contentType: `multipart/form-data; boundary=${boundary}` });
    const file = json(up).file as { id: string; meta: Record<string, unknown>; blob: { signUrl: string } };
    expect(file.id).toMatch(/-8000-/);
    expect(file.meta).toMatchObject({ name: 'pic.png', contentType: 'image/png', sizeBytes: '4', ext: 'png', type: 'FILE_TYPE_IMAGE' });
    const progress = (): Promise<Record<string, unknown>> =>
      send(`${emu.url}/apiv2-files/kimi.gateway.file.v1.FileService/GetFileParseProgress`, { token: TOKEN, body: JSON.stringify({ file_ids: [file.id] }), contentType: 'application/json' }).then(json);
    expect(await progress()).toEqual({ progresses: [{ fileId: file.id, status: 'PROCESS_STATUS_PROCESSING' }] });
    expect(await progress()).toEqual({ progresses: [{ fileId: file.id, status: 'PROCESS_STATUS_SUCCESS' }] });
    const obj = await send(file.blob.signUrl, { method: 'GET' });
    expect([...obj.body]).toEqual([1, 2, 3, 4]);
  });
});
