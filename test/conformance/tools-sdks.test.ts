/** Function calling and structured output through the AI SDK (openai-compatible) and LangChain, against the emulator. */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { HumanMessage, type AIMessage, type ToolMessage } from '@langchain/core/messages';
import { tool as lcTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startHarness, type Harness } from '../helpers/harness.js';
import { emuCall, emuReply } from '../helpers/texts.js';

const city = z.object({ name: z.string(), population: z.number().int(), tags: z.array(z.string()) });
const PARIS = { name: 'Paris', population: 2100000, tags: ['capital'] };

describe('AI SDK tools and objects', () => {
  let h: Harness;
  let kimi: ReturnType<typeof createOpenAICompatible>;
  let strict: ReturnType<typeof createOpenAICompatible>;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect' } });
    kimi = createOpenAICompatible({ name: 'kimi-proxy', baseURL: `${h.base}/v1`, apiKey: h.apiKey, includeUsage: true });
    strict = createOpenAICompatible({ name: 'kimi-proxy', baseURL: `${h.base}/v1`, apiKey: h.apiKey, supportsStructuredOutputs: true });
  });
  afterAll(async () => h.close());

  const weather = (seen: unknown[]) =>
    tool({
      description: 'Current weather of a city.',
      inputSchema: z.object({ city: z.string(), unit: z.enum(['c', 'f']).optional() }),
      execute: async (input) => {
        seen.push(input);
        return `Sunny in ${input.city}`;
      },
    });

  it('generateText with tools and stopWhen runs the call and ends with the quoted result', async () => {
    const seen: unknown[] = [];
    const result = await generateText({
      model: kimi('k2'),
      tools: { weather: weather(seen) },
      stopWhen: stepCountIs(4),
      prompt: `Weather in Paris? ${emuCall('weather', { city: 'Paris', unit: 'c' })}`,
      maxRetries: 0,
    });
    expect(seen).toEqual([{ city: 'Paris', unit: 'c' }]);
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]!.finishReason).toBe('tool-calls');
    expect(result.text).toMatch(/^Tool weather \(call_\w+\) returned: Sunny in Paris$/);
  });

  it('streamText streams the tool call (name first) and finishes tool-calls', async () => {
    const result = streamText({ model: kimi('k2'), tools: { weather: tool({ inputSchema: z.object({ city: z.string() }) }) }, prompt: emuCall('weather', { city: 'Oslo' }, { form: 'hermes' }), maxRetries: 0 });
    const calls: unknown[] = [];
    for await (const part of result.fullStream) if (part.type === 'tool-call') calls.push([part.toolName, part.input]);
    expect(calls).toEqual([['weather', { city: 'Oslo' }]]);
    expect(await result.finishReason).toBe('tool-calls');
  });

  it('generateObject returns a valid object with and without supportsStructuredOutputs', async () => {
    const chatty = emuReply(`Here it is:\n\`\`\`json\n${JSON.stringify(PARIS)}\n\`\`\``);
    const a = await generateObject({ model: kimi('k2'), schema: city, prompt: `Describe Paris. ${chatty}`, maxRetries: 0 });
    expect(a.object).toEqual(PARIS);
    const b = await generateObject({ model: strict('k2'), schema: city, prompt: `Describe Paris. ${emuReply('{"name":"Paris"}', { fixreply: JSON.stringify(PARIS) })}`, maxRetries: 0 });
    expect(b.object).toEqual(PARIS);
  });
});

describe('LangChain tools and structured output', () => {
  let h: Harness;
  const chat = (): ChatOpenAI => new ChatOpenAI({ model: 'k2', apiKey: h.apiKey, configuration: { baseURL: `${h.base}/v1` }, maxRetries: 0 });
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'rest' } });
  });
  afterAll(async () => h.close());

  it('bindTools round trip: tool_calls out, ToolMessage back, an answer quoting it', async () => {
    const add = lcTool(async ({ a, b }: { a: number; b: number }) => String(a + b), { name: 'add', description: 'Add two numbers.', schema: z.object({ a: z.number(), b: z.number() }) });
    const model = chat().bindTools([add]);
    const question = new HumanMessage(`What is 2+3? ${emuCall('add', { a: 2, b: 3 })}`);
    const first = (await model.invoke([question])) as AIMessage;
    expect(first.tool_calls).toEqual([expect.objectContaining({ name: 'add', args: { a: 2, b: 3 }, id: expect.stringMatching(/^call_/) })]);
    const result = await add.invoke(first.tool_calls![0]!);
    const second = await model.invoke([question, first, result as ToolMessage]);
    expect(second.content).toBe(`Tool add (${first.tool_calls![0]!.id}) returned: 5`);
  });

  it('withStructuredOutput (json_schema by default, and jsonMode) returns a valid object', async () => {
    const a = await chat().withStructuredOutput(city, { name: 'city' }).invoke(`Paris ${emuReply(JSON.stringify(PARIS))}`);
    expect(a).toEqual(PARIS);
    const b = await chat().withStructuredOutput(city, { method: 'jsonMode' }).invoke(`Paris in JSON ${emuReply(`\`\`\`json\n${JSON.stringify(PARIS)}\n\`\`\``)}`);
    expect(b).toEqual(PARIS);
  });
});
