// openai-node v7 (Node >= 22) against the proxy's chat door.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { useOpenAIStack } from '../openai-stack.ts';

const the = useOpenAIStack();

const answer = 'Tool-free answer: 你好，世界 👋🏽 — done.';
const ask = `Say it. [[emu reply="${answer}" deltas=7]]`;

test('chat.completions.create answers with the exact text, with and without streaming', async () => {
  const plain = await the.client.chat.completions.create({ model: the.stack.model, messages: [{ role: 'user', content: ask }] });
  assert.equal(plain.choices[0]?.message.content, answer);
  assert.equal(plain.choices[0]?.finish_reason, 'stop');

  const stream = await the.client.chat.completions.create({
    model: the.stack.model,
    messages: [{ role: 'user', content: ask }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  assert.equal(text, answer);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0, 'the usage chunk arrives when asked for');
});

test('a bad API key is a typed AuthenticationError (401)', async () => {
  const stranger = new OpenAI({ baseURL: the.stack.base, apiKey: 'sk-not-a-key', maxRetries: 0 });
  await assert.rejects(stranger.chat.completions.create({ model: the.stack.model, messages: [{ role: 'user', content: 'hi' }] }), OpenAI.AuthenticationError);
});
