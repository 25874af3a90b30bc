/** OpenAI `usage`. All numbers are estimates: Kimi reports no token counts. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details: { reasoning_tokens: number };
}

/**
 * Builds `usage` from estimated counts. Reasoning counts as completion tokens in every
 * reasoning mode, hidden or not, as OpenAI bills hidden reasoning.
 */
export function buildUsage(promptTokens: number, contentTokens: number, reasoningTokens: number): ChatUsage {
  const prompt = Number.isFinite(promptTokens) ? Math.max(0, Math.round(promptTokens)) : 0;
  const completion = contentTokens + reasoningTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    completion_tokens_details: { reasoning_tokens: reasoningTokens },
  };
}
