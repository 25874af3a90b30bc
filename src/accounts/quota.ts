/**
 * An account's quota where Kimi reports one (spec: kimi-protocol.md B.8 and A.9):
 * - Connect: `MembershipService/GetSubscriptionStats` → `subscriptionBalance.amountUsedRatio`
 *   (0…1, share of the plan's credit used) and `expireTime`;
 * - REST: `GET /api/chat/research/usage` → `{remain, total, used}` (the research-mode quota).
 * Only these fields are read; anything missing or of another type is left out, since the
 * rest of both answers is not documented.
 */
import type { KimiHttp } from '../upstream/kimi/http.js';
import type { KimiProtocol, UpstreamCallContext } from '../upstream/kimi/types.js';

export const SUBSCRIPTION_STATS_PATH = 'kimi.gateway.membership.v2.MembershipService/GetSubscriptionStats';
export const RESEARCH_USAGE_PATH = '/api/chat/research/usage';

export interface AccountQuota {
  /** Share of the subscription's credit used (Connect). */
  usedRatio?: number;
  /** When the subscription balance expires, ms since the epoch (Connect). */
  expiresAt?: number;
  /** Research-mode uses (REST). */
  used?: number;
  total?: number;
  remaining?: number;
  checkedAt: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function parseSubscriptionStats(body: unknown, now: number): AccountQuota {
  const balance = obj(obj(body).subscriptionBalance);
  const quota: AccountQuota = { checkedAt: now };
  const ratio = num(balance.amountUsedRatio);
  if (ratio !== undefined) quota.usedRatio = Math.min(1, Math.max(0, ratio));
  const expire = typeof balance.expireTime === 'string' ? Date.parse(balance.expireTime) : NaN;
  if (Number.isFinite(expire)) quota.expiresAt = expire;
  return quota;
}

export function parseResearchUsage(body: unknown, now: number): AccountQuota {
  const b = obj(body);
  const quota: AccountQuota = { checkedAt: now };
  const used = num(b.used);
  const total = num(b.total);
  const remain = num(b.remain);
  if (used !== undefined) quota.used = used;
  if (total !== undefined) quota.total = total;
  if (remain !== undefined) quota.remaining = remain;
  return quota;
}

/** Asks Kimi for the account's quota in the protocol in use. */
export async function fetchQuota(http: KimiHttp, protocol: KimiProtocol, ctx: UpstreamCallContext, now: () => number): Promise<AccountQuota> {
  if (protocol === 'connect') {
    return parseSubscriptionStats(await http.json({ method: 'POST', path: `/apiv2/${SUBSCRIPTION_STATS_PATH}`, body: '{}', protocol: 'connect' }, ctx), now());
  }
  return parseResearchUsage(await http.json({ method: 'GET', path: RESEARCH_USAGE_PATH, protocol: 'rest' }, ctx), now());
}
