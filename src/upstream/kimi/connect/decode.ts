/**
 * Decoder for Kimi's Connect `ChatService/Chat` response stream (spec B.3, B.5, B.6, B.11):
 * envelopes → JSON events `{op, mask, eventOffset, chat|message|block|heartbeat|done|error}`
 * → ChatEvent.
 *
 * This file reads the frames and dispatches on their mask; the plain-delta fast path
 * (plain-append.ts), block set/append semantics (blocks.ts) and search and citations
 * (search.ts) each have their own file. Wire shapes are narrowed by hand (wire-json.ts):
 * this runs once per streamed token, so no schema library per frame.
 */
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { isObject, obj, str, UnknownNames, type WireObject } from '../wire-json.js';
import { ConnectBlocks } from './blocks.js';
import { EnvelopeSplitter, FLAG_END_STREAM } from './envelope.js';
import { PlainAppendMatcher } from './plain-append.js';
import { ConnectSearch } from './search.js';
import { connectError, exceptionError } from './stream-errors.js';

export interface DecodeConnectChatOptions {
  /** Cap on one frame's payload (default 4 MiB), checked from the frame header. */
  maxPayloadBytes?: number | undefined;
  /** Called once per unknown `mask` in a stream (the event itself is ignored). */
  onUnknownMask?: ((mask: string) => void) | undefined;
}

/** After `done`, read at most this much more (trailer, end of body), then stop. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/** Masks that are understood and produce no output. */
const SILENT_MASKS = new Set(['message.status', 'chat.name', 'chat.files', 'block.multiStage', 'block.stage']);

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
  private readonly plain = new PlainAppendMatcher();
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
  private readonly search = new ConnectSearch(this.out);
  private readonly blocks = new ConnectBlocks(this.out, this.search.numberForRef);
  private readonly unknownMasks: UnknownNames;

  constructor(onUnknownMask: ((mask: string) => void) | undefined) {
    this.unknownMasks = new UnknownNames(onUnknownMask);
  }

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
    if (this.plain.match(bytes, start, end)) {
      const { id, think, content } = this.plain;
      if (this.heldContent !== '' && (id !== this.heldId || think !== this.heldThink)) this.flushHeld();
      this.heldId = id;
      this.heldThink = think;
      this.heldContent += content;
      return true;
    }
    // Whatever this frame is, the text held before it comes first.
    this.flushHeld();
    this.handle(parseJson(this.decoder.decode(bytes.subarray(start, end)), 'frame'));
    return true;
  }

  /** Handles the plain appends held so far. */
  private flushHeld(): void {
    if (this.heldContent === '') return;
    const content = this.heldContent;
    this.heldContent = '';
    this.blocks.content(this.heldId, this.heldThink, undefined, content, true);
  }

  /** The read is split: handle what it held, and let go of its Latin-1 text. */
  endRead(): void {
    this.flushHeld();
    this.plain.endRead();
  }

  /** One decoded data frame. Throws ProxyError for in-stream errors. */
  private handle(ev: WireObject): void {
    if (ev.error !== undefined && ev.error !== null) throw connectError(ev.error, 'stream');
    if (ev.exception !== undefined && ev.exception !== null) throw exceptionError(ev.exception);
    if (ev.heartbeat !== undefined) {
      this.out.push({ type: 'heartbeat' });
      return;
    }
    if (ev.done !== undefined) {
      this.blocks.releaseActive();
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
        if (block) this.search.search(obj(block.search));
        return;
      case 'block.tool':
      case 'block.tool.args':
      case 'block.tool.contents':
        if (block) this.search.tool(block, ev.op === 'append');
        return;
      case 'message.refs.searchChunks':
      case 'message.refs':
        if (isObject(ev.message)) this.search.searchChunks(obj(ev.message.refs)?.searchChunks);
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
    this.unknownMasks.add(mask);
  }

  private chat(chat: WireObject): void {
    const id = str(chat.id);
    if (id && id !== this.chatId) {
      this.chatId = id;
      this.out.push({ type: 'meta', chatId: id });
    }
  }

  private message(message: WireObject): void {
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
    if (refs) this.search.searchChunks(refs.searchChunks);
  }

  private blockText(block: WireObject, mask: string, append: boolean): void {
    // Defensive: a block that belongs to the user's message is never output.
    if (this.userMessageId !== undefined && block.messageId === this.userMessageId) return;
    const isThink = mask.startsWith('block.think');
    const container = obj(isThink ? block.think : block.text);
    if (!container) return;
    const content = container.content;
    if (typeof content !== 'string') return;
    this.blocks.content(typeof block.id === 'string' ? block.id : '', isThink, container.flags, content, append);
  }
}

function parseJson(text: string, what: 'frame' | 'trailer'): WireObject {
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
