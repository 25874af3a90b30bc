/** A real server process killed with SIGKILL in the middle of a stream loses no stored conversation. */
import { describe, expect, it } from 'vitest';
import { waitFor } from './helpers/harness.js';
import { processWorldPerTest } from './helpers/process-world.js';
import { startProxy, type ProxyProcess } from './helpers/proxy-process.js';

const API_KEY = 'sk-kill9-0123456789abcdef';
const CONVERSATION = 'survives-kill-9';

type Server = ProxyProcess;

/** A server on the shared data dir, ready once /health answers. */
const startServer = (env: Record<string, string>): Promise<Server> => startProxy({ API_KEYS: API_KEY, ...env }, { readyPath: '/health', timeoutMs: 30_000 });
const kill9 = (server: Server): Promise<void> => server.kill('SIGKILL');

const headers = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
const chatPath = `/v1/chat/completions/${CONVERSATION}`;

async function ask(server: Server, content: string): Promise<{ status: number; json: any }> {
  const res = await fetch(server.base + chatPath, { method: 'POST', headers, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content }] }) });
  return { status: res.status, json: await res.json() };
}

async function transcript(server: Server): Promise<Array<{ role: string; content: string }>> {
  const res = await fetch(`${server.base}/v1/conversations/${CONVERSATION}`, { headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Array<{ role: string; content: string }> }).messages;
}

describe('kill -9 during a stream', () => {
  const world = processWorldPerTest('kp-kill9-');

  it.each(['connect', 'rest'] as const)('loses no stored conversation; the restarted server continues the same upstream chat at once (%s)', { timeout: 90_000 }, async (protocol) => {
    const { emulator: emu, dataDir } = await world();
    // One stream per account and a lease far longer than the test: without the restarted
    // instance releasing what its dead run held, the next turn would wait for that lease.
    const env = { KIMI_BASE_URL: emu.url, KIMI_TOKENS: 'tok-kill9', DATA_DIR: dataDir, KIMI_PROTOCOL: protocol, ACCOUNT_MAX_CONCURRENT: '1', ACCOUNT_LEASE_MS: '120000' };

    const first = await startServer(env);
    const t1 = await ask(first, 'Remember the word lighthouse. [[emu turn]]');
    expect(t1.status).toBe(200);
    const a1 = t1.json.choices[0].message.content as string;
    const chatId = /chat=(\S+)/.exec(a1)![1]!;
    expect(a1).toBe(`turn=1 chat=${chatId}`);

    // Turn 2 streams slowly; the process dies once the client has seen part of it.
    const res = await fetch(first.base + chatPath, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'k2', stream: true, messages: [{ role: 'user', content: '[[emu reply="one two three four five six seven eight nine ten" deltas=10 delay=200]]' }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"content":"one ')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended early: ${seen}`);
      seen += Buffer.from(value).toString('utf8');
    }
    await kill9(first);
    await reader.read().then(
      async () => {
        // Whatever was buffered; the connection is gone either way.
        for (;;) if ((await reader.read()).done) break;
      },
      () => undefined,
    ).catch(() => undefined);
    expect(seen).not.toContain('[DONE]');
    await waitFor(() => emu.stats().streamsCancelled >= 1, 3_000, 'the upstream stream to be abandoned');

    // The restart: same host and port, so the same instance identity.
    const second = await startServer({ ...env, PORT: String(first.port) });
    // The stored transcript is exactly turn 1: the interrupted turn was never saved half-way.
    expect(await transcript(second)).toEqual([
      { role: 'user', content: 'Remember the word lighthouse. [[emu turn]]' },
      { role: 'assistant', content: a1 },
    ]);
    const started = Date.now();
    const t3 = await ask(second, 'Which word? [[emu turn]]');
    expect(t3.status).toBe(200);
    // Served at once: the new run released the dead run's account lease and conversation lock
    // instead of waiting for them to expire.
    expect(Date.now() - started).toBeLessThan(2_000);
    const a3 = t3.json.choices[0].message.content as string;
    // The same upstream chat, continued after turn 1.
    expect(a3).toMatch(new RegExp(`^turn=\\d+ chat=${chatId}$`));
    expect(Number(/^turn=(\d+)/.exec(a3)![1])).toBeGreaterThanOrEqual(2);
    expect(emu.stats().chatsCreated).toBe(1);
    const after = await transcript(second);
    expect(after).toHaveLength(4);
    expect(after.slice(0, 2)).toEqual([
      { role: 'user', content: 'Remember the word lighthouse. [[emu turn]]' },
      { role: 'assistant', content: a1 },
    ]);
    expect(after.slice(2)).toEqual([
      { role: 'user', content: 'Which word? [[emu turn]]' },
      { role: 'assistant', content: a3 },
    ]);
  });
});
