// Records what one agent CLI sends (Node >= 22.18):
//   node capture.ts <qwen|opencode|claude|codex> <out.json> [prompt]
// The recorder answers with one call of the client's file-writing tool, then text, so the capture
// holds a first request and one that carries a tool result. RECORDER_STATUS=404 makes it answer
// that status instead; CAPTURE_STRACE=<file> also logs every connect() of the client's processes.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, clientCommand, isClient, NODE22_BIN, PACKAGE_DIR } from './clients.ts';
import { runBounded, startServer } from './processes.ts';

const [client, out, prompt = 'Create the file recorded.txt in the current directory.'] = process.argv.slice(2);
if (!isClient(client) || !out) throw new Error('usage: node capture.ts <qwen|opencode|claude|codex> <out.json> [prompt]');
const scratch = mkdtempSync(join(tmpdir(), `capture-${client}-`));
const home = join(scratch, 'home');
const workdir = join(scratch, 'work');
mkdirSync(home);
mkdirSync(workdir);

const status = process.env.RECORDER_STATUS;
const recorder = await startServer(join(NODE22_BIN, 'node'), [join(PACKAGE_DIR, 'recorder.ts'), '--out', out, ...(status ? ['--status', status] : [])], {
  cwd: PACKAGE_DIR,
  env: { PATH: process.env.PATH ?? '', RECORDER_WORKDIR: workdir },
  ready: /RECORDER (http:\/\/\S+)/,
});
const root = recorder.match[1] ?? '';
try {
  const { command, args, env } = clientCommand(client, { home, workdir, root, key: 'sk-capture-0123456789abcdef', model: 'kimi-k2.6', prompt });
  const trace = process.env.CAPTURE_STRACE;
  const [cmd, argv] = trace ? ['strace', ['-f', '-e', 'trace=connect', '-o', trace, command, ...args]] : [command, args];
  const result = await runBounded(cmd, argv, { cwd: workdir, env: { ...baseEnv({ home, trap: root }), ...env }, timeoutMs: 120_000 });
  console.log(`exit ${result.code} signal ${result.signal} timedOut ${result.timedOut} in ${result.ms} ms`);
  console.log('--- stdout (tail)\n' + result.stdout.slice(-3000));
  console.log('--- stderr (tail)\n' + result.stderr.slice(-3000));
  const file = join(workdir, 'recorded.txt');
  console.log(`recorded.txt ${existsSync(file) ? JSON.stringify(readFileSync(file, 'utf8')) : 'missing'}`);
} finally {
  await recorder.stop();
  rmSync(scratch, { recursive: true, force: true });
}
