import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { baseOptions, collect, eventsFrom, parseFrames } from '../__fixtures__/sse.js';
import { renderCompletion } from './completion.js';
import type { RenderOptions } from './render-options.js';
import { renderChatStream } from './stream.js';

const events: ChatEvent[] = [
  { type: 'text-delta', text: 'Looking.' },
  { type: 'tool-call', call: { id: 'call_a', name: 'read', arguments: '{"path":"a"}' } },
  { type: 'tool-call', call: { id: 'call_b', name: 'grep', arguments: '{"q":"x"}' } },
  { type: 'finish', reason: 'tool_calls' },
];

async function deltas(evs: ChatEvent[], opts: Partial<RenderOptions> = {}) {
  const frames = parseFrames(await collect(renderChatStream(eventsFrom(evs), baseOptions({ includeUsage: true, ...opts }))));
  return frames.map((f) => (f.done ? '[DONE]' : f.json));
}

describe('OpenAI rendering of tool calls', () => {
  it('streams each call as a name chunk then an arguments chunk, finish tool_calls, usage, [DONE]', async () => {
    const out = await deltas(events);
    const choices = out.slice(1, -2).map((f) => (f as { choices: Array<{ delta: unknown; finish_reason: unknown }> }).choices[0]);
    expect(choices).toEqual([
      { index: 0, delta: { content: 'Looking.' }, logprobs: null, finish_reason: null },
      { index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'read', arguments: '' } }] }, logprobs: null, finish_reason: null },
      { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"path":"a"}' } }] }, logprobs: null, finish_reason: null },
      { index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'grep', arguments: '' } }] }, logprobs: null, finish_reason: null },
      { index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '{"q":"x"}' } }] }, logprobs: null, finish_reason: null },
      { index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' },
    ]);
    expect(out.at(-2)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
    expect(out.at(-1)).toBe('[DONE]');
  });

  it('non-stream: content null without text, tool_calls, finish tool_calls', async () => {
    const result = await renderCompletion(eventsFrom(events.slice(1)), baseOptions());
    expect(result.choices[0]).toMatchObject({
      message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'read', arguments: '{"path":"a"}' } }, { id: 'call_b' }] },
      finish_reason: 'tool_calls',
    });
    const withText = await renderCompletion(eventsFrom(events), baseOptions());
    expect(withText.choices[0].message.content).toBe('Looking.');
  });

  it('legacy functions requests get function_call (first call only)', async () => {
    const out = await deltas(events.slice(1), { legacyFunctions: true, includeUsage: false });
    const d = out.slice(1, -1).map((f) => (f as { choices: Array<{ delta: unknown; finish_reason: unknown }> }).choices[0]);
    expect(d.map((c) => [c!.delta, c!.finish_reason])).toEqual([
      [{ function_call: { name: 'read', arguments: '' } }, null],
      [{ function_call: { arguments: '{"path":"a"}' } }, null],
      [{}, 'function_call'],
    ]);
    const result = await renderCompletion(eventsFrom(events.slice(1)), baseOptions({ legacyFunctions: true }));
    expect(result.choices[0]).toMatchObject({ message: { content: null, function_call: { name: 'read', arguments: '{"path":"a"}' } }, finish_reason: 'function_call' });
    expect(result.choices[0].message.tool_calls).toBeUndefined();
  });
});
