/**
 * Finds the Kimi token in whatever people paste to add an account: a bare token (any form
 * token-kind.ts normalises), the `kimi-auth` cookie (alone or in a Cookie header), a
 * localStorage dump (JSON or `key: value` lines) or a browser "Copy as cURL" of any kimi.com
 * request (bash or cmd quoting). Refresh tokens win over access tokens, since they last.
 */
import { describeToken, normalizeToken, type TokenInfo } from './token-kind.js';

export type TokenSource = 'refresh_token' | 'access_token' | 'authorization' | 'kimi-auth' | 'token';

export interface PastedToken extends TokenInfo {
  token: string;
  /** Where in the pasted text the token was found. */
  source: TokenSource;
}

interface Candidate {
  token: string;
  source: TokenSource;
}

/** Longest text looked at: a cURL with a large body is still far below this. */
const MAX_TEXT = 200_000;
/** A token is one run of these characters (JWTs, opaque refresh tokens, `cpmt_…`). */
const TOKEN = String.raw`[A-Za-z0-9._~+/=-]{16,}`;

const PATTERNS: ReadonlyArray<readonly [RegExp, TokenSource]> = [
  [new RegExp(String.raw`["']?refresh_token["']?\s*[:=]\s*\\?["']?(${TOKEN})`, 'gi'), 'refresh_token'],
  [new RegExp(String.raw`["']?access_token["']?\s*[:=]\s*\\?["']?(${TOKEN})`, 'gi'), 'access_token'],
  [new RegExp(String.raw`authorization\s*:\s*bearer\s+(${TOKEN})`, 'gi'), 'authorization'],
  [new RegExp(String.raw`kimi-auth["']?\s*[=:]\s*["']?(${TOKEN})`, 'gi'), 'kimi-auth'],
];

/** Field names of JSON dumps, by what they hold. */
const FIELDS: Readonly<Record<string, TokenSource>> = {
  refresh_token: 'refresh_token',
  refreshToken: 'refresh_token',
  access_token: 'access_token',
  accessToken: 'access_token',
  'kimi-auth': 'kimi-auth',
  token: 'token',
};

function fromJson(value: unknown, out: Candidate[], depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') {
      const source = FIELDS[key];
      if (source && v.trim() !== '') out.push({ token: v, source });
      // localStorage values are strings that often hold JSON themselves.
      else if (v.startsWith('{')) fromJson(tryJson(v), out, depth + 1);
    } else fromJson(v, out, depth + 1);
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Rank: a refresh token first, then anything that is not an expired access token. */
function rank(info: TokenInfo, now: number): number {
  if (info.kind !== 'access') return 0;
  return info.expiresAt !== undefined && info.expiresAt <= now ? 2 : 1;
}

/**
 * The best token in `text`, or undefined when none is found. Never throws. `now` only
 * ranks access tokens (an expired one is a last resort).
 */
export function extractPastedToken(text: string, now: number = Date.now()): PastedToken | undefined {
  const input = text.slice(0, MAX_TEXT).trim();
  if (input === '') return undefined;
  const candidates: Candidate[] = [];
  if (input.startsWith('{')) fromJson(tryJson(input), candidates);
  // cmd's "Copy as cURL" escapes quotes as ^" and every special character with ^.
  const plain = input.replace(/\^(.)/g, '$1');
  for (const [re, source] of PATTERNS) {
    for (const m of plain.matchAll(re)) candidates.push({ token: m[1]!, source });
  }
  if (candidates.length === 0) {
    const whole = normalizeToken(input);
    if (whole !== '' && !/\s/.test(whole) && !/^curl\b/i.test(whole)) candidates.push({ token: whole, source: 'token' });
  }
  let best: PastedToken | undefined;
  let bestRank = Infinity;
  for (const c of candidates) {
    const token = normalizeToken(c.token);
    if (token === '' || /\s/.test(token)) continue;
    const info = describeToken(token);
    // A field named refresh_token holding an access JWT is an access token all the same.
    const r = rank(info, now) + (c.source === 'refresh_token' && info.kind !== 'access' ? -1 : 0);
    if (r < bestRank) {
      best = { ...info, token, source: c.source };
      bestRank = r;
    }
  }
  return best;
}
