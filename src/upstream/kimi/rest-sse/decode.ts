/**
 * Decoder for Kimi's legacy completion stream (spec A.5–A.7): bytes → UTF-8 text →
 * SSE records (records.ts: eventsource-parser, with a fast path for plain answer deltas) →
 * `{"event": ...}` JSON → ChatEvent.
 *
 * Wire shapes stay in this file (narrowed by hand with wire-json.ts). Every record is
 * `data: <json>`; the event name lives in the JSON `event` property (SSE `event:`/`id:`
 * fields are not used by Kimi and are ignored).
 */
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { CitationMarkerFilter, CitationRegistry } from '../citation-markers.js';
import { DeltaSink } from '../stream-util.js';
import { sanitizeUpstreamCode } from '../upstream-errors.js';
import { isUsageLimit } from '../usage-limit.js';
import { Utf8StreamDecoder } from '../utf8-stream.js';
import { isObject, str, stringList, UnknownNames, type WireObject } from '../wire-json.js';
import { KimiSseRecords, type KimiSseSink } from './records.js';

export interface DecodeRestSseOptions {
  /**
   * Cap on data buffered without a complete SSE record (default 1 MiB). Measured in decoded
   * characters, which never exceeds the byte count of the same text.
   */
  maxEventBytes?: number | undefined;
  /** Called once per unknown `event` name in a stream (the event itself is ignored). */
  onUnknownEvent?: ((name: string) => void) | undefined;
  /**
   * Events yielded before anything decoded (e.g. the caller's `meta` with the chat id). Given
   * here rather than by a wrapping generator, which would add a hop to every event.
   */
  leading?: readonly ChatEvent[] | undefined;
}

export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

/** After `all_done`, read at most this much more (so the connection can be reused), then stop. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Turns Kimi SSE records into ChatEvents; collects them in `out` for the generator to yield
 * after each read. Consecutive deltas of one kind within a read are merged into one event.
 */
class RestSseState implements KimiSseSink {
  readonly out: ChatEvent[] = [];
  error: ProxyError | undefined;
  finished = false;
  private sawLength = false;
  private readonly citations = new CitationRegistry();
  private readonly resolveRef = (ref: string): number => this.citations.numberForRef(ref);
  private readonly answer = new CitationMarkerFilter(this.resolveRef);
  private readonly reasoning = new CitationMarkerFilter(this.resolveRef);
  private readonly answerSink = new DeltaSink(this.out, false);
  private readonly reasoningSink = new DeltaSink(this.out, true);
  private readonly unknownEvents: UnknownNames;

  constructor(
    onUnknownEvent: ((name: string) => void) | undefined,
    private readonly maxEventBytes: number,
  ) {
    this.unknownEvents = new UnknownNames(onUnknownEvent);
  }

  /**
   * Answer text of plain deltas not yet passed through the citation filter: the deltas of a
   * read are joined first and filtered once (the filter's output does not depend on how its
   * input is cut), instead of a marker test and a merge per record.
   */
  private plainTextHeld = '';

  plainText(text: string): void {
    if (this.error === undefined && !this.finished) this.plainTextHeld += text;
  }

  tooLarge(): void {
    this.error ??= new ProxyError('upstream_protocol_error', `Kimi sent an SSE record larger than ${this.maxEventBytes} bytes.`, {
      upstreamCode: 'event_too_large',
    });
  }

  /** One SSE record's data. Never throws: a failure is stored in `error`. */
  data(data: string): void {
    if (this.error !== undefined || this.finished) return;
    // Whatever this record is, the text before it comes first. (Plain answer deltas mostly
    // arrive through `plainText`; the few the general parser delivers, such as one cut between
    // reads, are parsed in full, with the same result.)
    this.flushPlainText();
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (cause) {
      this.error = new ProxyError('upstream_protocol_error', 'Kimi sent an SSE record whose data is not JSON.', {
        cause,
        upstreamCode: 'invalid_json',
      });
      return;
    }
    if (!isObject(parsed)) {
      this.error = new ProxyError('upstream_protocol_error', 'Kimi sent an SSE record whose data is not a JSON object.', {
        upstreamCode: 'invalid_event',
      });
      return;
    }
    this.onEvent(parsed);
  }

  private onEvent(ev: WireObject): void {
    const name = typeof ev.event === 'string' ? ev.event : '';
    switch (name) {
      case 'cmpl':
        this.text(ev.text, this.answer, this.answerSink);
        return;
      case 'k1':
        // Thinking text of K1 / k1.5-thinking (event name per [U10]/[U11], spec F.9).
        this.text(ev.text, this.reasoning, this.reasoningSink);
        return;
      case 'req': {
        const id = str(ev.id);
        if (id) this.out.push({ type: 'meta', segmentId: id });
        return;
      }
      case 'search_plus':
        this.searchPlus(ev.msg);
        return;
      case 'ref_docs':
        if (Array.isArray(ev.ref_cards)) {
          for (const card of ev.ref_cards) {
            if (!isObject(card)) continue;
            this.citation(card.url, card.title, str(card.abstract) ?? card.snippet, str(card.source_label) ?? card.site_name);
          }
        }
        return;
      case 'length':
        this.sawLength = true;
        return;
      case 'all_done':
        this.flushHeld();
        this.out.push({ type: 'finish', reason: this.sawLength ? 'length' : 'stop' });
        this.finished = true;
        return;
      case 'error': {
        const code = str(ev.error_type) ?? str(ev.type) ?? str(ev.code);
        const upstreamCode = (code && sanitizeUpstreamCode(code)) ?? 'error_event';
        // The error event's fields are not documented (spec F.8): a `message` is read when there is one.
        this.error = isUsageLimit({ code, message: str(ev.message) })
          ? new ProxyError('quota_exhausted', 'Kimi says this account has reached its usage limit (error event in the stream).', { upstreamCode })
          : new ProxyError('upstream_generation_error', 'Kimi stopped the reply (error event in the stream; this is often content moderation).', { upstreamCode });
        return;
      }
      case 'resp':
      case 'search_info':
      case 'status':
      case 'chat_prompt':
        return;
      default:
        this.unknownEvents.add(name);
    }
  }

  /** Emits the joined plain deltas (call after each read, before its events are yielded). */
  flushPlainText(): void {
    if (this.plainTextHeld === '') return;
    const text = this.plainTextHeld;
    this.plainTextHeld = '';
    this.text(text, this.answer, this.answerSink);
  }

  private text(value: unknown, filter: CitationMarkerFilter, sink: DeltaSink): void {
    if (typeof value !== 'string' || value === '') return;
    filter.push(value, sink);
  }

  private searchPlus(msg: unknown): void {
    if (!isObject(msg)) return;
    if (msg.type === 'get_res') {
      this.citation(msg.url, msg.title, msg.snippet, msg.site_name);
    } else if (msg.type === 'start_res') {
      // No source shows queries on start_res; take them if a `queries`/`query` field is present.
      const queries = stringList(msg.queries ?? msg.query);
      if (queries.length > 0) this.out.push({ type: 'search', queries });
    }
  }

  private citation(url: unknown, title: unknown, snippet: unknown, siteName: unknown): void {
    const u = str(url);
    if (!u) return;
    const citation = this.citations.add({ url: u, title: str(title), snippet: str(snippet), siteName: str(siteName) });
    if (citation) this.out.push({ type: 'citation', citation });
  }

  private flushHeld(): void {
    this.reasoning.flush(this.reasoningSink);
    this.answer.flush(this.answerSink);
  }
}

/**
 * Decodes a Kimi legacy completion stream into ChatEvents. Throws `ProxyError`:
 * `upstream_generation_error` for an `error` event; `upstream_protocol_error` for a record
 * that is not JSON, an oversized record, or a stream that ends before `all_done`.
 * `finish` is the last event; nothing is yielded after it.
 */
export function decodeRestSse(body: AsyncIterable<Uint8Array>, opts: DecodeRestSseOptions = {}): AsyncGenerator<ChatEvent> {
  return run(body, opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, opts.onUnknownEvent, opts.leading);
}

async function* run(
  body: AsyncIterable<Uint8Array>,
  maxEventBytes: number,
  onUnknownEvent: ((name: string) => void) | undefined,
  leading: readonly ChatEvent[] | undefined,
): AsyncGenerator<ChatEvent> {
  if (leading) yield* leading;
  const state = new RestSseState(onUnknownEvent, maxEventBytes);
  const out = state.out;
  const decoder = new Utf8StreamDecoder();
  const records = new KimiSseRecords(state, maxEventBytes);

  let drained = 0;
  for await (const chunk of body) {
    if (state.finished) {
      drained += chunk.byteLength;
      if (drained > DRAIN_LIMIT_BYTES) return;
      continue;
    }
    records.feed(decoder.write(chunk));
    state.flushPlainText();
    if (out.length > 0) {
      for (let i = 0; i < out.length; i++) yield out[i]!;
      out.length = 0;
    }
    if (state.error) throw state.error;
  }

  if (!state.finished) {
    // A last record may lack its blank line; treat the end of the body as its end.
    records.feed(`${decoder.end()}\n\n`);
    state.flushPlainText();
    for (let i = 0; i < out.length; i++) yield out[i]!;
    out.length = 0;
    if (state.error) throw state.error;
  }
  if (!state.finished) {
    throw new ProxyError('upstream_protocol_error', 'Kimi stream ended before all_done: the reply is incomplete.', {
      upstreamCode: 'missing_all_done',
    });
  }
}
