// Codex CLI (`codex exec`, a model_providers entry with wire_api = "responses") run headless
// against the proxy's Responses door. Codex has no file-writing tool: it writes files with its
// shell tool, exec_command.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callDirective } from '../emulator-directives.ts';
import { assertStayedOnLoopback, explain, runClient } from '../harness.ts';
import { codexMessages } from '../outputs.ts';
import { useStack } from '../use-stack.ts';

const the = useStack();

test('Codex writes a file through its shell tool via /v1/responses and gets the result back, and nothing leaves loopback', async () => {
  const cmd = `printf 'first line: "quoted"\\nsecond line 你好\\n' > greeting.txt && echo written`;
  const run = await runClient(the.stack, 'codex', `Create greeting.txt. ${callDirective('exec_command', { cmd })}`);
  assert.equal(run.code, 0, explain(run, the.stack));
  assert.equal(run.files['greeting.txt'], 'first line: "quoted"\nsecond line 你好\n', explain(run, the.stack));
  const messages = codexMessages(run.stdout);
  assert.equal(messages.length, 1, explain(run, the.stack));
  assert.match(messages[0] ?? '', /^Tool exec_command \(\S+\) returned: [\s\S]*\bwritten\n?$/, explain(run, the.stack));
  assertStayedOnLoopback(run, the.stack);
});
