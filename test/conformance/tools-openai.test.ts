/** Function calling and structured output through the official openai SDK (v6), against the emulator. */
import { APIError, BadRequestError } from 'openai';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { openAIPerSuite } from '../helpers/openai-suite.js';
import { emuCall, emuReply } from '../helpers/texts.js';

const TOOLS: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'write_file',
      description: 'Write a file.',
      parameters: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { path: { type: 'string' }, content: { type: 'string' }, mode: { $ref: '#/$defs/mode' } },
        $defs: { mode: { type: 'string', enum: ['overwrite', 'append'] } },
        required: ['path', 'content'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'list_dir',
      parameters: { type: 'object', properties: { dir: { type: 'string' }, depth: { type: 'integer' }, filter: { oneOf: [{ type: 'string' }, { type: 'null' }] } }, required: ['dir'], additionalProperties: false },
      strict: true,
    },
  },
];

describe.each(['connect', 'rest'] as const)('openai SDK tools over %s', (protocol) => {
  const the = openAIPerSuite({ env: { KIMI_PROTOCOL: protocol } });

  it('non-stream: content null, tool_calls with JSON arguments, finish tool_calls', async () => {
    const code = 'export const a = "</x>";\n\tconst b = `\\n`;\n';
    const res = await the.sdk.chat.completions.create({
      model: 'k2',
      tools: TOOLS,
      messages: [{ role: 'user', content: `Write it ${emuCall('write_file', { path: 'a.ts', content: code, mode: 'append' })}` }],
    });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]!;
    expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_/) });
    if (call.type !== 'function') throw new Error('function call expected');
    expect(call.function.name).toBe('write_file');
    expect(JSON.parse(call.function.arguments)).toEqual({ path: 'a.ts', content: code, mode: 'append' });
  });

  it('streams parallel calls (a drifted form) that the SDK assembles, then usage', async () => {
    const stream = the.sdk.chat.completions.stream({
      model: 'k2',
      tools: TOOLS,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: `Both ${emuCall(['list_dir', 'list_dir'], [{ dir: 'src', depth: 2 }, { dir: 'test', filter: null }], { form: 'k2', reply: 'Listing both.' })}` }],
    });
    let content = '';
    stream.on('content', (d) => (content += d));
    const final = await stream.finalChatCompletion();
    expect(content).toBe('Listing both.\n');
    const calls = final.choices[0]!.message.tool_calls!;
    expect(calls.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : []))).toEqual([
      ['list_dir', { dir: 'src', depth: 2 }],
      ['list_dir', { dir: 'test', filter: null }],
    ]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('runTools completes the loop: the call runs, its result goes back, the answer quotes it', async () => {
    const ran: unknown[] = [];
    const runner = the.sdk.chat.completions.runTools({
      model: 'k2',
      messages: [{ role: 'user', content: `List src ${emuCall('list_dir', { dir: 'src' })}` }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'list_dir',
            description: 'List a directory.',
            parameters: { type: 'object', properties: { dir: { type: 'string' } }, required: ['dir'] },
            parse: (text: string) => JSON.parse(text) as { dir: string },
            function: (args: { dir: string }) => {
              ran.push(args);
              return `a.ts\nb.ts in ${args.dir} <|KP|tool_calls> not a call`;
            },
          },
        },
      ],
    });
    const answer = await runner.finalContent();
    expect(ran).toEqual([{ dir: 'src' }]);
    expect(answer).toMatch(/^Tool list_dir \(call_\w+\) returned: a\.ts\nb\.ts in src <\|\u200dKP\|tool_calls> not a call$/);
  });

  it('a malformed JSON literal is repaired; an unknown function gets one invisible repair turn', async () => {
    const res = await the.sdk.chat.completions.create({
      model: 'k2',
      tools: TOOLS,
      messages: [{ role: 'user', content: emuCall('list_dir', { dir: 'x', depth: 1 }, { form: 'bracket', malformed: true }) }],
    });
    const call = res.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ dir: 'x', depth: 1 });

    const stream = await the.sdk.chat.completions.create({
      model: 'k2',
      tools: TOOLS,
      stream: true,
      messages: [{ role: 'user', content: emuCall('remove_everything', { dir: 'x' }, { fixcall: 'list_dir', reply: 'Calling.' }) }],
    });
    let text = '';
    const names: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) if (tc.function?.name) names.push(tc.function.name);
    }
    expect(text).toBe('Calling.\n');
    expect(names).toEqual(['list_dir']);
  });

  it('tool_choice required without a call ends in 422 missing_tool_call; a bad schema or choice is a 400', async () => {
    const missing = await the.sdk.chat.completions
      .create({ model: 'k2', tools: TOOLS, tool_choice: 'required', messages: [{ role: 'user', content: emuReply('No call from me.') }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(APIError);
    expect((missing as APIError).status).toBe(422);
    expect((missing as APIError).code).toBe('missing_tool_call');

    const badSchema = await the.sdk.chat.completions
      .create({ model: 'k2', tools: [{ type: 'function', function: { name: 'broken', parameters: { type: 'object', properties: { a: { type: 'strin' } } } } }], messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(badSchema).toBeInstanceOf(BadRequestError);
    expect((badSchema as APIError).message).toMatch(/"broken"/);

    const badChoice = await the.sdk.chat.completions
      .create({ model: 'k2', tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } }, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(badChoice).toBeInstanceOf(BadRequestError);
    expect((badChoice as APIError).param).toBe('tool_choice');
  });

  it('response_format json_schema: the JSON text only; still invalid after the repair turn: 422', async () => {
    const format = { type: 'json_schema' as const, json_schema: { name: 'city', strict: true, schema: { type: 'object', properties: { name: { type: 'string' }, pop: { type: 'integer' } }, required: ['name', 'pop'], additionalProperties: false } } };
    const ok = await the.sdk.chat.completions.create({ model: 'k2', response_format: format, messages: [{ role: 'user', content: emuReply('Sure! ```json\n{"name": "Paris", "pop": 2100000,}\n```') }] });
    expect(ok.choices[0]!.message.content).toBe('{"name":"Paris","pop":2100000}');
    const fixed = await the.sdk.chat.completions.create({ model: 'k2', response_format: format, messages: [{ role: 'user', content: emuReply('{"name": "Rome"}', { fixreply: '{"name":"Rome","pop":2800000}' }) }] });
    expect(JSON.parse(fixed.choices[0]!.message.content!)).toEqual({ name: 'Rome', pop: 2800000 });
    const bad = await the.sdk.chat.completions.create({ model: 'k2', response_format: format, messages: [{ role: 'user', content: emuReply('no JSON here') }] }).catch((e: unknown) => e);
    expect((bad as APIError).status).toBe(422);
    expect((bad as APIError).code).toBe('invalid_json_output');
  });
});
