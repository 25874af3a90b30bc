/**
 * One line of the request log, as the proxy records it and as it is shown: the admin API
 * (GET /admin/api/requests) answers the snake_case view, the SQLite store keeps it under the
 * same column names, and the dashboard (ui/) reads it. The dashboard compiles this file's
 * types with its own settings, so this file imports nothing.
 */

/** One line of the persisted request log (no message contents, no secrets). */
export interface RequestLogEntry {
  id: string;
  at: number;
  requestId: string;
  keyName?: string;
  model?: string;
  accountName?: string;
  protocol?: string;
  conversationId?: string;
  stream: boolean;
  status: number;
  ttfbMs?: number;
  durationMs: number;
  promptTokens?: number;
  completionTokens?: number;
  errorCode?: string;
  upstreamCode?: string;
  /** The upstream attempts that failed before the answer, in order (retries, failovers, migrations). */
  failedAttempts?: FailedAttempt[];
  /** A client's background call answered the cheap way: its task (`title`, `tags`, `follow-ups`, `queries`). */
  auxiliary?: string;
}

/** One failed upstream attempt of a logged request: the account's name, never its token. */
export interface FailedAttempt {
  account?: string;
  code: string;
  /** What followed: the same account again, the next account, the conversation rebuilt elsewhere, or the answer. */
  next: 'retry' | 'failover' | 'migrate' | 'stop';
}

/** An entry as the admin API answers it: every field present, `null` where the entry has none. */
export interface RequestLogView {
  id: string;
  at: number;
  request_id: string;
  key_name: string | null;
  model: string | null;
  account_name: string | null;
  protocol: string | null;
  conversation_id: string | null;
  stream: boolean;
  status: number;
  ttfb_ms: number | null;
  duration_ms: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  error_code: string | null;
  upstream_code: string | null;
  failed_attempts: FailedAttempt[];
  auxiliary: string | null;
}

export function requestLogView(e: RequestLogEntry): RequestLogView {
  return {
    id: e.id,
    at: e.at,
    request_id: e.requestId,
    key_name: e.keyName ?? null,
    model: e.model ?? null,
    account_name: e.accountName ?? null,
    protocol: e.protocol ?? null,
    conversation_id: e.conversationId ?? null,
    stream: e.stream,
    status: e.status,
    ttfb_ms: e.ttfbMs ?? null,
    duration_ms: e.durationMs,
    prompt_tokens: e.promptTokens ?? null,
    completion_tokens: e.completionTokens ?? null,
    error_code: e.errorCode ?? null,
    upstream_code: e.upstreamCode ?? null,
    failed_attempts: e.failedAttempts ?? [],
    auxiliary: e.auxiliary ?? null,
  };
}
