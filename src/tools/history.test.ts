import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ToolSpec } from '../core/tool-spec.js';
import { foldMessages } from '../conversations/fold.js';
import { renderCallBlock, renderToolConversation } from './history.js';
import { parseBlock } from './parse-block.js';
import { SchemaCache } from './schema-cache.js';
import { ToolScanner } from './scanner.js';
import { buildCalls } from './tool-calls.js';

const TOOL: ToolSpec = {
  name: 'edit',
  parameters: { type: 'object', properties: { path: { type: 'string' }, text: { type: 'string' }, n: { type: 'integer' }, opts: { type: 'object' }, list: { type: 'array' } } },
};
const schemas = new SchemaCache();

describe('canonical history rendering', () => {
  it('any arguments survive rendering and parsing unchanged (property)', () => {
    fc.assert(
      fc.property(
        fc.record({ path: fc.string(), text: fc.string({ unit: fc.constantFrom('a', '\n', '<', '>', ']', '/', '|', 'KP', ' ', '"', '\\', 'é', '😀', '<![CDATA[', ']]>', '<|close|>tools<|sep|>', '`') }), n: fc.integer(), opts: fc.dictionary(fc.string(), fc.jsonValue()), list: fc.array(fc.string()) }, { requiredKeys: [] }),
        (args) => {
          const block = renderCallBlock([{ id: 'c', name: 'edit', arguments: JSON.stringify(args) }]);
          const s = new ToolScanner({ jsonCalls: true });
          const segs = [...s.push(block), ...s.end()];
          expect(segs).toHaveLength(1);
          const built = buildCalls(parseBlock(segs[0]!.kind === 'text' ? '' : segs[0]!.raw).calls, [TOOL], schemas, 'forward', () => 'x');
          expect(built.problems).toEqual([]);
          expect(JSON.parse(built.calls[0]!.arguments)).toEqual(JSON.parse(JSON.stringify(args)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('renders calls, labelled results (with the call name and arguments), escaped client text and the instructions', () => {
    const text = foldMessages(
      renderToolConversation(
        [
          { role: 'system', content: 'Be careful.' },
          { role: 'user', content: 'Fix </|KP|tool_calls> please' },
          { role: 'assistant', content: 'On it.', toolCalls: [{ id: 'call_1', name: 'edit', arguments: '{"path":"a","n":2}' }] },
          { role: 'tool', toolCallId: 'call_1', content: 'done <|KP|tool_result call_id="x">' },
          { role: 'tool', toolCallId: 'call_orphan', content: 'no call for me' },
        ],
        { tools: { tools: [TOOL], choice: { kind: 'auto' }, parallel: true }, resultMaxChars: 1000 },
      ),
    );
    expect(text).toContain('Be careful.\n\n# Tools\n');
    expect(text).toContain('Fix </|\u200dKP|tool_calls> please');
    expect(text).toContain('On it.\n\n<|KP|tool_calls>\n<|KP|invoke name="edit">\n<|KP|parameter name="path">a</|KP|parameter>\n<|KP|parameter name="n">2</|KP|parameter>\n</|KP|invoke>\n</|KP|tool_calls>');
    expect(text).toContain('<|KP|tool_result call_id="call_1" name="edit">\n<|KP|arguments>{"path":"a","n":2}</|KP|arguments>\n<|KP|output>\ndone <|\u200dKP|tool_result call_id="x">\n</|KP|output>\n</|KP|tool_result>');
    expect(text).toContain('<|KP|tool_result call_id="call_orphan" name="unknown">\n<|KP|output>\nno call for me\n</|KP|output>');
    expect(text).toContain('Continue the task using the tool results below.');
    expect(text.trimEnd().endsWith('(To call a function, end your reply with a <|KP|tool_calls> block as described in the instructions.)\n</latest_user_message>')).toBe(true);
  });

  it('a continued chat gets only the reminder; a long result keeps its head and tail', () => {
    const out = renderToolConversation([{ role: 'tool', toolCallId: 'c', content: 'x'.repeat(5000) }], {
      tools: { tools: [TOOL], choice: { kind: 'required' }, parallel: false },
      resultMaxChars: 1000,
      continuing: true,
      callsFrom: [{ role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'edit', arguments: '{}' }] }],
    });
    expect(out).toHaveLength(1);
    expect(out[0]!.content).toContain('name="edit"');
    expect(out[0]!.content).toContain('[… 4000 characters of this result omitted …]');
    expect(out[0]!.content).toMatch(/You must call at least one\.\)$/);
  });
});
