/**
 * What an adversarial client meets: slow and unwanted request bodies are cut and counted,
 * every answer carries the error shape (also `Expect:` failures), a 413 reaches a client that
 * sends its whole body before reading, and a client that leaves while queued is not a server
 * error. Plus the promises of the client routes: every one with and without /v1, and
 * implicit conversations kept out of the list unless asked for.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { harnessPerTest, waitFor } from './helpers/harness.js';

const start = harnessPerTest();

interface RawExchange {
  /** Everything the server sent until it closed (or the test stopped reading). */
  text: string;
  /** The server closed the connection. */
  closed: boolean;
  /** Writing failed (EPIPE/ECONNRESET): the server cut the upload. */
  writeError?: string;
}

function openSocket(base: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects what the server sends on `socket` until it closes or `timeoutMs` passes. */
function collect(socket: Socket, timeoutMs: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const out: RawExchange = { text: '', closed: false };
    socket.on('data', (d: Buffer) => (out.text += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (out.writeError ??= err.code ?? err.message));
    const timer = setTimeout(() => resolve(out), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      out.closed = true;
      resolve(out);
    });
  });
}

const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4).trim());
const statusOf = (text: string): number => Number(text.split(' ')[1]);

async function metric(base: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('request bodies', () => {
  it('cuts a body that has not arrived within BODY_TIMEOUT_MS, with the error shape, and counts it', async () => {
    const h = await start({ env: { BODY_TIMEOUT_MS: '1000' } });
    const socket = await openSocket(h.base);
    const started = Date.now();
    const done = collect(socket, 8_000);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"mo`);
    const trickle = setInterval(() => socket.writable && socket.write('d'), 200);
    const res = await done;
    clearInterval(trickle);
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(statusOf(res.text)).toBe(408);
    expect(bodyOf(res.text)).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error', message: 'The request did not arrive within 1000 ms (BODY_TIMEOUT_MS).' } });
    expect(await metric(h.base, 'kimi_proxy_requests_cut_total', 'reason="body_timeout"')).toBe(1);
  });

  it('refuses a body on a route that takes none at once, before any authentication', async () => {
    const h = await start({ env: { BODY_TIMEOUT_MS: '30000' } });
    const socket = await openSocket(h.base);
    const done = collect(socket, 5_000);
    socket.write('GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx');
    const res = await done;
    expect(res.closed).toBe(true);
    expect(statusOf(res.text)).toBe(400);
    expect(bodyOf(res.text)).toMatchObject({ error: { code: 'invalid_request', message: 'A GET request takes no body.' } });
    expect(await metric(h.base, 'kimi_proxy_requests_cut_total', 'reason="body_not_allowed"')).toBe(1);
  });

  it('answers an unmet Expect header with the error shape', async () => {
    const h = await start();
    const socket = await openSocket(h.base);
    const done = collect(socket, 5_000);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    const res = await done;
    expect(statusOf(res.text)).toBe(417);
    expect(bodyOf(res.text)).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error', message: 'Unsupported Expect header "bogus": only 100-continue is supported.' } });
  });

  it('a client that sends its whole oversized body before reading still gets the 413', async () => {
    const h = await start({ env: { MAX_BODY_BYTES: '65536' } });
    const socket = await openSocket(h.base);
    const done = collect(socket, 10_000);
    const size = 8 * 1024 * 1024;
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
    // Like Python's http.client: the whole body first, reading only afterwards.
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
    }
    const res = await done;
    expect(res.writeError).toBeUndefined();
    expect(statusOf(res.text)).toBe(413);
    expect(bodyOf(res.text)).toMatchObject({ error: { code: 'body_too_large' } });
  });
});

describe('a client that leaves while queued', () => {
  it('is logged at info with its reason, not as an unhandled error', async () => {
    const h = await start({ env: { KIMI_TOKENS: 'tok-one', ACCOUNT_MAX_CONCURRENT: '1' } });
    const headers = { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' };
    const slow = fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: '[[emu reply="slow" stall=2000]]' }] }),
    });
    await waitFor(() => h!.emulator.stats().streamsStarted >= 1, 5_000, 'the first stream');
    const leaving = new AbortController();
    const queued = fetch(`${h.base}/v1/chat/completions`, { method: 'POST', headers, signal: leaving.signal, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: 'hi' }] }) });
    await new Promise((r) => setTimeout(r, 300));
    leaving.abort();
    await expect(queued).rejects.toThrow();
    expect((await slow).status).toBe(200);
    await waitFor(() => h!.logs.some((l) => l.includes('client left')), 3_000, 'the client-left line');
    const lines = h.logs.map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });
    expect(lines.filter((l) => l.msg === 'unhandled error')).toEqual([]);
    const left = lines.find((l) => l.msg.includes('client left'))!;
    expect(left.level).toBeLessThanOrEqual(30);
    expect(left.reason).toMatch(/client disconnected/);
  });
});

describe('client routes', () => {
  it('every client route is served with and without /v1', async () => {
    const h = await start();
    const headers = { authorization: `Bearer ${h.apiKey}` };
    const created = await fetch(`${h.base}/v1/chat/completions/kept`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(created.status).toBe(200);
    for (const prefix of ['/v1', '']) {
      for (const [method, path] of [['GET', '/models'], ['GET', '/conversations'], ['GET', '/conversations/kept'], ['GET', '/accounts/check']] as const) {
        const res = await fetch(`${h.base}${prefix}${path}`, { method, headers });
        expect(res.status, `${method} ${prefix}${path}`).toBe(200);
      }
    }
    expect((await fetch(`${h.base}/conversations/kept`, { method: 'DELETE', headers })).status).toBe(200);
  });

  it('keeps implicit conversations out of the list unless asked for', async () => {
    const h = await start();
    const headers = { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' };
    const ask = (path: string): Promise<Response> =>
      fetch(`${h!.base}${path}`, { method: 'POST', headers, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: 'hi' }] }) });
    expect((await ask('/v1/chat/completions')).status).toBe(200);
    expect((await ask('/v1/chat/completions/named')).status).toBe(200);
    const list = async (query: string): Promise<Array<{ id: string; implicit: boolean }>> =>
      ((await (await fetch(`${h!.base}/v1/conversations${query}`, { headers })).json()) as { data: Array<{ id: string; implicit: boolean }> }).data;
    expect((await list('')).map((c) => c.id)).toEqual(['named']);
    const all = await list('?include_implicit=true');
    expect(all).toHaveLength(2);
    expect(all.filter((c) => c.implicit)).toHaveLength(1);
  });
});

describe('limits that agree', () => {
  it('a prompt the body limit admits is answered, although its echo is a frame over 4 MiB', { timeout: 60_000 }, async () => {
    const h = await start({ env: { MAX_BODY_BYTES: String(6 * 1024 * 1024), KIMI_PROTOCOL: 'connect' }, logLevel: 'warn' });
    const prompt = 'x'.repeat(5 * 1024 * 1024);
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: `${prompt} [[emu reply="ok"]]` }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('ok');
  });
});
