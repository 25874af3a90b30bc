import { estimateTokens } from '../../core/tokens.js';

/** OpenAI `usage`. All numbers are estimates: Kimi reports no token counts. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details: { reasoning_tokens: number };
}

/**
 * Builds `usage` from the answer text and the reasoning text of one reply. Reasoning counts as
 * completion tokens in every reasoning mode, hidden or not, as OpenAI bills hidden reasoning.
 */
export function buildUsage(promptTokens: number, content: string, reasoning: string): ChatUsage {
  const prompt = Number.isFinite(promptTokens) ? Math.max(0, Math.round(promptTokens)) : 0;
  const reasoningTokens = estimateTokens(reasoning);
  const completion = estimateTokens(content) + reasoningTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    completion_tokens_details: { reasoning_tokens: reasoningTokens },
  };
}
