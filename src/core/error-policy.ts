/**
 * What each error code means for the request that met it and for the account it ran on —
 * the one table every retry, failover, migration and health decision reads. The relay's
 * attempt loop (relay/attempt-loop.ts) applies the request columns, the account runtime
 * (accounts/account-runtime.ts) the `health` column, the janitor the `chatGone` column, the
 * pool (accounts/pool.ts) `endsSelection`, and the error handler (http/error-handler.ts)
 * `clientRetry` and `serverFault`. Nothing else branches on error codes to make these decisions.
 */
import { isProxyError, type ErrorCode } from './errors.js';

/** What the answer tells the client about sending the same request again. */
export type ClientRetry =
  /** Waiting helps: the answer carries `Retry-After` (the error's own hint, else a short default). */
  | 'after-wait'
  /**
   * Nothing changes until an operator acts (replaces a token, adds an account): no
   * `Retry-After`, and `x-should-retry: false`, which the OpenAI and Anthropic SDKs obey
   * instead of retrying a 5xx.
   */
  | 'not-until-fixed'
  /**
   * Only the known reset helps (a spent usage quota): `Retry-After` names it, and
   * `x-should-retry: false` keeps SDKs from retrying on their own backoff, far shorter than the wait.
   */
  | 'after-reset'
  /** The status says enough; clients apply their own rules. */
  | 'by-status';

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
  /** That retry waits the relay's backoff first: what caused the failure passes by itself, shortly. */
  readonly retryAfterPause: boolean;
  /** A pinned conversation cannot go on where it is: it is rebuilt on a usable account from its transcript. */
  readonly migrate: boolean;
  readonly health: HealthEffect;
  /** The upstream chat does not exist (any more): a queued deletion of it is done. */
  readonly chatGone: boolean;
  /** A token refresh that fails with this code means the refresh token itself is refused. */
  readonly refreshRejected: boolean;
  /** The pool has no account left for this request: after a failed attempt, that attempt's error is the better answer. */
  readonly noAccountLeft: boolean;
  /** The pool could not read the shared account health with this error: choosing an account now would fail as well. */
  readonly endsSelection: boolean;
  readonly clientRetry: ClientRetry;
  /** Answering with this code means the proxy itself failed: the error is logged with its stack. */
  readonly serverFault: boolean;
}

const NONE: ErrorPolicy = {
  failover: false,
  retrySameAccount: false,
  retryAfterPause: false,
  migrate: false,
  health: 'none',
  chatGone: false,
  refreshRejected: false,
  noAccountLeft: false,
  endsSelection: false,
  clientRetry: 'by-status',
  serverFault: false,
};
const with_ = (overrides: Partial<ErrorPolicy>): ErrorPolicy => ({ ...NONE, ...overrides });

/** Too much at once: the client should come back after the wait the answer names. */
const WAIT = with_({ clientRetry: 'after-wait' });
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
  // The conversation is answering another request: it will be free shortly.
  conversation_busy: WAIT,
  already_exists: NONE,
  body_too_large: NONE,
  attachment_too_large: NONE,
  unsupported_media_type: NONE,
  attachment_url_refused: NONE,
  attachment_fetch_failed: NONE,
  rate_limited: WAIT,
  rate_limit_exceeded: WAIT,
  too_many_concurrent_streams: WAIT,
  // The proxy's own state.
  accounts_exhausted: with_({ noAccountLeft: true, clientRetry: 'after-wait' }),
  no_accounts: with_({ clientRetry: 'not-until-fixed' }),
  accounts_invalid: with_({ clientRetry: 'not-until-fixed' }),
  account_unavailable: with_({ migrate: true, clientRetry: 'not-until-fixed' }),
  overloaded: WAIT,
  store_unavailable: with_({ endsSelection: true, clientRetry: 'after-wait' }),
  shutting_down: WAIT,
  internal_error: with_({ serverFault: true }),
  // The model did not produce a usable call or JSON answer (tool emulation): nothing about the account.
  missing_tool_call: NONE,
  invalid_tool_call: NONE,
  invalid_json_output: NONE,
  // Kimi refused the file itself (its retries on 5xx and socket errors are already spent).
  attachment_failed: NONE,
  // Kimi's answers.
  upstream_unauthenticated: with_({ failover: true, retrySameAccount: true, migrate: true, health: 'reauthenticate', refreshRejected: true }),
  upstream_rate_limited: with_({ failover: true, health: 'cool-down', clientRetry: 'after-wait' }),
  // Another account still has quota; a pinned conversation is rebuilt on one.
  quota_exhausted: with_({ failover: true, migrate: true, health: 'rest', clientRetry: 'after-reset' }),
  upstream_overloaded: with_({ failover: true, health: 'breaker', clientRetry: 'after-wait' }),
  upstream_http_error: TRANSIENT,
  upstream_network_error: TRANSIENT,
  upstream_timeout: TRANSIENT,
  upstream_protocol_error: NONE,
  upstream_generation_error: NONE,
  upstream_content_filter: NONE,
  // The refresh endpoint answers a dead refresh token with 400 as well as 401.
  upstream_bad_request: with_({ refreshRejected: true }),
  // The proxy serialises the turns of a conversation, so a busy chat is most often the previous
  // turn's stream still closing on Kimi's side after its last event (or a person using the same
  // chat in the web app): one retry after a pause, then 409 with Retry-After.
  upstream_chat_busy: with_({ retrySameAccount: true, retryAfterPause: true, clientRetry: 'after-wait' }),
  upstream_chat_not_found: with_({ migrate: true, chatGone: true }),
};

/** The policy of anything thrown: errors without a code (bugs, aborts) are never retried. */
export function policyOf(err: unknown): ErrorPolicy {
  return isProxyError(err) ? ERROR_POLICY[err.code] : NONE;
}
