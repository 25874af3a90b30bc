/**
 * Citation numbering and inline citation markers, shared by both Kimi decoders.
 *
 * Kimi (Connect, 2026) embeds citations in answer text as private-use characters
 * (spec B.5 "Inline citations"):
 *
 *     U+E3A0 "cite" (U+E3A3 <refIndex>)+ U+E3A8      e.g. \ue3a0cite\ue3a3web_search:1#2\ue3a8
 *
 * where `refIndex` matches a search result's `refIndex`. Those characters must never reach
 * a client, so `CitationMarkerFilter` splits each text stream into its text and its
 * citation references (one per `refIndex`, numbered), and removes any other character of
 * the U+E3A0–U+E3A8 range. The decoders pass the references on as `citation-ref` events;
 * how a reference looks is the renderer's decision. `CitationRegistry` owns the numbering,
 * so a reference and the citation it points to agree on the number.
 */
import type { Citation } from '../../core/chat-event.js';

const PUA_FIRST = 0xe3a0;
const PUA_LAST = 0xe3a8;
const MARK_START = 0xe3a0;
const MARK_SEP = 0xe3a3;
const MARK_END = 0xe3a8;
/** "cite" as char codes. */
const CITE = [0x63, 0x69, 0x74, 0x65] as const;

const PUA_TEST = /[\ue3a0-\ue3a8]/;
const PUA_ALL = /[\ue3a0-\ue3a8]/g;

/** Default cap on text held back while waiting for the end of a marker. */
export const DEFAULT_MAX_HELD_CHARS = 256;

/** A search result as a decoder found it, before numbering. */
export interface CitationSource {
  url: string;
  title?: string | undefined;
  snippet?: string | undefined;
  siteName?: string | undefined;
  /** Connect: the result's `refIndex`, which inline markers refer to. */
  refIndex?: string | undefined;
}

/**
 * Numbers citations 1, 2, … in order of first appearance, de-duplicated by url. A marker
 * may name a `refIndex` before its search result arrives: the reference then takes the next
 * free number at once, and the citation keeps that number when it arrives.
 */
export class CitationRegistry {
  private readonly byUrl = new Map<string, number>();
  private readonly byRef = new Map<string, number>();
  /** Numbers already given to a url (a reserved number may still be waiting for its source). */
  private readonly claimed = new Set<number>();
  private next = 1;

  /** Registers a source; returns the citation to emit, or undefined for a repeated url (or no url). */
  add(source: CitationSource): Citation | undefined {
    const { url, refIndex } = source;
    if (url === '') return undefined;
    const known = this.byUrl.get(url);
    if (known !== undefined) {
      if (refIndex && !this.byRef.has(refIndex)) this.byRef.set(refIndex, known);
      return undefined;
    }
    let index = refIndex ? this.byRef.get(refIndex) : undefined;
    if (index === undefined || this.claimed.has(index)) {
      index = this.next++;
      if (refIndex) this.byRef.set(refIndex, index);
    }
    this.byUrl.set(url, index);
    this.claimed.add(index);
    const citation: Citation = { index, url, title: source.title ?? '' };
    if (source.snippet) citation.snippet = source.snippet;
    if (source.siteName) citation.siteName = source.siteName;
    return citation;
  }

  /** The number shown for a `refIndex`; reserves the next free number for one not seen yet. */
  numberForRef(refIndex: string): number {
    let index = this.byRef.get(refIndex);
    if (index === undefined) {
      index = this.next++;
      this.byRef.set(refIndex, index);
    }
    return index;
  }
}

/** Receives one text stream as the filter splits it: text and citation references, in order. */
export interface CitationTextSink {
  text(text: string): void;
  /** A reference to citation number `index` at this point of the text. */
  ref(index: number): void;
}

const INCOMPLETE = -1;
const MALFORMED = -2;

/**
 * Streaming split of inline citation markers out of one text stream (one block). Text from
 * an unterminated U+E3A0 is held back until the marker completes; past `maxHeld` characters
 * it is released as it is, minus its private-use characters. Output goes to the sink given
 * to each call; the output does not depend on how the input is cut.
 *
 * Cost: a delta without private-use characters and nothing held goes to the sink unchanged
 * (one regex test over the delta, no allocation).
 */
export class CitationMarkerFilter {
  private held = '';
  private readonly refs: string[] = [];

  constructor(
    private readonly resolve: (refIndex: string) => number,
    private readonly maxHeld: number = DEFAULT_MAX_HELD_CHARS,
  ) {}

  /** True while text is held back waiting for the end of a marker. */
  get holding(): boolean {
    return this.held !== '';
  }

  /** Feeds a delta; what can be output now goes to `sink` (text only when non-empty). */
  push(text: string, sink: CitationTextSink): void {
    if (this.held === '') {
      if (!PUA_TEST.test(text)) {
        if (text !== '') sink.text(text);
        return;
      }
      this.scan(text, sink);
      return;
    }
    this.scan(this.held + text, sink);
  }

  /** Releases held text (an unterminated marker) to `sink`, its private-use characters removed. */
  flush(sink: CitationTextSink): void {
    const held = this.held;
    if (held === '') return;
    this.held = '';
    const text = stripMarkers(held);
    if (text !== '') sink.text(text);
  }

  /** Drops held text without output. */
  reset(): void {
    this.held = '';
  }

  private scan(s: string, sink: CitationTextSink): void {
    this.held = '';
    const n = s.length;
    let out = '';
    let plainStart = 0;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < PUA_FIRST || c > PUA_LAST) {
        i++;
        continue;
      }
      if (i > plainStart) out += s.slice(plainStart, i);
      if (c !== MARK_START) {
        // A stray marker character outside a marker: drop it.
        i++;
        plainStart = i;
        continue;
      }
      const end = this.parseMarker(s, i);
      if (end === INCOMPLETE) {
        if (n - i <= this.maxHeld) {
          this.held = s.slice(i);
        } else {
          // Too long to be a marker still being streamed: release it as text.
          out += stripMarkers(s.slice(i));
        }
        this.refs.length = 0;
        if (out !== '') sink.text(out);
        return;
      }
      if (end === MALFORMED) {
        // Not a marker after all: drop the start character, keep the text after it.
        this.refs.length = 0;
        i++;
        plainStart = i;
        continue;
      }
      if (out !== '') {
        sink.text(out);
        out = '';
      }
      for (const ref of this.refs) {
        if (ref !== '') sink.ref(this.resolve(ref));
      }
      this.refs.length = 0;
      i = end;
      plainStart = i;
    }
    if (plainStart < n) out += plainStart === 0 ? s : s.slice(plainStart);
    if (out !== '') sink.text(out);
  }

  /** Parses a marker starting at `start` (a U+E3A0); collects refIndexes into `this.refs`. */
  private parseMarker(s: string, start: number): number {
    const n = s.length;
    let k = start + 1;
    for (const code of CITE) {
      if (k >= n) return INCOMPLETE;
      if (s.charCodeAt(k) !== code) return MALFORMED;
      k++;
    }
    for (;;) {
      if (k >= n) return INCOMPLETE;
      if (s.charCodeAt(k) !== MARK_SEP) return MALFORMED;
      k++;
      const refStart = k;
      let c = 0;
      while (k < n) {
        c = s.charCodeAt(k);
        if (c >= PUA_FIRST && c <= PUA_LAST) break;
        k++;
      }
      if (k >= n) return INCOMPLETE;
      this.refs.push(s.slice(refStart, k));
      if (c === MARK_END) return k + 1;
      if (c !== MARK_SEP) return MALFORMED;
    }
  }
}

/** Removes every character of the citation-marker range. */
export function stripMarkers(text: string): string {
  return PUA_TEST.test(text) ? text.replace(PUA_ALL, '') : text;
}
