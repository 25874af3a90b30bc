/**
 * Token bookkeeping (spec 1.1, 1.2, A.2, B.10): issues access/refresh JWTs, remembers what it
 * issued, validates bearers and maps every token to an account key. The account key of an
 * emulator-issued token is the original refresh token of its lineage, so rotation keeps one key.
 */
import { digitsFor, legacyId, userIdFor } from './ids.js';
import { decodeJwtPayload, encodeJwt, isAccessJwt } from './jwt.js';

export interface TokenPolicy {
  accessTokenTtlSec: number;
  acceptAnyToken: boolean;
  rotateRefreshTokens: boolean;
}

export type AuthCheck = { ok: true; accountKey: string } | { ok: false; message: string };

export type RefreshResult =
  | { ok: true; accountKey: string; accessToken: string; refreshToken: string }
  | { ok: false; message: string };

interface RefreshState {
  accountKey: string;
  used: boolean;
}

export class TokenRegistry {
  /** Access token → account key and expiry (epoch seconds). */
  private readonly issuedAccess = new Map<string, { accountKey: string; exp: number }>();
  private readonly refreshTokens = new Map<string, RefreshState>();
  private readonly invalid = new Set<string>();

  constructor(
    private readonly policy: TokenPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  accountKeyOf(token: string): string {
    return this.issuedAccess.get(token)?.accountKey ?? this.refreshTokens.get(token)?.accountKey ?? token;
  }

  isInvalidated(token: string): boolean {
    return this.invalid.has(token) || this.invalid.has(this.accountKeyOf(token));
  }

  invalidate(token: string): void {
    this.invalid.add(token);
  }

  clearInvalidations(): void {
    this.invalid.clear();
  }

  /** Validates a bearer for a chat or other API call. */
  checkAccess(token: string): AuthCheck {
    if (token === '') return { ok: false, message: 'missing access token' };
    if (this.isInvalidated(token)) return { ok: false, message: 'token has been invalidated' };
    const nowSec = this.now() / 1000;
    const issued = this.issuedAccess.get(token);
    if (issued) {
      return issued.exp <= nowSec ? { ok: false, message: 'access token expired' } : { ok: true, accountKey: issued.accountKey };
    }
    if (!this.policy.acceptAnyToken) return { ok: false, message: 'unknown access token' };
    if (isAccessJwt(token)) {
      const exp = decodeJwtPayload(token)?.exp;
      if (typeof exp === 'number' && exp <= nowSec) return { ok: false, message: 'access token expired' };
    }
    return { ok: true, accountKey: this.accountKeyOf(token) };
  }

  /** `GET /api/auth/token/refresh`: a refresh token is any bearer that is not an access JWT. */
  refresh(token: string): RefreshResult {
    if (token === '') return { ok: false, message: 'missing refresh token' };
    if (isAccessJwt(token)) return { ok: false, message: 'an access token cannot be used to refresh' };
    if (this.isInvalidated(token)) return { ok: false, message: 'refresh token has been invalidated' };
    const state = this.refreshTokens.get(token);
    if (state?.used) return { ok: false, message: 'refresh token was already used' };
    const accountKey = state?.accountKey ?? token;
    const accessToken = this.issueAccess(accountKey);
    if (!this.policy.rotateRefreshTokens) {
      if (!state) this.refreshTokens.set(token, { accountKey, used: false });
      return { ok: true, accountKey, accessToken, refreshToken: token };
    }
    this.refreshTokens.set(token, { accountKey, used: true });
    const refreshToken = this.issueRefresh(accountKey);
    this.refreshTokens.set(refreshToken, { accountKey, used: false });
    return { ok: true, accountKey, accessToken, refreshToken };
  }

  private issueAccess(accountKey: string): string {
    const iat = Math.floor(this.now() / 1000);
    const token = encodeJwt({
      iss: 'user-center',
      typ: 'access',
      app_id: 'kimi',
      sub: userIdFor(accountKey),
      exp: iat + this.policy.accessTokenTtlSec,
      iat,
      jti: legacyId(),
      device_id: digitsFor(accountKey, 'device', '7'),
      ssid: digitsFor(accountKey, 'session', '17'),
      region: 'overseas',
      membership: { level: 10 },
    });
    this.issuedAccess.set(token, { accountKey, exp: iat + this.policy.accessTokenTtlSec });
    return token;
  }

  /** Refresh tokens are JWT-shaped with `typ: "refresh"` (spec 1.1, 2026-09 row); never expire here. */
  private issueRefresh(accountKey: string): string {
    const iat = Math.floor(this.now() / 1000);
    return encodeJwt({ iss: 'user-center', typ: 'refresh', app_id: 'kimi', sub: userIdFor(accountKey), iat, jti: legacyId() });
  }
}
