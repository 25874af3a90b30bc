/**
 * Token estimates for `usage`.
 *
 * Kimi reports no token counts, so every number produced here is an ESTIMATE: the text is
 * counted with OpenAI's o200k_base encoding (the GPT-4o family). Kimi's own tokenizer
 * differs, so billing built on these numbers is consistent, not exact. Logs and metrics
 * should label them as estimated.
 *
 * Cost control: BPE on one very long run without whitespace is superlinear, so text is
 * counted in slices cut at whitespace (hard cuts inside long runs), and text above
 * `EXACT_LIMIT` characters is extrapolated from evenly spaced samples instead of being
 * counted in full. Every estimate therefore tokenizes at most ~8k characters.
 */
import { countO200kTokens } from './o200k-count.js';

/** Largest slice handed to the tokenizer at once. */
const SLICE = 4096;
/**
 * Longest run cut without a whitespace boundary. BPE cost grows fast with the length of a run
 * without whitespace (CJK text has no spaces, and its characters are 3 UTF-8 bytes each).
 */
const HARD_CUT = 256;
/**
 * Up to this many characters the text is counted in full; above, it is sampled. Tokenizing
 * CJK text that misses the merge cache costs far more per character than English, so the
 * budget per estimate stays bounded whatever the language (figures: docs/benchmarks.md).
 */
const EXACT_LIMIT = 8192;
/** Number and size of the samples used above EXACT_LIMIT. */
const SAMPLES = 8;
const SAMPLE_SIZE = 1024;
/** How far a sample edge may move to land on whitespace. */
const ALIGN = 32;

/** Per-message overhead of the chat format (OpenAI's published counting recipe). */
const TOKENS_PER_MESSAGE = 3;
/** Every reply is primed with `<|start|>assistant<|message|>`. */
const REPLY_PRIMING = 3;

function isWhitespace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** End index (exclusive) of the slice that starts at `start`. */
function sliceEnd(text: string, start: number): number {
  const max = start + SLICE;
  if (max >= text.length) return text.length;
  // Cut just before a whitespace character: o200k attaches a leading space to the next word,
  // so the next slice starts exactly where the tokenizer would have split anyway.
  for (let i = max; i > start + HARD_CUT; i--) {
    if (isWhitespace(text.charCodeAt(i))) return i;
  }
  let end = start + HARD_CUT;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return end;
}

function countExact(text: string): number {
  if (text.length <= SLICE) return countO200kTokens(text);
  let total = 0;
  for (let start = 0; start < text.length; ) {
    const end = sliceEnd(text, start);
    total += countO200kTokens(text.slice(start, end));
    start = end;
  }
  return total;
}

/** Moves `at` forward (to at most `limit`) onto a whitespace character, if one is near. */
function alignForward(text: string, at: number, limit: number): number {
  const stop = Math.min(at + ALIGN, limit);
  for (let i = at; i < stop; i++) if (isWhitespace(text.charCodeAt(i))) return i;
  return isHighSurrogate(text.charCodeAt(at - 1)) ? at + 1 : at;
}

function countSampled(text: string): number {
  const stride = Math.floor((text.length - SAMPLE_SIZE) / (SAMPLES - 1));
  let chars = 0;
  let tokens = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const from = i * stride;
    const to = from + SAMPLE_SIZE;
    // Start and end on whitespace where possible, so that no word is counted as two fragments.
    const start = from === 0 ? 0 : alignForward(text, from, to);
    const end = to >= text.length ? text.length : alignForward(text, to, to + ALIGN);
    const sample = text.slice(start, end);
    chars += sample.length;
    tokens += countExact(sample);
  }
  return Math.ceil((tokens / chars) * text.length);
}

/** Where to cut `text` near `at` (0 < at < length): on the next whitespace if one is near. */
function cutNear(text: string, at: number): number {
  return alignForward(text, at, Math.min(at + ALIGN, text.length));
}

/** Estimated token count of `text` (an integer ≥ 0). See the module comment: an estimate only. */
export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  return text.length <= EXACT_LIMIT ? countExact(text) : countSampled(text);
}

/*
 * Sizes of the streamed sample. Tokenizing is a visible share of a long stream's CPU, so the
 * sample stays small. Many small blocks follow a text that changes style (prose, tables,
 * code) better than a few large ones, with a smaller worst-case error for fewer characters
 * (the comparison is in docs/benchmarks.md).
 */
/** Text kept verbatim at the start of a streamed text. */
const STREAM_HEAD = 512;
/** Size of the contiguous blocks sampled after the head. */
const STREAM_BLOCK = 64;
/** Characters of sampled blocks kept at most. */
const STREAM_SAMPLE_BUDGET = 768;

/**
 * Estimates the tokens of a text that arrives in many small pieces, without keeping the whole
 * text: the first ~512 characters are kept verbatim, and the rest is cut into ~64-character
 * contiguous blocks of which an evenly spread subset is kept (the stride doubles whenever the
 * kept blocks exceed their budget). `estimate()` counts what was kept and extrapolates the
 * rest from it, so memory and counting cost stay bounded however long the text grows. Texts
 * shorter than the head are counted exactly, like `estimateTokens`.
 */
export class StreamTokenEstimator {
  #length = 0;
  #head = '';
  #block = '';
  #blocks: string[] = [];
  #sampledChars = 0;
  #stride = 1;
  #blockCount = 0;

  /** Characters seen so far. */
  get length(): number {
    return this.#length;
  }

  add(text: string): void {
    this.#length += text.length;
    let rest = text;
    const room = STREAM_HEAD - this.#head.length;
    if (room > 0) {
      if (rest.length <= room) {
        this.#head += rest;
        return;
      }
      // A decoder merges the deltas of one read, so one piece can be a whole answer: cut it,
      // or the head (counted in full) would be unbounded.
      const cut = cutNear(rest, room);
      this.#head += rest.slice(0, cut);
      rest = rest.slice(cut);
    }
    while (this.#block.length + rest.length > 2 * STREAM_BLOCK) {
      const cut = cutNear(rest, Math.max(1, STREAM_BLOCK - this.#block.length));
      this.#block += rest.slice(0, cut);
      rest = rest.slice(cut);
      this.#closeBlock();
    }
    this.#block += rest;
    if (this.#block.length >= STREAM_BLOCK) this.#closeBlock();
  }

  estimate(): number {
    const headTokens = estimateTokens(this.#head);
    const rest = this.#length - this.#head.length;
    if (rest === 0) return headTokens;
    const sample = this.#blocks.join('') + this.#block;
    const sampleTokens = estimateTokens(sample);
    const ratio = sample.length > 0 ? sampleTokens / sample.length : headTokens / this.#head.length;
    return headTokens + Math.ceil(ratio * rest);
  }

  #closeBlock(): void {
    const block = this.#block;
    this.#block = '';
    this.#blockCount++;
    if (this.#blockCount % this.#stride !== 0) return;
    this.#blocks.push(block);
    this.#sampledChars += block.length;
    if (this.#sampledChars <= STREAM_SAMPLE_BUDGET) return;
    // Keep every other block (those on the doubled stride) and sample half as often from now on.
    const kept: string[] = [];
    let chars = 0;
    for (let i = 1; i < this.#blocks.length; i += 2) {
      const b = this.#blocks[i] as string;
      kept.push(b);
      chars += b.length;
    }
    this.#blocks = kept;
    this.#sampledChars = chars;
    this.#stride *= 2;
  }
}

/**
 * Estimated prompt tokens for a chat, following OpenAI's counting recipe: each message costs
 * its role and content plus 3 tokens of framing, and the reply priming adds 3 more. The
 * contents are counted as one newline-joined text, so that a long history costs no more to
 * estimate than one long message. An estimate only (see the module comment).
 */
export function estimatePromptTokens(messages: ReadonlyArray<{ role: string; content: string }>): number {
  let total = REPLY_PRIMING;
  const contents: string[] = [];
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + estimateTokens(message.role);
    if (message.content.length > 0) contents.push(message.content);
  }
  return total + estimateTokens(contents.join('\n'));
}
