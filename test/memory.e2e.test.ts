/** 10,000 mixed requests (valid, malformed, refused) through one proxy: memory stays bounded. */
import { describe, expect, it } from 'vitest';
import { REQUEST_TIMEOUT_MS, type FuzzRequest } from './helpers/fuzz-answers.js';
import { startHarness } from './helpers/harness.js';
import { MB, sampleMemory } from './helpers/memory.js';


describe('memory across 10,000 requests', () => {
  // Alone in its file (its own process): no other test's garbage or heap fragments in the figures.
  it('stays bounded: heap and off-heap growth after GC each under 8 MB (800 B per request)', async () => {
    const h = await startHarness({
      env: { KIMI_PROTOCOL: 'connect', CONVERSATION_REUSE: 'off', ACCOUNT_MAX_CONCURRENT: '32', REQUEST_LOG_MAX_ENTRIES: '1000' },
      logLevel: 'silent',
    });
    const auth = { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' };
    const kinds: Array<(i: number) => FuzzRequest> = [
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: `[[emu reply="ok ${i}"]]` }] }) }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `[[emu deltas=5]] ${i}` }] }) }),
      () => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: '{"model":"k2","messages":[' }),
      () => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: '{"model":"k2"}' }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: `missing-${i}`, messages: [{ role: 'user', content: 'x' }] }) }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', messages: [{ role: `role-${i}`, content: 'x' }] }) }),
      () => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', n: 3, messages: [{ role: 'user', content: 'x' }] }) }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: { ...auth, authorization: `Bearer wrong-${i}` }, body: '{}' }),
      (i) => ({ method: 'POST', path: `/v1/chat/completions/bad%ZZ${i}`, headers: auth, body: '{}' }),
      (i) => ({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `u${i}` } }] }] }) }),
      (i) => ({ method: 'GET', path: `/v1/models/none-${i}`, headers: auth }),
    ];
    // Valid requests (kinds 0 and 1) are about a third of the mix.
    const pick = (i: number): FuzzRequest => kinds[i % 3 === 0 ? (i % 2) : 2 + ((i * 7) % (kinds.length - 2))]!(i);
    // No per-request AbortSignal here: its timer would stay in this process's heap (the one being
    // measured) for its whole timeout. A watchdog fails the run when a request hangs instead.
    const fire = async (from: number, count: number): Promise<void> => {
      let next = from;
      const inflight = new Map<number, number>();
      const worker = async (): Promise<void> => {
        while (next < from + count) {
          const i = next++;
          const req = pick(i);
          inflight.set(i, Date.now());
          const res = await fetch(h.base + req.path, { method: req.method, headers: req.headers, ...(req.body ? { body: req.body } : {}) });
          const body = await res.text();
          inflight.delete(i);
          if (res.status >= 500 || (i % 3 === 0 && res.status !== 200)) throw new Error(`request ${i} → ${res.status} ${body.slice(0, 200)}`);
        }
      };
      let watchdog: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        watchdog = setInterval(() => {
          for (const [i, at] of inflight) if (Date.now() - at > REQUEST_TIMEOUT_MS) reject(new Error(`request ${i} hung`));
        }, 500);
      });
      try {
        await Promise.race([Promise.all(Array.from({ length: 32 }, worker)), hang]);
      } finally {
        clearInterval(watchdog);
      }
    };
    const settle = async (): Promise<ReturnType<typeof sampleMemory>> => {
      await h.app.services.janitor.idle();
      await new Promise((r) => setTimeout(r, 200));
      // The request log is kept by design (REQUEST_LOG_MAX_ENTRIES, pruned every minute): prune it now.
      await h.app.services.store.pruneRequestLog({ maxEntries: 1_000, olderThan: 0 });
      return sampleMemory();
    };
    try {
      await fire(0, 1_500); // warm-up: JIT, connection pools, caches
      const before = await settle();
      const started = Date.now();
      await fire(1_500, 10_000);
      const elapsed = Date.now() - started;
      const after = await settle();
      const growth = after.heapUsed - before.heapUsed;
      const offHeapGrowth = after.external - before.external;
      console.log(
        `10,000 requests in ${(elapsed / 1000).toFixed(1)} s; heap ${(before.heapUsed / MB).toFixed(1)} → ${(after.heapUsed / MB).toFixed(1)} MB (${(growth / MB).toFixed(2)} MB), ` +
          `off-heap ${(before.external / MB).toFixed(1)} → ${(after.external / MB).toFixed(1)} MB, ` +
          `heap reserved ${(before.heapTotal / MB).toFixed(1)} → ${(after.heapTotal / MB).toFixed(1)} MB, rss ${(before.rss / MB).toFixed(1)} → ${(after.rss / MB).toFixed(1)} MB; emulator live chats ${h.emulator.stats().liveChats}`,
      );
      // A leak of 10 KB per request would be about 100 MB after 10,000 requests: on the heap or
      // off it (Buffers, ArrayBuffers), it breaks one of these bounds. What legitimately remains:
      // JIT code, and per-call timers that expire within 15 s.
      expect(growth).toBeLessThan(8 * MB);
      expect(offHeapGrowth).toBeLessThan(8 * MB);
      // RSS is not bounded here: it is the allocators' high-water mark (V8's page pool, malloc
      // arenas of helper threads), not live data, and moves by hundreds of MB from run to run
      // with a flat heap. It is logged above.
      expect(h.emulator.stats().liveChats).toBe(0);
    } finally {
      await h.close();
    }
  }, 180_000);
});
