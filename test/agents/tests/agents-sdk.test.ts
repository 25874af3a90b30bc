// The OpenAI Agents SDK's run() with one function tool, on its default Responses API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { z } from 'zod';
import { callDirective } from '../emulator-directives.ts';
import { useStack } from '../use-stack.ts';

const the = useStack((stack) => {
  // Traces would go to api.openai.com otherwise.
  setTracingDisabled(true);
  setDefaultOpenAIClient(new OpenAI({ baseURL: stack.base, apiKey: stack.key, maxRetries: 0 }));
  setOpenAIAPI('responses');
});

test('run() calls the function tool through /v1/responses and finishes with an answer built from its result', async () => {
  const calls: string[] = [];
  const getWeather = tool({
    name: 'get_weather',
    description: 'The current weather in a city.',
    parameters: z.object({ city: z.string() }),
    execute: ({ city }) => {
      calls.push(city);
      return `Sunny in ${city}`;
    },
  });
  const agent = new Agent({ name: 'Weather', instructions: 'Answer weather questions with the get_weather tool.', tools: [getWeather], model: the.stack.model });
  const result = await run(agent, `What is the weather in Kyōto? ${callDirective('get_weather', { city: 'Kyōto 京都' })}`, { maxTurns: 3 });
  assert.deepEqual(calls, ['Kyōto 京都']);
  assert.match(String(result.finalOutput), /^Tool get_weather \(\S+\) returned: Sunny in Kyōto 京都$/);
});
