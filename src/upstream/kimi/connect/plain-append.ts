/**
 * The byte-level fast path of the Connect decoder: a text or thinking delta of exactly the
 * shape Kimi sends (spec B.5) is read from the frame's bytes without `JSON.parse` and without
 * the object it would build (see json-shape.ts). Any other frame does not match and is parsed
 * in full; a match yields exactly what the full parse would.
 */
import { isAscii as bytesAreAscii } from 'node:buffer';
import { isAscii, latin1, PLAIN_STRING, UNSIGNED_INTEGER } from '../json-shape.js';

/**
 * A plain delta frame. Groups: 1 the block kind, 2 the block id, 3 the content.
 */
const PLAIN_APPEND = new RegExp(
  `\\{"op":"append","mask":"block\\.(text|think)\\.content","eventOffset":${UNSIGNED_INTEGER},` +
    `"block":\\{"id":"(${PLAIN_STRING})","\\1":\\{"content":"(${PLAIN_STRING})"\\}\\}\\}`,
  // Sticky: matched at a frame's offset in its whole read, and a match must end where the frame ends.
  'y',
);
/**
 * V8 copies a substring shorter than this and makes a longer one a view that keeps its whole
 * parent string alive. Values taken from a read's Latin-1 text at this length or more are
 * copied from the bytes instead, so that text kept for the whole stream (block ids, sampled
 * answer text) never pins a read. (Only memory depends on this number, never results.)
 */
const SHARED_SUBSTRING_LENGTH = 13;
/** What follows the content in a PLAIN_APPEND frame. */
const APPEND_TAIL_LENGTH = '"}}}'.length;
/** Between the id and the content in a PLAIN_APPEND frame, after the kind: `":{"content":"`. */
const CONTENT_KEY_LENGTH = '":{"content":"'.length;
/** The shortest PLAIN_APPEND frame. */
const MIN_APPEND_LENGTH = '{"op":"append","mask":"block.text.content","eventOffset":0,"block":{"id":"","text":{"content":""}}}'.length;

/**
 * Matches plain delta frames within the reads of one stream. After a successful `match`,
 * `id`, `think` and `content` describe the frame (fields rather than a result object: this
 * runs once per streamed token).
 */
export class PlainAppendMatcher {
  /** The matched frame's block id. */
  id = '';
  /** Whether the matched frame is a thinking delta (else answer text). */
  think = false;
  /** The matched frame's content. */
  content = '';

  private readonly decoder = new TextDecoder('utf-8');
  /**
   * The read being split, as Latin-1 (one character per byte, see json-shape.ts): made once
   * per read instead of once per frame, and dropped after the read (`endRead`).
   */
  private latinOf: Uint8Array | undefined;
  private latin = '';
  /** Whether that whole read is ASCII (then no value of it needs a UTF-8 decode). */
  private latinAscii = false;
  /** The last block id of a plain append, copied (see SHARED_SUBSTRING_LENGTH). */
  private lastAppendId = '';

  /** Whether `bytes[start, end)` (one frame's payload within its read) is a plain delta. */
  match(bytes: Uint8Array, start: number, end: number): boolean {
    if (end - start < MIN_APPEND_LENGTH) return false;
    if (bytes !== this.latinOf) {
      this.latinOf = bytes;
      this.latin = latin1(bytes, 0, bytes.byteLength);
      this.latinAscii = bytesAreAscii(bytes);
    }
    PLAIN_APPEND.lastIndex = start;
    const m = PLAIN_APPEND.exec(this.latin);
    // A match that ends anywhere else is not this frame (it stops short, or ran on into the next one).
    if (m === null || PLAIN_APPEND.lastIndex !== end) return false;
    const kind = m[1]!;
    let id = m[2]!;
    let content = m[3]!;
    // Offsets in the Latin-1 text are byte offsets: decode the values that are not ASCII from their bytes.
    const contentEnd = end - APPEND_TAIL_LENGTH;
    const contentStart = contentEnd - content.length;
    const ascii = this.latinAscii;
    if (!ascii && !isAscii(content, 0, content.length)) content = this.decoder.decode(bytes.subarray(contentStart, contentEnd));
    else if (content.length >= SHARED_SUBSTRING_LENGTH) content = latin1(bytes, contentStart, contentEnd);
    if (id === this.lastAppendId) {
      id = this.lastAppendId; // the copy, not a view into this read
    } else {
      const idEnd = contentStart - CONTENT_KEY_LENGTH - kind.length - 3; // `","` before the kind
      if (!ascii && !isAscii(id, 0, id.length)) {
        id = this.decoder.decode(bytes.subarray(idEnd - id.length, idEnd));
      } else {
        if (id.length >= SHARED_SUBSTRING_LENGTH) id = latin1(bytes, idEnd - id.length, idEnd);
        this.lastAppendId = id;
      }
    }
    this.id = id;
    this.think = kind === 'think';
    this.content = content;
    return true;
  }

  /** The read is split: let go of its Latin-1 text. */
  endRead(): void {
    this.latinOf = undefined;
    this.latin = '';
    this.content = '';
  }
}
