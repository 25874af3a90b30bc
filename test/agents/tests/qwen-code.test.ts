// Qwen Code (`qwen -p … --yolo`, OpenAI-compatible chat) run headless against the proxy.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { callDirective } from '../emulator-directives.ts';
import { assertStayedOnLoopback, explain, runClient } from '../harness.ts';
import { qwenResult } from '../outputs.ts';
import { useStack } from '../use-stack.ts';

const the = useStack();

test('Qwen Code writes a file through a real tool call and gets the result back, and nothing leaves loopback', async () => {
  const content = 'first line: "quoted" <b>&amp;</b> </tag>\nsecond line 你好 👋\n';
  const run = await runClient(the.stack, 'qwen', (workdir) => `Create greeting.txt. ${callDirective('write_file', { file_path: join(workdir, 'greeting.txt'), content })}`);
  assert.equal(run.code, 0, explain(run, the.stack));
  assert.equal(run.files['greeting.txt'], content, explain(run, the.stack));
  // The emulator's answer to a tool result quotes it: the result reached the model intact.
  const result = qwenResult(run.stdout);
  assert.equal(result?.is_error, false, explain(run, the.stack));
  assert.match(result?.result ?? '', /^Tool write_file \(\S+\) returned: Successfully created and wrote to new file: \S+greeting\.txt\.$/, explain(run, the.stack));
  assertStayedOnLoopback(run, the.stack);
});
