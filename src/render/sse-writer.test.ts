import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SseWriter } from './sse-writer.js';
import { closeServers, deferred, readAll, request, serve, settled, sleep, writerFor } from './__fixtures__/sse-server.js';

afterEach(closeServers);

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

