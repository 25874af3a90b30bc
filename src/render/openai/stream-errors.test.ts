import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { ProxyError, toOpenAIError } from '../../core/errors.js';
import { estimateTokens } from '../../core/tokens.js';
import { baseOptions, collect, eventsFrom, parseFrames } from '../__fixtures__/sse.js';
import type { ResponseEnd } from '../response-end.js';
import { renderChatStream } from './stream.js';
import { choice, contentOf, hello, json, render } from './__fixtures__/frames.js';

describe('renderChatStream errors', () => {
  it('turns a thrown ProxyError into an error frame and [DONE], with no finish and no usage', async () => {
    const err = new ProxyError('upstream_generation_error', 'Kimi stopped generating.');
    const frames = await render([{ type: 'text-delta', text: 'partial' }], { includeUsage: true, requestId: 'req_1' }, err);
    expect(frames).toHaveLength(4);
    expect(choice(frames[1]).delta).toEqual({ content: 'partial' });
    expect(json(frames[2])).toEqual(toOpenAIError(err, 'req_1').body);
    expect(json(frames[2])).toEqual({
      error: {
        message: 'Kimi stopped generating.',
        type: 'upstream_error',
        param: null,
        code: 'upstream_generation_error',
        request_id: 'req_1',
      },
    });
    expect(frames[3]).toEqual({ done: true });
    for (const frame of frames.slice(0, 2)) expect(choice(frame).finish_reason).toBeNull();
  });

  it('hides the details of unknown errors', async () => {
    const frames = await render([], {}, new Error('secret internals'));
    const body = json(frames[1]) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal_error');
    expect(body.error.message).not.toContain('secret');
    expect(frames[2]).toEqual({ done: true });
  });

  it('closes an open think tag before the error frame', async () => {
    const frames = await render([{ type: 'reasoning-delta', text: 'hm' }], { reasoning: 'think_tags' }, new ProxyError('upstream_timeout', 't'));
    expect(contentOf(frames)).toBe('<think>\nhm\n</think>\n\n');
    expect(json(frames.at(-2)).error).toBeDefined();
  });

  it('reports a stream that ends without finish as upstream_protocol_error', async () => {
    const frames = await render([{ type: 'text-delta', text: 'cut' }], { includeUsage: true });
    expect(frames).toHaveLength(4);
    expect((json(frames[2]) as { error: { code: string } }).error.code).toBe('upstream_protocol_error');
    expect(frames[3]).toEqual({ done: true });
  });

  it('reports how the response ended, once: error with the failure, finish with the usage', async () => {
    const seen: ResponseEnd[] = [];
    const failure = new ProxyError('upstream_timeout', 't');
    await render([{ type: 'text-delta', text: 'x' }], { onEnd: (e) => seen.push(e) }, failure);
    expect(seen).toEqual([{ outcome: 'error', error: failure }]);
    seen.length = 0;
    await render([{ type: 'text-delta', text: 'cut' }], { onEnd: (e) => seen.push(e) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ outcome: 'error', error: { code: 'upstream_protocol_error' } });
    seen.length = 0;
    await render(hello, { onEnd: (e) => seen.push(e) });
    expect(seen).toEqual([
      {
        outcome: 'finish',
        usage: { prompt_tokens: 12, completion_tokens: estimateTokens('Hello'), total_tokens: 12 + estimateTokens('Hello'), completion_tokens_details: { reasoning_tokens: 0 } },
      },
    ]);
  });

  it('reports client_gone when the reader stops before the reply finished', async () => {
    const seen: ResponseEnd[] = [];
    const gen = renderChatStream(eventsFrom(hello), baseOptions({ onEnd: (e) => seen.push(e) }));
    await gen.next(); // role
    await gen.next(); // first content
    expect(seen).toEqual([]);
    await gen.return(undefined);
    expect(seen).toEqual([{ outcome: 'client_gone' }]);
  });
});

describe('renderChatStream source lifecycle', () => {
  function trackedSource(events: ChatEvent[]): { source: AsyncGenerator<ChatEvent>; state: { finalized: boolean; pulledAfterFinish: boolean } } {
    const state = { finalized: false, pulledAfterFinish: false };
    async function* source(): AsyncGenerator<ChatEvent> {
      try {
        for (const event of events) yield event;
        state.pulledAfterFinish = true;
        yield { type: 'text-delta', text: 'after finish' };
      } finally {
        state.finalized = true;
      }
    }
    return { source: source(), state };
  }

  it('stops pulling after finish and lets the source clean up', async () => {
    const { source, state } = trackedSource(hello);
    const frames = parseFrames(await collect(renderChatStream(source, baseOptions())));
    expect(contentOf(frames)).toBe('Hello');
    expect(state.pulledAfterFinish).toBe(false);
    expect(state.finalized).toBe(true);
  });

  it('runs the source cleanup when the consumer stops early', async () => {
    const { source, state } = trackedSource(hello);
    const gen = renderChatStream(source, baseOptions());
    await gen.next(); // role
    await gen.next(); // "Hel"
    expect(state.finalized).toBe(false);
    await gen.return(undefined);
    expect(state.finalized).toBe(true);
  });
});
