/**
 * SSE records of a Kimi completion stream, with a fast path for the one record it sends
 * thousands of times per reply: `data: {"event":"cmpl","text":"<plain string>"}` followed by
 * a blank line. Such a record, when it starts where the previous record ended, is matched
 * in place in the decoded text; its text is handed on without the field-line slice, message
 * object and second scan that the general parser spends on each record (decoding a
 * 5,000-delta stream took a third less time). Everything else — other events,
 * `event:`/`id:` fields, comments, multi-line data, CR line ends, a record cut between
 * reads — goes to eventsource-parser, which therefore always sees the stream's own bytes
 * except for whole records taken out at record boundaries, and keeps the SSE grammar.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { PLAIN_STRING } from '../json-shape.js';

/** Receives the records in stream order. */
export interface KimiSseSink {
  /** The (JSON-plain, so final) text of a plain answer delta taken by the fast path. */
  plainText(text: string): void;
  /** Any other record's data. */
  data(data: string): void;
  /** A record outgrew the limit; nothing more is delivered. */
  tooLarge(): void;
}

const HEAD = 'data: {"event":"cmpl","text":"';
const TAIL = '"}\n\n';
/** Sticky: tested at a record boundary, so a match is exactly one whole record. */
const PLAIN_CMPL_RECORD = new RegExp(`data: \\{"event":"cmpl","text":"${PLAIN_STRING}"\\}\\n\\n`, 'y');
const LF = 10;

export class KimiSseRecords {
  private readonly parser;
  /** The parser holds part of a record: the text up to its end must go to the parser too. */
  private midRecord = false;
  /** The last character given to the parser was a line feed (so a leading one ends a record). */
  private lastWasLf = false;
  private stopped = false;

  constructor(
    private readonly sink: KimiSseSink,
    maxEventBytes: number,
  ) {
    this.parser = createParser({
      maxBufferSize: maxEventBytes,
      onEvent: (msg: EventSourceMessage) => sink.data(msg.data),
      onError: (err: ParseError) => {
        // Unknown SSE fields and bad `retry:` values are not Kimi's format; ignore them.
        if (err.type !== 'max-buffer-size-exceeded') return;
        this.stopped = true;
        sink.tooLarge();
      },
    });
  }

  /** The next decoded text of the stream. */
  feed(text: string): void {
    if (this.stopped || text === '') return;
    let at = 0;
    if (this.midRecord) {
      // The record the parser holds ends at the first blank line.
      const end = this.lastWasLf && text.charCodeAt(0) === LF ? 1 : blankLineEnd(text, 0);
      if (end === -1) return this.toParser(text, 0);
      this.parser.feed(end === text.length ? text : text.slice(0, end));
      this.midRecord = false;
      at = end;
    }
    const length = text.length;
    while (at < length) {
      PLAIN_CMPL_RECORD.lastIndex = at;
      if (PLAIN_CMPL_RECORD.test(text)) {
        const next = PLAIN_CMPL_RECORD.lastIndex;
        this.sink.plainText(text.slice(at + HEAD.length, next - TAIL.length));
        at = next;
        continue;
      }
      const end = blankLineEnd(text, at);
      if (end === -1) return this.toParser(text, at);
      this.parser.feed(text.slice(at, end));
      at = end;
    }
  }

  /** Gives the parser the start of a record it will complete from later reads. */
  private toParser(text: string, from: number): void {
    this.parser.feed(from === 0 ? text : text.slice(from));
    this.midRecord = true;
    this.lastWasLf = text.charCodeAt(text.length - 1) === LF;
  }
}

/**
 * The index just after the first blank line at or after `from`, or -1. Two line feeds in a
 * row always end a record, also in a stream with CR or CRLF line ends: the first ends a line
 * (alone or after a CR), the second is then an empty line. (A stream with CR-only line ends
 * simply never matches and goes to the parser.)
 */
function blankLineEnd(text: string, from: number): number {
  const i = text.indexOf('\n\n', from);
  return i === -1 ? -1 : i + 2;
}
