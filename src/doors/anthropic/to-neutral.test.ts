import { describe, expect, it } from 'vitest';
import { agentStep } from '../__fixtures__/agent-step.js';
import { parseWith } from '../parse-body.js';
import { messagesRequestSchema, type MessagesRequest } from './request.js';
import { ThinkingSigner } from './thinking-signature.js';
import { TOOL_ERROR_PREFIX, anthropicToNeutral } from './to-neutral.js';

const signer = new ThinkingSigner(Buffer.alloc(32, 1));
const map = (body: Record<string, unknown>) => anthropicToNeutral(parseWith(messagesRequestSchema, { model: 'claude-x', max_tokens: 100, ...body }) as MessagesRequest, signer);

describe('Anthropic request → neutral input', () => {
  it('maps a Claude Code tool round trip: system blocks, mid-list system message, tool_use and tool_result (string, blocks, is_error)', () => {
    const input = map({
      system: [
        { type: 'text', text: 'You are an agent.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Be careful.' },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: '<system-reminder>x</system-reminder>' }, { type: 'text', text: 'List the files' }] },
        { role: 'system', content: 'Environment: linux' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'plan', signature: signer.sign('plan') },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'text', text: 'Listing.' },
            { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } },
            { type: 'tool_use', id: 'toolu_2', name: 'Read', input: { path: 'a' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.ts\nb.ts', cache_control: { type: 'ephemeral' } },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'no such file' }], is_error: true },
            { type: 'text', text: 'Now read b.ts' },
          ],
        },
      ],
    });
    expect(input.messages).toEqual([
      { role: 'system', content: 'You are an agent.\nBe careful.' },
      { role: 'user', content: '<system-reminder>x</system-reminder>\nList the files' },
      { role: 'system', content: 'Environment: linux' },
      ...agentStep('Listing.', [
        { id: 'toolu_1', name: 'Bash', arguments: '{"command":"ls"}', result: 'a.ts\nb.ts' },
        { id: 'toolu_2', name: 'Read', arguments: '{"path":"a"}', result: `${TOOL_ERROR_PREFIX}no such file` },
      ]),
      { role: 'user', content: 'Now read b.ts' },
    ]);
    expect(input.returnedThinking).toEqual({ ours: 1, foreign: 0 });
  });

  it('offers tools with their schemas (extra fields accepted) and maps tool_choice and parallelism', () => {
    const tools = [
      { name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } },
      { name: 'Later', description: 'deferred', input_schema: { type: 'object' }, defer_loading: true },
    ];
    expect(map({ tools, messages: [{ role: 'user', content: 'x' }] }).tools).toEqual({
      tools: [
        { name: 'Bash', description: 'Run a command', parameters: tools[0]!.input_schema },
        { name: 'Later', description: 'deferred', parameters: { type: 'object' } },
      ],
      choice: { kind: 'auto' },
      parallel: true,
    });
    const choice = (tc: unknown) => map({ tools, tool_choice: tc, messages: [{ role: 'user', content: 'x' }] }).tools;
    expect(choice({ type: 'any' })?.choice).toEqual({ kind: 'required' });
    expect(choice({ type: 'none' })?.choice).toEqual({ kind: 'none' });
    expect(choice({ type: 'tool', name: 'Bash', disable_parallel_tool_use: true })).toMatchObject({ choice: { kind: 'function', name: 'Bash' }, parallel: false });
    expect(() => choice({ type: 'tool', name: 'Nope' })).toThrow(/tool_choice.name/);
    expect(map({ messages: [{ role: 'user', content: 'x' }] }).tools).toBeUndefined();
  });

  it('maps thinking and effort onto Kimi thinking and reasoning effort; web search server tool turns search on', () => {
    const m = [{ role: 'user', content: 'x' }];
    expect(map({ messages: m }).resolve).toEqual({});
    expect(map({ messages: m, thinking: { type: 'enabled', budget_tokens: 2_000 } }).resolve).toEqual({ thinking: true, reasoningEffort: 'low' });
    expect(map({ messages: m, thinking: { type: 'adaptive', display: 'omitted' }, output_config: { effort: 'high' } })).toMatchObject({
      resolve: { thinking: true, reasoningEffort: 'high' },
      omitThinking: true,
    });
    // Claude Code 2.1.332 sends display "updates": Kimi's thinking is reasoning, whose blocks stay empty there too.
    expect(map({ messages: m, thinking: { type: 'adaptive', display: 'updates' } }).omitThinking).toBe(true);
    expect(map({ messages: m, thinking: { type: 'adaptive', display: 'summarized' } }).omitThinking).toBe(false);
    expect(map({ messages: m, thinking: { type: 'enabled', budget_tokens: 2_000 } }).omitThinking).toBe(false);
    expect(map({ messages: m, thinking: { type: 'disabled' }, output_config: { effort: 'high' } }).resolve).toEqual({ thinking: false });
    expect(map({ messages: m, tools: [{ type: 'web_search_20250305', name: 'web_search' }] })).toMatchObject({ resolve: { webSearch: true } });
    expect(map({ messages: m, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }).tools).toBeUndefined();
  });

  it('maps image and document blocks (base64, url, text sources; also inside tool_result) to attachments marked in the text', () => {
    const input = map({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'Read', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/s.png' } }] },
            { type: 'document', title: 'notes.md', source: { type: 'text', media_type: 'text/plain', data: '# hi' } },
            { type: 'text', text: 'and this' },
          ],
        },
      ],
    });
    const [first, , result, doc] = input.messages;
    expect(first).toMatchObject({ role: 'user', content: 'see\n[image: image-1]', attachments: [{ param: 'messages[0].content[1]', hint: 'image', source: { type: 'base64', data: 'AA==', mime: 'image/png' } }] });
    expect(result).toMatchObject({ role: 'tool', content: '[image: s.png]', attachments: [{ param: 'messages[2].content[0].content[0]', source: { type: 'url', url: 'https://example.com/s.png' } }] });
    expect(doc).toMatchObject({ role: 'user', content: '[file: notes.md]\nand this', attachments: [{ name: 'notes.md', source: { type: 'text', text: '# hi', mime: 'text/plain' } }] });
  });

  it('rejects blocks without a usable source, and bad fields by name', () => {
    expect(() => map({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document', source: {} }] }] }] })).toThrow(
      expect.objectContaining({ code: 'invalid_request', param: 'messages[0].content[0].content[0].source.type' }),
    );
    expect(() => map({ messages: [{ role: 'robot', content: 'x' }] })).toThrow(expect.objectContaining({ code: 'invalid_request', param: 'messages[0].role' }));
    expect(() => map({ messages: [], metadata: { user_id: 'u' } })).toThrow(expect.objectContaining({ param: 'messages' }));
  });

  it('accepts every field Claude Code sends', () => {
    const input = map({
      stream: true,
      temperature: 1,
      stop_sequences: ['\n\nHuman:'],
      metadata: { user_id: '{"device_id":"d","session_id":"s"}' },
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(input.messages).toEqual([{ role: 'user', content: 'x' }]);
  });
});
