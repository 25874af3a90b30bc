/**
 * The Anthropic door's HTTP surface as Claude Code uses it: `?beta=true`, the base URL
 * without /v1, x-api-key or Bearer, anthropic-version / anthropic-beta headers, `event: ping`
 * keep-alives, the event-logging endpoint, and the model list in Anthropic's shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessPerTest, startHarness, type Harness } from './helpers/harness.js';
import { emuReply } from './helpers/texts.js';

const CLAUDE_HEADERS = {
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27',
  'x-app': 'cli',
};

describe('Anthropic door over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KEEPALIVE_INTERVAL_MS: '100' } });
  });
  afterAll(async () => h.close());

  const post = (path: string, body: unknown, auth: Record<string, string>) =>
    fetch(h.base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...CLAUDE_HEADERS, ...auth }, body: JSON.stringify(body) });

  it('answers POST /v1/messages?beta=true with x-api-key and POST /messages with Bearer', async () => {
    const body = { model: 'claude-sonnet-4-5', max_tokens: 32000, messages: [{ role: 'user', content: emuReply('ok') }] };
    const a = await post('/v1/messages?beta=true', body, { 'x-api-key': h.apiKey });
    expect(a.status).toBe(200);
    expect(((await a.json()) as { content: unknown }).content).toEqual([{ type: 'text', text: 'ok' }]);
    const b = await post('/messages', body, { authorization: `Bearer ${h.apiKey}` });
    expect(b.status).toBe(200);
    const missing = await post('/v1/messages?beta=true', body, {});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('a bad body is a 400 in Anthropic’s shape naming the field', async () => {
    const res = await post('/v1/messages', { model: 'k2', max_tokens: 5, messages: 'hi' }, { 'x-api-key': h.apiKey });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(json.type).toBe('error');
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message).toContain('messages');
  });

  it('keeps a silent stream alive with event: ping frames', async () => {
    const res = await post('/v1/messages?beta=true', { model: 'k2', max_tokens: 100, stream: true, messages: [{ role: 'user', content: `${emuReply('late')} [[emu stall=450]]` }] }, { 'x-api-key': h.apiKey });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const raw = await res.text();
    expect(raw).toContain('event: ping\ndata: {"type":"ping"}\n\n');
    expect(raw.indexOf('event: ping')).toBeGreaterThan(raw.indexOf('event: message_start'));
    expect(raw.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true);
  });

  it('a tool_result with is_error reaches the model marked as a failure', async () => {
    const tools = [{ name: 'Read', description: 'Reads a file.', input_schema: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'] } }];
    const messages = [
      { role: 'user', content: 'Read a.txt' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: 'a.txt' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', is_error: true, content: [{ type: 'text', text: 'ENOENT: no such file' }] }] },
    ];
    const res = await post('/v1/messages', { model: 'k2', max_tokens: 1000, tools, messages }, { 'x-api-key': h.apiKey });
    const json = (await res.json()) as { content: Array<{ text?: string }> };
    // The emulator answers a tool result by quoting what reached it.
    expect(json.content[0]?.text).toBe('Tool Read (toolu_01) returned: The tool reported an error:\nENOENT: no such file');
  });

  it('POST /api/event_logging/batch answers 204', async () => {
    const res = await post('/api/event_logging/batch', { events: [] }, { 'x-api-key': h.apiKey });
    expect(res.status).toBe(204);
  });

  it('GET /v1/models answers in Anthropic’s shape when anthropic-version is sent, OpenAI’s otherwise', async () => {
    const anthropic = (await (await fetch(`${h.base}/v1/models`, { headers: { 'x-api-key': h.apiKey, 'anthropic-version': '2023-06-01' } })).json()) as {
      data: Array<{ type: string; id: string; display_name: string; created_at: string }>;
      has_more: boolean;
      first_id: string;
    };
    expect(anthropic.has_more).toBe(false);
    expect(anthropic.data[0]).toMatchObject({ type: 'model', id: anthropic.first_id });
    expect(Number.isNaN(Date.parse(anthropic.data[0]!.created_at))).toBe(false);
    const openai = (await (await fetch(`${h.base}/v1/models`, { headers: { authorization: `Bearer ${h.apiKey}` } })).json()) as { object: string };
    expect(openai.object).toBe('list');
  });
});

/** Rows of docs/reliability.md's fault table, as the Anthropic door's clients see them. */
describe('fault table through the Anthropic door', () => {
  const start = harnessPerTest();

  const send = async (protocol: 'rest' | 'connect', content: string, stream: boolean) => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    return fetch(`${h.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': h.apiKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'k2', max_tokens: 100, stream, messages: [{ role: 'user', content }] }),
    });
  };

  it.each([
    ['upstream 401 on every attempt', 'connect', '[[emu fault=401]] x', 502, 'api_error', undefined],
    ['upstream 429 with Retry-After', 'rest', '[[emu fault=429 retry_after=7]] x', 429, 'rate_limit_error', '7'],
    ['upstream 500', 'connect', '[[emu fault=500]] x', 502, 'api_error', undefined],
    ['upstream 503', 'rest', '[[emu fault=503]] x', 503, 'overloaded_error', '5'],
    ['Kimi chat busy', 'rest', '[[emu fault=busy]] x', 409, 'invalid_request_error', '5'],
  ] as const)('%s (%s): HTTP status and Anthropic error type, also for stream: true', async (_name, protocol, content, status, type, retryAfter) => {
    const res = await send(protocol, content, true);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ type: 'error', error: { type } });
    expect(res.headers.get('retry-after') ?? undefined).toBe(retryAfter);
  });

  it.each([
    ['in-stream error event (REST)', 'rest', '[[emu deltas=6 fault=error-event after=2]] x', 'api_error'],
    ['overload exception mid-answer (Connect)', 'connect', '[[emu deltas=6 fault=exception after=2]] x', 'overloaded_error'],
    ['stream ends without its end marker (REST)', 'rest', '[[emu deltas=6 fault=no-done]] x', 'api_error'],
    ['connection cut mid-answer', 'connect', '[[emu deltas=10 fault=cut after=3]] x', 'api_error'],
  ] as const)('%s (%s), streamed: the text so far, then one error event and nothing after it', async (_name, protocol, content, type) => {
    const res = await send(protocol, content, true);
    expect(res.status).toBe(200);
    const raw = await res.text();
    const frames = raw.trimEnd().split('\n\n');
    const text = frames
      .filter((f) => f.startsWith('event: content_block_delta'))
      .map((f) => (JSON.parse(f.split('\ndata: ')[1]!) as { delta: { text: string } }).delta.text)
      .join('');
    expect(text.startsWith('w1 w2 ')).toBe(true);
    expect(frames.at(-1)).toMatch(/^event: error\ndata: /);
    expect(JSON.parse(frames.at(-1)!.split('\ndata: ')[1]!)).toMatchObject({ type: 'error', error: { type } });
    expect(raw).not.toContain('message_stop');
    expect(raw).not.toContain('message_delta');
  });

  it('overload exception mid-answer (Connect), non-streamed: 503 overloaded_error', async () => {
    const res = await send('connect', '[[emu deltas=6 fault=exception after=2]] x', false);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });
});
