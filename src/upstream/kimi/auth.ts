/**
 * Exchanging a refresh token for an access token (spec A.2, B.10):
 * `GET /api/auth/token/refresh` with `Authorization: Bearer <refresh token>` answers
 * `{"access_token": "eyJ…", "refresh_token": "…"}`; 2026 clients also accept `token` as the
 * access-token field, and some read `expires_in` (seconds).
 *
 * The 2026-09 auth gateway (`POST https://auth.kimi.com/api/account.gateway.v1.AuthService/RefreshToken`
 * with `{"refreshToken": "…"}`) is deliberately not implemented: no source captured its
 * success body (spec B.10, F.6), so there is nothing reliable to parse.
 */
import { policyOf } from '../../core/error-policy.js';
import { ProxyError, isProxyError } from '../../core/errors.js';
import type { KimiHttp } from './http.js';
import type { AccountCredentials } from './types.js';

export const REFRESH_PATH = '/api/auth/token/refresh';

export interface RefreshResult {
  accessToken: string;
  /** Present when the upstream rotated the refresh token (the old one may be spent). */
  refreshToken?: string;
  /** Expiry of the access token in ms since the epoch, from `expires_in` or the JWT's `exp`. */
  expiresAt?: number;
}

/** Kimi refused the refresh token itself (HTTP 401/403, or 400 as seen during account bans). */
export class RefreshTokenRejectedError extends ProxyError {
  constructor(message: string, cause: unknown, upstreamCode: string | undefined) {
    super('upstream_unauthenticated', message, { cause, upstreamCode: upstreamCode ?? 'refresh_token_invalid' });
    this.name = 'RefreshTokenRejectedError';
  }
}

export function isRefreshTokenRejected(err: unknown): err is RefreshTokenRejectedError {
  return err instanceof RefreshTokenRejectedError;
}

export interface RefreshCallOptions {
  /** Used only for the credentials object (logging, per-account transport). */
  accountId?: string;
  sessionId?: string;
  /** Time source for `expires_in`; defaults to Date.now. */
  now?: () => number;
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** `exp` of a JWT-shaped token, in ms; undefined for anything else. */
function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    const exp = payload && typeof payload === 'object' ? (payload as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the refresh answer; throws upstream_protocol_error when it carries no access token. */
export function parseRefreshResponse(body: unknown, now: number): RefreshResult {
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const accessToken = nonEmpty(b.access_token) ?? nonEmpty(b.token);
  if (!accessToken) {
    throw new ProxyError('upstream_protocol_error', 'Kimi answered the token refresh without an access token.', { upstreamCode: 'refresh_no_token' });
  }
  const result: RefreshResult = { accessToken };
  const rotated = nonEmpty(b.refresh_token);
  if (rotated) result.refreshToken = rotated;
  const expiresIn = typeof b.expires_in === 'string' && /^\d+$/.test(b.expires_in) ? Number(b.expires_in) : b.expires_in;
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) {
    result.expiresAt = now + Math.round(expiresIn * 1000);
  } else {
    const exp = jwtExpiry(accessToken);
    if (exp !== undefined) result.expiresAt = exp;
  }
  return result;
}

/**
 * Exchanges `refreshToken` for an access token. Throws RefreshTokenRejectedError when Kimi
 * refuses the refresh token; transport and 5xx failures keep their own typed errors.
 */
export async function refreshAccessToken(
  http: KimiHttp,
  refreshToken: string,
  deviceId: string,
  signal: AbortSignal,
  options: RefreshCallOptions = {},
): Promise<RefreshResult> {
  const credentials: AccountCredentials = {
    accountId: options.accountId ?? '',
    accessToken: refreshToken,
    deviceId,
    sessionId: options.sessionId ?? '',
  };
  let body: unknown;
  try {
    body = await http.json({ method: 'GET', path: REFRESH_PATH, protocol: 'rest' }, { credentials, signal });
  } catch (err) {
    if (isProxyError(err) && policyOf(err).refreshRejected) {
      throw new RefreshTokenRejectedError('Kimi rejected the refresh token (it is expired, revoked or already used).', err, err.upstreamCode);
    }
    throw err;
  }
  return parseRefreshResponse(body, (options.now ?? Date.now)());
}
