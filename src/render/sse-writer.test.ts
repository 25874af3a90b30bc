import http, { IncomingMessage, ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SseWriter, type SseWriterOptions } from './sse-writer.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const servers: http.Server[] = [];
/** What handlers threw (a failed `expect` included): the test fails with it, not with a dropped connection. */
const handlerErrors: unknown[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  const thrown = handlerErrors.splice(0);
  if (thrown.length > 0) throw thrown[0];
});

async function serve(handler: Handler): Promise<number> {
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

function request(port: number): { req: http.ClientRequest; response: Promise<IncomingMessage> } {
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

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve(body));
    res.on('error', reject);
  });
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until it returns the same value twice `interval` ms apart. */
async function settled(read: () => number, interval = 150, timeout = 8_000): Promise<number> {
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

function writerFor(res: ServerResponse, opts: Partial<SseWriterOptions> = {}): SseWriter {
  return new SseWriter(res, { keepAliveMs: 0, ...opts });
}

describe('SseWriter', () => {
  it('sends the SSE headers before the first frame', async () => {
    const headersSeen = deferred();
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res, { headers: { 'x-request-id': 'req_abc' } });
      writer.open();
      // If open() did not flush the headers, the client would never see them and this would hang.
      await headersSeen.promise;
      await writer.write('data: 1\n\n');
      writer.end();
    });
    const { response } = request(port);
    const res = await response;
    headersSeen.resolve();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['connection']).toBe('keep-alive');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.headers['x-request-id']).toBe('req_abc');
    expect(await readAll(res)).toBe('data: 1\n\n');
  });

  it('writes keep-alive comments during a silence, and none while frames flow', async () => {
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res, { keepAliveMs: 40 });
      writer.open();
      await sleep(230); // silence: expect pings
      for (let i = 0; i < 10; i++) {
        await writer.write(`data: ${i}\n\n`);
        await sleep(15); // busy: no pings
      }
      writer.end();
    });
    const { response } = request(port);
    const body = await readAll(await response);
    const [silence = '', busy = ''] = body.split('data: 0\n\n');
    expect(silence.length).toBeGreaterThan(0);
    expect(silence).toMatch(/^(: ping\n\n)+$/);
    const pings = silence.split(': ping\n\n').length - 1;
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(pings).toBeLessThanOrEqual(6);
    expect(busy).not.toContain('ping');
  });

  it('stops the keep-alive timer on end', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    try {
      // A response with no socket: what it writes stays in its buffer.
      const res = new ServerResponse(new IncomingMessage(new Socket()));
      const writer = writerFor(res, { keepAliveMs: 20 });
      writer.open();
      expect(vi.getTimerCount()).toBe(1); // the keep-alive timer
      writer.end();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops the keep-alive timer when the client goes away', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    try {
      const res = new ServerResponse(new IncomingMessage(new Socket()));
      const writer = writerFor(res, { keepAliveMs: 20 });
      writer.open();
      expect(vi.getTimerCount()).toBe(1);
      res.destroy();
      res.emit('close');
      expect(writer.closed).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('coalesces frames written in the same tick into one socket write', async () => {
    const calls: number[] = [];
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res);
      writer.open();
      const original = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        calls.push(chunk.length);
        return original(chunk);
      }) as typeof res.write;
      const writes: Array<Promise<boolean>> = [];
      for (let i = 0; i < 100; i++) writes.push(writer.write(`data: ${i}\n\n`));
      expect(calls).toHaveLength(0); // nothing written synchronously
      expect(await Promise.all(writes)).toEqual(Array(100).fill(true));
      expect(calls).toHaveLength(1);
      writer.end();
    });
    const { response } = request(port);
    const body = await readAll(await response);
    expect(body.split('\n\n').filter(Boolean)).toHaveLength(100);
    expect(calls).toHaveLength(1);
  });

  it('flushes a large tick early so that the join stays bounded', async () => {
    const sizes: number[] = [];
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res);
      writer.open();
      const original = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        sizes.push(chunk.length);
        return original(chunk);
      }) as typeof res.write;
      const frame = `data: ${'k'.repeat(1_000)}\n\n`;
      for (let i = 0; i < 200; i++) void writer.write(frame);
      await sleep(0);
      writer.end();
    });
    const { response } = request(port);
    const body = await readAll(await response);
    expect(body.length).toBe(200 * 1_008);
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sizes)).toBeLessThan(80 * 1024);
  });

  it('knows a client that left before the writer was created', async () => {
    const piped = deferred<string>();
    const port = await serve(async (req, res) => {
      await new Promise((resolve) => res.once('close', resolve));
      const writer = writerFor(res);
      expect(writer.closed).toBe(true);
      async function* frames(): AsyncGenerator<string> {
        for (;;) yield 'data: x\n\n';
      }
      piped.resolve(await writer.pipe(frames()));
      writer.end();
      void req;
    });
    const { req } = request(port);
    req.on('error', () => {});
    await sleep(50);
    req.destroy();
    expect(await piped.promise).toBe('client_closed');
  });

  it('pipe() delivers every frame in order and returns completed', async () => {
    let result: string | undefined;
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res);
      async function* frames(): AsyncGenerator<string> {
        for (let i = 0; i < 1_000; i++) {
          if (i % 100 === 0) await sleep(1);
          yield `data: ${i}\n\n`;
        }
      }
      result = await writer.pipe(frames());
      writer.end();
    });
    const { response } = request(port);
    const body = await readAll(await response);
    expect(body).toBe(Array.from({ length: 1_000 }, (_, i) => `data: ${i}\n\n`).join(''));
    expect(result).toBe('completed');
  });

  it('applies backpressure to a slow reader and keeps memory bounded', async () => {
    const total = 40_000;
    const frame = `data: ${'x'.repeat(1_000)}\n\n`;
    let produced = 0;
    let maxBuffered = 0;
    let response!: ServerResponse;
    const piped = deferred<string>();
    const port = await serve(async (_req, res) => {
      response = res;
      const writer = writerFor(res);
      async function* frames(): AsyncGenerator<string> {
        for (let i = 0; i < total; i++) {
          produced++;
          maxBuffered = Math.max(maxBuffered, res.writableLength);
          yield frame;
        }
      }
      const result = await writer.pipe(frames());
      writer.end();
      piped.resolve(result);
    });
    const { response: pending } = request(port);
    const res = await pending;
    res.pause();

    const stalledAt = await settled(() => produced);
    expect(stalledAt).toBeLessThan(total); // the producer waits instead of racing ahead
    expect(response.writableLength).toBeLessThan(512 * 1024);
    expect(maxBuffered).toBeLessThan(512 * 1024);

    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    const ended = new Promise((resolve) => res.on('end', resolve));
    res.resume();
    await ended;
    expect(received).toBe(total * frame.length);
    expect(await piped.promise).toBe('completed');
    expect(maxBuffered).toBeLessThan(512 * 1024);
  });

  it('write() waits for drain while the socket buffer is full', async () => {
    const observed = deferred<{ pendingWhileFull: boolean; resolvedAfterResume: boolean }>();
    const resumeNow = deferred();
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res);
      writer.open();
      const big = `data: ${'y'.repeat(64 * 1024)}\n\n`;
      let write: Promise<boolean> = Promise.resolve(true);
      let blocked = false;
      for (let i = 0; i < 2_000 && !blocked; i++) {
        write = writer.write(big);
        blocked = await Promise.race([write.then(() => false), sleep(50).then(() => true)]);
      }
      resumeNow.resolve();
      const resolvedAfterResume = await write;
      observed.resolve({ pendingWhileFull: blocked, resolvedAfterResume });
      writer.end();
    });
    const { response } = request(port);
    const res = await response;
    res.pause();
    await resumeNow.promise;
    res.resume();
    res.on('data', () => {});
    expect(await observed.promise).toEqual({ pendingWhileFull: true, resolvedAfterResume: true });
  });

  it('goes on when a refused write reached a socket with room and no drain will come (Node 26)', async () => {
    // What Node 26 does when a tick's writes pass the high-water mark in the response's chunk
    // buffer, and its uncork hands them to a socket that stays below its own mark: write()
    // returned false, yet neither the socket nor the response ever emits 'drain'.
    const socket = Object.assign(new EventEmitter(), { destroyed: false, writableNeedDrain: false });
    const written: string[] = [];
    const res = Object.assign(new EventEmitter(), {
      socket,
      headersSent: false,
      writableEnded: false,
      writableFinished: false,
      destroyed: false,
      writableLength: 0,
      writableHighWaterMark: 64 * 1024,
      writeHead(): void {
        res.headersSent = true;
      },
      flushHeaders(): void {},
      write(chunk: string): boolean {
        written.push(chunk);
        return chunk.length < res.writableHighWaterMark;
      },
    });
    const writer = writerFor(res as unknown as ServerResponse);
    const big = `data: ${'z'.repeat(70 * 1024)}\n\n`;
    const frames = (async function* () {
      for (let i = 0; i < 3; i++) yield big;
    })();
    const outcome = await Promise.race([writer.pipe(frames), sleep(2_000).then(() => 'stuck')]);
    expect(outcome).toBe('completed');
    expect(written.join('')).toBe(big.repeat(3));

    // A socket that is itself full still waits for its 'drain'.
    socket.writableNeedDrain = true;
    let resolved = false;
    const waiting = writer.write(big).then((ok) => (resolved = ok));
    await sleep(50);
    expect(resolved).toBe(false);
    socket.writableNeedDrain = false;
    res.emit('drain');
    await waiting;
    expect(resolved).toBe(true);
  });

  it('client disconnect makes pipe() return client_closed and runs the source cleanup', async () => {
    let produced = 0;
    let finalized = false;
    let writer!: SseWriter;
    const piped = deferred<string>();
    const port = await serve(async (_req, res) => {
      writer = writerFor(res);
      async function* frames(): AsyncGenerator<string> {
        try {
          for (;;) {
            produced++;
            yield `data: ${'z'.repeat(500)}\n\n`;
          }
        } finally {
          finalized = true;
        }
      }
      piped.resolve(await writer.pipe(frames()));
      writer.end();
    });
    const { req, response } = request(port);
    const res = await response;
    res.pause();
    await settled(() => produced);
    req.destroy();
    expect(await piped.promise).toBe('client_closed');
    expect(finalized).toBe(true);
    expect(writer.closed).toBe(true);
    expect(writer.signal.aborted).toBe(true);
    expect(await writer.write('data: late\n\n')).toBe(false);
  });

  it('pipe() returns at once when the client leaves while the source is silent', async () => {
    let finalized = false;
    let writer!: SseWriter;
    const piped = deferred<string>();
    const port = await serve(async (_req, res) => {
      writer = writerFor(res);
      const signal = writer.signal;
      async function* frames(): AsyncGenerator<string> {
        try {
          yield 'data: first\n\n';
          // A silent upstream that only stops when the request is aborted.
          await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          yield 'data: never\n\n';
        } finally {
          finalized = true;
        }
      }
      piped.resolve(await writer.pipe(frames()));
    });
    const { req, response } = request(port);
    const res = await response;
    await new Promise((resolve) => res.once('data', resolve));
    req.destroy();
    expect(await piped.promise).toBe('client_closed');
    await vi.waitFor(() => expect(finalized).toBe(true));
  });

  it('pipe() stops when its signal aborts and does not wait for a stuck source', async () => {
    const controller = new AbortController();
    let result: string | undefined;
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res);
      async function* frames(): AsyncGenerator<string> {
        yield 'data: a\n\n';
        await new Promise(() => {}); // never settles
      }
      setTimeout(() => controller.abort(), 50);
      result = await writer.pipe(frames(), controller.signal);
      writer.end();
    });
    const { response } = request(port);
    expect(await readAll(await response)).toBe('data: a\n\n');
    expect(result).toBe('client_closed');
  });

  it('propagates an error thrown by the frame source', async () => {
    const failure = deferred<unknown>();
    const port = await serve(async (_req, res) => {
      const writer = writerFor(res);
      async function* frames(): AsyncGenerator<string> {
        yield 'data: a\n\n';
        throw new Error('boom');
      }
      await writer.pipe(frames()).catch((err: unknown) => failure.resolve(err));
      writer.end();
    });
    const { response } = request(port);
    expect(await readAll(await response)).toBe('data: a\n\n');
    expect(await failure.promise).toMatchObject({ message: 'boom' });
  });
});
