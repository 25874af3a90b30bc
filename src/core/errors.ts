/**
 * Typed errors with stable codes. Code branches on `code`, never on message text.
 * One function (`toOpenAIError`) maps any error to an HTTP status and an OpenAI error body.
 */

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  /** OpenAI's type for a spent quota: SDKs show it as such rather than as a passing rate limit. */
  | 'insufficient_quota'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error'
  | 'service_unavailable';

interface CodeSpec {
  status: number;
  type: OpenAIErrorType;
}

/**
 * Every code the proxy produces, with its HTTP status and OpenAI error type. What each code
 * means for retries, failover, migration and account health is in error-policy.ts.
 */
export const ERROR_CODES = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  unsupported_content: { status: 400, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  api_key_expired: { status: 401, type: 'authentication_error' },
  api_key_revoked: { status: 401, type: 'authentication_error' },
  invalid_admin_token: { status: 401, type: 'authentication_error' },
  admin_session_expired: { status: 401, type: 'authentication_error' },
  csrf_token_invalid: { status: 403, type: 'permission_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'not_found_error' },
  conversation_not_found: { status: 404, type: 'not_found_error' },
  conversation_busy: { status: 409, type: 'conflict_error' },
  already_exists: { status: 409, type: 'conflict_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  /** An attachment (or the attachments of one request) over its size cap or count limit. */
  attachment_too_large: { status: 413, type: 'invalid_request_error' },
  /** An attachment whose bytes are not one of the accepted image or document types. */
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  /** An attachment URL the proxy will not fetch (scheme, internal address, too many redirects). */
  attachment_url_refused: { status: 400, type: 'invalid_request_error' },
  /** An attachment URL that could not be fetched (remote error status, timeout, network). */
  attachment_fetch_failed: { status: 400, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  /** A client API key's own limits (requests per minute, concurrent streams). */
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error' },
  too_many_concurrent_streams: { status: 429, type: 'rate_limit_error' },
  accounts_exhausted: { status: 429, type: 'rate_limit_error' },
  /** No Kimi account is configured. */
  no_accounts: { status: 503, type: 'service_unavailable' },
  /** Every configured Kimi account is invalid (its token was refused) or disabled: an operator has to act. */
  accounts_invalid: { status: 503, type: 'service_unavailable' },
  /** The account a request is pinned to (a conversation's upstream chat lives there) is gone, invalid or disabled. */
  account_unavailable: { status: 503, type: 'service_unavailable' },
  overloaded: { status: 503, type: 'service_unavailable' },
  store_unavailable: { status: 503, type: 'service_unavailable' },
  shutting_down: { status: 503, type: 'service_unavailable' },
  // Upstream (Kimi) failures.
  upstream_unauthenticated: { status: 502, type: 'upstream_error' },
  upstream_rate_limited: { status: 429, type: 'rate_limit_error' },
  /**
   * Kimi says the account's usage limit is reached (spec A.12, B.11; the classifier is
   * upstream/kimi/usage-limit.ts). A client sees it only when every account is out.
   */
  quota_exhausted: { status: 429, type: 'insufficient_quota' },
  upstream_overloaded: { status: 503, type: 'service_unavailable' },
  upstream_http_error: { status: 502, type: 'upstream_error' },
  upstream_network_error: { status: 502, type: 'upstream_error' },
  upstream_timeout: { status: 504, type: 'timeout_error' },
  upstream_protocol_error: { status: 502, type: 'upstream_error' },
  /** The upstream stopped generating (REST `error` event, Connect `exception`/unknown error code). */
  upstream_generation_error: { status: 502, type: 'upstream_error' },
  upstream_content_filter: { status: 400, type: 'invalid_request_error' },
  upstream_bad_request: { status: 400, type: 'invalid_request_error' },
  upstream_chat_busy: { status: 409, type: 'conflict_error' },
  upstream_chat_not_found: { status: 404, type: 'not_found_error' },
  /** Tool emulation: `tool_choice` required/named, and the model made no usable call even after a repair turn. */
  missing_tool_call: { status: 422, type: 'upstream_error' },
  /** Tool emulation: the model's call block could not be read or named no offered tool, even after a repair turn. */
  invalid_tool_call: { status: 422, type: 'upstream_error' },
  /** `response_format` emulation: the model gave no valid JSON for the requested format, even after a repair turn. */
  invalid_json_output: { status: 422, type: 'upstream_error' },
  /** Kimi refused an attachment (upload failed after retries, parse FAILED, or still parsing at the deadline). */
  attachment_failed: { status: 422, type: 'upstream_error' },
  internal_error: { status: 500, type: 'server_error' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ProxyErrorOptions {
  param?: string | null;
  cause?: unknown;
  /** How long the caller should wait before retrying (429/503). */
  retryAfterMs?: number;
  /** Upstream-provided code or reason, kept for logs/metrics (never a secret). */
  upstreamCode?: string;
  /** Overrides the default HTTP status of the code (e.g. an upstream 500 seen as 502). */
  status?: number;
}

export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly retryAfterMs: number | undefined;
  readonly upstreamCode: string | undefined;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: ProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.param = options.param ?? null;
    this.retryAfterMs = options.retryAfterMs;
    this.upstreamCode = options.upstreamCode;
    this.status = options.status ?? ERROR_CODES[code].status;
  }

  get type(): OpenAIErrorType {
    return ERROR_CODES[this.code].type;
  }
}

export function isProxyError(err: unknown): err is ProxyError {
  return err instanceof ProxyError;
}

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: OpenAIErrorType;
    param: string | null;
    code: string;
    request_id?: string;
  };
}

/** Maps any thrown value to a status and an OpenAI error body. Unknown errors become 500 without internals. */
export function toOpenAIError(err: unknown, requestId?: string): { status: number; body: OpenAIErrorBody } {
  const pe = isProxyError(err)
    ? err
    : new ProxyError('internal_error', 'Internal server error. The request id identifies the log line with details.', { cause: err });
  const body: OpenAIErrorBody = {
    error: { message: pe.message, type: pe.type, param: pe.param, code: pe.code },
  };
  if (requestId) body.error.request_id = requestId;
  return { status: pe.status, body };
}
