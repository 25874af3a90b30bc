/**
 * Set/append semantics of Connect text and thinking blocks (spec B.5, B.6): `append` adds
 * to a block, `set` gives its whole current content. Output is a stream, so a `set` that
 * extends the block emits only its new tail; one that rewrites an answer block emits a
 * `text-replace`; one that rewrites reasoning (which cannot be retracted) emits what follows
 * the common prefix. Inline citation markers are split out per block (citation-markers.ts)
 * and passed on as `citation-ref` events.
 */
import type { ChatEvent, CitationRefAt } from '../../../core/chat-event.js';
import { GrowingText } from '../../../core/growing-text.js';
import { CitationMarkerFilter, type CitationTextSink } from '../citation-markers.js';
import { pushDelta } from '../stream-util.js';

/**
 * One block's text state, and the sink its marker filter writes to. `raw` is the upstream
 * content (with markers); `out` and `refs` what was emitted for an answer block (the
 * `previous` of a text-replace).
 */
class BlockText implements CitationTextSink {
  readonly raw = new GrowingText();
  readonly out = new GrowingText();
  refs: CitationRefAt[] | undefined;
  readonly filter: CitationMarkerFilter;

  constructor(
    private readonly events: ChatEvent[],
    public reasoning: boolean,
    numberForRef: (refIndex: string) => number,
  ) {
    this.filter = new CitationMarkerFilter(numberForRef);
  }

  text(text: string): void {
    if (this.reasoning) {
      pushDelta(this.events, 'reasoning-delta', text);
    } else {
      this.out.append(text);
      pushDelta(this.events, 'text-delta', text);
    }
  }

  ref(index: number): void {
    if (this.reasoning) {
      this.events.push({ type: 'citation-ref', index, reasoning: true });
    } else {
      (this.refs ??= []).push({ at: this.out.length, index });
      this.events.push({ type: 'citation-ref', index });
    }
  }
}

/** A block's whole filtered content, collected for a comparison with what was emitted. */
class CollectedText implements CitationTextSink {
  value = '';
  readonly refs: CitationRefAt[] = [];

  text(text: string): void {
    this.value += text;
  }

  ref(index: number): void {
    this.refs.push({ at: this.value.length, index });
  }
}

export class ConnectBlocks {
  /** Text state per block id; think and text blocks are kept apart in case their ids overlap. */
  private readonly textBlocks = new Map<string, BlockText>();
  private readonly thinkBlocks = new Map<string, BlockText>();
  /** The block that last produced text; its held marker text is released when another block speaks. */
  private active: BlockText | undefined;

  /**
   * Events are pushed to `out`, the decoder's list for the current read; `numberForRef`
   * numbers inline citation markers.
   */
  constructor(
    private readonly out: ChatEvent[],
    private readonly numberForRef: (refIndex: string) => number,
  ) {}

  /**
   * New content for block `id`: appended to it (`append`), or its whole current content.
   * `flags` is the text container's `flags` field, if any.
   */
  content(id: string, isThink: boolean, flags: unknown, content: string, append: boolean): void {
    const blocks = isThink ? this.thinkBlocks : this.textBlocks;
    let state = blocks.get(id);
    if (state === undefined) {
      state = new BlockText(this.out, isThink, this.numberForRef);
      blocks.set(id, state);
    }
    if (isThink) {
      state.reasoning = true;
    } else if (typeof flags === 'string') {
      // Spec B.6 item 3: `block.text.flags` "thinking"/"answer" is checked by several
      // converters but never seen in a capture (unverified). A text block flagged
      // "thinking" is reasoning; later events of the block without flags keep its kind.
      state.reasoning = flags === 'thinking';
    }
    if (this.active !== undefined && this.active !== state) this.releaseActive();
    this.active = state;

    if (append) {
      if (content === '') return;
      state.raw.append(content);
      state.filter.push(content, state);
      return;
    }

    // op "set": `content` is the block's whole current content.
    const raw = state.raw.text;
    if (content.startsWith(raw)) {
      if (content.length === raw.length) return;
      state.raw.set(content);
      state.filter.push(content.slice(raw.length), state);
      return;
    }
    state.raw.set(content);
    if (state.reasoning) {
      // Reasoning cannot be retracted from a stream: emit what follows the longest common
      // prefix of the old and new content, and restart marker parsing there.
      let p = 0;
      const max = Math.min(raw.length, content.length);
      while (p < max && raw.charCodeAt(p) === content.charCodeAt(p)) p++;
      state.filter.reset();
      state.filter.push(content.slice(p), state);
      return;
    }
    state.filter.reset();
    const fresh = new CollectedText();
    state.filter.push(content, fresh);
    const previous = state.out.text;
    const previousRefs = state.refs ?? [];
    if (fresh.value.startsWith(previous) && refsExtend(previousRefs, fresh.refs, previous.length)) {
      // Only held-back marker text differed: still an extension of what was emitted.
      emitFrom(state, fresh, previous.length, previousRefs.length);
      return;
    }
    state.out.set(fresh.value);
    state.refs = fresh.refs.length > 0 ? fresh.refs : undefined;
    const replace: ChatEvent & { type: 'text-replace' } = { type: 'text-replace', previous, text: fresh.value };
    if (previousRefs.length > 0) replace.previousRefs = previousRefs;
    if (fresh.refs.length > 0) replace.refs = fresh.refs;
    this.out.push(replace);
  }

  /** Releases marker text held by the last active block (another block spoke, or the end). */
  releaseActive(): void {
    const state = this.active;
    if (state === undefined || !state.filter.holding) return;
    state.filter.flush(state);
  }
}

/** Whether `next` starts with exactly `previous` and adds references only at or after `length`. */
function refsExtend(previous: readonly CitationRefAt[], next: readonly CitationRefAt[], length: number): boolean {
  if (next.length < previous.length) return false;
  for (let i = 0; i < previous.length; i++) {
    if (next[i]!.at !== previous[i]!.at || next[i]!.index !== previous[i]!.index) return false;
  }
  return next.length === previous.length || next[previous.length]!.at >= length;
}

/** Emits `fresh` from text offset `at` and reference `ref` on, in order. */
function emitFrom(sink: CitationTextSink, fresh: CollectedText, at: number, ref: number): void {
  for (let i = ref; i < fresh.refs.length; i++) {
    const r = fresh.refs[i]!;
    if (r.at > at) sink.text(fresh.value.slice(at, r.at));
    at = Math.max(at, r.at);
    sink.ref(r.index);
  }
  if (at < fresh.value.length) sink.text(fresh.value.slice(at));
}
