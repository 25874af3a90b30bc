/**
 * Stop sequences and token limits through every door, with each API's own stop reason:
 * Anthropic `stop_sequence` (+ the `stop_sequence` field) / `max_tokens`, Responses
 * `incomplete` with `max_output_tokens`, chat `stop` / `length`. The cutting itself is one
 * transform on the ChatEvent seam (src/render/output-limits.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, postStream, startHarness, streamText, type Harness } from './helpers/harness.js';
import { emuReply } from './helpers/texts.js';

const LONG = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
const ANSWER = 'First part. STOP-HERE then the rest 你好.';
const anthropicHeaders = { 'anthropic-version': '2023-06-01' };

/** The JSON payloads of an `event: …` / `data: …` stream (Anthropic, Responses). */
const dataOf = (raw: string): unknown[] =>
  raw
    .split('\n\n')
    .map((rec) => rec.split('\n').find((line) => line.startsWith('data: ')))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(6)) as unknown);

interface AnthropicMessage {
  content: Array<{ type: string; text?: string }>;
  stop_reason: string;
  stop_sequence: string | null;
  usage: { output_tokens: number };
}

describe('output limits through every door', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const ask = (answer: string) => `Go. ${emuReply(answer, { deltas: 12, delay: 5 })}`;

  it('Anthropic: stop_sequences end the message with stop_reason stop_sequence, streamed and not', async () => {
    const body = { model: 'k2', max_tokens: 1000, stop_sequences: ['never', 'STOP-HERE'], messages: [{ role: 'user', content: ask(ANSWER) }] };
    const whole = await postJson(h, body, '/v1/messages', anthropicHeaders);
    const message = whole.json as AnthropicMessage;
    expect(message.content).toEqual([{ type: 'text', text: 'First part. ' }]);
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('STOP-HERE');

    const streamed = await postStream(h, body, '/v1/messages', anthropicHeaders);
    const events = dataOf(streamed.raw) as Array<{ type: string; delta?: { type?: string; text?: string; stop_reason?: string; stop_sequence?: string | null } }>;
    const text = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta?.text ?? '').join('');
    expect(text).toBe('First part. ');
    expect(events.find((e) => e.type === 'message_delta')?.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'STOP-HERE' });
    expect(events.at(-1)).toEqual({ type: 'message_stop' });
  });

  it('Anthropic: max_tokens cuts the answer with stop_reason max_tokens', async () => {
    const res = await postJson(h, { model: 'k2', max_tokens: 30, messages: [{ role: 'user', content: ask(LONG) }] }, '/v1/messages', anthropicHeaders);
    const message = res.json as AnthropicMessage;
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.stop_sequence).toBeNull();
    const text = message.content[0]?.text ?? '';
    expect(LONG.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(30);
    expect(text.length).toBeLessThan(LONG.length / 4);
    expect(message.usage.output_tokens).toBeLessThanOrEqual(32);
  });

  it('Responses: max_output_tokens ends with status incomplete and reason max_output_tokens, streamed and not', async () => {
    const body = { model: 'k2', max_output_tokens: 30, input: ask(LONG) };
    const whole = await postJson(h, body, '/v1/responses');
    expect(whole.json.status).toBe('incomplete');
    expect(whole.json.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(whole.json.max_output_tokens).toBe(30);
    const text = whole.json.output[0].content[0].text as string;
    expect(LONG.startsWith(text) && text.length < LONG.length / 4).toBe(true);

    const streamed = await postStream(h, body, '/v1/responses');
    const last = dataOf(streamed.raw).at(-1) as { type: string; response: { status: string; incomplete_details: unknown } };
    expect(last.type).toBe('response.incomplete');
    expect(last.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });

  it('chat: stop (string or list) ends with finish_reason stop, max_tokens / max_completion_tokens with length', async () => {
    const stopped = await postStream(h, { model: 'k2', stop: 'STOP-HERE', messages: [{ role: 'user', content: ask(ANSWER) }] });
    expect(streamText(stopped.events)).toBe('First part. ');
    const whole = await postJson(h, { model: 'k2', stop: ['x', 'part.'], messages: [{ role: 'user', content: ask(ANSWER) }] });
    expect(whole.json.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'First ' } });
    for (const field of ['max_tokens', 'max_completion_tokens']) {
      const cut = await postJson(h, { model: 'k2', [field]: 25, messages: [{ role: 'user', content: ask(LONG) }] });
      expect(cut.json.choices[0].finish_reason).toBe('length');
      const content = cut.json.choices[0].message.content as string;
      expect(LONG.startsWith(content) && content.length < LONG.length / 4).toBe(true);
    }
    const bad = await postJson(h, { model: 'k2', max_tokens: -1, messages: [{ role: 'user', content: 'hi' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('max_tokens');
  });
});
