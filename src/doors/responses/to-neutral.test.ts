import { describe, expect, it } from 'vitest';
import { agentStep } from '../__fixtures__/agent-step.js';
import { parseWith } from '../parse-body.js';
import { responsesRequestSchema, type ResponsesRequest } from './request.js';
import { FREEFORM_PARAMETERS, responsesToNeutral } from './to-neutral.js';

const map = (body: Record<string, unknown>) => responsesToNeutral(parseWith(responsesRequestSchema, { model: 'k2', ...body }) as ResponsesRequest);

describe('Responses request → neutral input', () => {
  it('a string input is one user message; instructions stay apart (never carried over)', () => {
    expect(map({ input: 'hi', instructions: 'Be brief.' })).toMatchObject({ messages: [{ role: 'user', content: 'hi' }], instructions: { role: 'system', content: 'Be brief.' } });
  });

  it('maps Codex / Agents SDK history: developer items, typeless user items, function calls and outputs, reasoning dropped', () => {
    const input = map({
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'You are a coding agent.' }] },
        { role: 'user', content: 'List the files' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Listing.' }] },
        { type: 'function_call', id: 'fc_1', status: 'completed', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
        { type: 'function_call', call_id: 'call_2', name: 'read', arguments: '{"path":"a"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'a.ts', status: 'completed' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'export {}' }] },
        { type: 'custom_tool_call', call_id: 'call_3', name: 'apply_patch', input: '*** Begin Patch' },
        { type: 'custom_tool_call_output', call_id: 'call_3', output: 'Done' },
      ],
    }).messages;
    expect(input).toEqual([
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: 'List the files' },
      ...agentStep('Listing.', [
        { id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}', result: 'a.ts' },
        { id: 'call_2', name: 'read', arguments: '{"path":"a"}', result: 'export {}' },
      ]),
      ...agentStep('', [{ id: 'call_3', name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}', result: 'Done' }]),
    ]);
  });

  it('offers flat functions (strict), the functions inside a namespace and custom tools; hosted web search turns Kimi search on', () => {
    const params = { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'], additionalProperties: false };
    const input = map({
      input: 'x',
      parallel_tool_calls: false,
      tools: [
        { type: 'function', name: 'exec_command', description: 'Run', parameters: params, strict: true },
        { type: 'namespace', name: 'multi_agent_v1', description: 'agents', tools: [{ type: 'function', name: 'spawn_agent', parameters: { type: 'object' } }] },
        { type: 'custom', name: 'apply_patch', description: 'Patch files', format: { type: 'grammar' } },
        { type: 'web_search', external_web_access: true },
        { type: 'file_search', vector_store_ids: ['v'] },
      ],
    });
    expect(input.tools).toEqual({
      tools: [
        { name: 'exec_command', description: 'Run', parameters: params, strict: true },
        { name: 'spawn_agent', parameters: { type: 'object' } },
        { name: 'apply_patch', description: 'Patch files', parameters: FREEFORM_PARAMETERS, freeform: true },
      ],
      choice: { kind: 'auto' },
      parallel: false,
    });
    expect([...input.freeformTools]).toEqual(['apply_patch']);
    expect(input.resolve).toEqual({ webSearch: true });
  });

  it('maps tool_choice, text.format and reasoning.effort', () => {
    const tools = [{ type: 'function', name: 'f', parameters: { type: 'object' } }];
    expect(map({ input: 'x', tools, tool_choice: 'required' }).tools?.choice).toEqual({ kind: 'required' });
    expect(map({ input: 'x', tools, tool_choice: 'none' }).tools?.choice).toEqual({ kind: 'none' });
    expect(map({ input: 'x', tools, tool_choice: { type: 'function', name: 'f' } }).tools?.choice).toEqual({ kind: 'function', name: 'f' });
    expect(() => map({ input: 'x', tools, tool_choice: { type: 'function', name: 'g' } })).toThrow(expect.objectContaining({ param: 'tool_choice.name' }));
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(map({ input: 'x', text: { format: { type: 'json_schema', name: 'out', schema, strict: true } } }).responseFormat).toEqual({ kind: 'json_schema', name: 'out', schema, strict: true });
    expect(map({ input: 'x', text: { format: { type: 'json_object' } } }).responseFormat).toEqual({ kind: 'json_object' });
    expect(map({ input: 'x', text: { format: { type: 'text' }, verbosity: 'low' } }).responseFormat).toBeUndefined();
    expect(map({ input: 'x', reasoning: { effort: 'high', summary: 'auto' } }).resolve).toEqual({ reasoningEffort: 'high' });
  });

  it('maps input_image and input_file parts (also in tool outputs) to attachments, refuses audio by name', () => {
    const input = map({
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'data:image/png;base64,AA==', detail: 'auto' }] },
        { type: 'function_call', call_id: 'c', name: 'shot', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c', output: [{ type: 'input_file', file_data: 'JVBERg==', filename: 'a.pdf' }, { type: 'input_file', file_id: 'file-1' }] },
      ],
    });
    expect(input.messages[0]).toMatchObject({ content: 'look\n[image: image-1]', attachments: [{ param: 'input[0].content[1]', hint: 'image', source: { type: 'data-url' } }] });
    expect(input.messages[2]).toMatchObject({
      role: 'tool',
      content: '[file: a.pdf]\n[file: file-3]',
      attachments: [
        { name: 'a.pdf', source: { type: 'base64', data: 'JVBERg==' } },
        { source: { type: 'file-id', id: 'file-1' } },
      ],
    });
    expect(() => map({ input: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] })).toThrow(
      expect.objectContaining({ code: 'unsupported_content', param: 'input[0].content[0].type' }),
    );
    expect(() => map({ input: [{ role: 'user', content: [{ type: 'input_image' }] }] })).toThrow(expect.objectContaining({ code: 'invalid_request', param: 'input[0].content[0]' }));
    expect(() => map({ input: [{ role: 'robot', content: 'x' }] })).toThrow(expect.objectContaining({ param: 'input[0].role' }));
    expect(() => map({ input: [{ content: 'x' }] })).toThrow(expect.objectContaining({ param: 'input[0].type' }));
  });
});
