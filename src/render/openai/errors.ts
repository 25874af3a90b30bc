import { toOpenAIError } from '../../core/errors.js';

/**
 * The SSE frame that reports a failure inside an already started stream:
 * `data: {"error":{"message","type","param","code"[,"request_id"]}}` and a blank line.
 * openai-node and openai-python raise `APIError` when they read it.
 */
export function errorFrame(err: unknown, requestId?: string): string {
  return `data: ${JSON.stringify(toOpenAIError(err, requestId).body)}\n\n`;
}

/** The frame that ends every chat completion stream. */
export const DONE_FRAME = 'data: [DONE]\n\n';
