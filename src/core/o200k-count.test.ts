import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { countO200kTokens } from './o200k-count.js';

const libraryCount = (text: string): number => countTokens(text, { disallowedSpecial: new Set() });

/**
 * Fragments that meet at every kind of split boundary: runs of each whitespace kind (the split
 * looks ahead past whitespace), upper/lower case and contractions, digit runs, punctuation,
 * CJK, combining marks, emoji, lone surrogates and special-token text.
 */
const fragment = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', ' \n ', '\u00a0', '\u3000'),
  fc.constantFrom('The', 'the', 'HTTP', 'iPhone', "don't", "WE'LL", "'s", 'a\u0301', 'é'),
  fc.constantFrom('1', '12', '1234567', '3.14', '١٢٣'),
  fc.constantFrom('!', '...', '//', '```', '->', '(', '"', "'", '/\n'),
  fc.constantFrom('你好', '世界。', '数据流', 'カタカナ', '한국어'),
  fc.constantFrom('😀', '👍🏽', '\ud800', '\udc00', '<|endoftext|>'),
);

describe('countO200kTokens', () => {
  it('counts any text exactly as the o200k tokenizer does', () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 30 }), (fragments) => {
        const text = fragments.join('');
        expect(countO200kTokens(text)).toBe(libraryCount(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the same counts when pieces are answered from its memo', () => {
    const text = 'Repeated words are counted once and then remembered: words, words, WORDS! 重复重复。\n\n';
    const first = countO200kTokens(text);
    expect(first).toBe(libraryCount(text));
    expect(countO200kTokens(text.repeat(50))).toBe(libraryCount(text.repeat(50)));
    expect(countO200kTokens(text)).toBe(first);
  });

  it('stays exact when more distinct pieces pass than it remembers', () => {
    // ~30k distinct words: the memo starts over several times along the way.
    const words = Array.from({ length: 30_000 }, (_, i) => ` w${i.toString(36)}x`);
    const text = words.join('');
    expect(countO200kTokens(text)).toBe(libraryCount(text));
    expect(countO200kTokens(' w0x w1x')).toBe(libraryCount(' w0x w1x'));
  });

  it('counts empty text and special-token text as plain text', () => {
    expect(countO200kTokens('')).toBe(0);
    expect(countO200kTokens('<|endoftext|>')).toBe(libraryCount('<|endoftext|>'));
    expect(countO200kTokens('<|endoftext|>')).toBeGreaterThan(1);
  });
});
