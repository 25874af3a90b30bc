/**
 * What kind of Kimi token a string is (spec 1.1), read without verifying anything:
 * - an access JWT: `eyJ…`, three parts, payload `typ == "access"` and `app_id == "kimi"`;
 * - a refresh JWT (2026-09 auth gateway): same shape with `typ == "refresh"`;
 * - anything else is an opaque refresh token (legacy, or `cpmt_…` in 2026).
 * Pasted tokens are normalised first: a `Bearer ` prefix, surrounding quotes and the legacy
 * split form (a JSON array of parts that must be joined with `.`, spec A.2) are accepted.
 */

export type TokenKind = 'access' | 'refresh' | 'refresh-jwt';

export interface TokenInfo {
  kind: TokenKind;
  /** `exp` of a JWT, in milliseconds since the epoch. */
  expiresAt?: number;
  /** `iat` of a JWT, in milliseconds since the epoch. */
  issuedAt?: number;
  /** `sub`: the Kimi user id (sent as `X-Traffic-Id`). */
  userId?: string;
  /** `device_id` claim. */
  deviceId?: string;
  /** `ssid` claim. */
  sessionId?: string;
}

const QUOTES: ReadonlyArray<readonly [string, string]> = [
  ['"', '"'],
  ["'", "'"],
  ['`', '`'],
  ['\u201c', '\u201d'],
];

function stripQuotes(s: string): string {
  for (const [open, close] of QUOTES) {
    if (s.length >= 2 && s.startsWith(open) && s.endsWith(close)) return s.slice(open.length, -close.length).trim();
  }
  return s;
}

/** The legacy split form: `["part1","part2",…]` → `part1.part2.…`; undefined when not that form. */
function joinSplitForm(s: string): string | undefined {
  if (!s.startsWith('[') || !s.endsWith(']')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  if (!parsed.every((p): p is string => typeof p === 'string')) return undefined;
  return parsed.map((p) => p.trim()).join('.');
}

/** The token as it must be sent: whitespace, quotes, `Bearer ` and the split form removed. */
export function normalizeToken(raw: string): string {
  let s = raw.trim();
  for (let round = 0; round < 3; round++) {
    const before = s;
    s = stripQuotes(s);
    s = s.replace(/^bearer\s+/i, '').trim();
    s = joinSplitForm(s) ?? s;
    if (s === before) break;
  }
  return s;
}

/** The payload of a three-part token as an object, or undefined for anything that does not decode. */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const body = parts[1]!;
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(body)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** A JWT NumericDate (seconds) as milliseconds; rejects values that cannot be a date. */
function seconds(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 && n < 1e11 ? Math.round(n * 1000) : undefined;
}

/** Describes a token (normalising it first). Never throws: unreadable input is an opaque refresh token. */
export function describeToken(token: string): TokenInfo {
  const t = normalizeToken(token);
  const payload = t.startsWith('eyJ') ? decodeJwtPayload(t) : undefined;
  if (!payload) return { kind: 'refresh' };
  let kind: TokenKind;
  if (payload.typ === 'access' && payload.app_id === 'kimi') kind = 'access';
  else if (payload.typ === 'refresh') kind = 'refresh-jwt';
  else return { kind: 'refresh' };
  const info: TokenInfo = { kind };
  const exp = seconds(payload.exp);
  if (exp !== undefined) info.expiresAt = exp;
  const iat = seconds(payload.iat);
  if (iat !== undefined) info.issuedAt = iat;
  const sub = str(payload.sub);
  if (sub !== undefined) info.userId = sub;
  const deviceId = str(payload.device_id);
  if (deviceId !== undefined) info.deviceId = deviceId;
  const sessionId = str(payload.ssid);
  if (sessionId !== undefined) info.sessionId = sessionId;
  return info;
}

/** True for the kinds that are exchanged for an access token. */
export const isRefreshKind = (kind: TokenKind): boolean => kind !== 'access';
