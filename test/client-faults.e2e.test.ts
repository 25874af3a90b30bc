/**
 * Faults on the client's side of a stream: a client that disconnects (the upstream is
 * cancelled and the account released at once) and a client that reads slowly (backpressure
 * keeps memory bounded). The upstream faults are in faults.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessJwt, call } from './helpers/fault-calls.js';
import { startHarness, waitFor, type Harness } from './helpers/harness.js';
import { startLazyUpstream } from './helpers/lazy-upstream.js';
import { MB, sampleMemory } from './helpers/memory.js';
import { ResponseParser, SseSplitter, openSocket } from './helpers/raw-http.js';
import { emuReply } from './helpers/texts.js';

describe.each(['rest', 'connect'] as const)('client disconnect over %s', (protocol) => {
  let h: Harness;
  beforeAll(async () => {
    // An access token needs no refresh first, so the one slot is free from the start.
    h = await startHarness({ env: { KIMI_PROTOCOL: protocol, KIMI_TOKENS: accessJwt(), ACCOUNT_MAX_CONCURRENT: '1', QUEUE_WAIT_MS: '0' } });
  });
  afterAll(async () => h.close());

  it('cancels the upstream within 1 s and releases the account lease at once', async () => {
    const ac = new AbortController();
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}` },
      body: JSON.stringify({ model: 'k2', stream: true, messages: [{ role: 'user', content: '[[emu deltas=300 delay=50]]' }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    // The only slot is taken: with no queueing allowed, a second request is refused now.
    const busy = await call(h, 'second', false);
    expect(busy.status).toBe(429);
    expect(busy.json.error.code).toBe('rate_limited');

    const cancelledBefore = h.emulator.stats().streamsCancelled;
    ac.abort();
    await waitFor(() => h.emulator.stats().streamsCancelled > cancelledBefore, 1_000, 'upstream cancellation');
    await waitFor(() => h.app.services.pool.status()[0]!.inFlight === 0, 1_000, 'lease release');
    const next = await call(h, emuReply('slot is free'), false);
    expect(next.status).toBe(200);
    expect(next.json.choices[0].message.content).toBe('slot is free');
    expect(h.emulator.stats().openStreams).toBe(0);
  });
});

describe('slow client (backpressure)', () => {
  it('holds memory bounded while a client reads a 30 MB stream slowly, then delivers it intact', async () => {
    // What the first request of a process builds once (compiled code, the tokenizer's tables:
    // several MB) is not what this test measures: serve one request first.
    const warm = await startHarness();
    expect((await call(warm, emuReply('warm'), true)).status).toBe(200);
    await warm.close();
    const DELTAS = 8_000;
    // ~4 KB per delta; every 10th carries multi-byte characters.
    const delta = (i: number): string => `<${i}>` + (i % 10 === 9 ? 'backpressure 世界 ✓ '.repeat(200) : 'slow readers must not grow memory '.repeat(120));
    const upstream = await startLazyUpstream({ deltas: DELTAS, delta });
    const h = await startHarness({ env: { KIMI_PROTOCOL: 'rest', KIMI_BASE_URL: upstream.url, KIMI_TOKENS: accessJwt() } });
    const socket = await openSocket(h.base, { highWaterMark: 1024 });
    try {
      // What the client must receive: the answer plus ~150 bytes of chunk JSON per delta.
      const streamBytes = Array.from({ length: DELTAS }, (_, i) => Buffer.byteLength(delta(i)) + 150).reduce((a, b) => a + b, 0);
      expect(streamBytes).toBeGreaterThan(30 * MB);

      // The text is checked as it arrives, without keeping it: (index, offset) walks the deltas.
      let index = 0;
      let offset = 0;
      let mismatch: string | undefined;
      let finish: string | undefined;
      let done = false;
      let bodyBytes = 0;
      const sse = new SseSplitter((data) => {
        if (data === '[DONE]') {
          done = true;
          return;
        }
        const chunk = JSON.parse(data);
        if (chunk.error) mismatch ??= `error chunk ${JSON.stringify(chunk.error)}`;
        const text: string = chunk.choices?.[0]?.delta?.content ?? '';
        finish = chunk.choices?.[0]?.finish_reason ?? finish;
        let pos = 0;
        while (pos < text.length && mismatch === undefined) {
          const want = delta(index);
          const n = Math.min(want.length - offset, text.length - pos);
          if (text.slice(pos, pos + n) !== want.slice(offset, offset + n)) mismatch = `text differs in delta ${index}`;
          pos += n;
          offset += n;
          if (offset === want.length) {
            index += 1;
            offset = 0;
          }
        }
      });
      const parser = new ResponseParser((bytes) => {
        bodyBytes += bytes.length;
        sse.push(bytes);
      });

      const before = sampleMemory();
      // A paused socket: the kernel's receive buffer is all the window the proxy gets.
      socket.pause();
      const body = JSON.stringify({ model: 'k2', stream: true, messages: [{ role: 'user', content: 'a long answer, please' }] });
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );

      // Read 4 KiB every 25 ms (~160 KB/s) for 2 s, sampling memory while the proxy waits on us.
      const heap: number[] = [];
      let peakRss = 0;
      for (let tick = 1; tick <= 80; tick++) {
        await new Promise((r) => setTimeout(r, 25));
        const piece = socket.read(4096) as Buffer | null;
        if (piece) parser.push(piece);
        if (tick % 20 === 0) {
          const m = sampleMemory();
          heap.push(m.heapUsed - before.heapUsed);
          peakRss = Math.max(peakRss, m.rss - before.rss);
        }
      }
      expect(parser.head?.status).toBe(200);
      const generatedWhileSlow = upstream.generated();
      // Backpressure reached the upstream: it could not produce the answer while we were slow.
      expect(generatedWhileSlow).toBeLessThan(DELTAS / 2);
      // The proxy holds a small fraction of the stream, and nothing more while the client stalls.
      // (Before backpressure holds, loopback socket buffers let ~2,000 deltas, ~8 MB, be
      // produced; the peak heap lands near that, depending on the machine's buffer sizes.)
      const peakHeap = Math.max(...heap);
      expect(peakHeap).toBeLessThan(streamBytes / 3);
      expect(peakRss).toBeLessThan(streamBytes / 2);
      expect(heap.at(-1)! - heap[0]!).toBeLessThan(2 * MB);

      // Now read at full speed: the stream completes, intact.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('stream did not complete')), 30_000);
        const settle = (): void => {
          clearTimeout(timer);
          resolve();
        };
        socket.on('data', (d: Buffer) => {
          parser.push(d);
          if (parser.done) settle();
        });
        socket.on('close', settle);
        socket.resume();
      });
      expect(mismatch).toBeUndefined();
      expect(index).toBe(DELTAS);
      expect(finish).toBe('stop');
      expect(done).toBe(true);
      expect(bodyBytes).toBeGreaterThan(30 * MB);
      expect(upstream.streamsCompleted()).toBe(1);
      console.log(
        `slow client: ${(bodyBytes / MB).toFixed(1)} MB streamed; growth while slow: heap ${heap.map((b) => (b / MB).toFixed(1)).join(' → ')} MB, ` +
          `rss peak ${(peakRss / MB).toFixed(1)} MB; upstream deltas produced meanwhile: ${generatedWhileSlow}/${DELTAS}`,
      );
    } finally {
      socket.destroy();
      await h.close();
      await upstream.close();
    }
  }, 60_000);
});
