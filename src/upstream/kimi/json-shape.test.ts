import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAscii, latin1, PLAIN_STRING, UNSIGNED_INTEGER } from './json-shape.js';

const plainLiteral = new RegExp(`^"(${PLAIN_STRING})"$`);
const integer = new RegExp(`^${UNSIGNED_INTEGER}$`);
const utf8 = new TextEncoder();
const decoder = new TextDecoder();
const needsEscape = (text: string): boolean => Array.from(text).some((c) => c === '"' || c === '\\' || c.charCodeAt(0) < 0x20);

describe('PLAIN_STRING', () => {
  it('matches a JSON string literal exactly when it has no escapes, and then captures what JSON.parse reads', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const literal = JSON.stringify(text);
        const m = plainLiteral.exec(literal);
        // Only text that JSON must escape misses.
        expect(m === null).toBe(needsEscape(text));
        if (m) expect(m[1]).toBe(JSON.parse(literal));
        // Matched on the UTF-8 bytes read as Latin-1 (as the Connect decoder does), it agrees.
        const bytes = utf8.encode(literal);
        const asLatin1 = latin1(bytes, 0, bytes.length);
        const b = plainLiteral.exec(asLatin1);
        expect(b === null).toBe(m === null);
        if (b) {
          expect(decoder.decode(bytes.subarray(1, bytes.length - 1))).toBe(text);
          expect(isAscii(b[1]!, 0, b[1]!.length)).toBe(Array.from(text).every((c) => c.charCodeAt(0) <= 0x7f));
        }
      }),
    );
  });

  it('rejects escapes, raw control characters and unterminated strings', () => {
    for (const bad of ['"a\\"b"', '"a\nb"', '"a\u0000b"', '"abc']) expect(plainLiteral.test(bad)).toBe(false);
    expect(plainLiteral.test('""')).toBe(true);
  });
});

describe('UNSIGNED_INTEGER', () => {
  it('accepts JSON non-negative integers and nothing else', () => {
    for (const ok of ['0', '7', '1234']) expect(integer.test(ok)).toBe(true);
    for (const bad of ['012', '-1', '', '1.5', '1e3']) expect(integer.test(bad)).toBe(false);
  });
});

describe('latin1', () => {
  it('reads a range of bytes one character per byte, from a Buffer or a plain Uint8Array', () => {
    const bytes = Uint8Array.from([0x7b, 0xe4, 0xbd, 0xa0, 0x7d]);
    for (const b of [bytes, Buffer.from(bytes)]) {
      expect(latin1(b, 1, 4)).toBe('\u00e4\u00bd\u00a0');
      expect(latin1(b.subarray(1), 3, 4)).toBe('}');
    }
  });
});
