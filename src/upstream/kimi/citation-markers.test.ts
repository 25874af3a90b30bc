import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CitationMarkerFilter, CitationRegistry, stripMarkers, type CitationTextSink } from './citation-markers.js';
import { splitAt } from './stream-util.js';

const S = '\ue3a0';
const SEP = '\ue3a3';
const E = '\ue3a8';
const mark = (...refs: string[]) => `${S}cite${refs.map((r) => SEP + r).join('')}${E}`;

function filterWith(refs: Record<string, number> = {}, maxHeld?: number) {
  let next = 100;
  return new CitationMarkerFilter((r) => (refs[r] ??= next++), maxHeld);
}

/** Records what the filter outputs: text pieces as strings, references as numbers. */
class Pieces implements CitationTextSink {
  readonly list: (string | number)[] = [];
  text(text: string): void {
    this.list.push(text);
  }
  ref(index: number): void {
    this.list.push(index);
  }
  /** References shown as `[n]`. */
  get shown(): string {
    return this.list.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('');
  }
}

/** What one `push` outputs, references shown as `[n]`. */
function pushed(f: CitationMarkerFilter, text: string): string {
  const sink = new Pieces();
  f.push(text, sink);
  return sink.shown;
}

function flushed(f: CitationMarkerFilter): string {
  const sink = new Pieces();
  f.flush(sink);
  return sink.shown;
}

function run(f: CitationMarkerFilter, parts: string[]): string {
  return parts.map((p) => pushed(f, p)).join('') + flushed(f);
}

describe('CitationRegistry', () => {
  it('numbers by first appearance and de-duplicates by url', () => {
    const reg = new CitationRegistry();
    expect(reg.add({ url: 'https://a', title: 'A' })).toEqual({ index: 1, url: 'https://a', title: 'A' });
    expect(reg.add({ url: 'https://a', title: 'A again' })).toBeUndefined();
    expect(reg.add({ url: 'https://b', title: 'B', snippet: 's', siteName: 'b' })).toEqual({ index: 2, url: 'https://b', title: 'B', snippet: 's', siteName: 'b' });
    expect(reg.add({ url: '' })).toBeUndefined();
  });

  it('a refIndex seen first in a marker reserves the number its citation gets later', () => {
    const reg = new CitationRegistry();
    expect(reg.add({ url: 'https://a', refIndex: 'r0' })?.index).toBe(1);
    expect(reg.numberForRef('r5')).toBe(2);
    expect(reg.numberForRef('r0')).toBe(1);
    expect(reg.add({ url: 'https://c', refIndex: 'r6' })?.index).toBe(3);
    expect(reg.add({ url: 'https://b', refIndex: 'r5' })?.index).toBe(2);
    expect(reg.numberForRef('r5')).toBe(2);
  });

  it('a repeated url under a new refIndex maps that refIndex to the existing number', () => {
    const reg = new CitationRegistry();
    reg.add({ url: 'https://a', refIndex: 'r0' });
    expect(reg.add({ url: 'https://a', refIndex: 'r7' })).toBeUndefined();
    expect(reg.numberForRef('r7')).toBe(1);
  });
});

describe('CitationMarkerFilter', () => {
  it('passes plain deltas on unchanged, and nothing for an empty one', () => {
    const f = filterWith();
    const sink = new Pieces();
    f.push('plain text', sink);
    f.push('', sink);
    expect(sink.list).toEqual(['plain text']);
    expect(f.holding).toBe(false);
  });

  it('splits out single and multiple references as numbered references, never as text', () => {
    const f = filterWith({ a: 1, b: 2 });
    const sink = new Pieces();
    f.push(`x${mark('a')} y${mark('a', 'b')}.`, sink);
    expect(sink.list).toEqual(['x', 1, ' y', 1, 2, '.']);
  });

  it('gives the same output for any split of the input', () => {
    const input = `Alpha${mark('web_search:1#0')} beta ${S}${E}gamma${mark('x', 'y')}${SEP}delta${S}cit epsilon ${mark('z')}`;
    const whole = run(filterWith(), [input]);
    expect(whole).toBe('Alpha[100] beta gamma[101][102]deltacit epsilon [103]');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 10 }), (cuts) => {
        expect(run(filterWith(), splitAt(input, cuts))).toBe(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('holds an unterminated marker and releases it when it completes', () => {
    const f = filterWith({ r: 4 });
    expect(pushed(f, `see ${S}ci`)).toBe('see ');
    expect(f.holding).toBe(true);
    expect(pushed(f, `te${SEP}r`)).toBe('');
    expect(pushed(f, `${E} done`)).toBe('[4] done');
    expect(f.holding).toBe(false);
  });

  it('releases held text past the cap, without private-use characters', () => {
    const f = filterWith({}, 16);
    expect(pushed(f, `a${S}cite${SEP}`)).toBe('a');
    expect(pushed(f, '0123456789abcdef')).toBe('cite0123456789abcdef');
    expect(f.holding).toBe(false);
  });

  it('removes stray private-use characters and malformed markers', () => {
    expect(run(filterWith(), [`a\ue3a5b${E}c${S}citX d`])).toBe('abccitX d');
    expect(run(filterWith(), [`${S}cite${E}e`])).toBe('citee');
  });

  it('flush releases held text stripped; reset drops it', () => {
    const f = filterWith();
    pushed(f, `${S}cite${SEP}ab`);
    expect(flushed(f)).toBe('citeab');
    pushed(f, `${S}ci`);
    f.reset();
    expect(flushed(f)).toBe('');
  });

  it('stripMarkers removes the whole range', () => {
    expect(stripMarkers('a\ue3a0\ue3a1\ue3a2\ue3a3\ue3a4\ue3a5\ue3a6\ue3a7\ue3a8b\ue3a9')).toBe('ab\ue3a9');
  });
});
