import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAt } from '../upstream/kimi/stream-util.js';
import { ToolScanner, type Segment } from './scanner.js';

/** Runs the scanner over pieces; adjacent text segments are merged (their cut is not meaningful). */
function scan(pieces: string[], jsonCalls = true): Segment[] {
  const s = new ToolScanner({ jsonCalls });
  const out: Segment[] = [];
  for (const p of pieces) out.push(...s.push(p));
  out.push(...s.end());
  const merged: Segment[] = [];
  for (const seg of out) {
    const last = merged.at(-1);
    if (seg.kind === 'text' && last?.kind === 'text') last.text += seg.text;
    else merged.push({ ...seg });
  }
  return merged;
}

const CALL = '<|KP|tool_calls>\n<|KP|invoke name="write_file">\n<|KP|parameter name="path">a.ts</|KP|parameter>\n<|KP|parameter name="content"><![CDATA[x = "</|KP|tool_calls>";\n]]></|KP|parameter>\n</|KP|invoke>\n</|KP|tool_calls>';

const SAMPLES = [
  `Let me write it.\n${CALL}\nDone.`,
  'Plain answer with <b>html</b> and [links](x) and a < b.',
  'Code:\n```xml\n<|KP|tool_calls>\n<|KP|invoke name="x">\n```\nafter',
  'Fenced:\n```json\n{"name":"write_file","arguments":{"path":"a"}}\n```\n',
  '~~~\n[function_calls]\n~~~\nthen [function_calls]\n[call:read]{"p":1}[/call]\n[/function_calls]',
  'native <|tool_calls_section_begin|><|tool_call_begin|>functions.read:0<|tool_call_argument_begin|>{"a":1}<|tool_call_end|><|tool_calls_section_end|>',
  'unclosed <invoke name="read"><parameter name="p">1</parameter>',
  '```json\n{"unterminated": true',
  '  ``\n`` not a fence ```\n',
  'K3 <|open|>tools<|sep|><|open|>call tool="read" index="1"<|sep|><|open|>argument key="p" type="string"<|sep|>a<|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|> after',
  'Write `<|KP|tool_calls>` or ``a ` <invoke name="x"> `` to call; `[call:x]` too.\nA stray ` <tool_calls> hides\n<|KP|tool_calls><|KP|invoke name="r"></|KP|invoke></|KP|tool_calls>',
  ' \n{"name": "read", "arguments": {"p": "a}\\"{"}}\n{"name":"b","arguments":{}} then text',
  '{"answer": "<|KP|tool_calls>", "n": [1, 2]}',
  '[{"name": "x", "arguments": {}}]',
];

describe('ToolScanner', () => {
  it('releases text at once and captures a block whole, CDATA included', () => {
    const segs = scan([`Let me write it.\n${CALL}\nDone.`]);
    expect(segs).toEqual([
      { kind: 'text', text: 'Let me write it.\n' },
      { kind: 'block', raw: CALL, closed: true },
      { kind: 'text', text: '\nDone.' },
    ]);
  });

  it('holds back only a suffix that may start a marker', () => {
    const s = new ToolScanner({ jsonCalls: true });
    expect(s.push('Hello <|K')).toEqual([{ kind: 'text', text: 'Hello ' }]);
    expect(s.push('x')).toEqual([{ kind: 'text', text: '<|Kx' }]);
    expect(s.push(' and [func')).toEqual([{ kind: 'text', text: ' and ' }]);
    expect(s.end()).toEqual([{ kind: 'text', text: '[func' }]);
  });

  it('treats markers inside fenced code as text', () => {
    const segs = scan(['Code:\n```xml\n<|KP|tool_calls>\n<|KP|invoke name="x">\n```\nafter']);
    expect(segs).toEqual([{ kind: 'text', text: 'Code:\n```xml\n<|KP|tool_calls>\n<|KP|invoke name="x">\n```\nafter' }]);
  });

  it('holds a json fence until it closes, and releases one that never does', () => {
    expect(scan(['Fenced:\n```json\n{"a":1}\n```\n'])).toEqual([
      { kind: 'text', text: 'Fenced:\n' },
      { kind: 'json-fence', raw: '```json\n{"a":1}\n```\n' },
    ]);
    expect(scan(['```json\n{"unterminated": true'])).toEqual([{ kind: 'text', text: '```json\n{"unterminated": true' }]);
  });

  it('recognises the drifts as blocks: bracket, K2 native, a bare invoke', () => {
    const kinds = (t: string) => scan([t]).map((s) => s.kind);
    expect(kinds('then [function_calls]\n[call:read]{"p":1}[/call]\n[/function_calls]')).toEqual(['text', 'block']);
    expect(kinds('x <|tool_calls_section_begin|><|tool_call_begin|>functions.read:0<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|> y')).toEqual(['text', 'block', 'text']);
    expect(scan(['unclosed <invoke name="read">1']).at(-1)).toEqual({ kind: 'block', raw: '<invoke name="read">1', closed: false });
  });

  it('treats markers inside inline code as text; a span ends at its closing run or its line', () => {
    const talk = 'Use `<|KP|tool_calls>` and ``<invoke name="x"> ` `` and `[call:x]` to call.';
    expect(scan([talk])).toEqual([{ kind: 'text', text: talk }]);
    const stray = 'An odd ` <tool_calls> here\n<|tool_calls_section_begin|>x<|tool_calls_section_end|>';
    expect(scan([stray]).map((s) => s.kind)).toEqual(['text', 'block']);
    expect(scan([stray])[0]).toEqual({ kind: 'text', text: 'An odd ` <tool_calls> here\n' });
  });

  it('captures Kimi K3 XTML markup as a block', () => {
    const xtml = '<|open|>tools<|sep|><|open|>call tool="read" index="1"<|sep|><|open|>argument key="p" type="string"<|sep|>a<|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|>';
    expect(scan([`Hi ${xtml} bye`])).toEqual([
      { kind: 'text', text: 'Hi ' },
      { kind: 'block', raw: xtml, closed: true },
      { kind: 'text', text: ' bye' },
    ]);
    expect(scan(['x <|open|>call tool="r"<|sep|>']).at(-1)).toEqual({ kind: 'block', raw: '<|open|>call tool="r"<|sep|>', closed: false });
  });

  it('holds a reply that starts as a JSON call until it closes; other JSON and later JSON stream as text', () => {
    const call = '{"name": "read", "arguments": {"p": "}{\\""}}';
    expect(scan([`\n ${call}\nok`])).toEqual([
      { kind: 'json-bare', raw: `\n ${call}`, closed: true },
      { kind: 'text', text: '\nok' },
    ]);
    expect(scan(['{"answer": 42}'])).toEqual([{ kind: 'text', text: '{"answer": 42}' }]);
    expect(scan([`Sure: ${call}`])).toEqual([{ kind: 'text', text: `Sure: ${call}` }]);
    expect(scan([call], false)).toEqual([{ kind: 'text', text: call }]);
    expect(scan(['{"name": "read", "argu'])).toEqual([{ kind: 'json-bare', raw: '{"name": "read", "argu', closed: false }]);
    const s = new ToolScanner({ jsonCalls: true });
    expect(s.push('{"answer"')).toEqual([]);
    expect(s.push(': ')).toEqual([{ kind: 'text', text: '{"answer": ' }]);
  });

  it('gives the same segments for any cut of the text (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SAMPLES), fc.array(fc.nat(400), { maxLength: 12 }), (text, cuts) => {
        expect(scan(splitAt(text, cuts))).toEqual(scan([text]));
      }),
      { numRuns: 400 },
    );
  });

  it('never lets a marker fragment out as text while the block may still follow (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.array(fc.nat(80), { maxLength: 8 }), (prefix, cuts) => {
        const clean = prefix.replace(/[<[`~|]/g, '');
        const text = `${clean}${CALL}`;
        const s = new ToolScanner({ jsonCalls: true });
        let released = '';
        for (const p of splitAt(text, cuts)) for (const seg of s.push(p)) if (seg.kind === 'text') released += seg.text;
        for (const seg of s.end()) if (seg.kind === 'text') released += seg.text;
        expect(released).toBe(clean);
      }),
      { numRuns: 300 },
    );
  });
});
