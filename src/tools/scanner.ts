/**
 * The streaming half of the tool-call parser: splits model text, however it is cut into
 * deltas, into plain text (released at once) and call blocks (captured whole).
 *
 * - Text is released as soon as it cannot be the start of a marker: only a suffix that is a
 *   prefix of a start marker (at most MAX_START_MARKER - 1 characters) is held back, and the
 *   beginning of a line that may still turn out to be a code fence.
 * - Inside ``` / ~~~ fenced code and inside `inline code` nothing is a marker: an answer that
 *   talks about the markup streams as text. An inline code span ends at its closing backtick
 *   run or, unlike CommonMark, at the end of its line, so a stray backtick can hide a marker
 *   on its own line only.
 * - A fence labelled json (or tool_call) is held until it closes, because a model sometimes
 *   writes its call as fenced JSON; the caller decides whether it was a call or text. With
 *   `jsonCalls`, a reply that starts with a JSON object whose first key could name a call
 *   (`name`, `function`, `tool_calls`…) is held the same way until the object closes.
 * - A block runs from a start marker to a closing wrapper tag (searched outside CDATA), or
 *   to the end of the text when the model never closed it.
 * The result depends only on the concatenated input, never on where it was cut (tested).
 */
import { BLOCK_END_RE, MAX_BLOCK_END, MAX_START_MARKER, START_MARKERS } from './markers.js';

export type Segment =
  | { kind: 'text'; text: string }
  /** `closed`: ended by a closing tag; otherwise by the end of the text. */
  | { kind: 'block'; raw: string; closed: boolean }
  | { kind: 'json-fence'; raw: string }
  /** A bare JSON value the reply started with; `closed`: its brackets balanced. */
  | { kind: 'json-bare'; raw: string; closed: boolean };

type Mode = 'text' | 'fence' | 'json-fence' | 'block' | 'span' | 'json-bare';

interface FenceLine {
  fence: string;
  info: string;
  length: number;
}

const FENCE_LINE_RE = /^ {0,3}(`{3,}|~{3,})([^\n]*)\n/;
const FENCE_END_RE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
/** A line start that may still become a fence line once more text arrives. */
const MAYBE_FENCE_RE = /^ {0,3}(?:`{0,2}|~{0,2}|`{3,}[^\n]*|~{3,}[^\n]*)$/;
const JSON_INFO_RE = /^\s*(?:json5?|jsonc|tool_calls?|tool_code)\s*$/i;
/** A fenced block held as a possible call is released as text past this size. */
const MAX_JSON_FENCE = 64 * 1024;
const CDATA_OPEN = '<![CDATA[';
/** First keys of a JSON object that may be a call (parse-block.ts reads these shapes). */
const CALL_KEYS = new Set(['name', 'tool', 'tool_name', 'function', 'recipient_name', 'arguments', 'parameters', 'args', 'input', 'params', 'id', 'type', 'tool_calls', 'tool_call']);
/** A held reply start that is a whole `{"key":` (with an optional `[` before it). */
const JSON_KEY_RE = /^\s*(?:\[\s*)?\{\s*"((?:[^"\\]|\\.){0,64})"\s*:/;
/** A held reply start that may still become one. */
const JSON_KEY_PREFIX_RE = /^\s*(?:\[\s*)?(?:\{\s*(?:"(?:[^"\\]|\\.){0,64}(?:\\|"\s*)?)?)?$/;

/** Whether a reply starting with `text` may be a bare JSON call: 'yes', 'no', or 'wait' for more. */
function bareJsonStart(text: string): 'yes' | 'no' | 'wait' {
  const m = JSON_KEY_RE.exec(text);
  if (m) return CALL_KEYS.has(m[1]!.toLowerCase()) ? 'yes' : 'no';
  return JSON_KEY_PREFIX_RE.test(text) ? 'wait' : 'no';
}

/** 'full' when `text` starts with a marker at `at`, 'partial' when what is left could still become one. */
function markerAt(text: string, at: number): 'full' | 'partial' | 'none' {
  const rest = text.slice(at, at + MAX_START_MARKER).toLowerCase();
  let partial = false;
  for (const m of START_MARKERS) {
    if (rest.startsWith(m)) return 'full';
    if (!partial && rest.length < m.length && m.startsWith(rest)) partial = true;
  }
  return partial ? 'partial' : 'none';
}

/** The fence line starting at `i`, 'wait' when it cannot be decided yet, or undefined. */
function fenceLineAt(buf: string, i: number, final: boolean): FenceLine | 'wait' | undefined {
  const nl = buf.indexOf('\n', i);
  if (nl >= 0) {
    const m = FENCE_LINE_RE.exec(buf.slice(i, nl + 1));
    return m ? { fence: m[1]!, info: m[2]!, length: m[0].length } : undefined;
  }
  const line = buf.slice(i);
  if (!final) return line.length < 512 && MAYBE_FENCE_RE.test(line) ? 'wait' : undefined;
  const m = FENCE_END_RE.exec(line);
  return m ? { fence: m[1]!, info: '', length: line.length } : undefined;
}

function backtickRun(buf: string, i: number): number {
  let j = i;
  while (j < buf.length && buf.charCodeAt(j) === 96) j++;
  return j - i;
}

export class ToolScanner {
  #buf = '';
  #mode: Mode = 'text';
  #lineStart = true;
  #fence = '';
  /** Block and json-fence modes: where the search for the end resumes (index into #buf). */
  #scanPos = 0;
  #inCdata = false;

  /** Span mode: the length of the backtick run that opened the inline code. */
  #spanTicks = 0;
  /** Nothing but white space (and bare JSON values) so far: a bare JSON call may still start. */
  #replyStart = true;
  /** json-bare mode: bracket depth and string state of the scan up to #scanPos. */
  #depth = 0;
  #inString = false;
  #escaped = false;

  /** `jsonCalls`: fenced json blocks and a reply that is a bare JSON object may be calls (held until they close). */
  constructor(private readonly opts: { jsonCalls: boolean }) {}

  /** True while a block or a held JSON value is being captured. */
  get capturing(): boolean {
    return this.#mode === 'block' || this.#mode === 'json-fence' || this.#mode === 'json-bare';
  }

  push(delta: string): Segment[] {
    this.#buf += delta;
    return this.#run(false);
  }

  end(): Segment[] {
    return this.#run(true);
  }

  #closes(f: FenceLine): boolean {
    return f.fence[0] === this.#fence[0] && f.fence.length >= this.#fence.length && f.info.trim() === '';
  }

  #run(final: boolean): Segment[] {
    const out: Segment[] = [];
    const buf = this.#buf;
    let text = '';
    const flushText = (): void => {
      if (text) out.push({ kind: 'text', text });
      text = '';
    };
    let i = 0;
    loop: while (i < buf.length) {
      switch (this.#mode) {
        case 'block': {
          const end = this.#blockEnd(buf, i);
          if (end < 0) break loop;
          out.push({ kind: 'block', raw: buf.slice(i, end), closed: true });
          this.#mode = 'text';
          this.#lineStart = false;
          i = end;
          continue;
        }
        case 'json-fence': {
          const close = this.#fenceClose(buf, final);
          if (close >= 0) {
            out.push({ kind: 'json-fence', raw: buf.slice(i, close) });
            this.#mode = 'text';
            this.#lineStart = true;
            i = close;
            continue;
          }
          if (!final && buf.length - i <= MAX_JSON_FENCE) break loop;
          // Never closed, or too long to be a call: ordinary fenced text after all.
          const nl = buf.indexOf('\n', i);
          text += buf.slice(i, nl + 1);
          i = nl + 1;
          this.#mode = 'fence';
          this.#lineStart = true;
          continue;
        }
        case 'fence': {
          if (this.#lineStart) {
            const f = fenceLineAt(buf, i, final);
            if (f === 'wait') break loop;
            if (f && this.#closes(f)) {
              text += buf.slice(i, i + f.length);
              i += f.length;
              this.#mode = 'text';
              continue;
            }
          }
          const nl = buf.indexOf('\n', i);
          const stop = nl < 0 ? buf.length : nl + 1;
          text += buf.slice(i, stop);
          i = stop;
          this.#lineStart = nl >= 0;
          continue;
        }
        case 'json-bare': {
          const end = this.#bareEnd(buf);
          if (end >= 0) {
            out.push({ kind: 'json-bare', raw: buf.slice(i, end), closed: true });
            this.#mode = 'text';
            this.#lineStart = false;
            i = end;
            continue;
          }
          if (!final && buf.length - i <= MAX_JSON_FENCE) break loop;
          if (final) {
            out.push({ kind: 'json-bare', raw: buf.slice(i), closed: false });
            i = buf.length;
            this.#mode = 'text';
            continue;
          }
          // Too long to be a call: read it again as ordinary text.
          this.#mode = 'text';
          this.#replyStart = false;
          continue;
        }
        case 'span': {
          let j = i;
          while (j < buf.length && buf.charCodeAt(j) !== 96 /* ` */ && buf.charCodeAt(j) !== 10 /* \n */) j++;
          text += buf.slice(i, j);
          i = j;
          if (i >= buf.length) break loop;
          if (buf.charCodeAt(i) === 10) {
            text += '\n';
            i++;
            this.#mode = 'text';
            this.#lineStart = true;
            continue;
          }
          const run = backtickRun(buf, i);
          if (i + run >= buf.length && !final) break loop;
          text += buf.slice(i, i + run);
          i += run;
          if (run === this.#spanTicks) this.#mode = 'text';
          continue;
        }
        case 'text': {
          if (this.#replyStart && this.opts.jsonCalls) {
            let k = i;
            while (k < buf.length && /\s/.test(buf[k]!)) k++;
            const start = k < buf.length ? bareJsonStart(buf.slice(k, k + 256)) : 'wait';
            if (start === 'wait' && !final) break loop;
            if (start === 'yes') {
              flushText();
              this.#mode = 'json-bare';
              this.#scanPos = k;
              this.#depth = 0;
              this.#inString = false;
              this.#escaped = false;
              continue;
            }
            this.#replyStart = false;
          }
          if (this.#lineStart) {
            const f = fenceLineAt(buf, i, final);
            if (f === 'wait') break loop;
            if (f) {
              this.#fence = f.fence;
              if (this.opts.jsonCalls && JSON_INFO_RE.test(f.info)) {
                flushText();
                this.#mode = 'json-fence';
                this.#scanPos = i + f.length;
                continue;
              }
              text += buf.slice(i, i + f.length);
              i += f.length;
              this.#mode = 'fence';
              continue;
            }
          }
          // Release everything up to the next character that may open a marker or a line.
          let j = i;
          while (j < buf.length) {
            const c = buf.charCodeAt(j);
            if (c === 60 /* < */ || c === 91 /* [ */ || c === 10 /* \n */ || c === 96 /* ` */) break;
            j++;
          }
          if (j > i) {
            text += buf.slice(i, j);
            this.#lineStart = false;
            i = j;
            continue;
          }
          if (buf.charCodeAt(i) === 10) {
            text += '\n';
            this.#lineStart = true;
            i++;
            continue;
          }
          if (buf.charCodeAt(i) === 96) {
            // An inline code span opens: markers inside it are text.
            const run = backtickRun(buf, i);
            if (i + run >= buf.length && !final) break loop;
            text += buf.slice(i, i + run);
            i += run;
            this.#lineStart = false;
            this.#spanTicks = run;
            this.#mode = 'span';
            continue;
          }
          const at = markerAt(buf, i);
          if (at === 'full') {
            flushText();
            this.#mode = 'block';
            this.#scanPos = i + 1;
            this.#inCdata = false;
            continue;
          }
          if (at === 'partial' && !final) break loop;
          text += buf[i];
          this.#lineStart = false;
          i++;
          continue;
        }
      }
    }
    flushText();
    if (final && this.#mode === 'block') {
      // A block the model never closed ends with the text.
      out.push({ kind: 'block', raw: buf.slice(i), closed: false });
      this.#mode = 'text';
      i = buf.length;
    }
    this.#buf = buf.slice(i);
    this.#scanPos -= i;
    return out;
  }

  /** The index just past the block's closing tag, or -1 when it has not arrived yet. */
  #blockEnd(buf: string, start: number): number {
    let pos = Math.max(this.#scanPos, start + 1);
    for (;;) {
      if (this.#inCdata) {
        const close = buf.indexOf(']]>', pos);
        if (close < 0) {
          this.#scanPos = Math.max(pos, buf.length - 2);
          return -1;
        }
        this.#inCdata = false;
        pos = close + 3;
        continue;
      }
      const rest = buf.slice(pos);
      const m = BLOCK_END_RE.exec(rest);
      const cd = rest.indexOf(CDATA_OPEN);
      if (cd >= 0 && (!m || cd < m.index)) {
        this.#inCdata = true;
        pos += cd + CDATA_OPEN.length;
        continue;
      }
      if (m) return pos + m.index + m[0].length;
      // Resume where a closing tag or a CDATA opener cut at the end could still begin.
      this.#scanPos = Math.max(pos, buf.length - MAX_BLOCK_END);
      return -1;
    }
  }

  /** The index just past the bare JSON value's last bracket, or -1 when it has not closed yet. */
  #bareEnd(buf: string): number {
    let pos = this.#scanPos;
    for (; pos < buf.length; pos++) {
      const c = buf[pos]!;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === '\\') this.#escaped = true;
        else if (c === '"') this.#inString = false;
      } else if (c === '"') this.#inString = true;
      else if (c === '{' || c === '[') this.#depth++;
      else if ((c === '}' || c === ']') && --this.#depth === 0) return pos + 1;
    }
    this.#scanPos = pos;
    return -1;
  }

  /** The index just past the fence's closing line (from #scanPos, a line start), or -1. */
  #fenceClose(buf: string, final: boolean): number {
    let pos = this.#scanPos;
    for (;;) {
      const nl = buf.indexOf('\n', pos);
      if (nl < 0) {
        const m = final ? FENCE_END_RE.exec(buf.slice(pos)) : null;
        if (m && this.#closes({ fence: m[1]!, info: '', length: 0 })) return buf.length;
        this.#scanPos = pos;
        return -1;
      }
      const m = FENCE_END_RE.exec(buf.slice(pos, nl));
      if (m && this.#closes({ fence: m[1]!, info: '', length: 0 })) return nl + 1;
      pos = nl + 1;
    }
  }
}
