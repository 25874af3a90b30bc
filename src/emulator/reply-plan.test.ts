import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDirectives } from './directives.js';
import { replyContext } from './__fixtures__/reply-context.js';
import { buildReplyPlan, insertCitation, searchResults, splitEvenly, splitWords } from './reply-plan.js';

describe('directives', () => {
  it('parses values, quoted values with escapes, flags, and merges left to right', () => {
    const d = parseDirectives('hi [[emu reply="a \\"b\\" \\\\ c\\nd" deltas=3 turn]] mid [[emu deltas=5 cite]] end');
    expect(d.get('reply')).toBe('a "b" \\ c\nd');
    expect(d.get('deltas')).toBe('5');
    expect(d.get('turn')).toBe(true);
    expect(d.get('cite')).toBe(true);
  });

  it('allows ]] inside quotes and ignores unclosed or look-alike directives', () => {
    expect(parseDirectives('[[emu reply="x]]y"]]').get('reply')).toBe('x]]y');
    expect(parseDirectives('[[emu reply="open').size).toBe(0);
    expect(parseDirectives('[[emulator reply=x]]').size).toBe(0);
    expect(parseDirectives('[[emu]] [[emu  delay=5 ]]').get('delay')).toBe('5');
  });
});

describe('reply plans', () => {
  it('answers with length and digest by default, never the prompt', () => {
    const text = 'what is the airspeed of a swallow 😀';
    const plan = buildReplyPlan(replyContext(text));
    const digest = createHash('sha256').update(text).digest('hex').slice(0, 8);
    const answer = plan.answerDeltas.join('');
    expect(answer).toBe(`Emulator reply: the message has ${Array.from(text).length} characters (digest ${digest}).`);
    expect(answer).not.toContain('swallow');
    expect(plan.answerDeltas[0]).toBe('Emulator ');
  });

  it('splits words keeping spaces and splits evenly by code points', () => {
    expect(splitWords('a  b c')).toEqual(['a  ', 'b ', 'c']);
    expect(splitEvenly('😀😀😀😀😀', 2)).toEqual(['😀😀😀', '😀😀']);
    expect(splitEvenly('ab', 5)).toEqual(['a', 'b']);
    expect(buildReplyPlan(replyContext('[[emu deltas=3]]')).answerDeltas).toEqual(['w1 ', 'w2 ', 'w3']);
  });

  it('reply wins over turn and history; turn and history read the branch', () => {
    expect(buildReplyPlan(replyContext('[[emu turn reply=x]]')).answerDeltas).toEqual(['x']);
    expect(buildReplyPlan(replyContext('[[emu turn]]', { history: ['a', 'b'] })).answerDeltas.join('')).toBe('turn=3 chat=c1');
    expect(buildReplyPlan(replyContext('[[emu history]]', { history: ['a', 'b'] })).answerDeltas.join('')).toBe('a | b');
    expect(buildReplyPlan(replyContext('[[emu history]]')).answerDeltas.join('')).toBe('(empty)');
  });

  it('thinking and search only when requested by the call', () => {
    expect(buildReplyPlan(replyContext('[[emu think="a b" search=2]]')).thinkDeltas).toEqual([]);
    expect(buildReplyPlan(replyContext('[[emu think="a b" search=2]]')).searchResults).toEqual([]);
    const on = buildReplyPlan(replyContext('[[emu think="a b" search=2]]', { thinkingRequested: true, searchEnabled: true }));
    expect(on.thinkDeltas).toEqual(['a ', 'b']);
    expect(on.searchResults.map((r) => r.url)).toEqual(['https://example.com/1', 'https://example.com/2']);
  });

  it('puts one citation marker right after the first sentence', () => {
    expect(insertCitation('One. Two.', searchResults(1))).toBe('One.\ue3a0cite\ue3a3web_search:1#0\ue3a8 Two.');
    expect(insertCitation('no end', searchResults(2))).toBe('no end\ue3a0cite\ue3a3web_search:1#0\ue3a3web_search:1#1\ue3a8');
    const rest = buildReplyPlan(replyContext('[[emu search=1 cite reply="A. B."]]', { protocol: 'rest', searchEnabled: true }));
    expect(rest.cite).toBe(false);
    expect(rest.answerDeltas.join('')).toBe('A. B.');
  });

  it('reads faults, pacing and chunking; unknown faults are ignored', () => {
    const plan = buildReplyPlan(replyContext('[[emu fault=429 retry_after=none after=3 code=x delay=7 stall=9 hb=11 chunking=hostile seed=5 crlf]]'));
    expect(plan.fault).toEqual({ fault: '429', after: 3, code: 'x', retryAfterSec: null });
    expect(plan).toMatchObject({ delayMs: 7, stallMs: 9, heartbeatMs: 11, chunking: 'hostile', seed: 5, crlf: true });
    expect(buildReplyPlan(replyContext('[[emu fault=bogus]]')).fault).toBeUndefined();
    expect(buildReplyPlan(replyContext('[[emu fault=429]]')).fault?.retryAfterSec).toBe(2);
  });
});
