import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { byteByByte, collectOutcome, fromChunks } from '../stream-util.js';
import { decodeRestSse, type DecodeRestSseOptions } from './decode.js';

const enc = new TextEncoder();

function sse(...events: unknown[]): string {
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');
}

async function decode(chunks: (string | Uint8Array)[], opts?: DecodeRestSseOptions) {
  return collectOutcome(decodeRestSse(fromChunks(chunks.map((c) => (typeof c === 'string' ? enc.encode(c) : c))), opts));
}

/** The text of one kind of delta, with that text's citation references shown as `[n]`. */
function text(events: ChatEvent[], type: 'text-delta' | 'reasoning-delta' = 'text-delta'): string {
  const reasoning = type === 'reasoning-delta';
  return events.map((e) => (e.type === type ? e.text : e.type === 'citation-ref' && (e.reasoning === true) === reasoning ? `[${e.index}]` : '')).join('');
}

const done = { event: 'all_done' };

describe('decodeRestSse', () => {
  it('decodes the exact text when fed one byte at a time', async () => {
    const body = enc.encode(sse({ event: 'req', id: 'seg1' }, { event: 'cmpl', text: 'Hé 你好 🙂' }, { event: 'cmpl', text: ' ok' }, done));
    const r = await decode(byteByByte(body));
    expect(r.error).toBeUndefined();
    expect(r.events).toEqual([
      { type: 'meta', segmentId: 'seg1' },
      { type: 'text-delta', text: 'Hé 你好 🙂' },
      { type: 'text-delta', text: ' ok' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('keeps a multi-byte character split across reads intact', async () => {
    const body = enc.encode(sse({ event: 'cmpl', text: '你' }, done));
    const i = body.indexOf(0xe4); // first byte of 你 (E4 BD A0)
    expect(i).toBeGreaterThan(0);
    for (const cut of [i + 1, i + 2]) {
      const r = await decode([body.subarray(0, cut), body.subarray(cut)]);
      expect(text(r.events)).toBe('你');
      expect(r.events.some((e) => e.type === 'text-delta' && e.text.includes('\ufffd'))).toBe(false);
    }
    // A 4-byte character split in three reads.
    const emoji = enc.encode(sse({ event: 'cmpl', text: 'a😀b' }, done));
    const j = emoji.indexOf(0xf0);
    const r = await decode([emoji.subarray(0, j + 1), emoji.subarray(j + 1, j + 3), emoji.subarray(j + 3)]);
    expect(text(r.events)).toBe('a😀b');
  });

  it('handles CRLF line endings, also with CR and LF in different reads', async () => {
    const body = `data: ${JSON.stringify({ event: 'cmpl', text: 'one' })}\r\n\r\ndata: ${JSON.stringify({ event: 'cmpl', text: 'two' })}\r\n\r\ndata: {"event":"all_done"}\r\n\r\n`;
    const cr = body.indexOf('\r');
    const r = await decode([body.slice(0, cr + 1), body.slice(cr + 1)]);
    expect(r.error).toBeUndefined();
    expect(text(r.events)).toBe('onetwo');
    expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('ignores comment lines and SSE event:/id: fields', async () => {
    const body = `: ping\n\nevent: message\nid: 7\ndata: ${JSON.stringify({ event: 'cmpl', text: 'x' })}\n\n:another comment\ndata: {"event":"all_done"}\n\n`;
    const r = await decode([body]);
    expect(r.events).toEqual([
      { type: 'text-delta', text: 'x' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('decodes several events in one read, merging consecutive deltas of one kind', async () => {
    const r = await decode([sse({ event: 'cmpl', text: 'a' }, { event: 'cmpl', text: 'b' }, { event: 'cmpl', text: 'c' }, done)]);
    expect(r.events).toEqual([
      { type: 'text-delta', text: 'abc' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('merges many deltas of one read into one event, never across reads or other events', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ event: 'cmpl', text: `${i},` }));
    const body = enc.encode(sse(...many));
    const later = enc.encode(sse({ event: 'cmpl', text: 'next' }, { event: 'k1', text: 'hm' }, { event: 'k1', text: 'm' }));
    const tail = enc.encode(sse({ event: 'cmpl', text: 'x' }, { event: 'req', id: 'seg' }, { event: 'cmpl', text: 'y' }, { event: 'cmpl', text: 'z' }, done));
    const reads: string[] = [];
    async function* body3(): AsyncGenerator<Uint8Array> {
      for (const [name, chunk] of [['first', body], ['second', later], ['third', tail]] as const) {
        reads.push(name);
        yield chunk;
      }
    }
    const seen: [string, ChatEvent][] = [];
    for await (const ev of decodeRestSse(body3())) seen.push([reads.at(-1)!, ev]);
    expect(seen).toEqual([
      ['first', { type: 'text-delta', text: many.map((m) => m.text).join('') }],
      ['second', { type: 'text-delta', text: 'next' }],
      ['second', { type: 'reasoning-delta', text: 'hmm' }],
      ['third', { type: 'text-delta', text: 'x' }],
      ['third', { type: 'meta', segmentId: 'seg' }],
      ['third', { type: 'text-delta', text: 'yz' }],
      ['third', { type: 'finish', reason: 'stop' }],
    ]);
  });

  it('decodes a final record that lacks its blank line', async () => {
    const r = await decode([`${sse({ event: 'cmpl', text: 'a' })}data: {"event":"all_done"}`]);
    expect(r.error).toBeUndefined();
    expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('maps k1 to reasoning, skips empty cmpl and ignores resp/search_info/status/chat_prompt', async () => {
    const r = await decode([
      sse(
        { event: 'resp' },
        { event: 'k1', text: 'think' },
        { event: 'cmpl', text: '' },
        { event: 'search_info', hallucination: {}, search_type: 'x' },
        { event: 'status' },
        { event: 'chat_prompt', text: 'follow-up?' },
        { event: 'cmpl', text: 'answer' },
        done,
      ),
    ]);
    expect(r.events).toEqual([
      { type: 'reasoning-delta', text: 'think' },
      { type: 'text-delta', text: 'answer' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('finishes with length after a length event', async () => {
    const r = await decode([sse({ event: 'cmpl', text: 'a' }, { event: 'length' }, done)]);
    expect(r.events.at(-1)).toEqual({ type: 'finish', reason: 'length' });
  });

  it('yields nothing after all_done', async () => {
    const r = await decode([sse({ event: 'cmpl', text: 'a' }, done, { event: 'cmpl', text: 'late' }), sse({ event: 'error' })]);
    expect(r.error).toBeUndefined();
    expect(r.events).toEqual([
      { type: 'text-delta', text: 'a' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('after all_done, reads the body to its end within a bound', async () => {
    let ended = false;
    async function* short(): AsyncGenerator<Uint8Array> {
      yield enc.encode(sse({ event: 'cmpl', text: 'a' }, done));
      yield enc.encode('data: not json\n\n');
      ended = true;
    }
    const r = await collectOutcome(decodeRestSse(short()));
    expect(r.error).toBeUndefined();
    expect(ended).toBe(true);
    let pulls = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield enc.encode(sse(done));
      for (;;) {
        pulls++;
        yield enc.encode(': ping\n\n');
      }
    }
    const r2 = await collectOutcome(decodeRestSse(endless()));
    expect(r2.events).toEqual([{ type: 'finish', reason: 'stop' }]);
    expect(pulls).toBeLessThan(20_000);
  });

  it('de-duplicates citations by url across search_plus and ref_docs, numbering from 1', async () => {
    const r = await decode([
      sse(
        { event: 'search_plus', msg: { type: 'start_res' } },
        { event: 'search_plus', msg: { type: 'start_res', queries: ['q1', 'q2'] } },
        { event: 'search_plus', msg: { type: 'get_res', title: 'A', url: 'https://a', site_name: 'a.com', snippet: 's' } },
        { event: 'search_plus', msg: { type: 'get_res', title: 'A again', url: 'https://a' } },
        { event: 'search_plus', msg: { type: 'get_res', title: 'no url' } },
        { event: 'ref_docs', ref_cards: [{ url: 'https://a', title: 'A card' }, { url: 'https://b', title: 'B', abstract: 'abs', source_label: 'b.org' }] },
        done,
      ),
    ]);
    expect(r.events).toEqual([
      { type: 'search', queries: ['q1', 'q2'] },
      { type: 'citation', citation: { index: 1, url: 'https://a', title: 'A', snippet: 's', siteName: 'a.com' } },
      { type: 'citation', citation: { index: 2, url: 'https://b', title: 'B', snippet: 'abs', siteName: 'b.org' } },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('reports unknown events once per name and ignores them', async () => {
    const seen: string[] = [];
    const r = await decode([sse({ event: 'rename', name: 'x' }, { event: 'rename' }, { event: 'zone_set' }, { text: 'no event name' }, done)], {
      onUnknownEvent: (n) => seen.push(n),
    });
    expect(r.events).toEqual([{ type: 'finish', reason: 'stop' }]);
    expect(seen).toEqual(['rename', 'zone_set', '']);
  });

  it('throws upstream_generation_error on an error event, after the text before it', async () => {
    const r = await decode([sse({ event: 'cmpl', text: 'partial' }, { event: 'error' }, { event: 'cmpl', text: 'never' })]);
    expect(text(r.events)).toBe('partial');
    expect(r.error?.code).toBe('upstream_generation_error');
    expect(r.error?.message).toMatch(/Kimi stopped the reply/);
    expect(r.error?.message).toMatch(/moderation/);
  });

  it('throws a ProxyError instance', async () => {
    const it = decodeRestSse(fromChunks([enc.encode(sse({ event: 'error' }))]));
    await expect(it.next()).rejects.toBeInstanceOf(ProxyError);
  });

  it('rejects a data payload that is not JSON', async () => {
    const r = await decode(['data: {"event":"cmpl","text":"a"}\n\n', 'data: not json\n\n', sse(done)]);
    expect(text(r.events)).toBe('a');
    expect(r.error?.code).toBe('upstream_protocol_error');
  });

  it('never turns a stream without all_done into a short answer', async () => {
    const r = await decode([sse({ event: 'req', id: 's' }, { event: 'cmpl', text: 'cut' })]);
    expect(text(r.events)).toBe('cut');
    expect(r.events.some((e) => e.type === 'finish')).toBe(false);
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/^Kimi stream ended before all_done/);
  });

  it('rejects a record cut in the middle of its JSON at the end of the body', async () => {
    const r = await decode(['data: {"event":"cmpl","text":"a"}\n\ndata: {"event":"all_do']);
    expect(r.error?.code).toBe('upstream_protocol_error');
  });

  it('an empty body is a protocol error', async () => {
    const r = await decode([]);
    expect(r.events).toEqual([]);
    expect(r.error?.code).toBe('upstream_protocol_error');
  });

  it('rejects an event larger than maxEventBytes without waiting for the rest', async () => {
    let pulled = 0;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield enc.encode(sse({ event: 'cmpl', text: 'ok' }));
      for (;;) {
        pulled++;
        yield enc.encode(`data: {"event":"cmpl","text":"${'x'.repeat(100)}`);
      }
    }
    const r = await collectOutcome(decodeRestSse(body(), { maxEventBytes: 1000 }));
    expect(text(r.events)).toBe('ok');
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/larger than 1000 bytes/);
    expect(pulled).toBeLessThan(15);
  });

  it('accepts events up to maxEventBytes that arrive in pieces', async () => {
    const big = 'y'.repeat(800);
    const rec = sse({ event: 'cmpl', text: big });
    const r = await decode([rec.slice(0, 400), rec.slice(400), sse(done)], { maxEventBytes: 1000 });
    expect(r.error).toBeUndefined();
    expect(text(r.events)).toBe(big);
  });

  it('turns private-use citation markers into citation-ref events, in the answer and in the reasoning', async () => {
    const r = await decode([
      sse({ event: 'k1', text: 'think\ue3a0cite\ue3a3r2\ue3a8.' }, { event: 'cmpl', text: 'a\ue3a0cite\ue3a3' }, { event: 'cmpl', text: 'r1\ue3a8 b\ue3a5' }, done),
    ]);
    expect(r.events).toEqual([
      { type: 'reasoning-delta', text: 'think' },
      { type: 'citation-ref', index: 1, reasoning: true },
      { type: 'reasoning-delta', text: '.' },
      { type: 'text-delta', text: 'a' },
      { type: 'citation-ref', index: 2 },
      { type: 'text-delta', text: ' b' },
      { type: 'finish', reason: 'stop' },
    ]);
  });
});

describe('decodeRestSse: the plain cmpl record read without JSON.parse', () => {
  /** The same record pretty-printed: valid JSON that only the full parse reads. */
  const spaced = (e: unknown) => `data: ${JSON.stringify(e, null, 1).replaceAll('\n', '')}\n\n`;

  it('decodes any delta text exactly as the full parse does', async () => {
    await fc.assert(
      // Private-use citation markers (U+E3A0–E3A8) are rewritten by design; the rest is verbatim.
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary' }).filter((t) => !/[\ue3a0-\ue3a8]/.test(t)), { maxLength: 8 }), async (deltas) => {
        const events = deltas.map((t) => ({ event: 'cmpl', text: t }));
        const compact = await decode([...events.map((e) => sse(e)), sse(done)]);
        const full = await decode([...events.map(spaced), sse(done)]);
        expect(compact).toEqual(full);
        expect(text(compact.events)).toBe(deltas.join(''));
      }),
    );
  });

  it('still rejects a near-miss that is not JSON', async () => {
    for (const bad of ['{"event":"cmpl","text":"a"}}', '{"event":"cmpl","text":"a\u0001b"}', '{"event":"cmpl","text":"a"']) {
      const r = await decode([`data: ${bad}\n\n`, sse(done)]);
      expect(r.error).toMatchObject({ code: 'upstream_protocol_error', upstreamCode: 'invalid_json' });
    }
  });
});
