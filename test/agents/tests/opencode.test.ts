// opencode (`opencode run`, an openai-compatible provider) run headless against the proxy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertStayedOnLoopback, explain, runClient, startStack, type Stack } from '../harness.ts';
import { opencodeTexts } from '../outputs.ts';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

test('opencode gets the answer through the chat door, and nothing leaves loopback', async () => {
  const answer = 'opencode-reached-kimi-proxy-你好';
  const run = await runClient(stack, 'opencode', `Reply with the agreed words. [[emu reply=${answer}]]`);
  assert.equal(run.code, 0, explain(run, stack));
  assert.deepEqual(opencodeTexts(run.stdout), [answer], explain(run, stack));
  assertStayedOnLoopback(run, stack);
});
