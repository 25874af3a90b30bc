// Claude Code (`claude -p … --output-format stream-json`) run headless against the proxy's Anthropic
// Messages door, with ANTHROPIC_BASE_URL only: no model variables, so it sends its own model names.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { callDirective } from '../emulator-directives.ts';
import { assertStayedOnLoopback, explain, runClient } from '../harness.ts';
import { claudeResult } from '../outputs.ts';
import { useStack } from '../use-stack.ts';

const the = useStack();

test('Claude Code gets the answer through /v1/messages with no model settings, and nothing leaves loopback', async () => {
  const answer = 'claude-code-reached-kimi-proxy-你好';
  const run = await runClient(the.stack, 'claude', `Reply with the agreed words. [[emu reply=${answer}]]`);
  assert.equal(run.code, 0, explain(run, the.stack));
  const result = claudeResult(run.stdout);
  assert.equal(result?.is_error, false, explain(run, the.stack));
  assert.equal(result?.result, answer, explain(run, the.stack));
  assertStayedOnLoopback(run, the.stack);
});

test('Claude Code writes a file through its Write tool and gets the result back', async () => {
  const content = 'first line: "quoted" <b>&amp;</b> </tag>\nsecond line 你好 👋\n';
  const run = await runClient(the.stack, 'claude', (workdir) => `Create greeting.txt. ${callDirective('Write', { file_path: join(workdir, 'greeting.txt'), content })}`);
  assert.equal(run.code, 0, explain(run, the.stack));
  assert.equal(run.files['greeting.txt'], content, explain(run, the.stack));
  // The emulator's answer to a tool result quotes it: the result reached the model intact.
  const result = claudeResult(run.stdout);
  assert.equal(result?.is_error, false, explain(run, the.stack));
  assert.match(result?.result ?? '', /^Tool Write \(\S+\) returned: File created successfully at: \S+greeting\.txt/, explain(run, the.stack));
  assertStayedOnLoopback(run, the.stack);
});
