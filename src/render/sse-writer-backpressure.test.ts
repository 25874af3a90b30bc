/** SseWriter under a slow reader: backpressure, drain, and the Node 26 case where no drain comes. */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, deferred, request, serve, settled, sleep, writerFor } from './__fixtures__/sse-server.js';

afterEach(closeServers);

describe('SseWriter backpressure', () => {
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

});
