import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { estimateTokens } from '../../core/tokens.js';
import { baseOptions, eventsFrom } from '../__fixtures__/sse.js';
import { renderCompletion } from './completion.js';
import type { RenderOptions } from './render-options.js';

function complete(events: ChatEvent[], opts: Partial<RenderOptions> = {}, error?: unknown) {
  return renderCompletion(eventsFrom(events, error), baseOptions(opts));
}

describe('renderCompletion', () => {
  it('aggregates into one chat.completion with the OpenAI shape', async () => {
    const result = await complete([
      { type: 'meta', chatId: 'c' },
      { type: 'text-delta', text: 'Hello' },
      { type: 'heartbeat' },
      { type: 'text-delta', text: ' world' },
      { type: 'finish', reason: 'stop' },
    ]);
    const completion = estimateTokens('Hello world');
    expect(result).toEqual({
      id: 'chatcmpl-test123',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'kimi-k2',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello world', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 12,
        completion_tokens: completion,
        total_tokens: 12 + completion,
        completion_tokens_details: { reasoning_tokens: 0 },
      },
      system_fingerprint: null,
    });
    expect(Object.keys(result.choices[0].message)).toEqual(['role', 'content', 'refusal']);
  });

  it('passes finish_reason through', async () => {
    const result = await complete([{ type: 'text-delta', text: 'x' }, { type: 'finish', reason: 'content_filter' }]);
    expect(result.choices[0].finish_reason).toBe('content_filter');
  });

  const thinking: ChatEvent[] = [
    { type: 'reasoning-delta', text: 'step one. ' },
    { type: 'reasoning-delta', text: 'step two.' },
    { type: 'text-delta', text: 'Done.' },
    { type: 'finish', reason: 'stop' },
  ];

  it('reasoning_content mode adds message.reasoning_content and counts reasoning tokens', async () => {
    const result = await complete(thinking, { reasoning: 'reasoning_content' });
    const message = result.choices[0].message;
    expect(message.content).toBe('Done.');
    expect(message.reasoning_content).toBe('step one. step two.');
    expect(message.reasoning).toBeUndefined();
    const reasoningTokens = estimateTokens('step one. step two.');
    expect(result.usage.completion_tokens_details.reasoning_tokens).toBe(reasoningTokens);
    expect(result.usage.completion_tokens).toBe(estimateTokens('Done.') + reasoningTokens);
  });

  it('reasoningAlias adds message.reasoning too', async () => {
    const result = await complete(thinking, { reasoning: 'reasoning_content', reasoningAlias: true });
    expect(result.choices[0].message.reasoning).toBe('step one. step two.');
  });

  it('omits reasoning_content when there was no reasoning', async () => {
    const result = await complete([{ type: 'text-delta', text: 'x' }, { type: 'finish', reason: 'stop' }]);
    expect('reasoning_content' in result.choices[0].message).toBe(false);
  });

  it('think_tags mode puts reasoning in front of the answer', async () => {
    const result = await complete(thinking, { reasoning: 'think_tags' });
    expect(result.choices[0].message.content).toBe('<think>\nstep one. step two.\n</think>\n\nDone.');
    expect(result.choices[0].message.reasoning_content).toBeUndefined();
  });

  it('none mode drops reasoning', async () => {
    const result = await complete(thinking, { reasoning: 'none' });
    expect(result.choices[0].message).toEqual({ role: 'assistant', content: 'Done.', refusal: null });
    expect(result.usage.completion_tokens_details.reasoning_tokens).toBe(estimateTokens('step one. step two.'));
  });

  describe('citations', () => {
    const cited: ChatEvent[] = [
      { type: 'text-delta', text: 'Claim ' },
      { type: 'citation-ref', index: 1 },
      { type: 'text-delta', text: ' and ' },
      { type: 'citation-ref', index: 2 },
      { type: 'text-delta', text: '.' },
      { type: 'citation', citation: { index: 1, url: 'https://one.example/p?q=1', title: 'One' } },
      { type: 'citation', citation: { index: 2, url: 'https://two.example/', title: '[Two]' } },
      { type: 'finish', reason: 'stop' },
    ];

    it('list style appends sources and annotations that point at each line', async () => {
      const result = await complete(cited, { citations: 'list' });
      const { annotations } = result.choices[0].message;
      const content = result.choices[0].message.content ?? '';
      expect(content).toBe('Claim [1] and [2].\n\nSources:\n1. [One](https://one.example/p?q=1)\n2. [\\[Two\\]](https://two.example/)');
      expect(annotations).toHaveLength(2);
      const [a, b] = annotations ?? [];
      expect(a).toEqual({
        type: 'url_citation',
        url_citation: { url: 'https://one.example/p?q=1', title: 'One', start_index: 29, end_index: 64 },
      });
      expect(content.slice(a?.url_citation.start_index, a?.url_citation.end_index)).toBe('1. [One](https://one.example/p?q=1)');
      expect(content.slice(b?.url_citation.start_index, b?.url_citation.end_index)).toBe('2. [\\[Two\\]](https://two.example/)');
      expect(b?.url_citation.title).toBe('[Two]');
    });

    it('footnotes style appends definitions, with indices past the think block', async () => {
      const result = await complete([{ type: 'reasoning-delta', text: 'r' }, ...cited], { citations: 'footnotes', reasoning: 'think_tags' });
      const { annotations } = result.choices[0].message;
      const content = result.choices[0].message.content ?? '';
      expect(content).toBe('<think>\nr\n</think>\n\nClaim [^1] and [^2].\n\n[^1]: [One](https://one.example/p?q=1)\n[^2]: [\\[Two\\]](https://two.example/)');
      for (const annotation of annotations ?? []) {
        const line = content.slice(annotation.url_citation.start_index, annotation.url_citation.end_index);
        expect(line).toMatch(/^\[\^\d\]: \[.*\]\(https:\/\/.*\)$/);
        expect(line).toContain(annotation.url_citation.url);
      }
    });

    it('none style adds neither sources nor annotations', async () => {
      const result = await complete(cited, { citations: 'none' });
      expect(result.choices[0].message).toEqual({ role: 'assistant', content: 'Claim  and .', refusal: null });
    });

    it('counts the sources in usage', async () => {
      const result = await complete(cited, { citations: 'list' });
      expect(result.usage.completion_tokens).toBe(estimateTokens(result.choices[0].message.content ?? ''));
    });
  });

  describe('text-replace', () => {
    it('replaces the tail when previous is the tail of the content', async () => {
      const result = await complete([
        { type: 'text-delta', text: 'Intro. ' },
        { type: 'text-delta', text: 'Draft answer' },
        { type: 'text-replace', previous: 'Draft answer', text: 'Final answer' },
        { type: 'text-delta', text: '!' },
        { type: 'finish', reason: 'stop' },
      ]);
      expect(result.choices[0].message.content).toBe('Intro. Final answer!');
      expect(result.usage.completion_tokens).toBe(estimateTokens('Intro. Final answer!'));
    });

    it('appends when previous is empty', async () => {
      const result = await complete([
        { type: 'text-delta', text: 'A' },
        { type: 'text-replace', previous: '', text: 'B' },
        { type: 'finish', reason: 'stop' },
      ]);
      expect(result.choices[0].message.content).toBe('AB');
    });

    it('replaces an earlier block when previous is not the tail', async () => {
      const result = await complete([
        { type: 'text-delta', text: 'one two three' },
        { type: 'text-replace', previous: 'two', text: '2' },
        { type: 'finish', reason: 'stop' },
      ]);
      expect(result.choices[0].message.content).toBe('one 2 three');
    });

    it('falls back to appending the new part when previous is unknown', async () => {
      const result = await complete([
        { type: 'text-delta', text: 'abc' },
        { type: 'text-replace', previous: 'xyz', text: 'xyQ' },
        { type: 'finish', reason: 'stop' },
      ]);
      expect(result.choices[0].message.content).toBe('abcQ');
    });
  });

  describe('errors', () => {
    it('propagates errors thrown by the events', async () => {
      const err = new ProxyError('upstream_timeout', 'slow');
      await expect(complete([{ type: 'text-delta', text: 'x' }], {}, err)).rejects.toBe(err);
    });

    it('throws upstream_protocol_error when finish is missing', async () => {
      await expect(complete([{ type: 'text-delta', text: 'x' }])).rejects.toMatchObject({
        name: 'ProxyError',
        code: 'upstream_protocol_error',
      });
    });

    it('stops reading at finish and lets the source clean up', async () => {
      let finalized = false;
      let pulledAfter = false;
      async function* source(): AsyncGenerator<ChatEvent> {
        try {
          yield { type: 'text-delta', text: 'ok' };
          yield { type: 'finish', reason: 'stop' };
          pulledAfter = true;
          yield { type: 'text-delta', text: 'late' };
        } finally {
          finalized = true;
        }
      }
      const result = await renderCompletion(source(), baseOptions());
      expect(result.choices[0].message.content).toBe('ok');
      expect(pulledAfter).toBe(false);
      expect(finalized).toBe(true);
    });
  });
});
