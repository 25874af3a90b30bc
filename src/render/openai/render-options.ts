import type { ResponseEnd } from '../response-end.js';

/** Where thinking text goes: a `reasoning_content` field, `<think>` tags inside `content`, or nowhere. */
export type ReasoningOutput = 'reasoning_content' | 'think_tags' | 'none';

/** How citations are appended to the answer text: a numbered list, markdown footnotes, or not at all. */
export type CitationStyle = 'list' | 'footnotes' | 'none';

export interface RenderOptions {
  /** `chatcmpl-…`, the same on every chunk. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model id the client requested (echoed, never the upstream name). */
  model: string;
  /** `stream_options.include_usage`: `usage: null` on every chunk plus a final usage chunk. */
  includeUsage: boolean;
  reasoning: ReasoningOutput;
  citations: CitationStyle;
  /** Estimated by the caller (see core/tokens.ts). */
  promptTokens: number;
  /** Also send `delta.reasoning` beside `reasoning_content` (OpenRouter-style clients). Default false. */
  reasoningAlias?: boolean;
  /**
   * The request used the legacy `functions` API: a call is rendered as `function_call` with
   * finish reason `function_call` instead of `tool_calls`.
   */
  legacyFunctions?: boolean;
  /** Added to in-stream error objects as `request_id`. */
  requestId?: string;
  /**
   * Called once when the response ends: `finish` with the estimated usage (whether or not the
   * client asked for usage), `error`, or `client_gone` (for request logs, key usage, metrics).
   */
  onEnd?: (end: ResponseEnd) => void;
}
