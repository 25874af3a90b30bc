/**
 * The legacy completions door (POST /v1/completions, also without /v1): OpenAI's
 * `text_completion` shapes streamed and not, several prompts, `echo`, `stop` / `max_tokens`,
 * and errors in OpenAI's shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, postStream, startHarness, type Harness } from './helpers/harness.js';
import { UNICODE_SAMPLES, emuReply } from './helpers/texts.js';

interface Chunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{ index: number; text: string; logprobs: null; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const chunksOf = (events: unknown[]): Chunk[] => events.filter((e): e is Chunk => typeof e === 'object' && e !== null && 'choices' in e);
const textOf = (chunks: Chunk[], index = 0): string =>
  chunks
    .flatMap((c) => c.choices)
    .filter((c) => c.index === index)
    .map((c) => c.text)
    .join('');

describe('POST /v1/completions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('answers a string prompt with one text_completion object and usage', async () => {
    const answer = UNICODE_SAMPLES.mixed;
    const res = await postJson(h, { model: 'k2', prompt: `Say it. ${emuReply(answer)}` }, '/v1/completions');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ object: 'text_completion', model: 'k2', system_fingerprint: null });
    expect(res.json.id).toMatch(/^cmpl-/);
    expect(res.json.choices).toEqual([{ text: answer, index: 0, logprobs: null, finish_reason: 'stop' }]);
    const { usage } = res.json;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it('streams text_completion chunks, then a finish chunk, the usage chunk and [DONE]', async () => {
    const answer = UNICODE_SAMPLES.emoji;
    const res = await postStream(h, { model: 'k2', prompt: `Say it. ${emuReply(answer, { deltas: 9, delay: 15 })}`, stream_options: { include_usage: true } }, '/completions');
    expect(res.status).toBe(200);
    expect(res.events.at(-1)).toBe('[DONE]');
    const chunks = chunksOf(res.events);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'text_completion' && c.model === 'k2')).toBe(true);
    expect(textOf(chunks)).toBe(answer);
    expect(chunks.filter((c) => c.choices.length > 0).length).toBeGreaterThan(2);
    const finishes = chunks.flatMap((c) => c.choices).filter((c) => c.finish_reason !== null);
    expect(finishes).toEqual([{ index: 0, text: '', logprobs: null, finish_reason: 'stop' }]);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
  });

  it('answers several prompts with one choice each, in order, streamed and not; echo puts the prompt first', async () => {
    const prompts = [`A ${emuReply('first')}`, `B ${emuReply('second 你好')}`];
    const whole = await postJson(h, { model: 'k2', prompt: prompts }, '/v1/completions');
    expect(whole.json.choices.map((c: { index: number; text: string }) => [c.index, c.text])).toEqual([
      [0, 'first'],
      [1, 'second 你好'],
    ]);
    const streamed = chunksOf((await postStream(h, { model: 'k2', prompt: prompts, echo: true }, '/v1/completions')).events);
    expect(textOf(streamed, 0)).toBe(`${prompts[0]}first`);
    expect(textOf(streamed, 1)).toBe(`${prompts[1]}second 你好`);
  });

  it('applies stop and max_tokens', async () => {
    const stopped = await postJson(h, { model: 'k2', prompt: `x ${emuReply('one two. three', { deltas: 5 })}`, stop: '. ' }, '/v1/completions');
    expect(stopped.json.choices[0]).toMatchObject({ text: 'one two', finish_reason: 'stop' });
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const cut = await postStream(h, { model: 'k2', prompt: `x ${emuReply(long, { deltas: 60 })}`, max_tokens: 20 }, '/v1/completions');
    const chunks = chunksOf(cut.events);
    expect(chunks.flatMap((c) => c.choices).at(-1)?.finish_reason).toBe('length');
    const text = textOf(chunks);
    expect(long.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(20);
    expect(text.length).toBeLessThan(long.length / 4);
  });

  it('refuses what Kimi cannot do with a 400 in OpenAI’s shape naming the field', async () => {
    for (const [body, param] of [
      [{ model: 'k2', prompt: [[1, 2, 3]] }, 'prompt'],
      [{ model: 'k2', prompt: 'hi', n: 2 }, 'n'],
      [{ model: 'k2', prompt: 'hi', logprobs: 2 }, 'logprobs'],
      [{ model: 'k2', prompt: 'hi', max_tokens: 0 }, 'max_tokens'],
      [{ model: 'k2' }, 'prompt'],
    ] as const) {
      const res = await postJson(h, body, '/v1/completions');
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ type: 'invalid_request_error', param });
    }
    const unknown = await postJson(h, { model: 'no-such-model', prompt: 'hi' }, '/v1/completions');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('model_not_found');
  });
});
