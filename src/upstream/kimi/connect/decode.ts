/**
 * Decoder for Kimi's Connect `ChatService/Chat` response stream (spec B.3, B.5, B.6, B.11):
 * envelopes → JSON events `{op, mask, eventOffset, chat|message|block|heartbeat|done|error}`
 * → ChatEvent.
 *
 * Wire shapes stay in this file and are narrowed by hand (typeof checks): this runs once
 * per streamed token, so no schema library per frame.
 */
import { isAscii as bytesAreAscii } from 'node:buffer';
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { GrowingText } from '../../../core/growing-text.js';
import { CitationMarkerFilter, CitationRegistry } from '../citation-markers.js';
import { isAscii, latin1, PLAIN_STRING, UNSIGNED_INTEGER } from '../json-shape.js';
import { pushDelta } from '../stream-util.js';
import { EnvelopeSplitter, FLAG_END_STREAM } from './envelope.js';
import { connectError, exceptionError } from './stream-errors.js';

export interface DecodeConnectChatOptions {
  /** Cap on one frame's payload (default 4 MiB), checked from the frame header. */
  maxPayloadBytes?: number | undefined;
  /** Called once per unknown `mask` in a stream (the event itself is ignored). */
  onUnknownMask?: ((mask: string) => void) | undefined;
}

/** After `done`, read at most this much more (trailer, end of body), then stop. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/** Tool-call argument text kept per block while waiting for it to parse. */
const MAX_TOOL_ARGS_CHARS = 64 * 1024;

/** Masks that are understood and produce no output. */
const SILENT_MASKS = new Set(['message.status', 'chat.name', 'chat.files', 'block.multiStage', 'block.stage']);

/**
 * A text or thinking delta exactly as Kimi sends it (spec B.5), read without JSON.parse
 * (json-shape.ts). Groups: 1 the block kind, 2 the block id, 3 the content.
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

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown): Json | undefined {
  return isObject(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Per-block text state. `raw` is the upstream content (with markers), `out` what was emitted. */
interface BlockState {
  reasoning: boolean;
  raw: GrowingText;
  /** Emitted output text; tracked for answer blocks only (the `previous` of text-replace). */
  out: GrowingText;
  filter: CitationMarkerFilter;
}

interface ToolState {
  args: string;
  settled: boolean;
}

/**
 * Turns Connect events into ChatEvents, collected in `out` for the generator to yield after
 * each read. Consecutive deltas of one kind within a read are merged into one event.
 */
class ConnectChatState {
  readonly out: ChatEvent[] = [];
  /** `done` was seen: the reply is complete. */
  finished = false;
  /** The trailer after `done` arrived: nothing more to decode. */
  closed = false;

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
  /**
   * Content of consecutive plain appends to one block, not yet handled: the appends of a read
   * are joined and handled once (the marker filter's output does not depend on how its input
   * is cut), instead of a block lookup, filter pass and delta per frame.
   */
  private heldId = '';
  private heldThink = false;
  private heldContent = '';

  private chatId: string | undefined;
  private userMessageId: string | undefined;
  private assistantMessageId: string | undefined;
  /** Text state per block id; think and text blocks are kept apart in case their ids overlap. */
  private readonly textBlocks = new Map<string, BlockState>();
  private readonly thinkBlocks = new Map<string, BlockState>();
  /** The block that last produced text; its held marker text is released when another block speaks. */
  private active: BlockState | undefined;
  private tools: Map<string, ToolState> | undefined;
  private readonly citations = new CitationRegistry();
  private readonly resolveRef = (ref: string): number => this.citations.numberForRef(ref);
  private unknownSeen: Set<string> | undefined;

  constructor(private readonly onUnknownMask: ((mask: string) => void) | undefined) {}

  /** One envelope. Returns false once nothing more should be read. Throws ProxyError. */
  frame(flags: number, bytes: Uint8Array, start: number, end: number): boolean {
    if (this.closed) return false;
    const isTrailer = (flags & FLAG_END_STREAM) !== 0;
    if (this.finished) {
      // After `done` only the trailer matters, and not even its content.
      if (isTrailer) this.closed = true;
      return !this.closed;
    }
    if (isTrailer) {
      const trailer = end === start ? {} : parseJson(this.decoder.decode(bytes.subarray(start, end)), 'trailer');
      if (trailer.error !== undefined && trailer.error !== null) throw connectError(trailer.error, 'trailer');
      throw new ProxyError('upstream_protocol_error', 'Kimi ended the Connect stream (trailer) before done: the reply is incomplete.', {
        upstreamCode: 'missing_done',
      });
    }
    if (end === start) return true;
    if (this.plainAppend(bytes, start, end)) return true;
    // Whatever this frame is, the text held before it comes first.
    this.flushHeld();
    this.handle(parseJson(this.decoder.decode(bytes.subarray(start, end)), 'frame'));
    return true;
  }

  /**
   * Handles a text or thinking delta of exactly the shape Kimi sends (see PLAIN_APPEND)
   * as `handle` would handle its parsed form; returns false, having done nothing, for any
   * other frame.
   */
  private plainAppend(bytes: Uint8Array, start: number, end: number): boolean {
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
    const think = kind === 'think';
    if (this.heldContent !== '' && (id !== this.heldId || think !== this.heldThink)) this.flushHeld();
    this.heldId = id;
    this.heldThink = think;
    this.heldContent += content;
    return true;
  }

  /** Handles the plain appends held so far. */
  private flushHeld(): void {
    if (this.heldContent === '') return;
    const content = this.heldContent;
    this.heldContent = '';
    this.blockContent(this.heldId, this.heldThink, undefined, content, true);
  }

  /** The read is split: handle what it held, and let go of its Latin-1 text. */
  endRead(): void {
    this.flushHeld();
    this.latinOf = undefined;
    this.latin = '';
  }

  /** One decoded data frame. Throws ProxyError for in-stream errors. */
  private handle(ev: Json): void {
    if (ev.error !== undefined && ev.error !== null) throw connectError(ev.error, 'stream');
    if (ev.exception !== undefined && ev.exception !== null) throw exceptionError(ev.exception);
    if (ev.heartbeat !== undefined) {
      this.out.push({ type: 'heartbeat' });
      return;
    }
    if (ev.done !== undefined) {
      this.releaseActive();
      this.out.push({ type: 'finish', reason: 'stop' });
      this.finished = true;
      return;
    }

    const mask = typeof ev.mask === 'string' ? ev.mask : undefined;
    if (mask === undefined || mask === '') {
      // Unmasked events (2025 captures): dispatch on the container present.
      if (isObject(ev.chat)) this.chat(ev.chat);
      else if (isObject(ev.message)) this.message(ev.message);
      return;
    }

    const block = obj(ev.block);
    switch (mask) {
      case 'block.text':
      case 'block.text.content':
      case 'block.think':
      case 'block.think.content':
        if (block) this.blockText(block, mask, ev.op === 'append' || (ev.op === undefined && mask.endsWith('.content')));
        return;
      case 'message':
        if (isObject(ev.message)) this.message(ev.message);
        return;
      case 'block.search.keywords':
      case 'block.search.webPages':
      case 'block.search':
        if (block) this.search(obj(block.search));
        return;
      case 'block.tool':
      case 'block.tool.args':
      case 'block.tool.contents':
        if (block) this.tool(block, ev.op === 'append');
        return;
      case 'message.refs.searchChunks':
      case 'message.refs':
        if (isObject(ev.message)) this.searchChunks(obj(ev.message.refs)?.searchChunks);
        return;
      case 'block.exception':
        throw exceptionError(block?.exception);
    }
    if (mask.startsWith('chat')) {
      // chat.lastRequest, chat.name, chat.files, …: only a new chat id matters.
      if (isObject(ev.chat)) this.chat(ev.chat);
      if (mask === 'chat.lastRequest' || SILENT_MASKS.has(mask)) return;
    } else if (SILENT_MASKS.has(mask)) {
      return;
    }
    this.unknown(mask);
  }

  private chat(chat: Json): void {
    const id = str(chat.id);
    if (id && id !== this.chatId) {
      this.chatId = id;
      this.out.push({ type: 'meta', chatId: id });
    }
  }

  private message(message: Json): void {
    const id = str(message.id);
    if (message.role === 'user') {
      // The echo of the user's own message: its id only, never its text.
      if (id && id !== this.userMessageId) {
        this.userMessageId = id;
        this.out.push({ type: 'meta', userMessageId: id });
      }
      return;
    }
    if (message.role === 'assistant' && id && id !== this.assistantMessageId) {
      this.assistantMessageId = id;
      this.out.push({ type: 'meta', assistantMessageId: id });
    }
    const refs = obj(message.refs);
    if (refs) this.searchChunks(refs.searchChunks);
  }

  private blockText(block: Json, mask: string, append: boolean): void {
    // Defensive: a block that belongs to the user's message is never output.
    if (this.userMessageId !== undefined && block.messageId === this.userMessageId) return;
    const isThink = mask.startsWith('block.think');
    const container = obj(isThink ? block.think : block.text);
    if (!container) return;
    const content = container.content;
    if (typeof content !== 'string') return;
    this.blockContent(typeof block.id === 'string' ? block.id : '', isThink, container.flags, content, append);
  }

  private blockContent(id: string, isThink: boolean, flags: unknown, content: string, append: boolean): void {
    const blocks = isThink ? this.thinkBlocks : this.textBlocks;
    let state = blocks.get(id);
    if (state === undefined) {
      state = { reasoning: isThink, raw: new GrowingText(), out: new GrowingText(), filter: new CitationMarkerFilter(this.resolveRef) };
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

  private emit(state: BlockState, text: string): void {
    if (text === '') return;
    if (state.reasoning) {
      pushDelta(this.out, 'reasoning-delta', text);
    } else {
      state.out.append(text);
      pushDelta(this.out, 'text-delta', text);
    }
  }

  /** Releases marker text held by the last active block (another block spoke, or the end). */
  private releaseActive(): void {
    const state = this.active;
    if (state === undefined || !state.filter.holding) return;
    this.emit(state, state.filter.flush());
  }

  private search(search: Json | undefined): void {
    if (!search) return;
    if (Array.isArray(search.keywords)) {
      const queries = search.keywords.filter((k): k is string => typeof k === 'string' && k !== '');
      if (queries.length > 0) this.out.push({ type: 'search', queries });
    }
    if (Array.isArray(search.webPages)) {
      for (const page of search.webPages) {
        if (isObject(page)) this.citation(page, undefined);
      }
    }
  }

  private tool(block: Json, append: boolean): void {
    const tool = obj(block.tool);
    if (!tool) return;
    if (typeof tool.args === 'string') this.toolArgs(typeof block.id === 'string' ? block.id : '', tool.args, append);
    if (Array.isArray(tool.contents)) this.searchChunks(tool.contents);
  }

  /** `block.tool.args` streams a JSON document (e.g. `{"queries":[...]}`) in fragments. */
  private toolArgs(id: string, fragment: string, append: boolean): void {
    this.tools ??= new Map();
    let state = this.tools.get(id);
    if (state === undefined) {
      state = { args: '', settled: false };
      this.tools.set(id, state);
    }
    if (state.settled) return;
    const args = append ? state.args + fragment : fragment;
    if (args.length > MAX_TOOL_ARGS_CHARS) {
      // Never parsed within a sane size: give up on it (queries are only progress info).
      state.settled = true;
      state.args = '';
      return;
    }
    state.args = args;
    // Only try to parse what could be a complete JSON object.
    if (!args.trimEnd().endsWith('}')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      return;
    }
    state.settled = true;
    state.args = '';
    if (!isObject(parsed)) return;
    const q = parsed.queries ?? parsed.query;
    const queries = typeof q === 'string' ? [q] : Array.isArray(q) ? q : [];
    const list = queries.filter((k): k is string => typeof k === 'string' && k !== '');
    if (list.length > 0) this.out.push({ type: 'search', queries: list });
  }

  /** `[{searchResult:{id, base:{title,url,siteName,snippet}, refIndex}}]` (tool contents, message refs). */
  private searchChunks(chunks: unknown): void {
    if (!Array.isArray(chunks)) return;
    for (const chunk of chunks) {
      const result = obj(obj(chunk)?.searchResult);
      if (!result) continue;
      const base = obj(result.base);
      if (base) this.citation(base, str(result.refIndex));
    }
  }

  private citation(source: Json, refIndex: string | undefined): void {
    const url = str(source.url);
    if (!url) return;
    const citation = this.citations.add({
      url,
      title: str(source.title),
      snippet: str(source.snippet),
      siteName: str(source.siteName),
      refIndex,
    });
    if (citation) this.out.push({ type: 'citation', citation });
  }

  private unknown(mask: string): void {
    if (!this.onUnknownMask) return;
    this.unknownSeen ??= new Set();
    if (this.unknownSeen.has(mask)) return;
    this.unknownSeen.add(mask);
    this.onUnknownMask(mask);
  }
}

function parseJson(text: string, what: 'frame' | 'trailer'): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ProxyError('upstream_protocol_error', `Kimi sent a Connect ${what} that is not JSON.`, { cause, upstreamCode: 'invalid_json' });
  }
  if (!isObject(parsed)) {
    throw new ProxyError('upstream_protocol_error', `Kimi sent a Connect ${what} that is not a JSON object.`, { upstreamCode: 'invalid_event' });
  }
  return parsed;
}

/**
 * Decodes a Kimi Connect Chat response body into ChatEvents. `finish` is the last event.
 * Throws `ProxyError`: typed upstream errors (in-stream `error`, error trailer, `exception`),
 * or `upstream_protocol_error` for bad framing, a frame that is not JSON, or a stream that
 * ends (body or trailer) without `done`. After `done` the rest of the stream is read only
 * to reach the trailer, and its content, errors included, is ignored.
 */
export function decodeConnectChat(body: AsyncIterable<Uint8Array>, opts: DecodeConnectChatOptions = {}): AsyncGenerator<ChatEvent> {
  return run(body, opts);
}

async function* run(body: AsyncIterable<Uint8Array>, opts: DecodeConnectChatOptions): AsyncGenerator<ChatEvent> {
  const state = new ConnectChatState(opts.onUnknownMask);
  const out = state.out;
  const splitter = new EnvelopeSplitter(opts.maxPayloadBytes);
  // Every frame of a read is handled synchronously; the events are yielded afterwards.
  const onFrame = (flags: number, bytes: Uint8Array, start: number, end: number): boolean => state.frame(flags, bytes, start, end);
  let drained = 0;
  try {
    for await (const chunk of body) {
      if (state.finished) {
        // Read on to the end of the body (so the connection can be reused), within a limit.
        drained += chunk.byteLength;
        if (drained > DRAIN_LIMIT_BYTES) return;
        if (state.closed) continue;
      }
      let failure: unknown;
      let failed = false;
      try {
        splitter.push(chunk, onFrame);
      } catch (err) {
        failed = true;
        failure = err;
      }
      state.endRead();
      if (out.length > 0) {
        for (let i = 0; i < out.length; i++) yield out[i]!;
        out.length = 0;
      }
      if (failed) throw failure;
    }
    splitter.end();
  } catch (err) {
    // Once `done` was seen the reply is complete; a broken tail does not change that.
    if (state.finished) return;
    throw err;
  }
  if (!state.finished) {
    throw new ProxyError('upstream_protocol_error', 'Kimi Connect stream ended before done: the reply is incomplete.', {
      upstreamCode: 'missing_done',
    });
  }
}
