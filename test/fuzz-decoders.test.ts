/**
 * Malformed upstream streams thrown at the decoders (REST SSE and Connect), in random
 * splits: they only yield ChatEvents or throw ProxyError, and always finish.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../src/core/chat-event.js';
import { ProxyError } from '../src/core/errors.js';
import { decodeConnectChat } from '../src/upstream/kimi/connect/decode.js';
import { FLAG_END_STREAM, encodeEnvelope } from '../src/upstream/kimi/connect/envelope.js';
import { decodeRestSse } from '../src/upstream/kimi/rest-sse/decode.js';

const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------
// Decoders: malformed upstream streams.

const EVENT_TYPES = new Set(['meta', 'text-delta', 'text-replace', 'reasoning-delta', 'search', 'citation', 'citation-ref', 'heartbeat', 'finish']);

async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const p of points) {
    if (p > from) yield bytes.slice(from, p);
    from = Math.max(from, p);
  }
  if (from < bytes.length) yield bytes.slice(from);
}

/** Runs a decoder to its end; fails on a foreign error type, a malformed event or a hang. */
async function decodeAll(events: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error?: ProxyError }> {
  const out: ChatEvent[] = [];
  const run = (async () => {
    try {
      for await (const ev of events) {
        expect(EVENT_TYPES.has(ev.type), JSON.stringify(ev)).toBe(true);
        out.push(ev);
      }
      return { events: out };
    } catch (err) {
      if (!(err instanceof ProxyError)) throw new Error(`decoder threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
      expect(err.code.startsWith('upstream_')).toBe(true);
      return { events: out, error: err };
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('decoder hung')), 2_000);
  });
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Nothing follows `finish`; a clean end always finished. */
function checkOrder(r: { events: ChatEvent[]; error?: ProxyError }): void {
  const finishAt = r.events.findIndex((e) => e.type === 'finish');
  if (finishAt >= 0) expect(finishAt).toBe(r.events.length - 1);
  if (!r.error) expect(finishAt).toBe(r.events.length - 1);
}

const cuts = fc.array(fc.nat(), { maxLength: 40 });
const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const anyValue = fc.oneof(text, fc.jsonValue({ maxDepth: 3 }), fc.constant(null));

const restEvent = fc.oneof(
  fc.record({ event: fc.constantFrom('cmpl', 'k1'), text: fc.oneof(text, anyValue) }),
  fc.record(
    {
      event: fc.oneof(fc.constantFrom('req', 'resp', 'search_plus', 'ref_docs', 'length', 'all_done', 'error', 'status', 'chat_prompt', 'unknown', '__proto__'), anyValue),
      id: anyValue,
      msg: fc.oneof(fc.record({ type: fc.constantFrom('get_res', 'start_res'), url: anyValue, title: anyValue, queries: anyValue }), anyValue),
      ref_cards: anyValue,
      error_type: anyValue,
    },
    { requiredKeys: ['event'] },
  ),
  anyValue,
);
const sseRecord = fc.oneof(
  { weight: 6, arbitrary: restEvent.map((e) => `data: ${JSON.stringify(e)}\n\n`) },
  { weight: 1, arbitrary: fc.constantFrom(': comment\n\n', 'event: cmpl\n\n', 'retry: abc\n\n', 'id: 1\n', 'data: {"event":\n\n', 'data:\n\n', '\r\n', 'data: [DONE]\n\n') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

describe('fuzz: REST SSE decoder', () => {
  it('random bytes in random splits: events or ProxyError, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1_500 }), cuts, async (bytes, c) => {
        checkOrder(await decodeAll(decodeRestSse(chunked(bytes, c))));
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  it('random SSE records (good, odd and bad JSON, CRLF), random splits, optional truncation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sseRecord, { maxLength: 25 }), fc.boolean(), fc.boolean(), fc.nat(), cuts, async (records, crlf, truncate, at, c) => {
        let body = records.join('');
        if (crlf) body = body.replace(/\n/g, '\r\n');
        let bytes = enc.encode(body);
        if (truncate) bytes = bytes.slice(0, at % (bytes.length + 1));
        checkOrder(await decodeAll(decodeRestSse(chunked(bytes, c), { maxEventBytes: 4_096 })));
      }),
      { numRuns: 400, seed: 12 },
    );
  });

  it('a valid stream split anywhere (inside UTF-8 characters too) decodes to exactly its text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), { maxLength: 20 }), cuts, async (deltas, c) => {
        const body = [{ event: 'req', id: 'r1' }, { event: 'resp' }, ...deltas.map((t) => ({ event: 'cmpl', text: t })), { event: 'all_done' }]
          .map((e) => `data: ${JSON.stringify(e)}\n\n`)
          .join('');
        const r = await decodeAll(decodeRestSse(chunked(enc.encode(body), c)));
        expect(r.error).toBeUndefined();
        expect(r.events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe(deltas.join(''));
        expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});

const MASKS = [
  'block.text',
  'block.text.content',
  'block.think',
  'block.think.content',
  'message',
  'block.search.keywords',
  'block.search.webPages',
  'block.search',
  'block.tool',
  'block.tool.args',
  'block.tool.contents',
  'message.refs.searchChunks',
  'message.refs',
  'block.exception',
  'chat',
  'chat.lastRequest',
  'chat.name',
  'message.status',
  'block.stage',
  'unknown.mask',
];
const connectEvent = fc.oneof(
  fc.record(
    {
      op: fc.oneof(fc.constantFrom('set', 'append'), anyValue),
      mask: fc.oneof(fc.constantFrom(...MASKS), anyValue),
      eventOffset: anyValue,
      block: fc.oneof(
        fc.record(
          {
            id: fc.oneof(fc.constantFrom('b1', 'b2'), anyValue),
            messageId: anyValue,
            text: fc.oneof(fc.record({ content: fc.oneof(text, anyValue), flags: anyValue }, { requiredKeys: [] }), anyValue),
            think: fc.oneof(fc.record({ content: fc.oneof(text, anyValue) }), anyValue),
            tool: fc.oneof(fc.record({ args: fc.oneof(text, fc.constant('{"queries":["q"]}'), anyValue), contents: anyValue }, { requiredKeys: [] }), anyValue),
            search: anyValue,
            exception: anyValue,
          },
          { requiredKeys: [] },
        ),
        anyValue,
      ),
      message: fc.oneof(fc.record({ id: anyValue, role: fc.oneof(fc.constantFrom('user', 'assistant'), anyValue), refs: anyValue }, { requiredKeys: [] }), anyValue),
      chat: fc.oneof(fc.record({ id: anyValue }), anyValue),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom({ heartbeat: {} }, { done: {} }, { error: { code: 'resource_exhausted', message: 'x' } }, { error: 'weird' }, { exception: { reason: 'X' } }, {}),
  anyValue,
);
/** One envelope: usually well-formed, sometimes with a random flag byte or a lying length. */
const envelope = fc.oneof(
  { weight: 8, arbitrary: connectEvent.map((e) => encodeEnvelope(0, enc.encode(JSON.stringify(e) ?? 'null'))) },
  { weight: 1, arbitrary: fc.constantFrom(encodeEnvelope(FLAG_END_STREAM, enc.encode('{}')), encodeEnvelope(FLAG_END_STREAM, enc.encode('{"error":{"code":"internal"}}')), encodeEnvelope(FLAG_END_STREAM, new Uint8Array())) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.oneof(fc.nat(64), fc.constantFrom(0xffffffff, 0x7fffffff, 4 * 1024 * 1024 + 1, 1_000_000)), fc.uint8Array({ maxLength: 64 })).map(([flags, length, payload]) => {
      const out = new Uint8Array(5 + payload.length);
      out[0] = flags;
      new DataView(out.buffer).setUint32(1, length);
      out.set(payload, 5);
      return out;
    }),
  },
);
const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('fuzz: Connect decoder', () => {
  it('random bytes in random splits: events or ProxyError, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1_500 }), cuts, async (bytes, c) => {
        checkOrder(await decodeAll(decodeConnectChat(chunked(bytes, c))));
      }),
      { numRuns: 400, seed: 21 },
    );
  });

  it('random envelopes (odd events, bogus flags and lengths), random splits, optional truncation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(envelope, { maxLength: 20 }), fc.boolean(), fc.nat(), cuts, async (frames, truncate, at, c) => {
        let bytes = concat(frames);
        if (truncate) bytes = bytes.slice(0, at % (bytes.length + 1));
        checkOrder(await decodeAll(decodeConnectChat(chunked(bytes, c), { maxPayloadBytes: 64 * 1024 })));
      }),
      { numRuns: 500, seed: 22 },
    );
  });

  it('a valid stream split anywhere decodes to exactly its text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), { maxLength: 20 }), cuts, async (deltas, c) => {
        const frames = [
          { op: 'set', mask: 'chat', chat: { id: 'c1' } },
          { op: 'set', mask: 'message', message: { id: 'm1', role: 'user' } },
          { op: 'set', mask: 'message', message: { id: 'm2', role: 'assistant' } },
          { heartbeat: {} },
          ...deltas.map((t) => ({ op: 'append', mask: 'block.text.content', block: { id: 'b1', messageId: 'm2', text: { content: t } } })),
          { done: {} },
        ].map((e) => encodeEnvelope(0, enc.encode(JSON.stringify(e))));
        frames.push(encodeEnvelope(FLAG_END_STREAM, enc.encode('{}')));
        const r = await decodeAll(decodeConnectChat(chunked(concat(frames), c)));
        expect(r.error).toBeUndefined();
        expect(r.events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe(deltas.join(''));
        expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
      }),
      { numRuns: 300, seed: 23 },
    );
  });
});
