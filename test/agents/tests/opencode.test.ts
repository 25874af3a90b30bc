// opencode (`opencode run`, an openai-compatible provider) run headless against the proxy.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { callDirective } from '../emulator-directives.ts';
import { assertStayedOnLoopback, explain, runClient } from '../harness.ts';
import { opencodeTexts } from '../outputs.ts';
import { useStack } from '../use-stack.ts';

const the = useStack();

test('opencode writes a file through a real tool call and gets the result back, and nothing leaves loopback', async () => {
  const content = 'first line: "quoted" <b>&amp;</b> </tag>\nsecond line 你好 👋\n';
  const run = await runClient(the.stack, 'opencode', (workdir) => `Create greeting.txt. ${callDirective('write', { filePath: join(workdir, 'greeting.txt'), content })}`);
  assert.equal(run.code, 0, explain(run, the.stack));
  assert.equal(run.files['greeting.txt'], content, explain(run, the.stack));
  // The emulator's answer to a tool result quotes it: the result reached the model intact.
  const texts = opencodeTexts(run.stdout);
  assert.equal(texts.length, 1, explain(run, the.stack));
  assert.match(texts[0] ?? '', /^Tool write \(\S+\) returned: Wrote file successfully\.$/, explain(run, the.stack));
  assertStayedOnLoopback(run, the.stack);
});
