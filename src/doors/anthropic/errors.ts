/**
 * Errors in Anthropic's dialect: the status comes from the one error table (core/errors.ts),
 * the body is `{type:"error", error:{type, message}}` with the Anthropic type for that status,
 * so @anthropic-ai/sdk raises its typed error (AuthenticationError, RateLimitError, …).
 */
import { ProxyError, isProxyError, type OpenAIErrorType } from '../../core/errors.js';
import { policyOf } from '../../core/error-policy.js';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

/** The error table's type → Anthropic's. Anthropic has no conflict type: a busy conversation is a bad request now. */
const TYPE_MAP: Record<OpenAIErrorType, AnthropicErrorType> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  conflict_error: 'invalid_request_error',
  rate_limit_error: 'rate_limit_error',
  insufficient_quota: 'rate_limit_error',
  upstream_error: 'api_error',
  timeout_error: 'timeout_error',
  server_error: 'api_error',
  service_unavailable: 'overloaded_error',
};

function asProxyError(err: unknown): ProxyError {
  return isProxyError(err) ? err : new ProxyError('internal_error', 'Internal server error. The request id identifies the log line with details.', { cause: err });
}

export function anthropicErrorType(err: ProxyError): AnthropicErrorType {
  // Two statuses have a type of their own in Anthropic's table whatever the cause.
  if (err.status === 404) return 'not_found_error';
  if (err.status === 413) return 'request_too_large';
  // Anthropic clients retry an overload; no account to serve (a refused token) is not one.
  if (policyOf(err).clientRetry === 'not-until-fixed') return 'api_error';
  return TYPE_MAP[err.type];
}

export function toAnthropicError(err: unknown, requestId?: string): { status: number; body: AnthropicErrorBody } {
  const pe = asProxyError(err);
  const body: AnthropicErrorBody = { type: 'error', error: { type: anthropicErrorType(pe), message: pe.message } };
  if (requestId) body.request_id = requestId;
  return { status: pe.status, body };
}

/** The `event: error` frame that reports a failure inside a started stream. */
export function anthropicErrorFrame(err: unknown, requestId?: string): string {
  return `event: error\ndata: ${JSON.stringify(toAnthropicError(err, requestId).body)}\n\n`;
}
