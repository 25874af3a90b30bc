/** Outbound HTTP proxy for upstream calls: global (KIMI_PROXY_URL / HTTPS_PROXY) and per account. */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig, ConfigError } from '../src/config/config.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { resolveGlobalProxy } from '../src/observability/outbound-proxy.js';
import { postJson, postStream, startHarness, streamText, TEST_KEY, type Harness } from './helpers/harness.js';

const user = (content: string) => ({ role: 'user', content });

interface ForwardProxy {
  url: string;
  /** `CONNECT host:port` tunnels opened. */
  tunnels: string[];
  /** Absolute-form requests (`GET http://host:port/path`). */
  forwarded: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  /** Proxy-Authorization of every tunnel or forwarded request. */
  auth: Array<string | undefined>;
  /** Everything the client sent through the tunnels (plain HTTP: the upstream is http://). */
  tunnelled(): string;
  close(): Promise<void>;
}

/** A small HTTP forward proxy on loopback: CONNECT tunnels and absolute-form requests, loopback targets only. */
async function startForwardProxy(): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const forwarded: ForwardProxy['forwarded'] = [];
  const auth: Array<string | undefined> = [];
  const sent: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    auth.push(req.headers['proxy-authorization']);
    const target = new URL(req.url ?? '');
    forwarded.push({ method: req.method ?? '', url: target.href, headers: req.headers });
    if (target.hostname !== '127.0.0.1') {
      res.writeHead(403).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    auth.push(req.headers['proxy-authorization']);
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) {
        sent.push(head);
        upstream.write(head);
      }
      client.on('data', (d: Buffer) => sent.push(d));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    forwarded,
    auth,
    tunnelled: () => Buffer.concat(sent).toString('latin1'),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Upstream traffic the proxy carried, whichever way undici sent it. */
const proxiedCount = (p: ForwardProxy): number => p.tunnels.length + p.forwarded.length;

describe('outbound proxy', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('sends every upstream call through KIMI_PROXY_URL (which wins over HTTPS_PROXY), with its credentials, never logged', async () => {
    const proxy = await startForwardProxy();
    cleanups.push(() => proxy.close());
    const withAuth = proxy.url.replace('http://', 'http://proxy-user:pr0xy-pa55@');
    const h: Harness = await startHarness({ env: { KIMI_PROXY_URL: withAuth, HTTPS_PROXY: 'http://127.0.0.1:1' } });
    cleanups.push(() => h.close());

    const r = await postJson(h, { model: 'k2', messages: [user('[[emu reply="through the proxy"]]')] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('through the proxy');
    const s = await postStream(h, { model: 'k2', messages: [user('[[emu deltas=5]]')] });
    expect(streamText(s.events)).toBe('w1 w2 w3 w4 w5');

    const emu = new URL(h.emulator.url);
    expect(proxiedCount(proxy)).toBeGreaterThan(0);
    for (const t of proxy.tunnels) expect(t).toBe(`${emu.hostname}:${emu.port}`);
    for (const f of proxy.forwarded) expect(f.url.startsWith(h.emulator.url)).toBe(true);
    expect(proxy.auth.length).toBeGreaterThan(0);
    for (const a of proxy.auth) expect(a).toBe(`Basic ${Buffer.from('proxy-user:pr0xy-pa55').toString('base64')}`);
    // Chats (and token refreshes) reached the emulator through it.
    const carried = proxy.tunnelled() + proxy.forwarded.map((f) => `${f.method} ${f.url}`).join('\n');
    expect(carried).toMatch(/\/api\/auth\/token\/refresh/);
    expect(carried).toMatch(/ChatService\/Chat/);

    const logs = h.logs.join('\n');
    expect(logs).toContain('upstream calls go through an outbound proxy');
    expect(logs).toContain(`http://***@127.0.0.1:${new URL(proxy.url).port}`);
    expect(logs).not.toContain('pr0xy-pa55');
    expect(logs).not.toContain('proxy-user');
    expect((await (await fetch(`${h.base}/metrics`)).text())).not.toContain('pr0xy-pa55');
  });

  it('does not use HTTPS_PROXY for a loopback upstream; honours NO_PROXY elsewhere', async () => {
    const proxy = await startForwardProxy();
    cleanups.push(() => proxy.close());
    const h = await startHarness({ env: { HTTPS_PROXY: proxy.url } });
    cleanups.push(() => h.close());
    expect((await postJson(h, { model: 'k2', messages: [user('direct')] })).status).toBe(200);
    expect(proxiedCount(proxy)).toBe(0);

    const p = 'http://proxy.internal:3128';
    expect(resolveGlobalProxy('https://www.kimi.com', { httpsProxy: p })).toBe(p);
    expect(resolveGlobalProxy('https://www.kimi.com', { httpsProxy: 'proxy.internal:3128' })).toBe(p);
    expect(resolveGlobalProxy('https://www.kimi.com', { httpsProxy: p, noProxy: 'localhost,.kimi.com' })).toBeUndefined();
    expect(resolveGlobalProxy('https://www.kimi.com', { httpsProxy: p, noProxy: 'kimi.com:8443' })).toBe(p);
    expect(resolveGlobalProxy('https://www.kimi.com', { httpsProxy: p, noProxy: '*' })).toBeUndefined();
    expect(resolveGlobalProxy('http://127.0.0.1:9000', { httpsProxy: p })).toBeUndefined();
    expect(resolveGlobalProxy('http://127.0.0.1:9000', { kimiProxyUrl: 'http://127.0.0.1:1', httpsProxy: p })).toBe('http://127.0.0.1:1');
    expect(resolveGlobalProxy('https://www.kimi.com', {})).toBeUndefined();
  });

  it('rejects a malformed proxy URL at start without echoing it', () => {
    let err: unknown;
    try {
      loadConfig({ KIMI_PROXY_URL: 'ftp://user:topsecret@host' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('KIMI_PROXY_URL');
    expect((err as Error).message).not.toContain('topsecret');
  });

  it('routes an account with its own proxyUrl through that proxy, and the others directly', async () => {
    const proxy = await startForwardProxy();
    cleanups.push(() => proxy.close());
    const emulator: Emulator = await startEmulator();
    cleanups.push(() => emulator.close());
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(chunk.toString('utf8'));
        cb();
      },
    });
    const config = loadConfig(
      {
        HOST: '127.0.0.1',
        PORT: '0',
        KIMI_BASE_URL: emulator.url,
        API_KEYS: TEST_KEY,
        STORE_URL: 'memory:',
        CONVERSATION_REUSE: 'off',
      },
      {
        env: {},
        accounts: [
          { name: 'via-proxy', token: 'tok-proxied', proxyUrl: proxy.url, minIntervalMs: 0, maxConcurrent: 4 },
          { name: 'direct', token: 'tok-direct', minIntervalMs: 0, maxConcurrent: 4 },
        ],
      },
    );
    const app = await buildApp({ config, logger: pino({ level: 'debug' }, sink) });
    cleanups.push(() => app.close());
    await app.fastify.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.fastify.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const h = { base, apiKey: TEST_KEY } as Harness;

    for (let i = 0; i < 6; i++) {
      const r = await postJson(h, { model: 'k2', messages: [user(`[[emu reply="answer ${i}"]]`)] });
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe(`answer ${i}`);
    }
    const byAccount = emulator.stats().requestsByAccount;
    expect(byAccount['tok-proxied']).toBeGreaterThan(0);
    expect(byAccount['tok-direct']).toBeGreaterThan(0);

    const [viaProxy, direct] = app.services.pool.list();
    expect(viaProxy!.name).toBe('via-proxy');
    const carried = (proxy.tunnelled() + JSON.stringify(proxy.forwarded.map((f) => f.headers))).toLowerCase();
    expect(carried).toContain(viaProxy!.deviceId);
    expect(carried).not.toContain(direct!.deviceId);
    expect(carried).toMatch(/\/api\/auth\/token\/refresh/);
    expect(logs.join('')).toContain('"via-proxy":"http://127.0.0.1:');
  });
});
