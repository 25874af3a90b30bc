/**
 * Exact-shape matching for the one record a Kimi stream sends thousands of times per reply
 * (a text delta), so the decoders can skip `JSON.parse` and the object it builds for each.
 * A decoder's shape is an anchored regular expression that accepts only the exact layout
 * Kimi sends, with plain string values (no escapes, no control characters): there the
 * captured values are by construction what `JSON.parse` would give. Anything else (other
 * field order, extra fields, escapes, whitespace, invalid JSON) does not match, and the
 * record is parsed in full. (A compiled regular expression is several times faster here
 * than `startsWith` or a character loop.)
 *
 * The Connect decoder matches a frame's bytes read as Latin-1 (one character per byte, much
 * cheaper than decoding UTF-8; character offsets are byte offsets) and decodes a value as
 * UTF-8 only when it is not ASCII. On those bytes a quote or backslash is always that
 * character: every byte of a multi-byte UTF-8 sequence is >= 0x80.
 */

/** Regular-expression source for the content of a JSON string without escapes or control characters. */
export const PLAIN_STRING = '[^"\\\\\\u0000-\\u001f]*';

/** Regular-expression source for a JSON non-negative integer (no leading zero, as JSON requires). */
export const UNSIGNED_INTEGER = '(?:0|[1-9][0-9]*)';

/** Whether `s[from, to)` is all ASCII. */
export function isAscii(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The bytes `b[start, end)` as a Latin-1 string: one character per byte. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  return (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('latin1', start, end);
}
