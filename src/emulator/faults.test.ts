import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chatRequest, connectChat, connectText, createRestChat, decodeFrames, json, restCompletion, send, sleep, sseRecords, unary } from './__fixtures__/wire.js';
import { startEmulator, type Emulator } from './index.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ heartbeatIntervalMs: 0 });
});
afterEach(async () => {
  await emu.close();
});

const TOKEN = 'fault-token';

async function rest(text: string): Promise<Awaited<ReturnType<typeof restCompletion>>> {
  return restCompletion(emu.url, TOKEN, await createRestChat(emu.url, TOKEN), text);
}

const cmplTexts = (body: Buffer): unknown[] => sseRecords(body).filter((r) => r.event === 'cmpl').map((r) => r.text);

describe('REST faults', () => {
  it.each([
    ['401', 401, 'auth.token.invalid'],
    ['429', 429, 'internal.error'],
    ['500', 500, 'internal.error'],
    ['502', 502, 'internal.error'],
    ['503', 503, 'internal.error'],
  ])('fault=%s answers HTTP %i with an error_type body', async (fault, status, errorType) => {
    const res = await rest(`[[emu fault=${fault}]]`);
    expect(res.status).toBe(status);
    expect(json(res)).toEqual({ error_type: errorType, message: expect.any(String) });
    expect(res.headers['retry-after']).toBe(status === 429 ? '2' : undefined);
  });

  it('429 honours retry_after=SEC, retry_after=none and code=', async () => {
    const custom = await rest('[[emu fault=429 retry_after=7 code=chat.rate]]');
    expect(custom.headers['retry-after']).toBe('7');
    expect(json(custom).error_type).toBe('chat.rate');
    const none = await rest('[[emu fault=429 retry_after=none]]');
    expect(none.status).toBe(429);
    expect(none.headers['retry-after']).toBeUndefined();
  });

  it('error-event sends {"event":"error"} after K deltas and no all_done', async () => {
    const res = await rest('[[emu deltas=5 fault=error-event after=2]]');
    expect(sseRecords(res.body).map((r) => r.event)).toEqual(['req', 'resp', 'cmpl', 'cmpl', 'error']);
    expect(res.error).toBeUndefined();
  });

  it('cut destroys the connection after K deltas', async () => {
    const res = await rest('[[emu deltas=5 fault=cut after=3]]');
    expect(res.error).toBeDefined();
    expect(cmplTexts(res.body)).toEqual(['w1 ', 'w2 ', 'w3 ']);
    expect(res.body.toString()).not.toContain('all_done');
  });

  it('truncate ends cleanly in the middle of a record', async () => {
    const res = await rest('[[emu deltas=3 fault=truncate after=1]]');
    expect(res.error).toBeUndefined();
    const text = res.body.toString();
    expect(text).toMatch(/data: \{"event":"cmpl","text":"w1 "\}\n\ndata: \{"event":"cm[^\n]*$/);
  });

  it('no-done ends after all deltas without all_done', async () => {
    const res = await rest('[[emu deltas=3 fault=no-done]]');
    expect(sseRecords(res.body).map((r) => r.event)).toEqual(['req', 'resp', 'cmpl', 'cmpl', 'cmpl']);
  });

  it('stall sends nothing after K deltas until the client leaves', async () => {
    const { request } = await import('undici');
    const chatId = await createRestChat(emu.url, TOKEN);
    const ac = new AbortController();
    const res = await request(`${emu.url}/api/chat/${chatId}/completion/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: '[[emu deltas=4 fault=stall after=1]]' }] }),
      signal: ac.signal,
    });
    const chunks: string[] = [];
    const reading = (async () => {
      try {
        for await (const c of res.body) chunks.push(String(c));
      } catch {
        // aborted
      }
    })();
    await sleep(200);
    expect(chunks.join('')).toContain('"text":"w1 "');
    expect(chunks.join('')).not.toContain('w2');
    expect(emu.stats().openStreams).toBe(1);
    ac.abort();
    await reading;
    await sleep(50);
    expect(emu.stats()).toMatchObject({ openStreams: 0, streamsCancelled: 1, streamsCompleted: 0 });
  });

  it('busy answers chat.user_stream_pushing', async () => {
    const res = await rest('[[emu fault=busy]]');
    expect(json(res).error_type).toBe('chat.user_stream_pushing');
  });
});

describe('Connect faults', () => {
  const connect = (text: string, token = TOKEN): ReturnType<typeof connectChat> => connectChat(emu.url, token, chatRequest(text));
  const kinds = (body: Buffer): string[] =>
    decodeFrames(body, true).frames.map((f) => (f.flags === 2 ? 'trailer' : ((f.json.mask as string | undefined) ?? Object.keys(f.json).find((k) => k !== 'eventOffset')!)));

  it.each([
    ['401', 401, 'unauthenticated'],
    ['429', 429, 'resource_exhausted'],
    ['500', 500, 'internal'],
    ['502', 502, 'unavailable'],
    ['503', 503, 'unavailable'],
  ])('fault=%s answers HTTP %i with {"code":"%s"}', async (fault, status, code) => {
    const res = await connect(`[[emu fault=${fault}]]`);
    expect(res.status).toBe(status);
    expect(json(res)).toEqual({ code, message: expect.any(String) });
    expect(res.headers['retry-after']).toBe(status === 429 ? '2' : undefined);
  });

  it('error-event sends an in-stream error frame with details after K deltas', async () => {
    const res = await connect('[[emu deltas=4 fault=error-event after=2]]');
    const { frames } = decodeFrames(res.body);
    expect(kinds(res.body)).toEqual(['heartbeat', 'chat.lastRequest', 'message', 'message', 'block.text', 'block.text.content', 'error']);
    expect(frames.at(-1)).toEqual({
      flags: 0,
      json: { error: { code: 'resource_exhausted', message: expect.any(String), details: [{ type: expect.any(String), value: expect.any(String), debug: { reason: expect.any(String) } }] } },
    });
    const custom = await connect('[[emu fault=error-event code=permission_denied]]');
    expect(decodeFrames(custom.body).frames.at(-1)!.json).toMatchObject({ error: { code: 'permission_denied' } });
  });

  it('unauthenticated-in-stream is the first frame after the heartbeat', async () => {
    const res = await connect('[[emu fault=unauthenticated-in-stream]]');
    expect(res.status).toBe(200);
    expect(decodeFrames(res.body).frames).toEqual([
      { flags: 0, json: { heartbeat: {} } },
      { flags: 0, json: { error: { code: 'unauthenticated', message: expect.any(String) } } },
    ]);
  });

  it('exception sends REASON_COMPLETION_OVERLOADED with a localized message', async () => {
    const res = await connect('[[emu deltas=3 fault=exception after=1]]');
    expect(kinds(res.body)).toEqual(['heartbeat', 'chat.lastRequest', 'message', 'message', 'block.text', 'exception', 'done', 'trailer']);
    const ex = decodeFrames(res.body).frames[5]!.json.exception as { error: { reason: string; localizedMessage: { message: string } } };
    expect(ex.error.reason).toBe('REASON_COMPLETION_OVERLOADED');
    expect(ex.error.localizedMessage.message.length).toBeGreaterThan(0);
  });

  it('trailer-error ends with an error trailer and no done', async () => {
    const res = await connect('[[emu deltas=2 fault=trailer-error after=2 code=internal]]');
    expect(kinds(res.body)).toEqual(['heartbeat', 'chat.lastRequest', 'message', 'message', 'block.text', 'block.text.content', 'trailer']);
    expect(decodeFrames(res.body).frames.at(-1)!.json).toEqual({ error: { code: 'internal', message: expect.any(String) } });
  });

  it('cut destroys the connection after K deltas', async () => {
    const res = await connect('[[emu deltas=5 fault=cut after=2]]');
    expect(res.error).toBeDefined();
    const { frames, rest } = decodeFrames(res.body, true);
    expect(rest).toBe(0);
    expect(connectText(frames)).toBe('w1 w2 ');
  });

  it('truncate writes a header and part of a payload, then ends cleanly', async () => {
    const res = await connect('[[emu deltas=5 fault=truncate after=2]]');
    expect(res.error).toBeUndefined();
    const { frames, rest } = decodeFrames(res.body, true);
    expect(connectText(frames)).toBe('w1 w2 ');
    expect(rest).toBeGreaterThan(5);
    const announced = res.body.readUInt32BE(res.body.byteLength - rest + 1);
    expect(announced).toBeGreaterThan(rest - 5);
  });

  it('no-done ends after chat.name and message.status without done or trailer', async () => {
    const res = await connect('[[emu deltas=2 fault=no-done]]');
    expect(kinds(res.body)).toEqual(['heartbeat', 'chat.lastRequest', 'message', 'message', 'block.text', 'block.text.content', 'chat.name', 'message.status']);
  });

  it('stall sends only heartbeats (every hb ms) until the client goes away', async () => {
    const { request } = await import('undici');
    const { encodeJsonEnvelope } = await import('../upstream/kimi/connect/envelope.js');
    const ac = new AbortController();
    const res = await request(`${emu.url}/apiv2/kimi.gateway.chat.v1.ChatService/Chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/connect+json' },
      body: encodeJsonEnvelope(chatRequest('[[emu deltas=3 fault=stall after=1 hb=40]]')),
      signal: ac.signal,
    });
    const parts: Buffer[] = [];
    const reading = (async () => {
      try {
        for await (const c of res.body) parts.push(c as Buffer);
      } catch {
        // aborted
      }
    })();
    await sleep(260);
    const { frames } = decodeFrames(Buffer.concat(parts), true);
    const afterText = frames.slice(frames.findIndex((f) => f.json.mask === 'block.text') + 1);
    expect(afterText.length).toBeGreaterThanOrEqual(3);
    expect(afterText.every((f) => 'heartbeat' in f.json)).toBe(true);
    expect(emu.stats().openStreams).toBe(1);
    ac.abort();
    await reading;
    await sleep(50);
    expect(emu.stats()).toMatchObject({ openStreams: 0, streamsCancelled: 1, streamsCompleted: 0 });
  });

  it('stall= delays the first answer delta, with heartbeats only when hb is set', async () => {
    const t0 = Date.now();
    const quiet = await connect('[[emu reply="x" stall=150]]');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(kinds(quiet.body).filter((k) => k === 'heartbeat')).toHaveLength(1);
    const loud = await connect('[[emu reply="x" stall=200 hb=40]]');
    const k = kinds(loud.body);
    expect(k.filter((x) => x === 'heartbeat').length).toBeGreaterThanOrEqual(4);
    expect(k.indexOf('block.text')).toBeGreaterThan(k.lastIndexOf('heartbeat'));
  });

  it('length and busy are REST faults: a Connect reply streams normally', async () => {
    const res = await connect('[[emu deltas=2 fault=length]]');
    expect(kinds(res.body).slice(-2)).toEqual(['done', 'trailer']);
  });
});

describe('per-token faults through the control API', () => {
  it('401 fails every call of that token; times= limits how often a fault fires', async () => {
    emu.control.setTokenFault('bad', '401');
    expect((await unary(emu.url, 'bad', 'kimi.gateway.order.v1.SubscriptionService/GetSubscription')).status).toBe(401);
    expect((await send(`${emu.url}/api/user`, { method: 'GET', token: 'bad' })).status).toBe(401);
    expect((await unary(emu.url, 'good', 'kimi.gateway.order.v1.SubscriptionService/GetSubscription')).status).toBe(200);

    emu.control.setTokenFault('limited', '429', { times: 2, retryAfter: 5 });
    const first = await connectChat(emu.url, 'limited', chatRequest('hi'));
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('5');
    // Non-chat calls are not hit by a 429 token fault.
    expect((await unary(emu.url, 'limited', 'kimi.gateway.order.v1.SubscriptionService/GetSubscription')).status).toBe(200);
    expect((await connectChat(emu.url, 'limited', chatRequest('hi'))).status).toBe(429);
    expect((await connectChat(emu.url, 'limited', chatRequest('hi'))).status).toBe(200);
  });

  it('applies mid-stream faults with after= and matches by account key', async () => {
    const tokens = json(await send(`${emu.url}/api/auth/token/refresh`, { method: 'GET', token: 'lineage-root' }));
    emu.control.setTokenFault('lineage-root', 'error-event', { after: 1, code: 'resource_exhausted', times: 1 });
    const res = await connectChat(emu.url, tokens.access_token as string, chatRequest('[[emu deltas=3]]'));
    const { frames } = decodeFrames(res.body);
    expect(connectText(frames)).toBe('w1 ');
    expect(frames.at(-1)!.json).toMatchObject({ error: { code: 'resource_exhausted' } });
    const clean = await connectChat(emu.url, tokens.access_token as string, chatRequest('[[emu deltas=3]]'));
    expect(connectText(decodeFrames(clean.body).frames)).toBe('w1 w2 w3');
  });

  it('is reachable over HTTP: token-fault, invalidate, catalog-failure, reset', async () => {
    const post = (path: string, body: unknown): ReturnType<typeof send> =>
      send(`${emu.url}/__emulator/${path}`, { body: JSON.stringify(body), contentType: 'application/json' });
    expect((await post('token-fault', { token: 'h', fault: '503', times: 1 })).status).toBe(200);
    expect((await post('token-fault', { token: 'h', fault: 'nonsense' })).status).toBe(400);
    expect((await rest2('h')).status).toBe(503);
    expect((await rest2('h')).status).toBe(200);

    expect((await post('invalidate', { token: 'dead' })).status).toBe(200);
    expect((await unary(emu.url, 'dead', 'kimi.gateway.order.v1.SubscriptionService/GetSubscription')).status).toBe(401);

    await post('catalog-failure', { fail: true });
    const failed = await unary(emu.url, 'h', 'kimi.gateway.config.v1.ConfigService/GetAvailableModels');
    expect(failed.status).toBe(500);
    expect(json(failed).code).toBe('internal');

    expect((await post('max-concurrent', { n: 0 })).status).toBe(200);
    const refused = await connectChat(emu.url, 'h', chatRequest('hi'));
    expect(decodeFrames(refused.body).frames.at(-1)!.json).toMatchObject({ error: { code: 'resource_exhausted' } });
    expect((await post('max-concurrent', { n: null })).status).toBe(200);
    expect(connectText(decodeFrames((await connectChat(emu.url, 'h', chatRequest('[[emu reply=ok]]'))).body).frames)).toBe('ok');
    await post('max-concurrent', { n: 0 });

    await post('reset', {});
    expect(decodeFrames((await connectChat(emu.url, 'h', chatRequest('hi'))).body).frames.at(-1)).toEqual({ flags: 2, json: {} });
    expect((await unary(emu.url, 'dead', 'kimi.gateway.order.v1.SubscriptionService/GetSubscription')).status).toBe(200);
    expect((await unary(emu.url, 'h', 'kimi.gateway.config.v1.ConfigService/GetAvailableModels')).status).toBe(200);
  });
});

async function rest2(token: string): Promise<Awaited<ReturnType<typeof restCompletion>>> {
  return restCompletion(emu.url, token, await createRestChat(emu.url, token), 'x');
}
