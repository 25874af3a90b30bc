/**
 * The client's output limits, applied once on the ChatEvent seam for every door: stop
 * sequences (`stop`, `stop_sequences`) and a token limit (`max_tokens`,
 * `max_completion_tokens`, `max_output_tokens`). Kimi's web app has neither control, so the
 * answer is cut here and the turn ends with the reason the client's API uses:
 * - a stop sequence: `finish` `stop` with `stopSequence` set (the sequence is not part of
 *   the text, as with OpenAI and Anthropic); it is found across delta boundaries by holding
 *   back only a text tail that could still grow into one;
 * - the token limit: `finish` `length`. Answer text and thinking text count (both are output
 *   tokens for every API served), as do tool-call arguments; a tool call is never cut in half:
 *   one that arrives after the limit was reached is dropped. Counts are the same estimates
 *   as `usage` (core/tokens.ts).
 * Stop sequences apply to the answer text only, never to thinking or tool-call arguments.
 * Ending early stops reading upstream like a client that has read enough.
 */
import type { ChatEvent, CitationRefAt } from '../core/chat-event.js';
import { StreamTokenEstimator, estimateTokens } from '../core/tokens.js';
import { appendablePart } from './openai/text-replace.js';

export interface OutputLimits {
  /** Stop sequences (non-empty strings). */
  stop?: readonly string[];
  /** Most output tokens (estimated); at least 1. */
  maxTokens?: number;
}

/** A token never covers less than one UTF-8 byte, and a UTF-16 unit is at most 3 bytes. */
const MAX_TOKENS_PER_CHAR = 3;

/**
 * Counts output against the token limit. Far from it only characters are counted (a token
 * covers at least one UTF-8 byte): the text is tokenized only once the limit could be near,
 * so an answer well within it costs next to nothing here.
 */
class TokenBudget {
  private chars = 0;
  /** The text so far, kept by reference until it has to be counted. */
  private early: string[] | undefined = [];
  private counted: StreamTokenEstimator | undefined;
  /** Below this many characters the limit cannot have been reached. */
  private safeUntil: number;
  exhausted = false;

  constructor(private readonly limit: number) {
    this.safeUntil = Math.floor(limit / MAX_TOKENS_PER_CHAR);
  }

  private add(text: string): void {
    this.chars += text.length;
    if (this.counted) this.counted.add(text);
    else this.early!.push(text);
  }

  private used(): number {
    if (!this.counted) {
      this.counted = new StreamTokenEstimator();
      for (const t of this.early!) this.counted.add(t);
      this.early = undefined;
    }
    return this.counted.estimate();
  }

  /** The part of `piece` that fits (all of it, a prefix, or ''); sets `exhausted` when it did not all fit. */
  take(piece: string): string {
    if (this.exhausted) return '';
    const after = this.chars + piece.length;
    if (after <= this.safeUntil) {
      this.add(piece);
      return piece;
    }
    const room = this.limit - this.used();
    const pieceTokens = estimateTokens(piece);
    if (pieceTokens <= room) {
      this.add(piece);
      this.safeUntil = after + Math.floor((room - pieceTokens) / MAX_TOKENS_PER_CHAR);
      return piece;
    }
    this.exhausted = true;
    const kept = fitted(piece, room, pieceTokens);
    this.add(kept);
    return kept;
  }

  /** Counts a whole tool call; false when the limit was already reached (the call is dropped). */
  takeWhole(text: string): boolean {
    if (this.exhausted) return false;
    this.add(text);
    if (this.chars > this.safeUntil && this.used() >= this.limit) this.exhausted = true;
    return true;
  }
}

/** The longest prefix of `piece` (`tokens` long) within `room` tokens, found by proportion, rechecked. */
function fitted(piece: string, room: number, tokens: number): string {
  if (room <= 0) return '';
  let kept = keepWhole(piece, Math.floor((piece.length * room) / tokens));
  // Tokens are not spread evenly: shrink until the estimate fits (a few rounds at most).
  for (let round = 0; round < 4 && kept.length > 0; round++) {
    const t = estimateTokens(kept);
    if (t <= room) break;
    kept = keepWhole(kept, Math.floor((kept.length * room) / t));
  }
  return kept;
}

/** `text.slice(0, n)` without ending between the two halves of a surrogate pair. */
function keepWhole(text: string, n: number): string {
  if (n <= 0) return '';
  if (n >= text.length) return text;
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/** Finds stop sequences in text that arrives in pieces. */
class StopScanner {
  private pending = '';
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(...stops.map((s) => s.length));
  }

  /** Earliest stop sequence in `text`: its offset and the sequence. */
  find(text: string): { at: number; stop: string } | undefined {
    let best: { at: number; stop: string } | undefined;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, stop };
    }
    return best;
  }

  /** Text that can be sent now, or where a stop sequence cut it. The tail that could begin one is held back. */
  push(piece: string): { text: string; stop?: string } {
    const text = this.pending + piece;
    const hit = this.find(text);
    if (hit) {
      this.pending = '';
      return { text: text.slice(0, hit.at), stop: hit.stop };
    }
    let hold = Math.min(this.longest - 1, text.length);
    while (hold > 0 && !this.stops.some((s) => s.startsWith(text.slice(text.length - hold)))) hold--;
    let cut = text.length - hold;
    // Never send half a surrogate pair: its other half is held back with it.
    if (cut > 0 && cut < text.length && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
    this.pending = text.slice(cut);
    return { text: text.slice(0, cut) };
  }

  /** The held-back tail, given up (the text went on differently, or ended). */
  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** The events with the limits applied; the same iterable when there are none. */
export function limitOutput(events: AsyncIterable<ChatEvent>, limits: OutputLimits | undefined): AsyncIterable<ChatEvent> {
  const stops = (limits?.stop ?? []).filter((s) => s.length > 0);
  const maxTokens = limits?.maxTokens;
  if (stops.length === 0 && maxTokens === undefined) return events;
  return new LimitedEvents(events, stops.length > 0 ? new StopScanner(stops) : undefined, maxTokens !== undefined ? new TokenBudget(maxTokens) : undefined);
}

const DONE: IteratorResult<ChatEvent> = { done: true, value: undefined };
const finishLength: ChatEvent = { type: 'finish', reason: 'length' };

/**
 * An iterator rather than a generator: most events pass through as the source's own result
 * object, at the cost of one `then` each. The source is opened on the first pull (a turn that
 * is never read must still be abandonable), and closed by `return()`.
 */
class LimitedEvents implements AsyncIterableIterator<ChatEvent> {
  private it: AsyncIterator<ChatEvent> | undefined;
  /** Events to hand out before pulling again. */
  private readonly queue: ChatEvent[] = [];
  /** The last event (a finish) is queued, or the source ended: pull no more. */
  private ended = false;
  private sourceOpen = false;

  constructor(
    private readonly events: AsyncIterable<ChatEvent>,
    private readonly scanner: StopScanner | undefined,
    private readonly budget: TokenBudget | undefined,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChatEvent>> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve({ done: false, value: queued });
    // Past the last event: a source still open (the limits ended the turn) stops now.
    if (this.ended) return this.return();
    if (!this.it) {
      this.it = this.events[Symbol.asyncIterator]();
      this.sourceOpen = true;
    }
    return this.it.next().then(this.onStep, this.onError);
  }

  async return(): Promise<IteratorResult<ChatEvent>> {
    this.ended = true;
    this.queue.length = 0;
    if (this.sourceOpen) {
      this.sourceOpen = false;
      await this.it!.return?.();
    }
    return DONE;
  }

  private readonly onError = (err: unknown): never => {
    this.sourceOpen = false;
    this.ended = true;
    throw err;
  };

  private readonly onStep = (step: IteratorResult<ChatEvent>): IteratorResult<ChatEvent> | Promise<IteratorResult<ChatEvent>> => {
    if (step.done === true) {
      // The source ended without finish (the renderer reports that); the held-back text goes first.
      this.sourceOpen = false;
      this.ended = true;
      this.flush();
    } else if (this.pass(step.value)) return step;
    return this.next();
  };

  private end(event: ChatEvent): void {
    this.queue.push(event);
    this.ended = true;
  }

  /** Answer text through the budget; true when the limit cut it (the turn has ended). */
  private answer(text: string, original?: ChatEvent): boolean {
    const kept = this.budget ? this.budget.take(text) : text;
    if (kept.length > 0) this.queue.push(kept === text && original ? original : { type: 'text-delta', text: kept });
    if (this.budget?.exhausted !== true) return false;
    this.end(finishLength);
    return true;
  }

  /** Sends the held-back text: something other than answer text comes next. True when the limit ended the turn. */
  private flush(): boolean {
    return this.scanner !== undefined && this.answer(this.scanner.flush());
  }

  /** Handles one event; true when it passes through unchanged and alone (the fast path). */
  private pass(ev: ChatEvent): boolean {
    switch (ev.type) {
      case 'text-delta': {
        if (!this.scanner) {
          const kept = this.budget!.take(ev.text);
          if (kept === ev.text && !this.budget!.exhausted) return true;
          // Cut by the limit.
          if (kept.length > 0) this.queue.push({ type: 'text-delta', text: kept });
          this.end(finishLength);
          return false;
        }
        const { text, stop } = this.scanner.push(ev.text);
        if (this.answer(text, text === ev.text ? ev : undefined)) return false;
        if (stop !== undefined) this.end({ type: 'finish', reason: 'stop', stopSequence: stop });
        return false;
      }
      case 'text-replace': {
        if (this.flush()) return false;
        const hit = this.scanner?.find(ev.text);
        const text = hit ? ev.text.slice(0, hit.at) : ev.text;
        // Only what a stream would append counts; the replaced part was counted when it came.
        const added = appendablePart(ev.previous, text);
        const kept = this.budget ? this.budget.take(added) : added;
        const cutAt = text.length - added.length + kept.length;
        this.queue.push(cutAt === ev.text.length ? ev : { ...ev, text: ev.text.slice(0, cutAt), ...refsUpTo(ev.refs, cutAt) });
        if (this.budget?.exhausted === true) this.end(finishLength);
        else if (hit) this.end({ type: 'finish', reason: 'stop', stopSequence: hit.stop });
        return false;
      }
      case 'reasoning-delta': {
        if (!this.budget) return true;
        const kept = this.budget.take(ev.text);
        if (kept === ev.text && !this.budget.exhausted) return true;
        if (kept.length > 0) this.queue.push({ type: 'reasoning-delta', text: kept });
        this.end(finishLength);
        return false;
      }
      case 'citation-ref':
        // A marker stands between the texts around it: no stop sequence spans it.
        if (ev.reasoning !== true && this.flush()) return false;
        this.queue.push(ev);
        return false;
      case 'tool-call':
        if (this.flush()) return false;
        if (this.budget && !this.budget.takeWhole(ev.call.arguments)) this.end(finishLength);
        else this.queue.push(ev);
        return false;
      case 'finish':
        if (!this.flush()) this.end(ev);
        return false;
      default:
        return this.queue.length === 0;
    }
  }
}

function refsUpTo(refs: CitationRefAt[] | undefined, at: number): { refs?: CitationRefAt[] } {
  if (!refs) return {};
  const kept = refs.filter((r) => r.at <= at);
  return kept.length > 0 ? { refs: kept } : {};
}
