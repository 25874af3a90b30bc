/**
 * The Responses door's HTTP surface: the routes without /v1, keys scoping stored responses,
 * cancel and background, input item pages, and rows of the fault table as Responses clients
 * (Codex, openai-node) see them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessPerTest, startHarness, type Harness } from './helpers/harness.js';
import { emuReply } from './helpers/texts.js';

const OTHER_KEY = 'sk-test-other-0123456789';

describe('Responses door over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { API_KEYS: `sk-test-0123456789abcdef,${OTHER_KEY}` } });
  });
  afterAll(async () => h.close());

  const call = async (method: string, path: string, body?: unknown, key = h.apiKey) => {
    const res = await fetch(h.base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  it('serves /responses without /v1; a stored response belongs to the key that made it', async () => {
    const made = await call('POST', '/responses', { model: 'k2', input: emuReply('mine') });
    expect(made.status).toBe(200);
    expect(made.json.output[0].content[0].text).toBe('mine');
    expect((await call('GET', `/v1/responses/${made.json.id}`)).json.id).toBe(made.json.id);
    const other = await call('GET', `/v1/responses/${made.json.id}`, undefined, OTHER_KEY);
    expect(other.status).toBe(404);
    expect(other.json.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
    expect((await call('DELETE', `/v1/responses/${made.json.id}`, undefined, OTHER_KEY)).status).toBe(404);
    expect((await call('POST', '/v1/responses', { model: 'k2', previous_response_id: made.json.id, input: 'x' }, OTHER_KEY)).json.error.param).toBe('previous_response_id');
    expect(await call('DELETE', `/v1/responses/${made.json.id}`)).toEqual({ status: 200, json: { id: made.json.id, object: 'response', deleted: true } });
  });

  it('cancel answers that nothing runs in the background; background: true is refused', async () => {
    const made = await call('POST', '/v1/responses', { model: 'k2', input: emuReply('done') });
    const cancel = await call('POST', `/v1/responses/${made.json.id}/cancel`);
    expect(cancel.status).toBe(400);
    expect(cancel.json.error.message).toContain('Only background responses can be cancelled');
    expect((await call('POST', '/v1/responses/resp_nope/cancel')).status).toBe(404);
    const bg = await call('POST', '/v1/responses', { model: 'k2', background: true, input: 'x' });
    expect(bg.status).toBe(400);
    expect(bg.json.error.param).toBe('background');
  });

  it('input items come newest first by default, in pages', async () => {
    const input = [1, 2, 3].map((n) => ({ type: 'message', id: `msg_${n}`, role: 'user', content: [{ type: 'input_text', text: n === 3 ? emuReply('ok') : `m${n}` }] }));
    const made = await call('POST', '/v1/responses', { model: 'k2', input });
    const page = await call('GET', `/v1/responses/${made.json.id}/input_items?limit=2`);
    expect(page.json).toMatchObject({ object: 'list', first_id: 'msg_3', last_id: 'msg_2', has_more: true });
    const rest = await call('GET', `/v1/responses/${made.json.id}/input_items?limit=2&after=msg_2`);
    expect(rest.json).toMatchObject({ data: [{ id: 'msg_1' }], has_more: false });
    const asc = await call('GET', `/v1/responses/${made.json.id}/input_items?order=asc`);
    expect(asc.json.data.map((i: { id: string }) => i.id)).toEqual(['msg_1', 'msg_2', 'msg_3']);
  });
});

describe('fault table through the Responses door', () => {
  const start = harnessPerTest();
  const send = async (protocol: 'rest' | 'connect', input: string, stream: boolean) => {
    const h = await start({ env: { KIMI_PROTOCOL: protocol } });
    return fetch(`${h.base}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
      body: JSON.stringify({ model: 'k2', stream, input }),
    });
  };

  it.each([
    ['upstream 429 with Retry-After', 'rest', '[[emu fault=429 retry_after=7]] x', 429, 'upstream_rate_limited'],
    ['upstream 503', 'connect', '[[emu fault=503]] x', 503, 'upstream_overloaded'],
  ] as const)('%s (%s): the OpenAI error and status before any output, also for stream: true', async (_n, protocol, input, status, code) => {
    const res = await send(protocol, input, true);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it.each([
    ['overload exception mid-answer (Connect)', 'connect', '[[emu deltas=6 fault=exception after=2]] x', 'upstream_overloaded'],
    ['in-stream error (Connect resource_exhausted)', 'connect', '[[emu deltas=6 fault=error-event after=2]] x', 'rate_limit_exceeded'],
    ['stream ends without its end marker (REST)', 'rest', '[[emu deltas=6 fault=no-done]] x', 'upstream_protocol_error'],
  ] as const)('%s (%s), streamed: the text so far, then response.failed with the code and nothing after it', async (_n, protocol, input, code) => {
    const res = await send(protocol, input, true);
    const frames = (await res.text()).trimEnd().split('\n\n');
    const last = JSON.parse(frames.at(-1)!.split('\ndata: ')[1]!) as { type: string; response: { status: string; error: { code: string }; output: Array<{ content: Array<{ text: string }> }> } };
    expect(last.type).toBe('response.failed');
    expect(last.response.status).toBe('failed');
    expect(last.response.error.code).toBe(code);
    expect(last.response.output[0]!.content[0]!.text.startsWith('w1 w2 ')).toBe(true);
    expect(frames.some((f) => f.startsWith('event: response.completed'))).toBe(false);
  });
});
