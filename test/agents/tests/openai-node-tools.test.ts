// openai-node v7 tool calling against the proxy's chat door: the emulator "decides" to call the
// offered tool, and answers a tool result by quoting it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type OpenAI from 'openai';
import { callDirective } from '../emulator-directives.ts';
import { useOpenAIStack } from '../openai-stack.ts';

const the = useOpenAIStack();

const parameters: OpenAI.FunctionParameters = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer' } },
  required: ['city', 'days'],
  additionalProperties: false,
};
const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', description: 'The weather forecast for a city.', parameters } }];
const args = { city: 'Zürich "Nord"\n北区', days: 3 };
const ask = `What is the weather? ${callDirective('get_weather', args)}`;

test('chat.completions.create returns the call as tool_calls, not text, with and without streaming', async () => {
  const plain = await the.client.chat.completions.create({ model: the.stack.model, messages: [{ role: 'user', content: ask }], tools });
  const choice = plain.choices[0];
  assert.equal(choice?.finish_reason, 'tool_calls');
  assert.equal(choice?.message.content, null);
  const call = choice?.message.tool_calls?.[0];
  assert.equal(call?.type, 'function');
  assert.equal(call.type === 'function' ? call.function.name : undefined, 'get_weather');
  assert.deepEqual(call.type === 'function' ? JSON.parse(call.function.arguments) : undefined, args);

  const streamed = await the.client.chat.completions.stream({ model: the.stack.model, messages: [{ role: 'user', content: ask }], tools }).finalChatCompletion();
  const sc = streamed.choices[0];
  assert.equal(sc?.finish_reason, 'tool_calls');
  assert.ok(!sc?.message.content, 'no text besides the call');
  const scall = sc?.message.tool_calls?.[0];
  assert.equal(scall?.type === 'function' ? scall.function.name : undefined, 'get_weather');
  assert.deepEqual(scall?.type === 'function' ? JSON.parse(scall.function.arguments) : undefined, args);
});

test('the runTools loop runs the function and ends with an answer built from its result', async () => {
  const seen: unknown[] = [];
  const weather = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'The weather forecast for a city.',
      parameters,
      parse: (s: string) => JSON.parse(s) as typeof args,
      function: (a: typeof args) => {
        seen.push(a);
        return `Sunny in ${a.city} for ${a.days} days`;
      },
    },
  };
  const expected = /^Tool get_weather \(\S+\) returned: Sunny in Zürich "Nord"\n北区 for 3 days$/;
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: ask }];
  const plain = the.client.chat.completions.runTools({ model: the.stack.model, messages, tools: [weather] });
  assert.match((await plain.finalContent()) ?? '', expected);
  const streamed = the.client.chat.completions.runTools({ model: the.stack.model, messages, tools: [weather], stream: true });
  assert.match((await streamed.finalContent()) ?? '', expected);
  assert.deepEqual(seen, [args, args]);
});
