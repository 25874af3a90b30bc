// Claude Code (`claude -p … --output-format stream-json`) run headless against the proxy's Anthropic
// Messages door, with ANTHROPIC_BASE_URL only: no model variables, so it sends its own model names.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertStayedOnLoopback, explain, runClient, startStack, type Stack } from '../harness.ts';
import { claudeResult } from '../outputs.ts';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

test('Claude Code gets the answer through /v1/messages with no model settings, and nothing leaves loopback', async () => {
  const answer = 'claude-code-reached-kimi-proxy-你好';
  const run = await runClient(stack, 'claude', `Reply with the agreed words. [[emu reply=${answer}]]`);
  assert.equal(run.code, 0, explain(run, stack));
  const result = claudeResult(run.stdout);
  assert.equal(result?.is_error, false, explain(run, stack));
  assert.equal(result?.result, answer, explain(run, stack));
  assertStayedOnLoopback(run, stack);
});
