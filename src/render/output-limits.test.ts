import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import { estimateTokens } from '../core/tokens.js';
import { limitOutput, type OutputLimits } from './output-limits.js';

const deltas = (...texts: string[]): ChatEvent[] => texts.map((text) => ({ type: 'text-delta', text }));
const stop: ChatEvent = { type: 'finish', reason: 'stop' };

/** A source that records whether it was read to its end or stopped early. */
function source(events: ChatEvent[]): { events: AsyncIterable<ChatEvent>; stoppedEarly: () => boolean } {
  let early = false;
  return {
    events: (async function* () {
      let done = false;
      try {
        for (const e of events) yield e;
        done = true;
      } finally {
        if (!done) early = true;
      }
    })(),
    stoppedEarly: () => early,
  };
}

async function run(events: ChatEvent[], limits: OutputLimits): Promise<{ out: ChatEvent[]; text: string; finish: ChatEvent | undefined; stoppedEarly: boolean }> {
  const src = source(events);
  const out: ChatEvent[] = [];
  for await (const e of limitOutput(src.events, limits)) out.push(e);
  const text = out.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');
  return { out, text, finish: out.find((e) => e.type === 'finish'), stoppedEarly: src.stoppedEarly() };
}

describe('stop sequences', () => {
  it('cut the answer before a sequence split across deltas, end with stop and name it, and stop reading upstream', async () => {
    const r = await run([...deltas('Hello wo', 'rld. EN', 'D and more', ' text'), stop], { stop: ['END'] });
    expect(r.text).toBe('Hello world. ');
    expect(r.finish).toEqual({ type: 'finish', reason: 'stop', stopSequence: 'END' });
    expect(r.stoppedEarly).toBe(true);
  });

  it('hold back only what could still become a sequence: a false start is sent once the text goes on', async () => {
    const r = await run([...deltas('a E', 'N', 'x b'), stop], { stop: ['END'] });
    expect(r.text).toBe('a ENx b');
    expect(r.out.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text)).toEqual(['a ', 'ENx b']);
    expect(r.finish).toEqual(stop);
  });

  it('send a held-back tail when the answer ends, and the earliest of several sequences wins', async () => {
    expect((await run([...deltas('ends with E'), stop], { stop: ['END'] })).text).toBe('ends with E');
    const r = await run([...deltas('one ## two\n\nthree'), stop], { stop: ['\n\n', '##'] });
    expect(r.text).toBe('one ');
    expect(r.finish).toMatchObject({ stopSequence: '##' });
  });

  it('match emoji sequences across deltas, and leave thinking alone', async () => {
    const r = await run([{ type: 'reasoning-delta', text: 'thinking 👋! here' }, ...deltas('ok 👋', '!'), stop], { stop: ['👋!'] });
    expect(r.out[0]).toEqual({ type: 'reasoning-delta', text: 'thinking 👋! here' });
    expect(r.text).toBe('ok ');
    expect(r.finish).toMatchObject({ stopSequence: '👋!' });
    expect((await run([...deltas('ok 👋', '?'), stop], { stop: ['👋!'] })).text).toBe('ok 👋?');
  });

  it('cut a replaced block at a sequence, keeping the citation references before the cut', async () => {
    const r = await run(
      [...deltas('draft'), { type: 'text-replace', previous: 'draft', text: 'final text END tail', refs: [{ at: 5, index: 1 }, { at: 16, index: 2 }] }, stop],
      { stop: ['END'] },
    );
    expect(r.out[1]).toEqual({ type: 'text-replace', previous: 'draft', text: 'final text ', refs: [{ at: 5, index: 1 }] });
    expect(r.finish).toEqual({ type: 'finish', reason: 'stop', stopSequence: 'END' });
  });
});

describe('the token limit', () => {
  const words = Array.from({ length: 400 }, (_, i) => `word${i} `);

  it('cuts the answer at about the limit, ends with length and stops reading upstream', async () => {
    const r = await run([...deltas(...words), stop], { maxTokens: 100 });
    expect(r.finish).toEqual({ type: 'finish', reason: 'length' });
    const tokens = estimateTokens(r.text);
    expect(tokens).toBeLessThanOrEqual(100);
    expect(tokens).toBeGreaterThanOrEqual(97);
    expect(words.join('').startsWith(r.text)).toBe(true);
    expect(r.stoppedEarly).toBe(true);
  });

  it('cuts one long delta (a decoder merges what one read brought) to the limit', async () => {
    const r = await run([...deltas(words.join('')), stop], { maxTokens: 100 });
    const tokens = estimateTokens(r.text);
    expect(tokens).toBeLessThanOrEqual(100);
    expect(tokens).toBeGreaterThanOrEqual(95);
    expect(r.finish).toEqual({ type: 'finish', reason: 'length' });
  });

  it('passes an answer within the limit untouched', async () => {
    const events = [...deltas(...words.slice(0, 20)), stop];
    const r = await run(events, { maxTokens: 1000 });
    expect(r.out).toEqual(events);
  });

  it('counts thinking, and drops a tool call that comes after the limit was reached', async () => {
    const thinking = words.map((text): ChatEvent => ({ type: 'reasoning-delta', text }));
    const r = await run([...thinking, { type: 'tool-call', call: { id: 'call_1', name: 'f', arguments: '{}' } }, { type: 'finish', reason: 'tool_calls' }], { maxTokens: 50 });
    expect(r.out.some((e) => e.type === 'tool-call')).toBe(false);
    expect(r.finish).toEqual({ type: 'finish', reason: 'length' });
    const thought = r.out.map((e) => (e.type === 'reasoning-delta' ? e.text : '')).join('');
    expect(estimateTokens(thought)).toBeLessThanOrEqual(50);
  });

  it('passes a whole tool call that starts within the limit', async () => {
    const call: ChatEvent = { type: 'tool-call', call: { id: 'call_1', name: 'write', arguments: JSON.stringify({ content: words.join('') }) } };
    const r = await run([...deltas('Writing it.'), call, { type: 'finish', reason: 'tool_calls' }], { maxTokens: 50 });
    expect(r.out).toContainEqual(call);
    expect(r.finish).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('applies with stop sequences: whichever comes first ends the answer', async () => {
    expect((await run([...deltas(...words), stop], { maxTokens: 1000, stop: ['word3 '] })).text).toBe('word0 word1 word2 ');
    expect((await run([...deltas(...words), stop], { maxTokens: 3, stop: ['word300'] })).finish).toEqual({ type: 'finish', reason: 'length' });
  });
});

it('no limits: the same events object', () => {
  const events = source([]).events;
  expect(limitOutput(events, undefined)).toBe(events);
  expect(limitOutput(events, { stop: [''] })).toBe(events);
});

describe('the limited event stream', () => {
  it('opens the source only when first read, passes its error on, and closes it when the reader leaves', async () => {
    let opened = 0;
    let closed = 0;
    const failing: AsyncIterable<ChatEvent> = {
      [Symbol.asyncIterator]() {
        opened++;
        let n = 0;
        return {
          next: () => (n++ === 0 ? Promise.resolve({ done: false, value: { type: 'text-delta', text: 'partial' } as ChatEvent }) : Promise.reject(new Error('upstream cut'))),
          return: () => {
            closed++;
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
    const limited = limitOutput(failing, { maxTokens: 100 });
    expect(opened).toBe(0);
    const it = limited[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: { type: 'text-delta', text: 'partial' } });
    expect(opened).toBe(1);
    await expect(it.next()).rejects.toThrow('upstream cut');

    const left = limitOutput(failing, { stop: ['x'] })[Symbol.asyncIterator]();
    await left.next();
    await left.return?.();
    expect(closed).toBe(1);
  });
});
