import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Citation } from '../../core/chat-event.js';
import { CitationCollector, escapeMarkdownText, escapeMarkdownUrl, formatSources } from './citations.js';

// One list line: number, link text with only escaped brackets/parens/backticks, and a
// destination with no whitespace, parentheses or angle brackets.
const LIST_LINE = /^\d+\. \[(?:[^\\[\]()`<>\n]|\\[\\[\]()`<>])*\]\([^\s()<>\\`]*\)$/;

describe('citations', () => {
  it('escapes link text', () => {
    expect(escapeMarkdownText(' a [b] (c)\n\r\td `e` <f> \\ ')).toBe('a \\[b\\] \\(c\\) d \\`e\\` \\<f\\> \\\\');
  });

  it('percent-encodes url characters that end a link destination', () => {
    expect(escapeMarkdownUrl('https://x.example/a b(c)<d>\\`e\n')).toBe('https://x.example/a%20b%28c%29%3Cd%3E%5C%60e%0A');
  });

  it('keeps every line a single well-formed link, whatever the title and url', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (title, path) => {
        const block = formatSources([{ index: 1, url: `https://x.example/${path}`, title }], 'list');
        const line = block?.text.split('\n').at(-1) ?? '';
        expect(block?.text.startsWith('\n\nSources:\n')).toBe(true);
        expect(line).toMatch(LIST_LINE);
      }),
      { numRuns: 300 },
    );
  });

  it('falls back to site name, then host name, for an empty title', () => {
    const block = formatSources(
      [
        { index: 1, url: 'https://a.example/x', title: ' ', siteName: 'Site A' },
        { index: 2, url: 'https://b.example/y', title: '' },
      ],
      'footnotes',
    );
    expect(block?.text).toBe('\n\n[^1]: [Site A](https://a.example/x)\n[^2]: [b.example](https://b.example/y)');
  });

  it('drops non-http urls and duplicate urls, and orders by index', () => {
    const collector = new CitationCollector();
    const add = (c: Citation): void => collector.add(c);
    add({ index: 3, url: 'https://c.example/', title: 'C' });
    add({ index: 1, url: 'javascript:alert(1)', title: 'X' });
    add({ index: 2, url: 'https://b.example/', title: 'B' });
    add({ index: 4, url: 'https://b.example/', title: 'B again' });
    add({ index: 5, url: 'data:text/html,hi', title: 'D' });
    expect(collector.sorted().map((c) => c.title)).toEqual(['B', 'C']);
  });

  it('returns null for style none or no citations', () => {
    expect(formatSources([{ index: 1, url: 'https://a.example/', title: 'A' }], 'none')).toBeNull();
    expect(formatSources([], 'list')).toBeNull();
  });

  it('line offsets delimit each line', () => {
    const block = formatSources(
      [
        { index: 1, url: 'https://a.example/', title: 'A' },
        { index: 2, url: 'https://b.example/', title: 'B' },
      ],
      'list',
    );
    expect(block?.lines.map((l) => block.text.slice(l.start, l.end))).toEqual(['1. [A](https://a.example/)', '2. [B](https://b.example/)']);
  });
});
