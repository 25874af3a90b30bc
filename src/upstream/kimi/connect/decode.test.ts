import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { appendText, appendThink, data, decode, done, enc, merged, setText, setThink, shown, texts, trailer } from '../__fixtures__/connect-frames.js';
import { collectOutcome, concatBytes, fromChunks, splitAt } from '../stream-util.js';
import { decodeConnectChat } from './decode.js';
import { encodeEnvelope, FLAG_END_STREAM } from './envelope.js';

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

  it('carries the citation references of a replaced block and of its replacement, at their offsets', async () => {
    const cite = (ref: string) => `\ue3a0cite\ue3a3${ref}\ue3a8`;
    const r = await decode([setText('1', `A${cite('r1')}B`), setText('1', `A${cite('r1')}B${cite('r2')}`), setText('1', `X${cite('r2')}${cite('r1')}`), done()]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'text-delta', text: 'A' },
      { type: 'citation-ref', index: 1 },
      { type: 'text-delta', text: 'B' },
      // Extends what was emitted: only the new reference.
      { type: 'citation-ref', index: 2 },
      {
        type: 'text-replace',
        previous: 'AB',
        previousRefs: [
          { at: 1, index: 1 },
          { at: 2, index: 2 },
        ],
        text: 'X',
        refs: [
          { at: 1, index: 2 },
          { at: 1, index: 1 },
        ],
      },
    ]);
  });

  it('a set whose references differ from what was emitted is a replacement, even with the same text', async () => {
    const cite = (ref: string) => `\ue3a0cite\ue3a3${ref}\ue3a8`;
    const r = await decode([setText('1', `A${cite('r1')}B`), setText('1', `AB${cite('r1')}`), done()]);
    expect(r.events.at(-2)).toEqual({ type: 'text-replace', previous: 'AB', previousRefs: [{ at: 1, index: 1 }], text: 'AB', refs: [{ at: 2, index: 1 }] });
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
