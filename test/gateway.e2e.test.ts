/** The OpenAI chat API end to end: real proxy, real emulator, loopback, both protocols. */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, postStream, startHarness, streamText, waitFor, type Harness } from './helpers/harness.js';

const PROTOCOLS = ['rest', 'connect'] as const;

describe.each(PROTOCOLS)('gateway over %s', (protocol) => {
  let h: Harness;
  let sdk: OpenAI;
  beforeAll(async () => {
    // Reuse off: these tests check the plain stateless lifecycle (temporary chat deleted).
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol, CONVERSATION_REUSE: 'off' } });
    sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
  });
  afterAll(async () => h.close());

  it('answers a non-streamed request with the exact upstream text and an OpenAI completion', async () => {
    const reply = 'Hello, 世界! 👋🏽 e\u0301 done.';
    const res = await sdk.chat.completions.create({ model: 'k2', messages: [{ role: 'user', content: `[[emu reply="${reply}"]] hi` }] });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.model).toBe('k2');
    expect(res.choices[0]!.message.content).toBe(reply);
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(Number.isInteger(res.usage!.prompt_tokens)).toBe(true);
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it('streams with the openai SDK and reassembles exactly the upstream text', async () => {
    const stream = await sdk.chat.completions.create({
      model: 'k2',
      stream: true,
      messages: [{ role: 'user', content: '[[emu deltas=50]] go' }],
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(Array.from({ length: 50 }, (_, i) => `w${i + 1}`).join(' '));
    expect(finish).toBe('stop');
  });

  it('frames SSE exactly: headers, role chunk, content, finish, [DONE]; no usage chunk unless asked', async () => {
    const r = await postStream(h, { model: 'k2', messages: [{ role: 'user', content: '[[emu reply="a b c"]]' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-accel-buffering')).toBe('no');
    expect(r.headers.get('x-request-id')).toBeTruthy();
    const chunks = r.events.slice(0, -1) as any[];
    expect(r.events.at(-1)).toBe('[DONE]');
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.model).toBe('k2');
      expect(c.choices).toHaveLength(1);
      expect('usage' in c).toBe(false);
    }
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toBe('stop');
    expect(last.choices[0].delta).toEqual({});
    for (const c of chunks.slice(0, -1)) expect(c.choices[0].finish_reason).toBeNull();
    expect(streamText(chunks)).toBe('a b c');
  });

  it('sends usage: null on every chunk and a usage chunk after the finish chunk when include_usage is set', async () => {
    const r = await postStream(h, { model: 'k2', stream_options: { include_usage: true }, messages: [{ role: 'user', content: '[[emu reply="x y"]]' }] });
    const chunks = r.events.slice(0, -1) as any[];
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(Number.isInteger(usageChunk.usage.prompt_tokens)).toBe(true);
    expect(Number.isInteger(usageChunk.usage.completion_tokens)).toBe(true);
    expect(usageChunk.usage.total_tokens).toBe(usageChunk.usage.prompt_tokens + usageChunk.usage.completion_tokens);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
  });

  it('folds earlier turns into one delimited upstream message that ends with the latest user message', async () => {
    await postJson(h, {
      model: 'k2',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'developer', content: 'Use English.' },
        { role: 'user', content: [{ type: 'text', text: 'second question' }] },
      ],
    });
    const sent = lastUpstreamText(h);
    expect(sent).toContain('Be brief.');
    expect(sent).toContain('Use English.');
    expect(sent.indexOf('first question')).toBeLessThan(sent.indexOf('first answer'));
    expect(sent.trimEnd().endsWith('second question\n</latest_user_message>')).toBe(true);
  });

  it('sends a lone user message as is', async () => {
    await postJson(h, { model: 'k2', messages: [{ role: 'user', content: 'just this' }] });
    expect(lastUpstreamText(h)).toBe('just this');
  });

  it('deletes the temporary upstream chat after a stateless request', async () => {
    const before = h.emulator.stats().chatsDeleted;
    await postJson(h, { model: 'k2', messages: [{ role: 'user', content: 'temp' }] });
    await waitFor(() => h.emulator.stats().chatsDeleted > before, 3_000, 'chat deletion');
  });

  it('continues a stateful conversation on the same upstream chat, sending only the new message', async () => {
    const cid = `conv-${protocol}-1`;
    const first = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: 'hello [[emu turn]]' }] }, `/v1/chat/completions/${cid}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-conversation-id')).toBe(cid);
    const m1 = /^turn=1 chat=(\S+)$/.exec(first.json.choices[0].message.content);
    expect(m1).not.toBeNull();
    const second = await postJson(
      h,
      {
        model: 'k2',
        messages: [
          { role: 'user', content: 'hello [[emu turn]]' },
          { role: 'assistant', content: first.json.choices[0].message.content },
          { role: 'user', content: 'again [[emu turn]]' },
        ],
      },
      `/v1/chat/completions/${cid}`,
    );
    expect(second.json.choices[0].message.content).toBe(`turn=2 chat=${m1![1]}`);
    expect(lastUpstreamText(h)).toBe('again [[emu turn]]');
    // Only-new-message clients work too.
    const third = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: 'third [[emu turn]]' }] }, `/v1/chat/completions/${cid}`);
    expect(third.json.choices[0].message.content).toBe(`turn=3 chat=${m1![1]}`);
  });

  it('reports a mid-stream upstream failure as an SSE error chunk and [DONE], never a fake stop', async () => {
    const r = await postStream(h, { model: 'k2', messages: [{ role: 'user', content: '[[emu deltas=10 fault=cut after=3]]' }] });
    expect(r.status).toBe(200);
    expect(r.events.at(-1)).toBe('[DONE]');
    const err = r.events.at(-2) as any;
    expect(err.error.type).toBeTruthy();
    expect(err.error.code).toMatch(/^upstream_/);
    expect(streamText(r.events)).toBe("w1 w2 w3 ");
    expect(r.events.some((e: any) => e?.choices?.[0]?.finish_reason)).toBe(false);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const before = h.emulator.stats().streamsCancelled;
    const ac = new AbortController();
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
      body: JSON.stringify({ model: 'k2', stream: true, messages: [{ role: 'user', content: '[[emu deltas=200 delay=50]]' }] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await waitFor(() => h.emulator.stats().streamsCancelled > before, 1_000, 'upstream cancellation');
    await waitFor(() => h.emulator.stats().openStreams === 0, 1_000, 'no open upstream streams');
  });
});

describe('gateway API surface', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'rest', MAX_BODY_BYTES: '4096' } });
  });
  afterAll(async () => h.close());

  const get = (path: string, key = h.apiKey) => fetch(h.base + path, { headers: { authorization: `Bearer ${key}` } });

  it('lists models in the OpenAI list shape, with and without /v1 and a trailing slash', async () => {
    for (const path of ['/v1/models', '/models', '/v1/models/']) {
      const res = await get(path);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.object).toBe('list');
      const ids = body.data.map((m: any) => m.id);
      expect(ids).toEqual(expect.arrayContaining(['k2', 'k1.5', 'k1.5-thinking', 'k2-nosearch']));
      for (const m of body.data) {
        expect(m.object).toBe('model');
        expect(Number.isInteger(m.created)).toBe(true);
        expect(typeof m.owned_by).toBe('string');
      }
    }
    const one = await get('/v1/models/k1.5-thinking');
    expect(((await one.json()) as any).id).toBe('k1.5-thinking');
    const missing = await get('/v1/models/gpt-9');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('model_not_found');
  });

  it('serves chat completions without /v1 and with a trailing slash', async () => {
    for (const path of ['/chat/completions', '/v1/chat/completions/']) {
      const r = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: '[[emu reply="ok"]]' }] }, path);
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe('ok');
    }
  });

  it('answers bad input with OpenAI-shaped errors and the right status', async () => {
    const cases: Array<[unknown, number, string, string | null]> = [
      ['{not json', 400, 'invalid_json', null],
      [{ model: 'k2' }, 400, 'invalid_request', 'messages'],
      [{ model: 'k2', messages: [] }, 400, 'invalid_request', 'messages'],
      [{ model: 'k2', messages: [{ role: 'wizard', content: 'x' }] }, 400, 'invalid_request', 'messages[0].role'],
      [{ model: 'k2', n: 2, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request', 'n'],
      [{ model: 'nope', messages: [{ role: 'user', content: 'x' }] }, 404, 'model_not_found', 'model'],
      [
        { model: 'k2', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] },
        400,
        'unsupported_content',
        'messages[0].content[0].type',
      ],
      [{ model: 'k2', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }, 413, 'body_too_large', null],
    ];
    for (const [body, status, code, param] of cases) {
      const r = await postJson(h, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(r.json.error.param).toBe(param);
      expect(typeof r.json.error.message).toBe('string');
      expect(typeof r.json.error.type).toBe('string');
    }
    const image = await postJson(h, { model: 'k2', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'u' } }] }] });
    expect(image.json.error.message).toContain('image_url');
  });

  it('accepts OpenAI parameters Kimi has no control for (sampling fields ignored; a stop sequence and token limit the answer does not reach change nothing), and assistant reasoning_content', async () => {
    const r = await postJson(h, {
      model: 'k2',
      temperature: 0.2,
      top_p: 0.9,
      presence_penalty: 0,
      frequency_penalty: 0,
      max_tokens: 4000,
      max_completion_tokens: 4000,
      stop: ['END'],
      seed: 7,
      user: 'someone',
      metadata: { a: 'b' },
      store: false,
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      response_format: { type: 'text' },
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a', reasoning_content: 'earlier thoughts' },
        { role: 'user', content: '[[emu reply="accepted"]]' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('accepted');
  });

  it('requires the API key (Bearer or x-api-key) and answers 401 otherwise', async () => {
    const none = await fetch(`${h.base}/v1/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.type).toBe('authentication_error');
    expect((await get('/v1/models', 'wrong')).status).toBe(401);
    const x = await fetch(`${h.base}/v1/models`, { headers: { 'x-api-key': h.apiKey } });
    expect(x.status).toBe(200);
  });

  it('answers unknown routes with a JSON 404, not an HTML page', async () => {
    const res = await get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('not_found');
  });

  it('echoes a given x-request-id and generates one otherwise, also in error bodies', async () => {
    const given = await fetch(`${h.base}/v1/models`, { headers: { authorization: `Bearer ${h.apiKey}`, 'x-request-id': 'my-req-42' } });
    expect(given.headers.get('x-request-id')).toBe('my-req-42');
    const err = await fetch(`${h.base}/v1/models/none`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const id = err.headers.get('x-request-id');
    expect(id).toMatch(/^req_/);
    expect(((await err.json()) as any).error.request_id).toBe(id);
  });

  it('rotates stateless requests over the configured accounts', async () => {
    h.emulator.control.reset();
    for (let i = 0; i < 4; i++) await postJson(h, { model: 'k2', messages: [{ role: 'user', content: `rr ${i}` }] });
    const byAccount = h.emulator.stats().requestsByAccount;
    expect(byAccount['tok-alpha']).toBeGreaterThan(0);
    expect(byAccount['tok-beta']).toBeGreaterThan(0);
  });
});

function lastUpstreamText(h: Harness): string {
  const reqs = h.emulator.stats().recentRequests.filter((r) => /completion\/stream|ChatService\/Chat/.test(r.path));
  const body = reqs.at(-1)?.body as any;
  if (body?.messages) return body.messages[0].content;
  return body?.message?.blocks?.[0]?.text?.content;
}
