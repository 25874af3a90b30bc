import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { collect, eventsFrom, parseNamedFrames } from '../../render/__fixtures__/sse.js';
import { ResponseBuilder } from './builder.js';
import { renderResponse, renderResponsesStream } from './render.js';
import { initialResponse } from './response-object.js';

const builder = (stream: boolean, freeform: string[] = []) =>
  new ResponseBuilder(initialResponse('resp_test', 1_700_000_000_000, { model: 'k2', input: 'x' }), { stream, promptTokens: 10, citations: 'list', freeformTools: new Set(freeform) });

async function run(events: ChatEvent[], error?: unknown, freeform: string[] = []): Promise<Array<Record<string, any>>> {
  const body = (await collect(renderResponsesStream(eventsFrom(events, error), builder(true, freeform), {}))).join('');
  return parseNamedFrames<Record<string, any>>(body).map((f) => f.data);
}

describe('Responses renderer', () => {
  it('reasoning, text, a function call and a custom tool call: items in order, growing sequence numbers, completed with all output', async () => {
    const evs = await run(
      [
        { type: 'reasoning-delta', text: 'Plan.' },
        { type: 'text-delta', text: 'Running ' },
        { type: 'text-delta', text: 'ls.' },
        { type: 'tool-call', call: { id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' } },
        { type: 'tool-call', call: { id: 'call_2', name: 'apply_patch', arguments: '{"input":"*** Begin Patch\\n"}' } },
        { type: 'finish', reason: 'tool_calls' },
      ],
      undefined,
      ['apply_patch'],
    );
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    expect(evs.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = evs.at(-1)!.response;
    expect(done.status).toBe('completed');
    expect(done.output.map((o: { type: string }) => o.type)).toEqual(['reasoning', 'message', 'function_call', 'custom_tool_call']);
    expect(done.output[2]).toMatchObject({ type: 'function_call', status: 'completed', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' });
    expect(done.output[3]).toMatchObject({ type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch\n' });
    expect(evs[15]!.item).toMatchObject({ type: 'function_call', status: 'in_progress', arguments: '' });
    expect(evs[15]!.output_index).toBe(2);
    expect(done.usage.output_tokens).toBeGreaterThan(0);
  });

  it('length ends as response.incomplete with max_output_tokens', async () => {
    const evs = await run([{ type: 'text-delta', text: 'cut' }, { type: 'finish', reason: 'length' }]);
    expect(evs.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('a failure after the start is response.failed with the code, the cut message marked incomplete; a stream without finish too', async () => {
    const evs = await run([{ type: 'text-delta', text: 'partial' }], new ProxyError('upstream_rate_limited', 'slow down', { retryAfterMs: 7_000 }));
    const last = evs.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect(last.response.error).toEqual({ code: 'rate_limit_exceeded', message: 'slow down Please try again in 7s.' });
    expect(last.response.output[0]).toMatchObject({ type: 'message', status: 'incomplete', content: [{ text: 'partial' }] });
    expect((await run([{ type: 'text-delta', text: 'x' }])).at(-1)!.type).toBe('response.failed');
  });

  it('non-streamed: the same response, a replaced block substituted, stored before it is returned', async () => {
    const saved: unknown[] = [];
    const res = await renderResponse(
      eventsFrom([
        { type: 'text-delta', text: 'Hello wor' },
        { type: 'text-replace', previous: 'Hello wor', text: 'Hello, world.' },
        { type: 'finish', reason: 'stop' },
      ]),
      builder(false),
      { onFinished: async (r) => void saved.push(structuredClone(r)) },
    );
    expect(res.output).toEqual([{ id: expect.stringMatching(/^msg_/), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello, world.', annotations: [] }] }]);
    expect(saved).toEqual([res]);
  });

  it('citation references stand where the answer cited them, as CITATIONS says, with the sources after the answer', async () => {
    const res = await renderResponse(
      eventsFrom([
        { type: 'text-delta', text: 'Paris is the capital' },
        { type: 'citation-ref', index: 1 },
        { type: 'text-delta', text: '.' },
        { type: 'citation', citation: { index: 1, url: 'https://example.com/paris', title: 'Paris' } },
        { type: 'finish', reason: 'stop' },
      ]),
      builder(false),
      {},
    );
    const part = (res.output[0] as unknown as { content: Array<{ text: string }> }).content[0]!;
    expect(part.text.startsWith('Paris is the capital[1].')).toBe(true);
    expect(part.text).toContain('https://example.com/paris');
  });
});
