// @anthropic-ai/sdk against the proxy's Anthropic Messages door.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { callDirective } from '../emulator-directives.ts';
import { useStack } from '../use-stack.ts';

let client: Anthropic;
const the = useStack((stack) => {
  // The Anthropic base URL has no /v1: the SDK adds it.
  client = new Anthropic({ baseURL: stack.root, apiKey: stack.key, maxRetries: 0 });
});

const answer = 'Messages door: 你好，世界 👋🏽 — done.';
const ask = `Say it. [[emu reply="${answer}" deltas=7 delay=30]]`;

function text(message: Anthropic.Message): string {
  return message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

test('messages.create and messages.stream().finalMessage() give the exact text and end_turn', async () => {
  const created = await client.messages.create({ model: the.stack.model, max_tokens: 1024, messages: [{ role: 'user', content: ask }] });
  assert.equal(created.type, 'message');
  assert.equal(created.role, 'assistant');
  assert.equal(text(created), answer);
  assert.equal(created.stop_reason, 'end_turn');
  assert.ok(created.usage.output_tokens > 0);

  const deltas: string[] = [];
  const stream = client.messages.stream({ model: the.stack.model, max_tokens: 1024, system: 'Be brief.', messages: [{ role: 'user', content: ask }] });
  stream.on('text', (d) => deltas.push(d));
  const final = await stream.finalMessage();
  assert.equal(text(final), answer);
  assert.equal(deltas.join(''), answer);
  assert.ok(deltas.length > 1, 'the text arrives in several deltas');
  assert.equal(final.stop_reason, 'end_turn');
});

test('messages.countTokens estimates the input', async () => {
  const short = await client.messages.countTokens({ model: the.stack.model, messages: [{ role: 'user', content: 'Hello' }] });
  const long = await client.messages.countTokens({ model: the.stack.model, messages: [{ role: 'user', content: 'Hello '.repeat(500) }] });
  assert.ok(short.input_tokens > 0);
  assert.ok(long.input_tokens > short.input_tokens * 10, `${long.input_tokens} vs ${short.input_tokens}`);
});

test('errors arrive as the SDK typed errors with the right status', async () => {
  const stranger = new Anthropic({ baseURL: the.stack.root, apiKey: 'sk-not-a-key', maxRetries: 0 });
  await assert.rejects(stranger.messages.create({ model: the.stack.model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }), Anthropic.AuthenticationError);
  await assert.rejects(
    // No messages at all: a request the door must refuse in Anthropic's error shape.
    client.messages.create({ model: the.stack.model, max_tokens: 16, messages: [] }),
    (err: unknown) => err instanceof Anthropic.BadRequestError && err.status === 400,
  );
});

test('a tool loop: tool_use with the exact input, then an answer built from the tool_result, streamed and not', async () => {
  const tools: Anthropic.Tool[] = [
    {
      name: 'get_weather',
      description: 'The weather forecast for a city.',
      input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
    },
  ];
  const input = { city: 'Zürich "Nord"\n北区', days: 3 };
  const first: Anthropic.MessageParam = { role: 'user', content: `What is the weather? ${callDirective('get_weather', input)}` };
  for (const streamed of [false, true]) {
    const params: Anthropic.MessageCreateParamsNonStreaming = { model: the.stack.model, max_tokens: 1024, tools, messages: [first] };
    const asked: Anthropic.Message = streamed ? await client.messages.stream(params).finalMessage() : await client.messages.create(params);
    assert.equal(asked.stop_reason, 'tool_use');
    const use = asked.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    assert.equal(use?.name, 'get_weather');
    assert.deepEqual(use?.input, input);

    const answered: Anthropic.Message = await client.messages.create({
      model: the.stack.model,
      max_tokens: 1024,
      tools,
      messages: [first, { role: 'assistant', content: asked.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: 'Sunny, 21 °C' }] }],
    });
    assert.equal(answered.stop_reason, 'end_turn');
    assert.equal(text(answered), `Tool get_weather (${use?.id}) returned: Sunny, 21 °C`);
  }
});
