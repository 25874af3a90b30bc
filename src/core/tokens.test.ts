import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it, vi } from 'vitest';
import type * as O200kCount from './o200k-count.js';
import { estimatePromptTokens, estimateTokens, StreamTokenEstimator } from './tokens.js';

/** Characters handed to the tokenizer, to check the cost bounds (the real tokenizer still counts). */
const tokenized = vi.hoisted(() => ({ chars: 0 }));
vi.mock('./o200k-count.js', async (importOriginal) => {
  const real = await importOriginal<typeof O200kCount>();
  return {
    ...real,
    countO200kTokens: (text: string) => {
      tokenized.chars += text.length;
      return real.countO200kTokens(text);
    },
  };
});

describe('estimateTokens', () => {
  it('is 0 for empty text and a positive integer otherwise', () => {
    expect(estimateTokens('')).toBe(0);
    for (const text of ['a', 'Hello, world!', '你好，世界', '😀😀', 'x'.repeat(10_000)]) {
      const n = estimateTokens(text);
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeGreaterThan(0);
    }
  });

  it('matches the o200k tokenizer on short text', () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    expect(estimateTokens(text)).toBe(countTokens(text));
  });

  it('grows with the text', () => {
    const unit = 'Streaming answers arrive in many small pieces. 流式回答分成许多小块。\n';
    let last = 0;
    for (const repeat of [1, 10, 100, 1_000, 5_000]) {
      const n = estimateTokens(unit.repeat(repeat));
      expect(n).toBeGreaterThan(last);
      last = n;
    }
  });

  it('treats special-token strings as text', () => {
    expect(estimateTokens('<|endoftext|> and <|im_start|>')).toBeGreaterThan(2);
  });

  it('stays close to an exact count across slice boundaries', () => {
    const text = 'word '.repeat(1_600) + 'tail';
    expect(Math.abs(estimateTokens(text) - countTokens(text))).toBeLessThanOrEqual(3);
  });

  it('extrapolates very long text cheaply and plausibly', () => {
    const unit = 'An ordinary sentence with ordinary words, repeated to make a long answer. ';
    const text = unit.repeat(10_000); // ~740k characters
    const started = performance.now();
    const estimate = estimateTokens(text);
    const elapsed = performance.now() - started;
    const exact = countTokens(text);
    expect(Number.isInteger(estimate)).toBe(true);
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.05);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('handles a long run without whitespace in bounded time', () => {
    let text = '';
    let seed = 7;
    for (let i = 0; i < 200_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      text += String.fromCharCode(97 + (seed % 26));
    }
    const started = performance.now();
    const n = estimateTokens(text);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(n).toBeGreaterThan(text.length / 8);
  });

  it('keeps the cost of CJK text without punctuation bounded', () => {
    let text = '';
    for (let i = 0; i < 100_000; i++) text += String.fromCharCode(0x4e00 + ((i * 7919) % 3000));
    const started = performance.now();
    const n = estimateTokens(text);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(n).toBeGreaterThan(text.length / 2);
  });
});

describe('estimatePromptTokens', () => {
  it('adds per-message overhead on top of the content', () => {
    const messages = [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Hi there' },
    ];
    const content = estimateTokens('You are helpful.\nHi there');
    const n = estimatePromptTokens(messages);
    expect(Number.isInteger(n)).toBe(true);
    expect(n).toBe(3 + 2 * 3 + content + estimateTokens('system') + estimateTokens('user'));
    expect(estimatePromptTokens([...messages, { role: 'user', content: 'more' }])).toBeGreaterThan(n);
  });

  it('estimates a long history in bounded time', () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}: ${'lorem ipsum dolor '.repeat(50)}` }));
    const started = performance.now();
    const n = estimatePromptTokens(messages);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(n).toBeGreaterThan(500 * 100);
  });
});

describe('StreamTokenEstimator', () => {
  function streamed(pieces: string[]): StreamTokenEstimator {
    const estimator = new StreamTokenEstimator();
    for (const piece of pieces) estimator.add(piece);
    return estimator;
  }

  it('is exact for text shorter than its head', () => {
    const pieces = ['Hel', 'lo', ', wor', 'ld! ', '你好', '世界。'];
    const estimator = streamed(pieces);
    expect(estimator.length).toBe(pieces.join('').length);
    expect(estimator.estimate()).toBe(estimateTokens(pieces.join('')));
    expect(new StreamTokenEstimator().estimate()).toBe(0);
  });

  it('stays close to a full count for long streamed text', () => {
    const words = ['the', 'answer', 'streams', 'in', 'many', 'small', 'pieces,', 'and', 'some', 'are', 'longer', 'than', 'others.', '数据', '流式', '输出。'];
    let seed = 3;
    const pieces: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      pieces.push(`${words[seed % words.length] ?? ''} `);
    }
    const full = pieces.join('');
    const estimate = streamed(pieces).estimate();
    const exact = countTokens(full);
    expect(Number.isInteger(estimate)).toBe(true);
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.05);
  });

  it('counts a bounded sample however the text is cut into pieces', () => {
    // Decoders merge the deltas of one read, so a fast upstream hands over whole answers.
    const words = ['every', 'read', 'may', 'hold', 'thousands', 'of', 'deltas,', '合并', '的', '片段。'];
    const parts: string[] = [];
    for (let i = 0; i < 20_000; i++) parts.push(`${words[(i * 7) % words.length] ?? ''} `);
    const full = parts.join('');
    const exact = countTokens(full);
    for (const pieceSize of [1, 4_000, 65_536, full.length]) {
      const estimator = new StreamTokenEstimator();
      for (let at = 0; at < full.length; at += pieceSize) estimator.add(full.slice(at, at + pieceSize));
      expect(estimator.length).toBe(full.length);
      tokenized.chars = 0;
      const estimate = estimator.estimate();
      expect(tokenized.chars).toBeLessThan(1_500);
      expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.05);
    }
  });

  it('grows with the text', () => {
    const estimator = new StreamTokenEstimator();
    let last = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 2_000; i++) estimator.add(`piece number ${i} `);
      const now = estimator.estimate();
      expect(now).toBeGreaterThan(last);
      last = now;
    }
  });
});
