/** The Responses API `response` object: what the request asked for, echoed, plus status, output and usage. */
import { ProxyError, isProxyError } from '../../core/errors.js';
import { randomAlnum } from '../../core/ids.js';
import type { ResponsesRequest } from './request.js';

export const newResponseId = (): string => `resp_${randomAlnum(24)}`;
export const newItemId = (prefix: 'msg' | 'rs' | 'fc' | 'ctc'): string => `${prefix}_${randomAlnum(24)}`;

export type OutputItem = Record<string, unknown> & { id: string; type: string };

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  background: false;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, unknown>;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number;
  text: { format: Record<string, unknown> };
  tool_choice: unknown;
  tools: unknown[];
  top_p: number;
  truncation: 'disabled';
  usage: ResponsesUsage | null;
}

/** The response as it stands when the request starts (`in_progress`, no output). */
export function initialResponse(id: string, createdAt: number, req: ResponsesRequest): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: Math.floor(createdAt / 1000),
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    metadata: req.metadata ?? {},
    model: req.model,
    output: [],
    parallel_tool_calls: req.parallel_tool_calls !== false,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: req.reasoning?.summary ?? null },
    store: req.store !== false,
    temperature: req.temperature ?? 1,
    text: { format: req.text?.format ?? { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: req.tools ?? [],
    top_p: req.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
  };
}

export function usageOf(input: number, output: number, reasoning: number): ResponsesUsage {
  const inputTokens = Math.max(0, Math.round(input));
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: inputTokens + output,
  };
}

/** `response.error` of a failed response: the error table's code and message (Codex reads `rate_limit_exceeded` and friends). */
export function responseError(err: unknown): { code: string; message: string } {
  const pe = isProxyError(err) ? err : new ProxyError('internal_error', 'Internal server error. The request id identifies the log line with details.');
  const code = pe.status === 429 ? 'rate_limit_exceeded' : pe.code;
  const wait = pe.retryAfterMs !== undefined ? ` Please try again in ${Math.max(1, Math.ceil(pe.retryAfterMs / 1000))}s.` : '';
  return { code, message: pe.message + wait };
}
