/**
 * Takes large base64 data URLs out of a JSON request body before it is parsed, decoding each
 * in place, over its own text in the body's buffer. Parsed whole, a 10 MiB image costs the
 * body as a 13 MiB string and the data URL as another inside the parsed object, then its
 * decoded copy; taken out, neither string is ever made, the file lives in memory the body
 * held already, and `JSON.parse` reads a body of a few hundred bytes.
 *
 * What is taken out, and only that (everything else stays in the text, on the usual path):
 * - a string value of an attachment field (`url`, `image_url`, `file_data`, `file_url`), so
 *   a data URL in a message's text stays text;
 * - that starts with `data:`, has a header up to its first `,` of printable ASCII without
 *   `"` or `\` that says `;base64`;
 * - whose payload (up to the next `"`) is at least `minPayload` characters of canonical
 *   standard base64: the decoded length is the one the text's length promises (any escape,
 *   whitespace or stray character makes it shorter), no URL-safe alphabet, no stray bits in the
 *   last group. So the client's exact text can be rebuilt from the bytes (data URLs shown back,
 *   e.g. a stored response's input items), and a payload that is not clean base64 meets the
 *   usual decoder and its usual error;
 * - and whose decoded size is within `maxDecoded` (the largest attachment cap): a larger one
 *   is refused by the usual path without being decoded.
 *
 * The quote that opens a value is found with `Buffer.indexOf` and counts only if unescaped
 * (an even number of backslashes before it); in valid JSON an unescaped quote followed by
 * `data:` opens a string. The placeholder that replaces the payload stays inside the same
 * quotes, so the JSON's structure, and whether it parses, are unchanged.
 */
import { createHash } from 'node:crypto';
import { dataUrlHeader } from './data-url.js';
import { placeholderJson, placeholderOf, type InlineFile } from './inline-data.js';

export interface DataUrlOptions {
  /** Payloads shorter than this (in base64 characters) stay in the text. */
  minPayload: number;
  /** Largest decoded size taken out. */
  maxDecoded: number;
}

export interface TakenDataUrls {
  /** The body without the taken payloads, placeholders in their place. */
  json: Buffer;
  inline: Map<string, InlineFile>;
}

const QUOTE_DATA = Buffer.from('"data:', 'latin1');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
/** A longer header (media type and parameters) is not an image's: left to the usual path. */
const MAX_HEADER = 200;
/**
 * Base64 characters decoded at a time: a multiple of 4, so each slice decodes on its own, and
 * below V8's large-object size, so each slice's string is short-lived young-generation garbage
 * rather than memory of its own to map and unmap.
 */
const SLICE = 64 * 1024;
const ATTACHMENT_KEYS = new Set(['url', 'image_url', 'file_data', 'file_url']);

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Whether the quote at `at` is preceded by an odd number of backslashes (escaped). */
function escaped(body: Buffer, at: number): boolean {
  let n = 0;
  while (at - n - 1 >= 0 && body[at - n - 1] === BACKSLASH) n++;
  return n % 2 === 1;
}

/** The key of the value whose opening quote is at `at` (`"key" : "value"`), if it is a short plain one. */
function keyBefore(body: Buffer, at: number): string | undefined {
  let i = at - 1;
  while (isSpace(body[i])) i--;
  if (body[i] !== COLON) return undefined;
  i--;
  while (isSpace(body[i])) i--;
  if (body[i] !== QUOTE) return undefined;
  const keyEnd = i;
  const keyStart = body.lastIndexOf(QUOTE, keyEnd - 1);
  if (keyStart < 0 || keyEnd - keyStart > 16) return undefined;
  return body.toString('latin1', keyStart + 1, keyEnd);
}

/** The header between `data:` (ending at `from`) and its comma, or undefined when it is not a plain base64 one. */
function headerAt(body: Buffer, from: number): { header: string; comma: number } | undefined {
  const limit = Math.min(body.length, from + MAX_HEADER);
  for (let i = from; i < limit; i++) {
    const c = body[i]!;
    if (c === COMMA) {
      const header = body.toString('latin1', from, i);
      return dataUrlHeader(header).base64 ? { header, comma: i } : undefined;
    }
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return undefined;
  }
  return undefined;
}

/**
 * Decodes the payload `body[start, end)` in place: the bytes are written over the text they come
 * from (3 bytes for every 4 characters, so the writing never passes the reading), and the
 * answer is a view of the body. The file then costs no memory beyond the body's, which the
 * request holds anyway until it is parsed. Undefined, with the body as it was, when the payload
 * is not canonical base64 within `maxDecoded`.
 */
function decodeInPlace(body: Buffer, start: number, end: number, maxDecoded: number, scratch: Buffer): Buffer | undefined {
  const length = end - start;
  if (length % 4 !== 0) return undefined;
  const padding = body[end - 1] === 0x3d ? (body[end - 2] === 0x3d ? 2 : 1) : 0;
  const size = (length / 4) * 3 - padding;
  if (size > maxDecoded) return undefined;
  const text = body.subarray(start, end);
  // Node's decoder takes the URL-safe alphabet too; only the standard one rebuilds the same text.
  if (text.indexOf(0x2d) >= 0 || text.indexOf(0x5f) >= 0) return undefined;
  // Stray bits in the last group decode like zeros, and would not be rebuilt.
  const lastGroup = body.toString('latin1', end - 4, end);
  if (Buffer.from(lastGroup, 'base64').toString('base64') !== lastGroup) return undefined;
  let written = 0;
  for (let at = start; at < end; at += SLICE) {
    const slice = body.toString('latin1', at, Math.min(end, at + SLICE));
    const expected = (slice.length / 4) * 3 - (at + SLICE >= end ? padding : 0);
    // Decoded aside first: a slice that is not clean never touches the body.
    if (scratch.write(slice, 0, 'base64') !== expected) {
      // Put back the text of the slices decoded so far (clean, so their base64 is the original).
      if (written > 0) body.write(body.toString('base64', start, start + written), start, 'latin1');
      return undefined;
    }
    scratch.copy(body, start + written, 0, expected);
    written += expected;
  }
  return body.subarray(start, start + size);
}

/** The body with its large data URLs taken out, or undefined when it has none to take. */
export function takeDataUrls(body: Buffer, opts: DataUrlOptions): TakenDataUrls | undefined {
  const inline = new Map<string, InlineFile>();
  const pieces: Buffer[] = [];
  let scratch: Buffer | undefined;
  let copied = 0;
  let from = 0;
  for (let at = body.indexOf(QUOTE_DATA, from); at >= 0; at = body.indexOf(QUOTE_DATA, from)) {
    from = at + 1;
    if (escaped(body, at)) continue;
    const key = keyBefore(body, at);
    if (key === undefined || !ATTACHMENT_KEYS.has(key)) continue;
    const head = headerAt(body, at + QUOTE_DATA.length);
    if (!head) continue;
    const end = body.indexOf(QUOTE, head.comma + 1);
    if (end < 0) break;
    if (end - head.comma - 1 < opts.minPayload) continue;
    scratch ??= Buffer.allocUnsafe((SLICE / 4) * 3);
    const bytes = decodeInPlace(body, head.comma + 1, end, opts.maxDecoded, scratch);
    if (!bytes) continue;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const { mime } = dataUrlHeader(head.header);
    inline.set(placeholderOf(head.header, sha256), { bytes, sha256, header: head.header, ...(mime ? { mime } : {}) });
    pieces.push(body.subarray(copied, at + 1), Buffer.from(placeholderJson(head.header, sha256), 'latin1'));
    copied = end;
    from = end + 1;
  }
  if (inline.size === 0) return undefined;
  pieces.push(body.subarray(copied));
  return { json: Buffer.concat(pieces), inline };
}
