/** What the /admin/api/accounts routes answer, described for the OpenAPI document. */
import { bool, constant, int, num, object, oneOf, orNull, str, time } from './schema-parts.js';

const TOKEN_KINDS = ['access', 'refresh', 'refresh-jwt'];

const quota = orNull(
  object(
    'The quota Kimi reported at the last reading (every QUOTA_POLL_MS, a re-check, kimi-proxy check); null before the first one. When Kimi did not answer it, only error and checked_at (the account may still work).',
    {
      used_ratio: orNull(num("Share of the plan's credit used, 0…1 (Connect).")),
      expires_at: time('When the plan ends (Connect)'),
      used: orNull(int('Research-mode uses (REST).')),
      total: orNull(int('Research-mode uses allowed (REST).')),
      remaining: orNull(int('Research-mode uses left (REST).')),
      error: str('The error code of the quota call, when it failed.'),
      checked_at: time('When it was read'),
    },
    ['used_ratio', 'expires_at', 'used', 'total', 'remaining', 'error'],
  ),
);

export const accountAnswer = object('A Kimi account (never its token, only a masked form).', {
  id: str('The account id (acct_…).'),
  object: constant('account', 'Always "account".'),
  name: str("The account's name."),
  source: oneOf(['config', 'admin'], 'config: KIMI_TOKENS or the accounts file; admin: added here.'),
  masked_token: str('The first and last characters of the token, to recognise it.'),
  token_kind: oneOf(TOKEN_KINDS, 'The kind of the configured token.'),
  state: oneOf(['healthy', 'cooling', 'refreshing', 'invalid', 'failing', 'disabled'], 'The health of the account.'),
  expires_at: time('When the current access token expires'),
  cooldown_until: time('When a rate-limit cooldown or a rest ends'),
  rest_reason: orNull(oneOf(['quota', 'daily-budget'], "Why a cooling account rests: Kimi's usage limit is reached, or its daily request budget is spent.")),
  in_flight: int('Requests running on the account now (this instance).'),
  requests: int('Requests served since this instance started.'),
  failures: int('Failed requests since this instance started.'),
  last_error: orNull(str('The last error, in words (never a token).')),
  last_used_at: time('Last use'),
  weight: orNull(num('Share of traffic relative to the other accounts.')),
  max_concurrent: orNull(int('Requests the account may run at once.')),
  min_interval_ms: orNull(int('Least time between two request starts, in milliseconds.')),
  daily_requests: orNull(int('Chat turns per day before the account rests until the next day; null: no budget.')),
  daily_used: orNull(int('Chat turns counted today against the daily budget (null without one).')),
  quota,
});

export const parsedToken = object('What the pasted text holds.', {
  object: constant('account.token', 'Always "account.token".'),
  token_kind: oneOf(TOKEN_KINDS, 'The kind of the token found.'),
  source: oneOf(['refresh_token', 'access_token', 'authorization', 'kimi-auth', 'token'], 'Where in the text it was found.'),
  masked_token: str('The first and last characters of the token.'),
  expires_at: time('When the token expires, when it says'),
  user_id: orNull(str('The Kimi user id in the token, when it holds one.')),
});

export const recheckAnswer = object('The result of the re-check.', {
  ok: bool('Whether the account works.'),
  account: accountAnswer,
});

export const removedAccount = object('The account is removed.', {
  id: str('The account id.'),
  object: constant('account.deleted', 'Always "account.deleted".'),
  deleted: bool('Always true.'),
});
