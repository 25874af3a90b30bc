/** A configured Kimi account and the identity it presents upstream. */
import { createHash } from 'node:crypto';
import { describeToken, normalizeToken, type TokenKind } from './token-kind.js';

export interface AccountSettings {
  /** Share of traffic relative to other accounts (2 = about twice as many requests as 1). */
  weight: number;
  /** Concurrent generations allowed on this account (spec C.1: 2). */
  maxConcurrent: number;
  /** Minimum spacing between request starts on this account (spec C.1: 500 ms). */
  minIntervalMs: number;
  /** Configured but never used. */
  disabled: boolean;
  /** Requests per day after which the account rests until the next day (DAILY_BUDGET_TIMEZONE); 0 = no budget. */
  dailyRequests: number;
  /** Outbound proxy for this account's upstream traffic (used by the HTTP layer, not the pool). */
  proxyUrl?: string;
}

export interface Account extends AccountSettings {
  /** Stable id derived from the configured token or name (never the token itself). */
  id: string;
  name: string;
  /** The token as configured (normalised). Rotated or replaced tokens live in the pool, not here. */
  token: string;
  /** Kind of the configured token (spec 1.1). */
  tokenKind: TokenKind;
  /**
   * Key of the account's persisted runtime state (rotated tokens). It changes when the
   * configured token changes, so a newly pasted token is never shadowed by an old lineage.
   */
  stateKey: string;
  /** 19-digit device id, stable per account across restarts (spec 1.3). */
  deviceId: string;
  /** 19-digit session id starting with 17 (spec 1.3). */
  sessionId: string;
}

export const ACCOUNT_DEFAULTS: Readonly<AccountSettings> = { weight: 1, maxConcurrent: 2, minIntervalMs: 500, disabled: false, dailyRequests: 0 };

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A 19-digit decimal in [lo, lo + span) derived from a seed, so it is stable across restarts. */
function stableDigits(seed: string, lo: bigint, span: bigint): string {
  return (lo + (BigInt(`0x${sha256(seed).slice(0, 16)}`) % span)).toString();
}

export function accountIdForToken(token: string): string {
  return `acct_${sha256(normalizeToken(token)).slice(0, 12)}`;
}

export function accountIdForName(name: string): string {
  return `acct_${name}`;
}

/** Builds an account; `token` may be pasted as users do (`Bearer …`, quoted, split form). */
export function makeAccount(token: string, name: string, id?: string, settings: Partial<AccountSettings> = {}): Account {
  const normalized = normalizeToken(token);
  const accountId = id ?? accountIdForToken(normalized);
  const tokenId = accountIdForToken(normalized);
  const account: Account = {
    ...ACCOUNT_DEFAULTS,
    ...stripUndefined(settings),
    id: accountId,
    name,
    token: normalized,
    tokenKind: describeToken(normalized).kind,
    stateKey: accountId === tokenId ? accountId : `${accountId}~${tokenId.slice('acct_'.length)}`,
    // Random clients use 7×10^18 … 8×10^18 for device ids and 17… for session ids (spec 1.3).
    deviceId: stableDigits(`device:${accountId}`, 7_000_000_000_000_000_000n, 1_000_000_000_000_000_000n),
    sessionId: stableDigits(`session:${accountId}`, 1_700_000_000_000_000_000n, 100_000_000_000_000_000n),
  };
  return account;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Shows enough of a secret to recognise it, never enough to use it: first 6 + last 4 characters. */
export function maskSecret(secret: string): string {
  if (secret.length <= 12) return `${secret.slice(0, 2)}…`;
  return `${secret.slice(0, 6)}…${secret.slice(-4)}`;
}
