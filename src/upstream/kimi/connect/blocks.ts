/**
 * Set/append semantics of Connect text and thinking blocks (spec B.5, B.6): `append` adds
 * to a block, `set` gives its whole current content. Output is a stream, so a `set` that
 * extends the block emits only its new tail; one that rewrites an answer block emits a
 * `text-replace`; one that rewrites reasoning (which cannot be retracted) emits what follows
 * the common prefix. Inline citation markers are rewritten per block (citation-markers.ts).
 */
import type { ChatEvent } from '../../../core/chat-event.js';
import { GrowingText } from '../../../core/growing-text.js';
import { CitationMarkerFilter } from '../citation-markers.js';
import { pushDelta } from '../stream-util.js';

/** Per-block text state. `raw` is the upstream content (with markers), `out` what was emitted. */
interface BlockState {
  reasoning: boolean;
  raw: GrowingText;
  /** Emitted output text; tracked for answer blocks only (the `previous` of text-replace). */
  out: GrowingText;
  filter: CitationMarkerFilter;
}

export class ConnectBlocks {
  /** Text state per block id; think and text blocks are kept apart in case their ids overlap. */
  private readonly textBlocks = new Map<string, BlockState>();
  private readonly thinkBlocks = new Map<string, BlockState>();
  /** The block that last produced text; its held marker text is released when another block speaks. */
  private active: BlockState | undefined;

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
      state = { reasoning: isThink, raw: new GrowingText(), out: new GrowingText(), filter: new CitationMarkerFilter(this.numberForRef) };
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
      this.emit(state, state.filter.push(content));
      return;
    }

    // op "set": `content` is the block's whole current content.
    const raw = state.raw.text;
    if (content.startsWith(raw)) {
      if (content.length === raw.length) return;
      state.raw.set(content);
      this.emit(state, state.filter.push(content.slice(raw.length)));
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
      this.emit(state, state.filter.push(content.slice(p)));
      return;
    }
    state.filter.reset();
    const text = state.filter.push(content);
    const previous = state.out.text;
    if (text.startsWith(previous)) {
      // Only held-back marker text differed: still an extension of what was emitted.
      this.emit(state, text.slice(previous.length));
      return;
    }
    state.out.set(text);
    this.out.push({ type: 'text-replace', previous, text });
  }

  /** Releases marker text held by the last active block (another block spoke, or the end). */
  releaseActive(): void {
    const state = this.active;
    if (state === undefined || !state.filter.holding) return;
    this.emit(state, state.filter.flush());
  }

  private emit(state: BlockState, text: string): void {
    if (text === '') return;
    if (state.reasoning) {
      pushDelta(this.out, 'reasoning-delta', text);
    } else {
      state.out.append(text);
      pushDelta(this.out, 'text-delta', text);
    }
  }
}
