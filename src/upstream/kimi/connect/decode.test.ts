import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { byteByByte, collectOutcome, concatBytes, fromChunks, mergeAdjacentDeltas, splitAt } from '../stream-util.js';
import { decodeConnectChat, type DecodeConnectChatOptions } from './decode.js';
import { encodeEnvelope, encodeJsonEnvelope, FLAG_END_STREAM } from './envelope.js';

const enc = new TextEncoder();

const data = (json: unknown) => encodeJsonEnvelope(json);
const trailer = (json: unknown = {}) => encodeJsonEnvelope(json, FLAG_END_STREAM);
const done = () => data({ eventOffset: 99, done: {} });

function setText(id: string, content: string, extra: Record<string, unknown> = {}) {
  return data({ op: 'set', mask: 'block.text', block: { id, text: { content, ...extra } } });
}
function appendText(id: string, content: string) {
  return data({ op: 'append', mask: 'block.text.content', block: { id, text: { content } } });
}
function setThink(id: string, content: string) {
  return data({ op: 'set', mask: 'block.think', block: { id, think: { content } } });
}
function appendThink(id: string, content: string) {
  return data({ op: 'append', mask: 'block.think.content', block: { id, think: { content } } });
}

async function decode(frames: Uint8Array[], opts?: DecodeConnectChatOptions, split: 'frames' | 'whole' | 'bytes' = 'frames') {
  const chunks = split === 'frames' ? frames : split === 'whole' ? [concatBytes(frames)] : byteByByte(concatBytes(frames));
  return collectOutcome(decodeConnectChat(fromChunks(chunks), opts));
}

function merged<T extends { events: ChatEvent[] }>(outcome: T): T {
  return { ...outcome, events: mergeAdjacentDeltas(outcome.events) };
}

function texts(events: ChatEvent[], type: 'text-delta' | 'reasoning-delta' = 'text-delta'): string {
  return events.map((e) => (e.type === type ? e.text : '')).join('');
}

/** What a client that applies text-delta and text-replace would show. */
function shown(events: ChatEvent[]): string {
  let s = '';
  for (const e of events) {
    if (e.type === 'text-delta') s += e.text;
    if (e.type === 'text-replace') {
      expect(s.endsWith(e.previous)).toBe(true);
      s = s.slice(0, s.length - e.previous.length) + e.text;
    }
  }
  return s;
}

describe('decodeConnectChat: ids and heartbeats', () => {
  it('emits heartbeats and each new chat / message id once; never the user text', async () => {
    const r = await decode([
      data({ heartbeat: {} }),
      data({ op: 'set', eventOffset: 1, chat: { id: 'C', name: 'Untitled Chat' } }),
      data({ op: 'set', mask: 'chat.lastRequest', chat: { id: 'C', lastRequest: {} } }),
      data({ op: 'set', mask: 'message', message: { id: 'U', role: 'user', blocks: [{ id: 'text_0_0', text: { content: 'SECRET USER PROMPT' } }] } }),
      data({ op: 'set', mask: 'message', message: { id: 'A', parentId: 'U', role: 'assistant', status: 'MESSAGE_STATUS_GENERATING' } }),
      data({ op: 'set', mask: 'message', message: { id: 'A', role: 'assistant' } }),
      data({ op: 'set', mask: 'chat.name', chat: { name: 'Greeting' } }),
      data({ op: 'set', mask: 'chat.files', chat: { files: [{ id: 'f' }] } }),
      data({ op: 'set', mask: 'message.status', message: { id: 'A', status: 'MESSAGE_STATUS_COMPLETED' } }),
      done(),
      trailer(),
    ]);
    expect(r.error).toBeUndefined();
    expect(r.events).toEqual([
      { type: 'heartbeat' },
      { type: 'meta', chatId: 'C' },
      { type: 'meta', userMessageId: 'U' },
      { type: 'meta', assistantMessageId: 'A' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(JSON.stringify(r.events)).not.toContain('SECRET');
  });

  it('never outputs block text that belongs to the user message', async () => {
    const r = await decode([
      data({ op: 'set', mask: 'message', message: { id: 'U', role: 'user' } }),
      data({ op: 'set', mask: 'block.text', block: { id: 'text_0_0', messageId: 'U', text: { content: 'SECRET' } } }),
      setText('1', 'answer'),
      done(),
    ]);
    expect(texts(r.events)).toBe('answer');
  });

  it('reports a new chat id from any chat.* mask', async () => {
    const seen: string[] = [];
    const r = await decode([data({ op: 'set', mask: 'chat.somethingNew', chat: { id: 'C2' } }), done()], { onUnknownMask: (m) => seen.push(m) });
    expect(r.events[0]).toEqual({ type: 'meta', chatId: 'C2' });
    expect(seen).toEqual(['chat.somethingNew']);
  });
});

describe('decodeConnectChat: set vs append', () => {
  it('append adds; set with content extending the block emits only the new suffix', async () => {
    const r = await decode([setText('1', 'Hel'), appendText('1', 'lo'), setText('1', 'Hello world'), setText('1', 'Hello world'), done()]);
    expect(r.events.filter((e) => e.type === 'text-delta')).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'text-delta', text: ' world' },
    ]);
  });

  it('set with content that does not extend the block yields text-replace with what was emitted', async () => {
    const r = await decode([setText('1', 'Hello'), appendText('1', ' world'), setText('1', 'Goodbye'), appendText('1', '!'), done()]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: ' world' },
      { type: 'text-replace', previous: 'Hello world', text: 'Goodbye' },
      { type: 'text-delta', text: '!' },
    ]);
    expect(shown(r.events)).toBe('Goodbye!');
  });

  it('tracks text per block id', async () => {
    const r = await decode([setText('1', 'A'), setText('text_0_1', 'B'), appendText('1', 'a'), setText('text_0_1', 'Bb'), setText('1', 'X'), done()]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'text-delta', text: 'A' },
      { type: 'text-delta', text: 'B' },
      { type: 'text-delta', text: 'a' },
      { type: 'text-delta', text: 'b' },
      { type: 'text-replace', previous: 'Aa', text: 'X' },
    ]);
  });

  it('think set/append produce reasoning; a non-extending think set emits the part after the common prefix', async () => {
    const r = await decode([setThink('k', 'step one'), appendThink('k', ', two'), setThink('k', 'step one, two, three'), setThink('k', 'step ONE'), done()]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'reasoning-delta', text: 'step one' },
      { type: 'reasoning-delta', text: ', two' },
      { type: 'reasoning-delta', text: ', three' },
      { type: 'reasoning-delta', text: 'ONE' },
    ]);
  });

  it.each(['frames', 'whole'] as const)('keeps a think block and a text block with the same id apart (reads: %s)', async (split) => {
    // With eventOffset, as Kimi sends them: the appends take the plain (no JSON.parse) path.
    const plainThink = (content: string) => data({ op: 'append', mask: 'block.think.content', eventOffset: 3, block: { id: '1', think: { content } } });
    const plainText = (content: string) => data({ op: 'append', mask: 'block.text.content', eventOffset: 4, block: { id: '1', text: { content } } });
    const frames = [setThink('1', 'thinking'), setText('1', 'Answer'), plainThink(' more'), plainText('!'), plainThink('.'), done()];
    const r = await decode(frames, undefined, split);
    expect(texts(r.events, 'reasoning-delta')).toBe('thinking more.');
    expect(texts(r.events)).toBe('Answer!');
    expect(r.events.some((e) => e.type === 'text-replace')).toBe(false);
  });

  it('treats block.text flagged "thinking" as reasoning, also for its later appends', async () => {
    const r = await decode([setText('3', 'pondering', { flags: 'thinking' }), appendText('3', ' more'), setText('4', 'Answer', { flags: 'answer' }), done()]);
    expect(texts(r.events, 'reasoning-delta')).toBe('pondering more');
    expect(texts(r.events)).toBe('Answer');
  });

  it('ignores multiStage and stage blocks and empty appends', async () => {
    const seen: string[] = [];
    const r = await decode(
      [
        data({ op: 'set', mask: 'block.multiStage', block: { id: 's', multiStage: { stages: [{ name: 'STAGE_NAME_THINKING', status: 'STAGE_STATUS_START' }] } } }),
        data({ op: 'set', mask: 'block.stage', block: { id: 't', stage: { name: 'STAGE_NAME_THINKING' } } }),
        appendText('1', ''),
        done(),
      ],
      { onUnknownMask: (m) => seen.push(m) },
    );
    expect(r.events).toEqual([{ type: 'finish', reason: 'stop' }]);
    expect(seen).toEqual([]);
  });
});

describe('decodeConnectChat: search and citations', () => {
  const result = (i: number, url: string) => ({ searchResult: { id: `r${i}`, base: { title: `T${i}`, url, siteName: 's', snippet: 'x' }, refIndex: `web_search:1#${i}` } });

  it('keywords → search; webPages → citations de-duplicated by url', async () => {
    const r = await decode([
      data({ op: 'append', mask: 'block.search.keywords', block: { id: '0_0', search: { keywords: ['q'] } } }),
      data({ op: 'append', mask: 'block.search.webPages', block: { id: '0_0', search: { webPages: [{ title: 'A', url: 'https://a' }, { title: 'A2', url: 'https://a' }, { title: 'B', url: 'https://b' }] } } }),
      done(),
    ]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'search', queries: ['q'] },
      { type: 'citation', citation: { index: 1, url: 'https://a', title: 'A' } },
      { type: 'citation', citation: { index: 2, url: 'https://b', title: 'B' } },
    ]);
  });

  it('accumulates tool args until they parse, then emits the queries once', async () => {
    const r = await decode([
      data({ op: 'set', mask: 'block.tool', block: { id: '1', tool: { name: '$web_search', args: '' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: '{"queries":["a' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: '}b", "c"' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: ']}' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: ' ' } } }),
      done(),
    ]);
    expect(r.events.filter((e) => e.type === 'search')).toEqual([{ type: 'search', queries: ['a}b', 'c'] }]);
  });

  it('tolerates tool args that never parse', async () => {
    const r = await decode([data({ op: 'append', mask: 'block.tool.args', block: { tool: { args: '{"queries": [' } } }), setText('2', 'ok'), done()]);
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.type)).toEqual(['text-delta', 'finish']);
  });

  it('numbers markers by refIndex; a ref seen before its result keeps its number', async () => {
    const r = await decode([
      data({ op: 'set', mask: 'block.tool.contents', block: { id: '1', tool: { contents: [result(0, 'https://a'), result(1, 'https://b')] } } }),
      setText('2', 'x\ue3a0cite\ue3a3web_search:1#1\ue3a3web_search:1#9\ue3a8 y\ue3a0cite\ue3a3web_search:1#0\ue3a8'),
      data({ op: 'set', mask: 'message.refs.searchChunks', message: { refs: { searchChunks: [result(0, 'https://a'), result(9, 'https://z')] } } }),
      done(),
    ]);
    expect(texts(r.events)).toBe('x[2][3] y[1]');
    expect(r.events.filter((e) => e.type === 'citation').map((e) => e.type === 'citation' && [e.citation.index, e.citation.url])).toEqual([
      [1, 'https://a'],
      [2, 'https://b'],
      [3, 'https://z'],
    ]);
  });

  it('holds a marker split across deltas and never outputs private-use characters', async () => {
    const marker = '\ue3a0cite\ue3a3web_search:1#0\ue3a8';
    const full = `Before ${marker} after\ue3a5.`;
    for (let cut = 0; cut <= full.length; cut++) {
      const r = await decode([setText('1', full.slice(0, cut)), appendText('1', full.slice(cut)), done()]);
      const out = texts(r.events);
      expect(out).toBe('Before [1] after.');
      expect(/[\ue3a0-\ue3a8]/.test(JSON.stringify(r.events))).toBe(false);
    }
  });

  it('releases an unterminated marker at done with its private-use characters removed', async () => {
    const r = await decode([setText('1', 'text \ue3a0cite\ue3a3web_sea'), done()]);
    expect(r.events).toEqual([
      { type: 'text-delta', text: 'text ' },
      { type: 'text-delta', text: 'citeweb_sea' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('releases held marker text when another block starts speaking', async () => {
    const r = await decode([setText('1', 'a\ue3a0ci'), setThink('k', 'thought'), done()]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'text-delta', text: 'a' },
      { type: 'text-delta', text: 'ci' },
      { type: 'reasoning-delta', text: 'thought' },
    ]);
  });
});

describe('decodeConnectChat: errors and the end of the stream', () => {
  const cases: [string, string][] = [
    ['unauthenticated', 'upstream_unauthenticated'],
    ['resource_exhausted', 'upstream_rate_limited'],
    ['invalid_argument', 'upstream_bad_request'],
    ['unavailable', 'upstream_overloaded'],
    ['not_found', 'upstream_chat_not_found'],
    ['permission_denied', 'upstream_unauthenticated'],
    ['internal', 'upstream_generation_error'],
    ['constructor', 'upstream_generation_error'],
  ];
  for (const [code, expected] of cases) {
    it(`trailer error ${code} → ${expected}`, async () => {
      const r = await decode([data({ heartbeat: {} }), trailer({ error: { code, message: 'details here' } })]);
      expect(r.events).toEqual([{ type: 'heartbeat' }]);
      expect(r.error?.code).toBe(expected);
      expect(r.error?.upstreamCode).toBe(code);
      expect(r.error?.message).toContain('details here');
    });
  }

  it('in-stream error frame, with details[0].debug.reason kept in upstreamCode', async () => {
    const r = await decode([setText('1', 'partial'), data({ error: { code: 'resource_exhausted', details: [{ type: 't', value: 'v', debug: { reason: 'REASON_X' } }] } }), done()]);
    expect(texts(r.events)).toBe('partial');
    expect(r.error?.code).toBe('upstream_rate_limited');
    expect(r.error?.upstreamCode).toBe('resource_exhausted:REASON_X');
  });

  it('delivers the text of a read before the error frame in the same read', async () => {
    const r = await decode([setText('1', 'partial'), data({ error: { code: 'unauthenticated' } }), done()], undefined, 'whole');
    expect(texts(r.events)).toBe('partial');
    expect(r.error?.code).toBe('upstream_unauthenticated');
  });

  it('throws ProxyError instances', async () => {
    const it = decodeConnectChat(fromChunks([trailer({ error: { code: 'unauthenticated' } })]));
    await expect(it.next()).rejects.toBeInstanceOf(ProxyError);
  });

  it('exception → overloaded or generation error, with the localized message', async () => {
    const over = await decode([data({ exception: { error: { reason: 'REASON_COMPLETION_OVERLOADED', localizedMessage: { message: 'Busy.' } } } })]);
    expect(over.error?.code).toBe('upstream_overloaded');
    expect(over.error?.message).toContain('Busy.');
    const other = await decode([data({ op: 'set', mask: 'block.exception', block: { id: '1', exception: { error: { reason: 'REASON_CONTENT_FILTER' } } } })]);
    expect(other.error?.code).toBe('upstream_generation_error');
    expect(other.error?.upstreamCode).toBe('REASON_CONTENT_FILTER');
  });

  it('a body that ends without done is a protocol error, never a short answer', async () => {
    const r = await decode([setText('1', 'cut short')]);
    expect(texts(r.events)).toBe('cut short');
    expect(r.events.some((e) => e.type === 'finish')).toBe(false);
    expect(r.error?.code).toBe('upstream_protocol_error');
    expect(r.error?.message).toMatch(/before done/);
  });

  it('a clean trailer without done is a protocol error', async () => {
    const r = await decode([setText('1', 'cut'), trailer()]);
    expect(r.error?.code).toBe('upstream_protocol_error');
    const empty = await decode([setText('1', 'cut'), encodeEnvelope(FLAG_END_STREAM, new Uint8Array(0))]);
    expect(empty.error?.code).toBe('upstream_protocol_error');
  });

  it('a truncated frame is a protocol error', async () => {
    const whole = concatBytes([setText('1', 'abc'), appendText('1', 'def')]);
    const r = await decode([whole.subarray(0, whole.byteLength - 3)]);
    expect(texts(r.events)).toBe('abc');
    expect(r.error?.code).toBe('upstream_protocol_error');
  });

  it('a frame that is not JSON is a protocol error; zero-length data frames are skipped', async () => {
    const skip = await decode([encodeEnvelope(0, new Uint8Array(0)), setText('1', 'a'), done()]);
    expect(skip.error).toBeUndefined();
    const bad = await decode([encodeEnvelope(0, enc.encode('{not json')), done()]);
    expect(bad.error?.code).toBe('upstream_protocol_error');
  });

  it('done with or without eventOffset finishes with stop', async () => {
    for (const frame of [data({ done: {} }), data({ eventOffset: 3, done: {} })]) {
      const r = await decode([frame]);
      expect(r.events).toEqual([{ type: 'finish', reason: 'stop' }]);
      expect(r.error).toBeUndefined();
    }
  });

  it('after done only the trailer is read; anything else, even an error or a cut, is ignored', async () => {
    const r = await decode([setText('1', 'a'), done(), setText('1', 'ab'), data({ error: { code: 'internal' } }), trailer({ error: { code: 'internal' } }), setText('1', 'abc')]);
    expect(r.error).toBeUndefined();
    expect(r.events).toEqual([
      { type: 'text-delta', text: 'a' },
      { type: 'finish', reason: 'stop' },
    ]);
    const cut = concatBytes([done(), setText('1', 'x')]);
    const r2 = await decode([cut.subarray(0, cut.byteLength - 2)]);
    expect(r2.error).toBeUndefined();
    expect(r2.events).toEqual([{ type: 'finish', reason: 'stop' }]);
  });

  it('after the trailer, reads the body to its end (connection reuse) without decoding it', async () => {
    let ended = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield concatBytes([setText('1', 'a'), done(), trailer()]);
      yield enc.encode('garbage that is not a frame');
      ended = true;
    }
    const r = await collectOutcome(decodeConnectChat(body()));
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.type)).toEqual(['text-delta', 'finish']);
    expect(ended).toBe(true);
  });

  it('stops reading after done when the body goes on and on', async () => {
    let pulls = 0;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield concatBytes([setText('1', 'a'), done()]);
      for (;;) {
        pulls++;
        yield data({ heartbeat: {} });
      }
    }
    const r = await collectOutcome(decodeConnectChat(body()));
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.type)).toEqual(['text-delta', 'finish']);
    expect(pulls).toBeLessThan(10_000);
  });

  it('reports unknown masks once and ignores them', async () => {
    const seen: string[] = [];
    const r = await decode([data({ op: 'set', mask: 'notification', notification: {} }), data({ op: 'set', mask: 'notification' }), data({ op: 'set', mask: 'block.widget', block: {} }), done()], {
      onUnknownMask: (m) => seen.push(m),
    });
    expect(r.events).toEqual([{ type: 'finish', reason: 'stop' }]);
    expect(seen).toEqual(['notification', 'block.widget']);
  });

  it('passes maxPayloadBytes to the envelope decoder', async () => {
    const r = await decode([setText('1', 'x'.repeat(200)), done()], { maxPayloadBytes: 100 });
    expect(r.error?.code).toBe('upstream_protocol_error');
  });
});

describe('decodeConnectChat: coalesced and split reads', () => {
  const frames = [
    data({ heartbeat: {} }),
    data({ op: 'set', mask: 'chat.lastRequest', chat: { id: 'C' } }),
    setText('1', '你好'),
    appendText('1', ' wor\ue3a0cite\ue3a3'),
    appendText('1', 'r\ue3a8ld 🙂'),
    setThink('k', 'hm'),
    done(),
    trailer(),
  ];

  it('decodes the same whether frames are coalesced, separate or fed byte by byte', async () => {
    const separate = await decode(frames, undefined, 'frames');
    expect(separate.error).toBeUndefined();
    expect(texts(separate.events)).toBe('你好 wor[1]ld 🙂');
    // Deltas of one read are merged, so only the merged sequences must agree.
    const expected = merged(separate);
    expect(merged(await decode(frames, undefined, 'whole'))).toEqual(expected);
    expect(merged(await decode(frames, undefined, 'bytes'))).toEqual(expected);
    const all = concatBytes(frames);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: all.byteLength - 1 }), { maxLength: 16 }), async (cuts) => {
        expect(merged(await collectOutcome(decodeConnectChat(fromChunks(splitAt(all, cuts)))))).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe('decodeConnectChat: merged deltas', () => {
  it('merges many deltas of one read into one event, never across reads or other events', async () => {
    const many = Array.from({ length: 50 }, (_, i) => appendText('1', `${i},`));
    const first = concatBytes([setText('1', 'start:'), ...many]);
    const second = concatBytes([appendText('1', 'next'), setThink('k', 'hm'), appendThink('k', 'm')]);
    const third = concatBytes([appendText('1', 'x'), data({ heartbeat: {} }), appendText('1', 'y'), appendText('1', 'z'), done(), trailer()]);
    const reads: string[] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      for (const [name, chunk] of [['first', first], ['second', second], ['third', third]] as const) {
        reads.push(name);
        yield chunk;
      }
    }
    const seen: [string, ChatEvent][] = [];
    for await (const ev of decodeConnectChat(body())) seen.push([reads.at(-1)!, ev]);
    const fifty = Array.from({ length: 50 }, (_, i) => `${i},`).join('');
    expect(seen).toEqual([
      ['first', { type: 'text-delta', text: `start:${fifty}` }],
      ['second', { type: 'text-delta', text: 'next' }],
      ['second', { type: 'reasoning-delta', text: 'hmm' }],
      ['third', { type: 'text-delta', text: 'x' }],
      ['third', { type: 'heartbeat' }],
      ['third', { type: 'text-delta', text: 'yz' }],
      ['third', { type: 'finish', reason: 'stop' }],
    ]);
  });
});

describe('decodeConnectChat: plain deltas read without JSON.parse', () => {
  /** The same frame pretty-printed: valid JSON that only the full parse reads. */
  const spaced = (json: unknown) => encodeEnvelope(0, enc.encode(JSON.stringify(json, null, 1)));
  const frame = (mask: 'block.text.content' | 'block.think.content', eventOffset: number, id: string, content: string) =>
    mask === 'block.text.content'
      ? { op: 'append', mask, eventOffset, block: { id, text: { content } } }
      : { op: 'append', mask, eventOffset, block: { id, think: { content } } };

  it('decodes any text and thinking delta exactly as the full parse does', async () => {
    const delta = fc.record({
      mask: fc.constantFrom('block.text.content' as const, 'block.think.content' as const),
      eventOffset: fc.nat(),
      id: fc.string({ unit: 'binary', maxLength: 4 }),
      content: fc.string({ unit: 'binary' }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(delta, { maxLength: 8 }), async (deltas) => {
        const frames = deltas.map((d) => frame(d.mask, d.eventOffset, d.id, d.content));
        const compact = await decode([...frames.map((f) => data(f)), done()]);
        const full = await decode([...frames.map(spaced), done()]);
        expect(compact).toEqual(full);
        // Buffers (what undici reads are) take the in-place decoding path.
        const buffers = await decode([...frames.map((f) => Buffer.from(data(f))), Buffer.from(done())]);
        expect(buffers).toEqual(full);
      }),
    );
  });

  it('still rejects a near-miss that is not JSON, and still reads the fields the plain shape lacks', async () => {
    for (const bad of [
      '{"op":"append","mask":"block.text.content","eventOffset":01,"block":{"id":"1","text":{"content":"x"}}}',
      '{"op":"append","mask":"block.text.content","eventOffset":1,"block":{"id":"1","text":{"content":"x\u0001"}}}',
      '{"op":"append","mask":"block.text.content","eventOffset":1,"block":{"id":"1","text":{"content":"x"}}}}',
    ]) {
      const r = await decode([encodeEnvelope(0, enc.encode(bad)), done()]);
      expect(r.error).toMatchObject({ code: 'upstream_protocol_error', upstreamCode: 'invalid_json' });
    }
    const user = await decode([
      data({ op: 'set', mask: 'message', message: { id: 'U', role: 'user' } }),
      data({ op: 'append', mask: 'block.text.content', eventOffset: 2, block: { id: '1', messageId: 'U', text: { content: 'echo' } } }),
      appendText('1', 'answer'),
      done(),
    ]);
    expect(texts(user.events)).toBe('answer');
  });
});
