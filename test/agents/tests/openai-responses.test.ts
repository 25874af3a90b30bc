// openai-node v7 against the proxy's Responses door.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type OpenAI from 'openai';
import { callDirective } from '../emulator-directives.ts';
import { useOpenAIStack } from '../openai-stack.ts';

const the = useOpenAIStack();

const answer = 'Responses door: 你好，世界 👋🏽 — done.';
const ask = `Say it. [[emu reply="${answer}" deltas=7 delay=30]]`;

test('responses.create and responses.stream().finalResponse() give the exact text', async () => {
  const created = await the.client.responses.create({ model: the.stack.model, input: ask });
  assert.equal(created.status, 'completed');
  assert.equal(created.output_text, answer);

  const deltas: string[] = [];
  const stream = the.client.responses.stream({ model: the.stack.model, instructions: 'Be brief.', input: [{ role: 'user', content: ask }] });
  stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
  const final = await stream.finalResponse();
  assert.equal(final.status, 'completed');
  assert.equal(final.output_text, answer);
  assert.equal(deltas.join(''), answer);
  assert.ok(deltas.length > 1, 'the text arrives in several deltas');
});

test('a function tool loop continued with previous_response_id', async () => {
  const tools: OpenAI.Responses.FunctionTool[] = [
    {
      type: 'function',
      name: 'get_weather',
      description: 'The weather forecast for a city.',
      strict: true,
      parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'], additionalProperties: false },
    },
  ];
  const args = { city: 'Zürich "Nord"\n北区', days: 3 };
  const first = await the.client.responses.create({ model: the.stack.model, input: `What is the weather? ${callDirective('get_weather', args)}`, tools });
  const call = first.output.find((i): i is OpenAI.Responses.ResponseFunctionToolCall => i.type === 'function_call');
  assert.equal(call?.name, 'get_weather');
  assert.deepEqual(JSON.parse(call?.arguments ?? '{}'), args);

  const second = await the.client.responses
    .stream({ model: the.stack.model, previous_response_id: first.id, tools, input: [{ type: 'function_call_output', call_id: call?.call_id ?? '', output: 'Sunny, 21 °C' }] })
    .finalResponse();
  assert.equal(second.output_text, `Tool get_weather (${call?.call_id}) returned: Sunny, 21 °C`);
});

test('previous_response_id continues the same Kimi chat (the emulator counts its turns)', async () => {
  const a = await the.client.responses.create({ model: the.stack.model, input: 'First. [[emu turn]]' });
  const b = await the.client.responses.create({ model: the.stack.model, input: 'Second. [[emu turn]]', previous_response_id: a.id });
  const chat = /^turn=1 chat=(\S+)$/.exec(a.output_text)?.[1];
  assert.ok(chat, a.output_text);
  assert.equal(b.output_text, `turn=2 chat=${chat}`);
});
