/** Pieces of Anthropic's message shape shared by the stream and the aggregated message. */
import type { FinishReason } from '../../core/chat-event.js';
import { randomAlnum } from '../../core/ids.js';
import type { CitationStyle } from '../../render/openai/render-options.js';
import type { ResponseEnd } from '../../render/response-end.js';
import type { ThinkingSigner } from './thinking-signature.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal' | 'stop_sequence';

/** One table: the neutral finish reason → Anthropic's `stop_reason`. */
export const STOP_REASONS: Record<FinishReason, StopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

/** `stop_reason` and `stop_sequence` of a finished message: a client's stop sequence that ended it wins. */
export function stopOf(reason: FinishReason, stopSequence: string | undefined): { stop_reason: StopReason; stop_sequence: string | null } {
  return stopSequence !== undefined ? { stop_reason: 'stop_sequence', stop_sequence: stopSequence } : { stop_reason: STOP_REASONS[reason], stop_sequence: null };
}

export const newMessageId = (): string => `msg_${randomAlnum(24)}`;

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** Token counts are estimates (Kimi reports none); nothing is ever cached upstream. */
export function usageOf(inputTokens: number, outputTokens: number): AnthropicUsage {
  return { input_tokens: Math.max(0, Math.round(inputTokens)), output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

export interface AnthropicRenderOptions {
  /** `msg_…`, the message id. */
  id: string;
  /** The model id the client asked for (echoed). */
  model: string;
  /** Estimated tokens of the text sent upstream. */
  promptTokens: number;
  citations: CitationStyle;
  signer: ThinkingSigner;
  /** `thinking.display` `omitted` or `updates`: thinking blocks carry no text, only their signature. */
  omitThinking: boolean;
  requestId?: string;
  /** Told once how the response ended (finish with the estimated usage, error, client gone). */
  onEnd?: (end: ResponseEnd) => void;
}

export function finishUsage(opts: AnthropicRenderOptions, outputTokens: number): ResponseEnd {
  return { outcome: 'finish', usage: { prompt_tokens: Math.max(0, Math.round(opts.promptTokens)), completion_tokens: outputTokens } };
}
