/**
 * The one seam between upstream decoding and output rendering.
 *
 * Upstream decoders (REST+SSE, Connect-RPC) only produce `ChatEvent`s; renderers (OpenAI
 * chunks, aggregated completion) only consume them. Neither side imports the other.
 *
 * Errors are not events: a decoder signals failure by throwing a `ProxyError` from the
 * async iterator (see core/errors.ts). The relay decides whether that is still retryable
 * (nothing sent yet) or must be reported inside the stream.
 */

/** A web source the answer may cite. `index` is the 1-based number shown to the user. */
export interface Citation {
  index: number;
  url: string;
  title: string;
  snippet?: string;
  siteName?: string;
}

/**
 * A citation reference inside replaced text (`text-replace`): it stands before the character
 * at `at` (a UTF-16 offset; `at` equal to the text's length: at its end). References at one
 * offset keep their order.
 */
export interface CitationRefAt {
  at: number;
  index: number;
}

/**
 * A complete function call the model made. `arguments` is JSON text (an object), already
 * checked against the tool's schema where the tool pipeline could; never a fragment.
 */
export interface ToolCall {
  /** Stable id the client echoes back in its tool result (`call_…`). */
  id: string;
  name: string;
  arguments: string;
}

/** `tool_calls`: the answer ended with one or more `tool-call` events for the client to run. */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls';

export type ChatEvent =
  /** Upstream identifiers, emitted as soon as they are known (possibly several times). */
  | {
      type: 'meta';
      /** Upstream chat id (needed to continue or delete the chat). */
      chatId?: string;
      /** Connect: id of the assistant message being generated (next turn's parent_id). */
      assistantMessageId?: string;
      /** Connect: id of the user message echo. */
      userMessageId?: string;
      /** REST: id of the reply segment (`req` event), used for length continuation. */
      segmentId?: string;
    }
  /** Answer text to append. Never contains private-use citation markers, nor any rendering of citations. */
  | { type: 'text-delta'; text: string }
  /**
   * The text cites `Citation.index` here, between the text before and after this event:
   * the answer's, or the thinking text's when `reasoning` is set. Decoders emit it where
   * Kimi marks a citation inline; each renderer decides how it looks (or drops it).
   */
  | { type: 'citation-ref'; index: number; reasoning?: true }
  /**
   * The upstream replaced the text of an answer block with content that does not extend
   * what was already emitted. `text` is the block's whole new content; `previous` is what
   * had been emitted for that block. `refs` / `previousRefs` are the citation references
   * inside each (absent when none). Aggregators substitute; a stream can only append.
   */
  | { type: 'text-replace'; previous: string; text: string; previousRefs?: CitationRefAt[]; refs?: CitationRefAt[] }
  /** Thinking / reasoning text to append. */
  | { type: 'reasoning-delta'; text: string }
  /** Search progress; never part of the answer text. */
  | { type: 'search'; queries: string[] }
  /** A citable search result. Emitted once per distinct url. */
  | { type: 'citation'; citation: Citation }
  /**
   * A function call extracted from the model's text by the tool pipeline (never by a
   * decoder: Kimi has no outside-function API). Always complete; renderers may split its
   * arguments into pieces on the wire.
   */
  | { type: 'tool-call'; call: ToolCall }
  /** Upstream keep-alive: no content, but proves the stream is alive. */
  | { type: 'heartbeat' }
  /**
   * The upstream finished this reply. Always the last event of a successful stream.
   * `stopSequence`: the client's stop sequence that ended it (render/output-limits.ts), with `stop`.
   */
  | { type: 'finish'; reason: FinishReason; stopSequence?: string };

export type ChatEventType = ChatEvent['type'];
