import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeJsonEnvelope } from '../upstream/kimi/connect/envelope.js';
import { chatRequest, connectChat, createRestChat, decodeFrames, json, restCompletion, send, sleep, unary } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ maxEventsLogged: 5 });
});
afterEach(async () => {
  await emu.close();
});

/** Starts a Connect Chat and resolves once its first bytes arrived; `abort` drops the connection. */
async function openStream(token: string, text: string): Promise<{ abort: () => void; done: Promise<Buffer> }> {
  const ac = new AbortController();
  const res = await request(`${emu.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/connect+json' },
    body: encodeJsonEnvelope(chatRequest(text)),
    signal: ac.signal,
  });
  const parts: Buffer[] = [];
  let first!: () => void;
  const started = new Promise<void>((r) => (first = r));
  const done = (async () => {
    try {
      for await (const c of res.body) {
        parts.push(c as Buffer);
        first();
      }
    } catch {
      // aborted by the test
    }
    first();
    return Buffer.concat(parts);
  })();
  await started;
  return { abort: () => ac.abort(), done };
}

describe('stats', () => {
  it('counts chats, streams, requests by path and by account', async () => {
    const chatId = await createRestChat(emu.url, 'acct-a');
    await restCompletion(emu.url, 'acct-a', chatId, 'hi');
    const frames = decodeFrames((await connectChat(emu.url, 'acct-b', chatRequest('hi'))).body).frames;
    const connectChatId = (frames[1]!.json.chat as { id: string }).id;
    await unary(emu.url, 'acct-b', 'kimi.chat.v1.ChatService/DeleteChat', { chatId: connectChatId });
    const s = emu.stats();
    expect(s).toMatchObject({
      chatsCreated: 2,
      chatsDeleted: 1,
      liveChats: 1,
      streamsStarted: 2,
      streamsCompleted: 2,
      streamsCancelled: 0,
      openStreams: 0,
      maxOpenStreams: 1,
      requestsByAccount: { 'acct-a': 2, 'acct-b': 2 },
    });
    expect(s.requestsByPath).toMatchObject({
      '/api/chat': 1,
      [`/api/chat/${chatId}/completion/stream`]: 1,
      '/apiv2/kimi.gateway.chat.v1.ChatService/Chat': 1,
      '/apiv2/kimi.chat.v1.ChatService/DeleteChat': 1,
    });
  });

  it('counts a stream as cancelled when the client aborts mid-reply', async () => {
    const s = await openStream('acct-c', '[[emu deltas=50 delay=20]]');
    expect(emu.stats()).toMatchObject({ openStreams: 1, openStreamsByAccount: { 'acct-c': 1 } });
    s.abort();
    const got = await s.done;
    await sleep(50);
    expect(decodeFrames(got, true).frames.some((f) => 'done' in f.json)).toBe(false);
    expect(emu.stats()).toMatchObject({ streamsStarted: 1, streamsCancelled: 1, streamsCompleted: 0, openStreams: 0, openStreamsByAccount: {} });
  });

  it('tracks open and max-open streams per account', async () => {
    const streams = await Promise.all([
      openStream('acct-x', '[[emu deltas=4 delay=60]]'),
      openStream('acct-x', '[[emu deltas=4 delay=60]]'),
      openStream('acct-y', '[[emu deltas=4 delay=60]]'),
    ]);
    expect(emu.stats()).toMatchObject({ openStreams: 3, openStreamsByAccount: { 'acct-x': 2, 'acct-y': 1 } });
    await Promise.all(streams.map((s) => s.done));
    await sleep(20);
    expect(emu.stats()).toMatchObject({
      openStreams: 0,
      maxOpenStreams: 3,
      maxOpenStreamsByAccount: { 'acct-x': 2, 'acct-y': 1 },
      streamsCompleted: 3,
    });
  });

  it('refuses streams beyond the per-account limit (Connect in-stream, REST 429)', async () => {
    emu.control.setMaxConcurrentPerAccount(1);
    const busy = await openStream('acct-m', '[[emu deltas=5 delay=60]]');
    const refused = await connectChat(emu.url, 'acct-m', chatRequest('hi'));
    expect(refused.status).toBe(200);
    expect(decodeFrames(refused.body).frames).toEqual([
      { flags: 0, json: { heartbeat: {} } },
      { flags: 0, json: { error: { code: 'resource_exhausted', message: expect.any(String) } } },
    ]);
    const restRefused = await restCompletion(emu.url, 'acct-m', await createRestChat(emu.url, 'acct-m'), 'hi');
    expect(restRefused.status).toBe(429);
    // Another account is not limited.
    expect((await connectChat(emu.url, 'acct-n', chatRequest('hi'))).status).toBe(200);
    await busy.done;
    emu.control.setMaxConcurrentPerAccount(null);
    expect(emu.stats().streamsStarted).toBe(2);
  });

  it('logs recent requests without secrets, decoding Connect envelopes, in a bounded ring', async () => {
    await send(`${emu.url}/api/user`, { method: 'GET', token: 'secret-token' });
    await connectChat(emu.url, 'secret-token', chatRequest('logged text'));
    let recent = emu.stats().recentRequests;
    expect(recent[0]).toEqual({ method: 'GET', path: '/api/user', body: null, headers: expect.any(Object) });
    expect(recent[1]!.body).toMatchObject({ message: { blocks: [{ text: { content: 'logged text' } }] } });
    expect(recent[1]!.headers['content-type']).toBe('application/connect+json');
    expect(JSON.stringify(recent)).not.toContain('secret-token');
    for (let i = 0; i < 6; i++) await send(`${emu.url}/api/user`, { method: 'GET', token: 't' });
    recent = emu.stats().recentRequests;
    expect(recent).toHaveLength(5);
    expect(recent.every((r) => r.path === '/api/user')).toBe(true);
  });

  it('close() ends stalled streams and counts them as cancelled', async () => {
    const stalled = await startEmulator();
    const ac = new AbortController();
    const res = await request(`${stalled.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, {
      method: 'POST',
      headers: { authorization: 'Bearer s', 'content-type': 'application/connect+json' },
      body: encodeJsonEnvelope(chatRequest('[[emu fault=stall]]')),
      signal: ac.signal,
    });
    const reading = res.body.arrayBuffer().catch((e: unknown) => e);
    await sleep(50);
    expect(stalled.stats().openStreams).toBe(1);
    const t0 = Date.now();
    await stalled.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await reading).toBeInstanceOf(Error);
    await sleep(20);
    expect(stalled.stats()).toMatchObject({ openStreams: 0, streamsCancelled: 1 });
  });

  it('serves stats over HTTP and clears them on reset; emulators are independent', async () => {
    await send(`${emu.url}/api/user`, { method: 'GET', token: 'z' });
    const other = await startEmulator();
    try {
      expect(other.stats().requestsByAccount).toEqual({});
      const viaHttp = json(await send(`${emu.url}/__emulator/stats`, { method: 'GET' }));
      expect(viaHttp.requestsByAccount).toEqual({ z: 1 });
      await send(`${emu.url}/__emulator/reset`, { body: '{}', contentType: 'application/json' });
      expect(emu.stats().requestsByAccount).toEqual({});
      expect(emu.stats().requestsByPath).toEqual({});
    } finally {
      await other.close();
    }
  });
});
