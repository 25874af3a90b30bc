/**
 * A streamed request whose upstream fails before any text is answered with the failure's
 * real status (and Retry-After on a 429) in every door, not with a 200 stream holding an
 * error: the response head waits for the first content. A start silent for longer than
 * KEEPALIVE_INTERVAL_MS opens the stream anyway (keep-alive comments), and a failure after
 * that is reported in the stream.
 */
import OpenAI, { RateLimitError } from 'openai';
import { describe, expect, it } from 'vitest';
import { harnessPerTest, type Harness } from './helpers/harness.js';

const start = harnessPerTest();

const post = (h: Harness, path: string, body: unknown) =>
  fetch(`${h.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

const user = (content: string) => ({ role: 'user' as const, content });
const FAIL = '[[emu deltas=4 fault=error-event after=0]] hi';

describe('a stream that fails before any text', () => {
  it.each([
    ['chat', '/v1/chat/completions', { messages: [user(FAIL)] }, { error: { code: 'upstream_rate_limited', type: 'rate_limit_error' } }],
    ['messages', '/v1/messages', { max_tokens: 100, messages: [user(FAIL)] }, { type: 'error', error: { type: 'rate_limit_error' } }],
    ['responses', '/v1/responses', { input: FAIL }, { error: { code: 'upstream_rate_limited' } }],
  ] as const)('Connect resource_exhausted before text (%s door): 429 with Retry-After, as JSON, no stream opened', async (_door, path, body, expected) => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-alpha' } });
    const res = await post(h, path, { model: 'k2', stream: true, ...body });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject(expected);
  });

  it('REST error event before text: 502 upstream_generation_error as JSON; the openai SDK raises it at create()', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'rest', KIMI_TOKENS: 'tok-alpha' } });
    const res = await post(h, '/v1/chat/completions', { model: 'k2', stream: true, messages: [user('[[emu deltas=4 fault=error-event after=0]] hi')] });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'upstream_generation_error', type: 'upstream_error' } });

    // The SDK sees the status before any chunk: its own retry rules apply (here a 429).
    h.emulator.control.reset();
    const sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
    const err = await sdk.chat.completions.create({ model: 'k2', stream: true, messages: [user('[[emu fault=429 retry_after=3]] hi')] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).headers?.get('retry-after')).toBe('3');
  });

  it('a normal stream still starts with its first text, and every chunk arrives', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'rest' } });
    const sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
    const stream = await sdk.chat.completions.create({ model: 'k2', stream: true, messages: [user('[[emu reply="one two three" deltas=3]]')] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('one two three');
  });

  it('a start silent for longer than KEEPALIVE_INTERVAL_MS opens the stream with keep-alives; a failure after it is an error chunk', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'rest', KIMI_TOKENS: 'tok-alpha', KEEPALIVE_INTERVAL_MS: '200' } });
    const res = await post(h, '/v1/chat/completions', { model: 'k2', stream: true, messages: [user('[[emu deltas=4 stall=1000 fault=error-event after=0]] hi')] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body).toContain(': ping');
    expect(body).toContain('"code":"upstream_generation_error"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
