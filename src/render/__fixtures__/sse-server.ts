/** Test helpers for SseWriter: a loopback HTTP server per test, a client request, and small waits. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseWriter, type SseWriterOptions } from '../sse-writer.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const servers: http.Server[] = [];
/** What handlers threw (a failed `expect` included): the test fails with it, not with a dropped connection. */
const handlerErrors: unknown[] = [];

/** Closes the servers a test started; throws what their handlers threw. Call it from afterEach. */
export async function closeServers(): Promise<void> {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  const thrown = handlerErrors.splice(0);
  if (thrown.length > 0) throw thrown[0];
}

export async function serve(handler: Handler): Promise<number> {
  const server = http.createServer((req, res) => {
    void Promise.resolve(handler(req, res)).catch((err: unknown) => {
      handlerErrors.push(err);
      res.destroy();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export function request(port: number): { req: http.ClientRequest; response: Promise<IncomingMessage> } {
  const req = http.get({ host: '127.0.0.1', port, path: '/' });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  // Servers are closed after each test; a request still in flight then fails with "socket
  // hang up". Tests that await the response still see the rejection; nobody else must.
  response.catch(() => undefined);
  return { req, response };
}

export function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve(body));
    res.on('error', reject);
  });
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until it returns the same value twice `interval` ms apart. */
export async function settled(read: () => number, interval = 150, timeout = 8_000): Promise<number> {
  const deadline = Date.now() + timeout;
  let last = read();
  for (;;) {
    await sleep(interval);
    const now = read();
    if (now === last && now > 0) return now;
    if (Date.now() > deadline) throw new Error(`value kept changing: ${now}`);
    last = now;
  }
}

export function writerFor(res: ServerResponse, opts: Partial<SseWriterOptions> = {}): SseWriter {
  return new SseWriter(res, { keepAliveMs: 0, ...opts });
}
