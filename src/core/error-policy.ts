/**
 * What each error code means for the request that met it and for the account it ran on —
 * the one table every retry, failover, migration and health decision reads. The relay's
 * attempt loop (relay/attempt-loop.ts) applies the request columns, the account runtime
 * (accounts/account-runtime.ts) the `health` column, the janitor the `chatGone` column.
 * Nothing else branches on error codes to make these decisions.
 */
import { isProxyError, type ErrorCode } from './errors.js';

/** What a failure does to the account's health. */
export type HealthEffect =
  /** The access token was refused: refresh it (a second refusal in a row marks the account invalid). */
  | 'reauthenticate'
  /** Rate limited: the account cools down (Retry-After, else a growing backoff). */
  | 'cool-down'
  /** Kimi's usage limit is reached: the account rests until the limit resets (else a configured period). */
  | 'rest'
  /** Counts toward the circuit breaker (consecutive failures open it). */
  | 'breaker'
  /** Says nothing about the account. */
  | 'none';

export interface ErrorPolicy {
  /** Another account might succeed: an unpinned request moves to the next one (only before any content). */
  readonly failover: boolean;
  /**
   * Retried once on the same account when no other account can take over (a pinned request,
   * or a single account): reporting the failure has already repaired what caused it.
   */
  readonly retrySameAccount: boolean;
  /** A pinned conversation cannot go on where it is: it is rebuilt on a usable account from its transcript. */
  readonly migrate: boolean;
  readonly health: HealthEffect;
  /** The upstream chat does not exist (any more): a queued deletion of it is done. */
  readonly chatGone: boolean;
  /** A token refresh that fails with this code means the refresh token itself is refused. */
  readonly refreshRejected: boolean;
  /** The pool has no account left for this request: after a failed attempt, that attempt's error is the better answer. */
  readonly noAccountLeft: boolean;
}

const NONE: ErrorPolicy = {
  failover: false,
  retrySameAccount: false,
  migrate: false,
  health: 'none',
  chatGone: false,
  refreshRejected: false,
  noAccountLeft: false,
};
const with_ = (overrides: Partial<ErrorPolicy>): ErrorPolicy => ({ ...NONE, ...overrides });

/** An upstream failure that another account (or a later try) may not have. */
const TRANSIENT = with_({ failover: true, health: 'breaker' });

export const ERROR_POLICY: { readonly [C in ErrorCode]: ErrorPolicy } = {
  // The client's own mistakes and limits: nothing to retry, nothing about any account.
  invalid_json: NONE,
  invalid_request: NONE,
  unsupported_content: NONE,
  invalid_api_key: NONE,
  api_key_expired: NONE,
  api_key_revoked: NONE,
  invalid_admin_token: NONE,
  admin_session_expired: NONE,
  csrf_token_invalid: NONE,
  model_not_allowed: NONE,
  model_not_found: NONE,
  not_found: NONE,
  conversation_not_found: NONE,
  conversation_busy: NONE,
  already_exists: NONE,
  body_too_large: NONE,
  rate_limited: NONE,
  rate_limit_exceeded: NONE,
  too_many_concurrent_streams: NONE,
  // The proxy's own state.
  accounts_exhausted: with_({ noAccountLeft: true }),
  no_accounts: NONE,
  account_unavailable: with_({ migrate: true }),
  overloaded: NONE,
  store_unavailable: NONE,
  shutting_down: NONE,
  internal_error: NONE,
  // The model did not produce a usable call or JSON answer (tool emulation): nothing about the account.
  missing_tool_call: NONE,
  invalid_tool_call: NONE,
  invalid_json_output: NONE,
  // Kimi's answers.
  upstream_unauthenticated: with_({ failover: true, retrySameAccount: true, migrate: true, health: 'reauthenticate', refreshRejected: true }),
  upstream_rate_limited: with_({ failover: true, health: 'cool-down' }),
  // Another account still has quota; a pinned conversation is rebuilt on one.
  quota_exhausted: with_({ failover: true, migrate: true, health: 'rest' }),
  upstream_overloaded: TRANSIENT,
  upstream_http_error: TRANSIENT,
  upstream_network_error: TRANSIENT,
  upstream_timeout: TRANSIENT,
  upstream_protocol_error: NONE,
  upstream_generation_error: NONE,
  upstream_content_filter: NONE,
  // The refresh endpoint answers a dead refresh token with 400 as well as 401.
  upstream_bad_request: with_({ refreshRejected: true }),
  upstream_chat_busy: NONE,
  upstream_chat_not_found: with_({ migrate: true, chatGone: true }),
};

/** The policy of anything thrown: errors without a code (bugs, aborts) are never retried. */
export function policyOf(err: unknown): ErrorPolicy {
  return isProxyError(err) ? ERROR_POLICY[err.code] : NONE;
}
