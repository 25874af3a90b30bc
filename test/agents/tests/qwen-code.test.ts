// Qwen Code (`qwen -p … --yolo`, OpenAI-compatible chat) run headless against the proxy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertStayedOnLoopback, explain, runClient, startStack, type Stack } from '../harness.ts';
import { qwenResult } from '../outputs.ts';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

test('Qwen Code gets the answer through the chat door, and nothing leaves loopback', async () => {
  const answer = 'qwen-code-reached-kimi-proxy-你好';
  const run = await runClient(stack, 'qwen', `Reply with the agreed words. [[emu reply=${answer}]]`);
  assert.equal(run.code, 0, explain(run, stack));
  const result = qwenResult(run.stdout);
  assert.equal(result?.is_error, false, explain(run, stack));
  assert.equal(result?.result, answer, explain(run, stack));
  assertStayedOnLoopback(run, stack);
});
