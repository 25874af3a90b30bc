/**
 * Validates every configured account against the upstream (the user/subscription call) and
 * reports, per account, its token kind, masked token, access-token expiry and whether it
 * works. Used by `kimi-proxy check` and by `GET /v1/accounts/check`.
 *
 * The check goes through the pool's re-check path: no concurrency slot is taken and no
 * request spacing is reserved, so traffic is not delayed; a refresh only happens when the
 * account needs one anyway, and it is the pool's own (one per account, rotated tokens
 * persisted), so a check never spends a refresh token behind the pool's back. A working
 * account is marked healthy (as the background re-check would); a failing one keeps its state.
 * Nothing here logs, and no token ever appears in a report.
 */
import { policyOf } from '../core/error-policy.js';
import type { AccountCredentials, UpstreamAccountInfo } from '../upstream/kimi/types.js';
import { maskSecret, type Account } from './account.js';
import type { HealthState, RestReason } from './health.js';
import type { QuotaReading, QuotaWatch } from './quota-watch.js';
import type { AccountPool, AccountStatus } from './pool.js';
import type { TokenKind } from './token-kind.js';

export type AccountCheckStatus = 'ok' | 'invalid' | 'error' | 'disabled';

export interface AccountCheck {
  id: string;
  name: string;
  /** Kind of the configured token. */
  kind: TokenKind;
  /** First 6 + last 4 characters of the configured token. */
  maskedToken: string;
  /** Expiry of the account's current access token (ms since the epoch), when known. */
  expiresAt?: number;
  /** ok: the upstream accepted the account; invalid: it refused its token; error: anything else (network, 5xx, timeout). Disabled accounts are not checked. */
  status: AccountCheckStatus;
  /** Why the check failed, or the account's last recorded error. */
  lastError?: string;
  /** The pool's view of the account after the check. */
  state: HealthState;
  /** Kimi user id reported by the upstream. */
  userId?: string;
  /** What Kimi reported of the account's quota (read after a successful check). */
  quota?: QuotaReading;
  /** The account rests: its usage limit is reached, or its daily budget spent (until `cooldownUntil`). */
  restReason?: RestReason;
  cooldownUntil?: number;
  /** The account's daily request budget and today's count, when it has one. */
  daily?: { used: number; budget: number };
  durationMs: number;
}

export interface AccountCheckReport {
  /** True when at least one account is configured and none failed. */
  ok: boolean;
  checkedAt: number;
  accounts: AccountCheck[];
}

export interface CheckDeps {
  pool: AccountPool;
  client: { checkAccount(ctx: { credentials: AccountCredentials; signal: AbortSignal }): Promise<UpstreamAccountInfo> };
  clock?: { now(): number };
  /** Longest time one account's check may take. Default 15 s. */
  timeoutMs?: number;
  /** Reads each working account's quota after its check. */
  quota?: Pick<QuotaWatch, 'refresh'>;
}

const RECHECK_PREFIX = 're-check failed: ';
const JWT_RE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Error text without anything that looks like a token. */
function scrub(message: string, token: string): string {
  let out = message.startsWith(RECHECK_PREFIX) ? message.slice(RECHECK_PREFIX.length) : message;
  if (token.length >= 8) out = out.split(token).join(maskSecret(token));
  return out.replace(JWT_RE, (t) => maskSecret(t));
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function checkAccounts(deps: CheckDeps): Promise<AccountCheckReport> {
  const now = (): number => deps.clock?.now() ?? Date.now();
  const checkedAt = now();
  const accounts = await Promise.all(deps.pool.list().map((account) => checkOne(deps, account, now)));
  return { ok: accounts.length > 0 && accounts.every((a) => a.status === 'ok' || a.status === 'disabled'), checkedAt, accounts };
}

const statusOf = (pool: AccountPool, id: string): AccountStatus | undefined => pool.status().find((s) => s.id === id);

async function checkOne(deps: CheckDeps, account: Account, now: () => number): Promise<AccountCheck> {
  const started = now();
  const { status, failure, info } = statusOf(deps.pool, account.id)?.state === 'disabled' ? { status: 'disabled' as const } : await probe(deps, account.id);
  const quota = status === 'ok' ? await deps.quota?.refresh(account.id) : undefined;
  const after = statusOf(deps.pool, account.id);
  const lastError = failure ?? (status === 'ok' ? undefined : after?.lastError);
  const result: AccountCheck = {
    id: account.id,
    name: account.name,
    kind: account.tokenKind,
    maskedToken: maskSecret(account.token),
    status,
    state: after?.state ?? 'disabled',
    durationMs: Math.max(0, now() - started),
  };
  if (after?.expiresAt !== undefined) result.expiresAt = after.expiresAt;
  if (lastError !== undefined) result.lastError = scrub(lastError, account.token);
  if (info?.userId !== undefined) result.userId = info.userId;
  if (quota) result.quota = quota;
  if (after?.restReason !== undefined) {
    result.restReason = after.restReason;
    if (after.cooldownUntil !== undefined) result.cooldownUntil = after.cooldownUntil;
  }
  if (account.dailyRequests > 0) result.daily = { used: after?.dailyUsed ?? 0, budget: account.dailyRequests };
  return result;
}

interface ProbeResult {
  status: AccountCheckStatus;
  failure?: string;
  info?: UpstreamAccountInfo;
}

/** Runs the upstream call through the pool's re-check (refreshing first when the account needs it), within the timeout. */
async function probe(deps: CheckDeps, accountId: string): Promise<ProbeResult> {
  const timeoutMs = deps.timeoutMs ?? 15_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  let info: UpstreamAccountInfo | undefined;
  let probeError: unknown;
  const call = async (credentials: AccountCredentials, signal: AbortSignal): Promise<UpstreamAccountInfo> => {
    try {
      info = await deps.client.checkAccount({ credentials, signal: AbortSignal.any([signal, deadline]) });
      return info;
    } catch (err) {
      probeError = err;
      throw err;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let outcome: boolean | 'timeout';
  try {
    outcome = await Promise.race([deps.pool.recheck(accountId, call), timedOut]);
  } catch (err) {
    return { status: 'error', failure: messageOf(err) };
  } finally {
    clearTimeout(timer);
  }
  if (outcome === true) return info ? { status: 'ok', info } : { status: 'ok' };
  if (outcome === 'timeout') return { status: 'error', failure: `no answer within ${Math.round(timeoutMs / 1000)} s` };
  if (probeError !== undefined) {
    const refused = policyOf(probeError).health === 'reauthenticate';
    return { status: refused ? 'invalid' : 'error', failure: messageOf(probeError) };
  }
  // The call was not made: the token could not be refreshed, or it has expired. The pool says which.
  const after = statusOf(deps.pool, accountId);
  return { status: after?.state === 'invalid' ? 'invalid' : 'error', failure: after?.lastError ?? 'the account could not be checked' };
}

/** Human form of a duration until `at`: "in 14m 58s", "expired 3s ago". */
function relative(at: number, now: number): string {
  const ms = at - now;
  const s = Math.round(Math.abs(ms) / 1000);
  let text: string;
  if (s >= 86_400) text = `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  else if (s >= 3600) text = `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  else if (s >= 60) text = `${Math.floor(s / 60)}m ${s % 60}s`;
  else text = `${s}s`;
  return ms >= 0 ? `in ${text}` : `expired ${text} ago`;
}

/** The quota column: what Kimi reported, the daily budget, and a rest. */
function quotaCell(a: AccountCheck, now: number): string {
  const parts: string[] = [];
  const q = a.quota;
  if (q && 'error' in q) parts.push(`unavailable (${q.error})`);
  else if (q) {
    if (q.remaining !== undefined) parts.push(`${q.remaining}${q.total !== undefined ? `/${q.total}` : ''} left`);
    if (q.usedRatio !== undefined) parts.push(`${Math.round(q.usedRatio * 1000) / 10}% of credit used`);
  }
  if (a.daily) parts.push(`today ${a.daily.used}/${a.daily.budget}`);
  if (a.restReason !== undefined) {
    const why = a.restReason === 'quota' ? 'usage limit reached' : 'daily budget spent';
    parts.push(a.cooldownUntil !== undefined ? `${why}, back ${relative(a.cooldownUntil, now)}` : why);
  }
  return parts.length === 0 ? '-' : parts.join('; ');
}

/** The report as a plain-text table with a one-line summary. */
export function formatCheckReport(report: AccountCheckReport): string {
  if (report.accounts.length === 0) return 'No Kimi account is configured (set KIMI_TOKENS or an accounts list).';
  const header = ['ACCOUNT', 'KIND', 'TOKEN', 'ACCESS TOKEN EXPIRES', 'STATUS', 'QUOTA', 'LAST ERROR'];
  const rows = report.accounts.map((a) => [
    a.name,
    a.kind,
    a.maskedToken,
    a.expiresAt === undefined ? '-' : `${new Date(a.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z')} (${relative(a.expiresAt, report.checkedAt)})`,
    a.status,
    quotaCell(a, report.checkedAt),
    a.lastError ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const failed = report.accounts.filter((a) => a.status === 'invalid' || a.status === 'error').length;
  const checked = report.accounts.filter((a) => a.status !== 'disabled').length;
  const summary = failed === 0 ? `All ${checked} checked account(s) work.` : `${failed} of ${report.accounts.length} account(s) failed the check.`;
  return [line(header), ...rows.map(line), '', summary].join('\n');
}
