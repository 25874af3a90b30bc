/**
 * `text-replace` handling shared by both renderers. The event carries a block's whole new
 * text and what had been emitted for that block before (`previous`).
 */

/** Length of the longest common prefix of `a` and `b`, never ending between a surrogate pair. */
export function commonPrefixLength(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i > 0 && i < b.length) {
    const code = b.charCodeAt(i - 1);
    if (code >= 0xd800 && code <= 0xdbff) i--;
  }
  return i;
}

/**
 * What a stream can still send for a replacement: it cannot retract, so it appends the part
 * of the new text after its longest common prefix with `previous` (empty when the new text
 * is a prefix of what was already sent).
 */
export function appendablePart(previous: string, text: string): string {
  return text.slice(commonPrefixLength(previous, text));
}

/**
 * Substitutes a replaced block inside aggregated answer text:
 * - `previous` is the tail of `content` (the usual case): that tail becomes `text`;
 * - otherwise its last occurrence in `content` is replaced;
 * - when `previous` cannot be found at all, the appendable part is appended, as a stream would.
 */
export function substituteBlock(content: string, previous: string, text: string): string {
  if (content.endsWith(previous)) return content.slice(0, content.length - previous.length) + text;
  const at = content.lastIndexOf(previous);
  if (at >= 0) return content.slice(0, at) + text + content.slice(at + previous.length);
  return content + appendablePart(previous, text);
}
