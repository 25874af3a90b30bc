import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, splitAt } from './stream-util.js';
import { Utf8StreamDecoder } from './utf8-stream.js';

function decodeAll(parts: Uint8Array[]): string {
  const d = new Utf8StreamDecoder();
  let out = '';
  for (const p of parts) out += d.write(p);
  return out + d.end();
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
/** Byte pieces that stress the boundary logic: ASCII runs, multi-byte characters, a BOM, and invalid bytes. */
const piece = fc.oneof(
  fc.string({ maxLength: 12 }).map(utf8),
  fc.constantFrom('你好', '€', 'é', '😀', 'a\u0301', '\ufeff').map(utf8),
  fc.constantFrom(bytes(0x80), bytes(0xff), bytes(0xe4, 0xbd), bytes(0xf0, 0x9f, 0x98), bytes(0xc3), bytes(0xed, 0xa0, 0x80)),
);

describe('Utf8StreamDecoder', () => {
  it('decodes any bytes cut anywhere exactly as one TextDecoder call on the whole', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), fc.array(fc.nat(400), { maxLength: 12 }), (pieces, cuts) => {
        const all = concatBytes(pieces);
        expect(decodeAll(splitAt(all, cuts))).toBe(new TextDecoder('utf-8').decode(all));
      }),
      { numRuns: 2000 },
    );
  });

  it('joins a character cut between an ASCII read and the next', () => {
    // "ok 你" with 你 (e4 bd a0) cut after its first byte, then plain ASCII again.
    const parts = [utf8('ok '), bytes(0xe4), bytes(0xbd, 0xa0, 0x21), utf8(' done')];
    expect(decodeAll(parts)).toBe('ok 你! done');
  });

  it('does not lose an unfinished character when the next read is all ASCII', () => {
    expect(decodeAll([utf8('ok '), bytes(0xe4, 0xbd), utf8('! done')])).toBe('ok \ufffd! done');
  });

  it('turns a character cut by the end of the stream into U+FFFD', () => {
    expect(decodeAll([utf8('data'), bytes(0xe4, 0xbd)])).toBe('data\ufffd');
  });

  it('drops one leading BOM, even when it arrives in pieces, and keeps a later U+FEFF', () => {
    expect(decodeAll([bytes(0xef), bytes(0xbb), bytes(0xbf, 0x61), utf8('\ufeffb')])).toBe('a\ufeffb');
    expect(decodeAll([utf8('x'), utf8('\ufeffy')])).toBe('x\ufeffy');
  });
});
