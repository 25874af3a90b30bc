import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { isProxyError } from '../core/errors.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import { splitAt } from '../upstream/kimi/stream-util.js';
import type { ToolNote } from './notes.js';
import { toolPipeline, type ToolPipelineOptions } from './pipeline.js';
import { SchemaCache } from './schema-cache.js';

const schemas = new SchemaCache();
const TOOLS: ToolRequest = {
  tools: [
    { name: 'read_file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
    { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' }, limit: { type: 'integer' } }, required: ['q'] } },
  ],
  choice: { kind: 'auto' },
  parallel: true,
};

async function* reply(text: string, opts: { cuts?: number[]; reasoning?: string; finish?: 'stop' | 'length'; fail?: Error } = {}): AsyncGenerator<ChatEvent> {
  yield { type: 'meta', chatId: 'chat-1', assistantMessageId: 'm-1' };
  if (opts.reasoning) for (const r of splitAt(opts.reasoning, opts.cuts ?? [])) yield { type: 'reasoning-delta', text: r };
  for (const t of splitAt(text, opts.cuts ?? [])) yield { type: 'text-delta', text: t };
  if (opts.fail) throw opts.fail;
  yield { type: 'finish', reason: opts.finish ?? 'stop' };
}

async function run(source: AsyncIterable<ChatEvent>, over: Partial<ToolPipelineOptions> = {}, followUps: string[] = []) {
  const asked: string[] = [];
  const notes: ToolNote[] = [];
  let n = 0;
  const opts: ToolPipelineOptions = {
    tools: TOOLS,
    schemas,
    repairTurns: 1,
    schemaMismatch: 'forward',
    newId: () => `call_${++n}`,
    onNote: (note) => notes.push(note),
    followUp: async (text) => {
      asked.push(text);
      return reply(followUps.shift() ?? '');
    },
    ...over,
  };
  const events: ChatEvent[] = [];
  let error: unknown;
  try {
    for await (const e of toolPipeline(source, opts)) events.push(e);
  } catch (err) {
    error = err;
  }
  const text = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
  const reasoning = events.flatMap((e) => (e.type === 'reasoning-delta' ? [e.text] : [])).join('');
  const calls = events.flatMap((e) => (e.type === 'tool-call' ? [[e.call.name, JSON.parse(e.call.arguments)]] : []));
  const finish = events.flatMap((e) => (e.type === 'finish' ? [e.reason] : []));
  return { text, reasoning, calls, finish, asked, error, notes };
}

const BLOCK = '<|KP|tool_calls>\n<|KP|invoke name="read_file">\n<|KP|parameter name="path">a.txt</|KP|parameter>\n</|KP|invoke>\n<|KP|invoke name="search">\n<|KP|parameter name="q">x < y</|KP|parameter>\n<|KP|parameter name="limit">5</|KP|parameter>\n</|KP|invoke>\n</|KP|tool_calls>';

describe('toolPipeline', () => {
  it('streams text, emits complete calls, drops text after the block, finishes tool_calls', async () => {
    const r = await run(reply(`I will look.\n${BLOCK}\nWaiting for results.`));
    expect(r).toMatchObject({ text: 'I will look.\n', calls: [['read_file', { path: 'a.txt' }], ['search', { q: 'x < y', limit: 5 }]], finish: ['tool_calls'], asked: [] });
  });

  it('gives the same text and calls for any cut of the upstream text (property)', async () => {
    const whole = await run(reply(`Intro with <b> and [x].\n${BLOCK}`));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(BLOCK.length + 30), { maxLength: 15 }), async (cuts) => {
        const r = await run(reply(`Intro with <b> and [x].\n${BLOCK}`, { cuts }));
        expect([r.text, r.calls, r.finish]).toEqual([whole.text, whole.calls, whole.finish]);
        expect(r.text).not.toMatch(/\|KP\||<\|?$/);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps only the first call when parallel calls are off', async () => {
    const r = await run(reply(BLOCK), { tools: { ...TOOLS, parallel: false } });
    expect(r.calls).toEqual([['read_file', { path: 'a.txt' }]]);
  });

  it('uses calls written in the thinking only when the answer has none, and never shows their markup', async () => {
    const r = await run(reply('Let me check.', { reasoning: `Thinking.\n${BLOCK}` }));
    expect(r).toMatchObject({ text: 'Let me check.', reasoning: 'Thinking.\n', finish: ['tool_calls'] });
    expect(r.calls).toHaveLength(2);
  });

  it('an unknown function gets one repair turn on the same chat; its text stays invisible', async () => {
    const bad = '<|KP|tool_calls><|KP|invoke name="rm_rf"></|KP|invoke></|KP|tool_calls>';
    const fixed = 'Sorry.\n<|KP|tool_calls><|KP|invoke name="read_file"><|KP|parameter name="path">b</|KP|parameter></|KP|invoke></|KP|tool_calls>';
    const r = await run(reply(`Hi ${bad}`), {}, [fixed]);
    expect(r).toMatchObject({ text: 'Hi ', calls: [['read_file', { path: 'b' }]], finish: ['tool_calls'] });
    expect(r.asked[0]).toMatch(/"rm_rf" is not one of the offered tools/);
  });

  it('still unusable after the repair turns: 422 invalid_tool_call', async () => {
    const bad = '<|KP|tool_calls><|KP|invoke name="rm_rf"></|KP|invoke></|KP|tool_calls>';
    const r = await run(reply(bad), {}, [bad]);
    expect(isProxyError(r.error) && r.error.code).toBe('invalid_tool_call');
    expect(r.asked).toHaveLength(1);
  });

  it('required without a call: a repair turn, then 422 missing_tool_call', async () => {
    const tools: ToolRequest = { ...TOOLS, choice: { kind: 'required' } };
    const r1 = await run(reply('No tools needed.'), { tools }, [BLOCK]);
    expect(r1).toMatchObject({ text: 'No tools needed.', finish: ['tool_calls'] });
    const r2 = await run(reply('No.'), { tools, repairTurns: 0 });
    expect(isProxyError(r2.error) && r2.error.code).toBe('missing_tool_call');
  });

  it('a named choice offers only that function', async () => {
    const r = await run(reply(BLOCK), { tools: { ...TOOLS, choice: { kind: 'function', name: 'search' } } }, ['']);
    expect(r.calls).toEqual([['search', { q: 'x < y', limit: 5 }]]);
  });

  it('an upstream failure inside a block is an error, never half a call', async () => {
    const r = await run(reply(`ok ${BLOCK.slice(0, 60)}`, { fail: new Error('cut') }));
    expect(r).toMatchObject({ text: 'ok ', calls: [], finish: [] });
    expect((r.error as Error).message).toBe('cut');
  });

  it('a block cut by the length limit is not a call', async () => {
    const r = await run(reply(`ok ${BLOCK.slice(0, 80)}`, { finish: 'length' }));
    expect(r).toMatchObject({ text: 'ok ', calls: [], finish: ['length'] });
  });

  it('tool_choice none: call markup is dropped, text after it still shown', async () => {
    const r = await run(reply(`a ${BLOCK} b`), { tools: { ...TOOLS, choice: { kind: 'none' } } });
    expect(r).toMatchObject({ text: 'a  b', calls: [], finish: ['stop'] });
  });

  it('a fenced json block naming an offered tool is a call; other fenced json is text', async () => {
    const r = await run(reply('```json\n{"name":"search","arguments":{"q":"k"}}\n```'));
    expect(r.calls).toEqual([['search', { q: 'k' }]]);
    const t = await run(reply('```json\n{"name":"other","arguments":{}}\n```'));
    expect(t).toMatchObject({ text: '```json\n{"name":"other","arguments":{}}\n```', calls: [] });
  });

  /** The same text, calls and finish for any cut of the upstream text. */
  const sameForAnyCut = async (text: string, expected: { text: string; calls: unknown[]; finish: string[] }): Promise<void> => {
    expect(await run(reply(text))).toMatchObject(expected);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(text.length + 10), { maxLength: 15 }), async (cuts) => {
        const r = await run(reply(text, { cuts }));
        expect({ text: r.text, calls: r.calls, finish: r.finish }).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  };

  it('reads a call in Kimi K3 XTML markup, whatever the cuts', async () => {
    const xtml =
      '<|open|>tools<|sep|><|open|>call tool="search" index="1"<|sep|>' +
      '<|open|>argument key="q" type="string"<|sep|>a <b> `c`<|close|>argument<|sep|>' +
      '<|open|>argument key="limit" type="number"<|sep|>7<|close|>argument<|sep|>' +
      '<|close|>call<|sep|><|close|>tools<|sep|>';
    await sameForAnyCut(`Looking it up.${xtml}<|close|>message<|sep|>`, { text: 'Looking it up.', calls: [['search', { q: 'a <b> `c`', limit: 7 }]], finish: ['tool_calls'] });
    expect((await run(reply(xtml))).notes).toEqual([{ kind: 'drift', format: 'k3_xtml' }]);
  });

  it('reads a reply that is only a JSON object naming an offered tool, whatever the cuts', async () => {
    await sameForAnyCut('\n{"name": "search", "arguments": {"q": "}{\\"", "limit": 2}}', { text: '', calls: [['search', { q: '}{"', limit: 2 }]], finish: ['tool_calls'] });
    await sameForAnyCut('{"tool_calls": [{"id": "x", "type": "function", "function": {"name": "read_file", "arguments": "{\\"path\\": \\"a\\"}"}}]}', {
      text: '',
      calls: [['read_file', { path: 'a' }]],
      finish: ['tool_calls'],
    });
    expect((await run(reply('{"name":"search","arguments":{"q":"k"}}'))).notes).toEqual([{ kind: 'drift', format: 'json_bare' }]);
  });

  it('JSON that names no offered tool, or carries no arguments, or follows text, is the answer', async () => {
    for (const answer of ['{"name": "Ada", "arguments": {"born": 1815}}', '{"name": "search"}', '{"result": [1, 2, 3]}', 'Here: {"name": "search", "arguments": {"q": "x"}}']) {
      await sameForAnyCut(answer, { text: answer, calls: [], finish: ['stop'] });
    }
  });

  it('an answer that talks about the markup in inline code streams as text, whatever the cuts', async () => {
    const answer = 'To call, the model writes `<|KP|tool_calls>` or ``<invoke name="search">`` or `[call:search]{}` or `<|open|>tools<|sep|>`; that is all.';
    await sameForAnyCut(answer, { text: answer, calls: [], finish: ['stop'] });
  });

  it('reports drift, parse failures, schema mismatches and repairs as fixed words, never client content', async () => {
    const bad = '<tool_calls><invoke name="rm_rf_secret"></invoke></tool_calls>';
    const fixed = '<|KP|tool_calls><|KP|invoke name="search"><|KP|parameter name="limit">3</|KP|parameter></|KP|invoke></|KP|tool_calls>';
    const r = await run(reply(bad), {}, [fixed]);
    expect(r.calls).toEqual([['search', { limit: 3 }]]);
    expect(r.notes).toEqual([
      { kind: 'drift', format: 'xml_variant' },
      { kind: 'parse_failure', reason: 'unknown_tool' },
      { kind: 'repair_turn', reason: 'invalid_tool_call' },
      { kind: 'schema_mismatch', action: 'forwarded' },
    ]);
    const strict = await run(reply(fixed), { schemaMismatch: 'repair', repairTurns: 0 });
    expect(strict.notes).toEqual([{ kind: 'schema_mismatch', action: 'refused' }]);
    const thinking = await run(reply('ok', { reasoning: BLOCK }));
    expect(thinking.notes).toEqual([{ kind: 'drift', format: 'in_reasoning' }]);
  });

  describe('response_format', () => {
    const schema: ResponseFormat = { kind: 'json_schema', name: 'p', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }, strict: true };
    it('answers the JSON text only, from a fenced or chatty reply', async () => {
      const r = await run(reply('Here you go:\n```json\n{"n": 3,}\n```'), { tools: undefined, responseFormat: schema });
      expect(r).toMatchObject({ text: '{"n":3}', finish: ['stop'] });
    });
    it('invalid JSON gets a repair turn, then 422 invalid_json_output', async () => {
      const r1 = await run(reply('{"m": 1}'), { tools: undefined, responseFormat: schema }, ['{"n": 4}']);
      expect(r1).toMatchObject({ text: '{"n":4}', finish: ['stop'] });
      expect(r1.asked[0]).toMatch(/required property 'n'/);
      const r2 = await run(reply('no json'), { tools: undefined, responseFormat: { kind: 'json_object' } }, ['still none']);
      expect(isProxyError(r2.error) && r2.error.code).toBe('invalid_json_output');
    });
  });
});
