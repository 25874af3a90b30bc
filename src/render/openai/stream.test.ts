import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { estimateTokens } from '../../core/tokens.js';
import { baseOptions, parseFrames } from '../__fixtures__/sse.js';
import { renderChatStream } from './stream.js';
import { choice, contentOf, hello, json, render } from './__fixtures__/frames.js';

describe('renderChatStream framing', () => {
  it('emits role chunk, content chunks, finish chunk and [DONE], in that order', async () => {
    const frames = await render(hello);
    expect(frames).toHaveLength(5);
    expect(json(frames[0])).toEqual({
      id: 'chatcmpl-test123',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'kimi-k2',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(choice(frames[1])).toEqual({ index: 0, delta: { content: 'Hel' }, logprobs: null, finish_reason: null });
    expect(choice(frames[2])).toEqual({ index: 0, delta: { content: 'lo' }, logprobs: null, finish_reason: null });
    expect(choice(frames[3])).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    expect(frames[4]).toEqual({ done: true });
    for (const frame of frames.slice(0, 4)) {
      const chunk = json(frame);
      expect(chunk.id).toBe('chatcmpl-test123');
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.created).toBe(1_700_000_000);
      expect(chunk.model).toBe('kimi-k2');
      expect('usage' in chunk).toBe(false);
    }
  });

  it.each(['length', 'content_filter'] as const)('passes finish_reason %s through', async (reason) => {
    const frames = await render([{ type: 'text-delta', text: 'x' }, { type: 'finish', reason }]);
    expect(choice(frames[2]).finish_reason).toBe(reason);
  });

  it('adds usage:null to every chunk and a final usage chunk only with includeUsage', async () => {
    const frames = await render(hello, { includeUsage: true, promptTokens: 7 });
    expect(frames).toHaveLength(6);
    for (const frame of frames.slice(0, 4)) expect(json(frame).usage).toBeNull();
    expect(choice(frames[3]).finish_reason).toBe('stop');
    const usageChunk = json(frames[4]);
    const completion = estimateTokens('Hello');
    expect(usageChunk).toEqual({
      id: 'chatcmpl-test123',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'kimi-k2',
      choices: [],
      usage: {
        prompt_tokens: 7,
        completion_tokens: completion,
        total_tokens: 7 + completion,
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(frames[5]).toEqual({ done: true });
  });

  it('never sends an empty-choices chunk when usage was not asked for', async () => {
    const frames = await render(hello, { includeUsage: false });
    for (const frame of frames) if (!frame.done) expect((frame.json.choices as unknown[]).length).toBe(1);
  });

  it('yields the role chunk before pulling the first event', async () => {
    let pulled = 0;
    const source: AsyncIterable<ChatEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          pulled++;
          return new Promise<IteratorResult<ChatEvent>>(() => {});
        },
      }),
    };
    const gen = renderChatStream(source, baseOptions());
    const first = await gen.next();
    expect(first.done).toBe(false);
    expect(choice(parseFrames([first.value as string])[0]).delta).toEqual({ role: 'assistant', content: '' });
    expect(pulled).toBe(0);
  });

  it('skips empty deltas', async () => {
    const frames = await render([
      { type: 'text-delta', text: '' },
      { type: 'reasoning-delta', text: '' },
      { type: 'text-delta', text: 'a' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(frames).toHaveLength(4);
  });

  it('encodes any text as one-line JSON and reassembles it exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }), async (parts) => {
        const frames = await render([...parts.map((text): ChatEvent => ({ type: 'text-delta', text })), { type: 'finish', reason: 'stop' }]);
        expect(contentOf(frames)).toBe(parts.join(''));
      }),
      { numRuns: 200 },
    );
  });

  it('emits nothing for meta, search and heartbeat', async () => {
    const frames = await render([
      { type: 'meta', chatId: 'x', segmentId: 's' },
      { type: 'search', queries: ['a', 'b'] },
      { type: 'heartbeat' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(frames).toHaveLength(3);
    expect(choice(frames[1]).finish_reason).toBe('stop');
  });
});

describe('renderChatStream reasoning', () => {
  const thinking: ChatEvent[] = [
    { type: 'reasoning-delta', text: 'let me ' },
    { type: 'reasoning-delta', text: 'think' },
    { type: 'text-delta', text: 'Answer' },
    { type: 'finish', reason: 'stop' },
  ];

  it('reasoning_content mode sends delta.reasoning_content', async () => {
    const frames = await render(thinking, { reasoning: 'reasoning_content' });
    expect(choice(frames[1]).delta).toEqual({ reasoning_content: 'let me ' });
    expect(choice(frames[2]).delta).toEqual({ reasoning_content: 'think' });
    expect(choice(frames[3]).delta).toEqual({ content: 'Answer' });
  });

  it('reasoningAlias also sends delta.reasoning', async () => {
    const frames = await render(thinking, { reasoning: 'reasoning_content', reasoningAlias: true });
    expect(choice(frames[1]).delta).toEqual({ reasoning_content: 'let me ', reasoning: 'let me ' });
  });

  it('think_tags mode wraps reasoning in <think> inside content', async () => {
    const frames = await render(thinking, { reasoning: 'think_tags' });
    expect(contentOf(frames)).toBe('<think>\nlet me think\n</think>\n\nAnswer');
    for (const frame of frames) if (!frame.done) expect('reasoning_content' in (choice(frame).delta ?? {})).toBe(false);
  });

  it('think_tags mode closes the tag at the end when no answer text follows', async () => {
    const frames = await render([{ type: 'reasoning-delta', text: 'hmm' }, { type: 'finish', reason: 'length' }], {
      reasoning: 'think_tags',
    });
    expect(contentOf(frames)).toBe('<think>\nhmm\n</think>\n\n');
    expect(choice(frames.at(-2)).finish_reason).toBe('length');
  });

  it('think_tags mode opens a new block when reasoning resumes after answer text', async () => {
    const frames = await render(
      [
        { type: 'reasoning-delta', text: 'a' },
        { type: 'text-delta', text: 'B' },
        { type: 'reasoning-delta', text: 'c' },
        { type: 'text-delta', text: 'D' },
        { type: 'finish', reason: 'stop' },
      ],
      { reasoning: 'think_tags' },
    );
    expect(contentOf(frames)).toBe('<think>\na\n</think>\n\nB<think>\nc\n</think>\n\nD');
  });

  it('none mode drops reasoning but still counts it in usage', async () => {
    const frames = await render(thinking, { reasoning: 'none', includeUsage: true });
    expect(frames).toHaveLength(5); // role, Answer, finish, usage, DONE
    expect(contentOf(frames)).toBe('Answer');
    const usage = json(frames[3]).usage as { completion_tokens: number; completion_tokens_details: { reasoning_tokens: number } };
    expect(usage.completion_tokens_details.reasoning_tokens).toBe(estimateTokens('let me think'));
    expect(usage.completion_tokens).toBe(estimateTokens('Answer') + estimateTokens('let me think'));
  });
});

describe('renderChatStream citations', () => {
  const cited: ChatEvent[] = [
    { type: 'text-delta', text: 'Fact ' },
    { type: 'citation-ref', index: 1 },
    { type: 'citation-ref', index: 2 },
    { type: 'text-delta', text: '.' },
    { type: 'citation', citation: { index: 2, url: 'https://b.example/x', title: 'Bee' } },
    { type: 'citation', citation: { index: 1, url: 'https://a.example/', title: 'Ay' } },
    { type: 'citation', citation: { index: 3, url: 'https://a.example/', title: 'duplicate url' } },
    { type: 'finish', reason: 'stop' },
  ];

  it('list style writes [n] markers and appends a numbered Sources list before the finish chunk', async () => {
    const frames = await render(cited, { citations: 'list' });
    expect(contentOf(frames.slice(0, 5))).toBe('Fact [1][2].');
    expect(choice(frames[5]).delta).toEqual({
      content: '\n\nSources:\n1. [Ay](https://a.example/)\n2. [Bee](https://b.example/x)',
    });
    expect(choice(frames[6]).finish_reason).toBe('stop');
  });

  it('footnotes style writes footnote references and appends their definitions', async () => {
    const frames = await render(cited, { citations: 'footnotes' });
    expect(contentOf(frames.slice(0, 5))).toBe('Fact [^1][^2].');
    expect(choice(frames[5]).delta).toEqual({
      content: '\n\n[^1]: [Ay](https://a.example/)\n[^2]: [Bee](https://b.example/x)',
    });
  });

  it('none style writes no markers and appends nothing', async () => {
    const frames = await render(cited, { citations: 'none' });
    expect(contentOf(frames)).toBe('Fact .');
  });

  it('escapes titles and urls that would break the markdown', async () => {
    const frames = await render(
      [
        { type: 'citation', citation: { index: 1, url: 'https://x.example/a (b)\n<c>', title: 'A ](evil)\n[x] `y`' } },
        { type: 'citation', citation: { index: 2, url: 'javascript:alert(1)', title: 'bad' } },
        { type: 'finish', reason: 'stop' },
      ],
      { citations: 'list' },
    );
    expect(contentOf(frames)).toBe('\n\nSources:\n1. [A \\]\\(evil\\) \\[x\\] \\`y\\`](https://x.example/a%20%28b%29%0A%3Cc%3E)');
  });

  it('counts the sources text in usage', async () => {
    const frames = await render(cited, { citations: 'list', includeUsage: true });
    const usage = json(frames.at(-2)).usage as { completion_tokens: number };
    expect(usage.completion_tokens).toBe(estimateTokens(contentOf(frames)));
  });
});

describe('renderChatStream text-replace', () => {
  it('appends only the part after the common prefix and counts what was sent', async () => {
    const frames = await render(
      [
        { type: 'text-delta', text: 'The cat sat' },
        { type: 'text-replace', previous: 'The cat sat', text: 'The cat sat down.' },
        { type: 'text-replace', previous: 'The cat sat down.', text: 'The dog ran.' },
        { type: 'text-replace', previous: 'The dog ran.', text: 'The dog' },
        { type: 'finish', reason: 'stop' },
      ],
      { includeUsage: true },
    );
    const deltas = frames.slice(1, -3).map((frame) => choice(frame).delta);
    expect(deltas).toEqual([{ content: 'The cat sat' }, { content: ' down.' }, { content: 'dog ran.' }]);
    const usage = json(frames.at(-2)).usage as { completion_tokens: number };
    expect(usage.completion_tokens).toBe(estimateTokens('The cat sat down.dog ran.'));
  });

  it('never splits a surrogate pair', async () => {
    const frames = await render([
      { type: 'text-delta', text: 'a😀' },
      { type: 'text-replace', previous: 'a😀', text: 'a😁' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(choice(frames[2]).delta).toEqual({ content: '😁' });
  });

  it('closes an open think tag before replaced text', async () => {
    const frames = await render(
      [
        { type: 'reasoning-delta', text: 'r' },
        { type: 'text-replace', previous: '', text: 'T' },
        { type: 'finish', reason: 'stop' },
      ],
      { reasoning: 'think_tags' },
    );
    expect(contentOf(frames)).toBe('<think>\nr\n</think>\n\nT');
  });
});
