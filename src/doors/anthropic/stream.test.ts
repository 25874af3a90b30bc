import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { collect, eventsFrom, parseNamedFrames, type NamedFrame } from '../../render/__fixtures__/sse.js';
import { renderAnthropicMessage } from './message.js';
import type { AnthropicRenderOptions } from './shapes.js';
import { renderAnthropicStream } from './stream.js';
import { ThinkingSigner } from './thinking-signature.js';

const signer = new ThinkingSigner(Buffer.alloc(32, 7));
const opts = (over: Partial<AnthropicRenderOptions> = {}): AnthropicRenderOptions => ({
  id: 'msg_test',
  model: 'claude-x',
  promptTokens: 12,
  citations: 'list',
  signer,
  omitThinking: false,
  ...over,
});

/** Parses the whole stream; fails on any frame that is not `event: X\ndata: {json with type X}`. */
async function run(events: ChatEvent[], error?: unknown, over: Partial<AnthropicRenderOptions> = {}): Promise<NamedFrame[]> {
  return parseNamedFrames((await collect(renderAnthropicStream(eventsFrom(events, error), opts(over)))).join(''));
}

const names = (evs: NamedFrame[]): string[] => evs.map((e) => (e.event === 'content_block_delta' ? `delta:${(e.data.delta as { type: string }).type}` : e.event));

describe('Anthropic stream renderer', () => {
  it('thinking, text and a tool call: exactly Anthropic’s sequence, one stop per block, tool_use stop reason', async () => {
    const evs = await run([
      { type: 'meta', chatId: 'c1' },
      { type: 'reasoning-delta', text: 'Let me ' },
      { type: 'reasoning-delta', text: 'think.' },
      { type: 'text-delta', text: 'I will list ' },
      { type: 'text-delta', text: 'the files.' },
      { type: 'tool-call', call: { id: 'call_1', name: 'Bash', arguments: '{"command":"ls -la"}' } },
      { type: 'tool-call', call: { id: 'call_2', name: 'Read', arguments: '{"path":"a.ts"}' } },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    expect(names(evs)).toEqual([
      'message_start',
      'content_block_start',
      'delta:thinking_delta',
      'delta:thinking_delta',
      'delta:signature_delta',
      'content_block_stop',
      'content_block_start',
      'delta:text_delta',
      'delta:text_delta',
      'content_block_stop',
      'content_block_start',
      'delta:input_json_delta',
      'content_block_stop',
      'content_block_start',
      'delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const starts = evs.filter((e) => e.event === 'content_block_start').map((e) => [e.data.index, e.data.content_block]);
    expect(starts).toEqual([
      [0, { type: 'thinking', thinking: '', signature: '' }],
      [1, { type: 'text', text: '' }],
      [2, { type: 'tool_use', id: 'call_1', name: 'Bash', input: {} }],
      [3, { type: 'tool_use', id: 'call_2', name: 'Read', input: {} }],
    ]);
    const stops = evs.filter((e) => e.event === 'content_block_stop').map((e) => e.data.index);
    expect(stops).toEqual([0, 1, 2, 3]);
    const sig = evs.find((e) => names([e])[0] === 'delta:signature_delta')!.data.delta as { signature: string };
    expect(signer.verify('Let me think.', sig.signature)).toBe(true);
    expect((evs[11]!.data.delta as { partial_json: string }).partial_json).toBe('{"command":"ls -la"}');
    const delta = evs.at(-2)!.data;
    expect(delta.delta).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
    expect((delta.usage as { output_tokens: number }).output_tokens).toBeGreaterThan(0);
    expect((evs[0]!.data.message as { usage: { input_tokens: number } }).usage.input_tokens).toBe(12);
  });

  it('maps length to max_tokens and sends an empty text block for an empty reply', async () => {
    const evs = await run([{ type: 'finish', reason: 'length' }]);
    expect(names(evs)).toEqual(['message_start', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(evs[1]!.data.content_block).toEqual({ type: 'text', text: '' });
    expect((evs[3]!.data.delta as { stop_reason: string }).stop_reason).toBe('max_tokens');
  });

  it('omitted thinking: a signed thinking block without its text, streamed and not; it still counts as output', async () => {
    const events: ChatEvent[] = [{ type: 'reasoning-delta', text: 'hidden ' }, { type: 'reasoning-delta', text: 'reasoning' }, { type: 'text-delta', text: 'Answer.' }, { type: 'finish', reason: 'stop' }];
    const evs = await run(events, undefined, { omitThinking: true });
    expect(names(evs)).toEqual([
      'message_start',
      'content_block_start',
      'delta:signature_delta',
      'content_block_stop',
      'content_block_start',
      'delta:text_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(evs[1]!.data.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
    expect(signer.verify('', (evs[2]!.data.delta as { signature: string }).signature)).toBe(true);
    expect(JSON.stringify(evs)).not.toContain('hidden');
    const shown = await run(events.slice(2));
    const outputTokens = (e: NamedFrame[]) => (e.at(-2)!.data.usage as { output_tokens: number }).output_tokens;
    expect(outputTokens(evs)).toBeGreaterThan(outputTokens(shown));
    const message = await renderAnthropicMessage(eventsFrom(events), opts({ omitThinking: true }));
    expect(message.content).toEqual([
      { type: 'thinking', thinking: '', signature: signer.sign('') },
      { type: 'text', text: 'Answer.' },
    ]);
  });

  it('appends only the new part of a replaced block, and the sources after the answer', async () => {
    const evs = await run([
      { type: 'text-delta', text: 'Hello wor' },
      { type: 'text-replace', previous: 'Hello wor', text: 'Hello world [1].' },
      { type: 'citation', citation: { index: 1, url: 'https://example.com/a', title: 'A' } },
      { type: 'finish', reason: 'stop' },
    ]);
    const text = evs.filter((e) => names([e])[0] === 'delta:text_delta').map((e) => (e.data.delta as { text: string }).text);
    expect(text.slice(0, 2)).toEqual(['Hello wor', 'ld [1].']);
    expect(text.join('')).toContain('https://example.com/a');
    expect(evs.filter((e) => e.event === 'content_block_start')).toHaveLength(1);
  });

  it('a failure after the start is one error event in Anthropic’s shape, with no message_stop', async () => {
    const evs = await run([{ type: 'text-delta', text: 'partial' }], new ProxyError('upstream_network_error', 'socket hang up'));
    expect(names(evs)).toEqual(['message_start', 'content_block_start', 'delta:text_delta', 'error']);
    expect(evs.at(-1)!.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'socket hang up' } });
  });

  it('a stream that ends without finish is an error too, never a clean stop', async () => {
    const evs = await run([{ type: 'text-delta', text: 'cut' }]);
    expect(names(evs).at(-1)).toBe('error');
    expect(names(evs)).not.toContain('message_stop');
  });
});

describe('Anthropic message renderer', () => {
  it('aggregates thinking (signed), text and tool_use blocks in order, with the stop reason', async () => {
    const msg = await renderAnthropicMessage(
      eventsFrom([
        { type: 'reasoning-delta', text: '思考' },
        { type: 'text-delta', text: 'Running ' },
        { type: 'text-replace', previous: 'Running ', text: 'Running it.' },
        { type: 'tool-call', call: { id: 'call_9', name: 'Bash', arguments: '{"command":"ls"}' } },
        { type: 'finish', reason: 'tool_calls' },
      ]),
      opts(),
    );
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: '思考', signature: signer.sign('思考') },
      { type: 'text', text: 'Running it.' },
      { type: 'tool_use', id: 'call_9', name: 'Bash', input: { command: 'ls' } },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage).toMatchObject({ input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('renders citation references per CITATIONS, in the text and in the thinking, streamed and not', async () => {
    const cited: ChatEvent[] = [
      { type: 'reasoning-delta', text: 'Read' },
      { type: 'citation-ref', index: 1, reasoning: true },
      { type: 'text-delta', text: 'Fact' },
      { type: 'citation-ref', index: 1 },
      { type: 'text-delta', text: '.' },
      { type: 'citation', citation: { index: 1, url: 'https://example.com/a', title: 'A' } },
      { type: 'finish', reason: 'stop' },
    ];
    const msg = await renderAnthropicMessage(eventsFrom(cited), opts({ citations: 'footnotes' }));
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: 'Read[^1]', signature: signer.sign('Read[^1]') },
      { type: 'text', text: 'Fact[^1].\n\n[^1]: [A](https://example.com/a)' },
    ]);
    const none = await renderAnthropicMessage(eventsFrom(cited), opts({ citations: 'none' }));
    expect(none.content.map((b) => (b.type === 'text' ? b.text : b.type === 'thinking' ? b.thinking : ''))).toEqual(['Read', 'Fact.']);
    const streamed = (await run(cited, undefined, { citations: 'footnotes' }))
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => e.data.delta as { text?: string; thinking?: string })
      .map((d) => d.text ?? d.thinking ?? '');
    expect(streamed.join('')).toBe('Read[^1]Fact[^1].\n\n[^1]: [A](https://example.com/a)');
  });

  it('throws on a stream without finish (the route answers an HTTP error)', async () => {
    await expect(renderAnthropicMessage(eventsFrom([{ type: 'text-delta', text: 'x' }]), opts())).rejects.toMatchObject({ code: 'upstream_protocol_error' });
  });
});

describe('thinking signatures', () => {
  it('verify the signed text only, under the same secret', () => {
    const sig = signer.sign('abc');
    expect(signer.verify('abc', sig)).toBe(true);
    expect(signer.verify('abd', sig)).toBe(false);
    expect(new ThinkingSigner(Buffer.alloc(32, 8)).verify('abc', sig)).toBe(false);
    expect(signer.verify('abc', 'EqQBCgIYAhIM…')).toBe(false);
    expect(signer.verify('abc', undefined)).toBe(false);
  });
});
