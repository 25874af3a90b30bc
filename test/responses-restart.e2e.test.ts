/**
 * Stored responses survive a restart: a real server process with the default SQLite store is
 * stopped and started again on the same data directory, and `previous_response_id` still
 * continues the same Kimi chat with only the new input.
 */
import { describe, expect, it } from 'vitest';
import { processWorldPerTest } from './helpers/process-world.js';
import { startProxy, type ProxyProcess } from './helpers/proxy-process.js';

const API_KEY = 'sk-restart-0123456789abcdef';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };

async function create(server: ProxyProcess, body: Record<string, unknown>): Promise<{ id: string; text: string }> {
  const res = await fetch(`${server.base}/v1/responses`, { method: 'POST', headers, body: JSON.stringify({ model: 'k2', ...body }) });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { id: string; output: Array<{ type: string; content?: Array<{ text: string }> }> };
  return { id: json.id, text: json.output.filter((i) => i.type === 'message').map((i) => i.content![0]!.text).join('') };
}

describe('stored responses across a restart', () => {
  const world = processWorldPerTest('kp-restart-');

  it('previous_response_id continues the same Kimi chat after the server restarts (SQLite store)', { timeout: 90_000 }, async () => {
    const { emulator, dataDir } = await world();
    const env = { API_KEYS: API_KEY, KIMI_BASE_URL: emulator.url, KIMI_TOKENS: 'tok-restart', DATA_DIR: dataDir, KIMI_PROTOCOL: 'connect' };
    const start = () => startProxy(env, { readyPath: '/health', timeoutMs: 30_000 });

    const first = await start();
    const a = await create(first, { input: 'First. [[emu turn]]' });
    const chat = /^turn=1 chat=(\S+)$/.exec(a.text)?.[1];
    expect(chat, a.text).toBeDefined();
    await first.kill('SIGTERM');

    const second = await start();
    const stored = await fetch(`${second.base}/v1/responses/${a.id}`, { headers });
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { id: string }).id).toBe(a.id);
    const b = await create(second, { input: 'Second. [[emu turn]]', previous_response_id: a.id });
    expect(b.text).toBe(`turn=2 chat=${chat}`);
    // Only the new input reached Kimi: the continued chat got just this turn's text.
    const sent = (await emulator.control.stats()).recentRequests.filter((r) => r.path.endsWith('/Chat') && r.body !== null);
    expect(JSON.stringify(sent.at(-1)?.body)).not.toContain('First.');
  });
});
