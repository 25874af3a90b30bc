import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KimiHttp } from './http.js';
import type { AccountCredentials } from './types.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
const routes = new Map<string, Route>();
/** Requests whose response the client closed before it was finished. */
const closedEarly: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    res.once('close', () => {
      if (!res.writableFinished) closedEarly.push(path);
    });
    const route = routes.get(path.replace(/^\/prefix/, ''));
    if (route) route(req, res);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const creds: AccountCredentials = { accountId: 'a1', accessToken: 'eyJ.secret.token', deviceId: '7300000000000000001', sessionId: '1730000000000000001' };
const timeouts = { connectMs: 2_000, firstByteMs: 2_000, idleMs: 2_000, totalMs: 5_000 };

function http(overrides: Partial<typeof timeouts> = {}, prefix = ''): KimiHttp {
  return new KimiHttp({ baseUrl: base + prefix, timeouts: { ...timeouts, ...overrides } });
}

/** Piece `i` of `stream(…)`: `size` bytes of `i` (mod 256), so that order can be checked. */
function piece(i: number, size: number): Buffer {
  return Buffer.alloc(size, i & 0xff);
}

/** Writes `chunks` pieces of `size` bytes, waiting for drain, then ends. */
function stream(chunks: number, size: number): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const more = (): void => {
      while (i < chunks) {
        if (!res.write(piece(i++, size))) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  };
}

/** An event stream that never ends: one record every `everyMs`. */
function drip(everyMs: number): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write('data: x\n\n'), everyMs);
    res.once('close', () => clearInterval(timer));
  };
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.byteLength;
  return n;
}

describe('KimiHttp', () => {
  it('sends the identity headers with the call’s own headers on top, under the base URL’s path', async () => {
    let seen: IncomingMessage | undefined;
    routes.set('/api/echo', (req, res) => {
      seen = req;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const client = http({}, '/prefix');
    const res = await client.send(
      { method: 'POST', path: '/api/echo', body: '{}', contentType: 'application/json', extraHeaders: { referer: `${client.baseUrl}/chat/c1`, accept: 'text/event-stream' }, protocol: 'connect' },
      { credentials: creds, signal: new AbortController().signal },
    );
    expect(await drain(res.body)).toBe('{"ok":true}'.length);
    expect(seen?.url).toBe('/prefix/api/echo');
    expect(seen?.headers.authorization).toBe('Bearer eyJ.secret.token');
    expect(seen?.headers.cookie).toBe('kimi-auth=eyJ.secret.token');
    expect(seen?.headers['x-msh-device-id']).toBe(creds.deviceId);
    expect(seen?.headers['connect-protocol-version']).toBe('1');
    // Overridden, not sent twice.
    expect(seen?.headers.referer).toBe(`${client.baseUrl}/chat/c1`);
    expect(seen?.headers.accept).toBe('text/event-stream');
    expect(seen?.headers['content-type']).toBe('application/json');
    await client.close();
  });

  it('delivers every byte of a long body, also to a reader slower than the upstream', async () => {
    routes.set('/big', stream(256, 4096));
    const client = http();
    const res = await client.send({ method: 'GET', path: '/big', protocol: 'rest' }, { credentials: creds, signal: new AbortController().signal });
    const received: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of res.body) {
      received.push(chunk);
      n += chunk.byteLength;
      // A slow reader: the socket is paused meanwhile, nothing is lost or reordered.
      if (n % 65_536 < chunk.byteLength) await new Promise((r) => setTimeout(r, 5));
    }
    const sent = Buffer.concat(Array.from({ length: 256 }, (_, i) => piece(i, 4096)));
    expect(Buffer.concat(received).equals(sent)).toBe(true);
    await client.close();
  });

  it('cancels the upstream request when the reader stops early', async () => {
    routes.set('/endless', drip(5));
    const client = http();
    const res = await client.send({ method: 'GET', path: '/endless', protocol: 'rest' }, { credentials: creds, signal: new AbortController().signal });
    for await (const _ of res.body) break;
    await expect.poll(() => closedEarly.includes('/endless'), { timeout: 2_000 }).toBe(true);
    await client.close();
  });

  it('ends a stream with the caller’s abort reason, and leaves no listener on the caller’s signal', async () => {
    routes.set('/slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    });
    const client = http();
    const controller = new AbortController();
    const ctx = { credentials: creds, signal: controller.signal };
    // Calls that end normally detach from the signal.
    routes.set('/small', (_req, res) => res.writeHead(200).end('{}'));
    for (let i = 0; i < 20; i++) await client.json({ method: 'GET', path: '/small', protocol: 'rest' }, ctx);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const res = await client.send({ method: 'GET', path: '/slow', protocol: 'rest' }, ctx);
    const reader = res.body[Symbol.asyncIterator]();
    expect((await reader.next()).done).toBe(false);
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(reader.next()).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // An already aborted signal stops the call before it is sent.
    await expect(client.send({ method: 'GET', path: '/small', protocol: 'rest' }, ctx)).rejects.toBe(reason);
    await client.close();
  });

  it('maps the total time limit and the idle timeout to typed timeouts', async () => {
    routes.set('/drip', drip(20));
    routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: x\n\n');
    });
    const ctx = { credentials: creds, signal: new AbortController().signal };
    const total = http({ totalMs: 150 });
    const dripping = await total.send({ method: 'GET', path: '/drip', protocol: 'rest' }, ctx);
    await expect(drain(dripping.body)).rejects.toMatchObject({ code: 'upstream_timeout', upstreamCode: 'total_timeout' });
    await total.close();

    const idle = http({ idleMs: 150 });
    const stalled = await idle.send({ method: 'GET', path: '/stall', protocol: 'rest' }, ctx);
    await expect(drain(stalled.body)).rejects.toMatchObject({ code: 'upstream_timeout', upstreamCode: 'idle_timeout' });
    await idle.close();
  });

  it('throws a typed error with the upstream’s message for a non-2xx answer', async () => {
    routes.set('/limited', (_req, res) => res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"error_type":"rate_limited","message":"slow down"}'));
    const client = http();
    await expect(client.json({ method: 'GET', path: '/limited', protocol: 'rest' }, { credentials: creds, signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'upstream_rate_limited',
      retryAfterMs: 7_000,
    });
    await client.close();
  });
});
