/**
 * Streaming UTF-8 → string for upstream bodies, equal to `TextDecoder('utf-8')` in stream
 * mode (a leading BOM dropped, invalid bytes as U+FFFD, characters cut between reads joined)
 * but much cheaper on the reads that are all ASCII.
 *
 * Why: a streaming TextDecoder goes through ICU, which widens every byte to UTF-16 and then
 * narrows it back; on a long answer streamed by the legacy API that was the largest single
 * cost of decoding, several times that of a Latin-1 copy (figures: docs/benchmarks.md). Most
 * of an SSE read is JSON punctuation and keys, and often all of it is ASCII. Reads with
 * other bytes keep the ICU path, which is the faster one for CJK text.
 */
import { isAscii as bytesAreAscii } from 'node:buffer';
import { latin1 } from './json-shape.js';

const STREAM = { stream: true } as const;
const BOM = 0xfeff;

export class Utf8StreamDecoder {
  /** The general path; the BOM is dropped here (below), because it may not see the stream's start. */
  readonly #general = new TextDecoder('utf-8', { ignoreBOM: true });
  /**
   * The general path may be holding the first bytes of a character cut at the end of the last
   * read. It cannot when that read ended in an ASCII byte: a held sequence only ever ends in
   * bytes >= 0x80. While it may, every read goes to it, so that the character is completed.
   */
  #mayHold = false;
  #atStart = true;

  /** Decodes the next read. */
  write(chunk: Uint8Array): string {
    let text: string;
    if (!this.#mayHold && bytesAreAscii(chunk)) {
      text = latin1(chunk, 0, chunk.byteLength);
    } else {
      text = this.#general.decode(chunk, STREAM);
      if (chunk.byteLength > 0) this.#mayHold = chunk[chunk.byteLength - 1]! >= 0x80;
    }
    return this.#withoutBom(text);
  }

  /** The end of the stream: what a cut last character becomes (U+FFFD), or ''. */
  end(): string {
    if (!this.#mayHold) return '';
    this.#mayHold = false;
    return this.#withoutBom(this.#general.decode());
  }

  /** `text` without the stream's leading BOM, when it is the first text of the stream. */
  #withoutBom(text: string): string {
    if (!this.#atStart || text.length === 0) return text;
    this.#atStart = false;
    return text.charCodeAt(0) === BOM ? text.slice(1) : text;
  }
}
