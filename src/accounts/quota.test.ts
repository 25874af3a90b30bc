import { describe, expect, it } from 'vitest';
import { parseResearchUsage, parseSubscriptionStats } from './quota.js';

describe('quota answers', () => {
  it('reads amountUsedRatio and expireTime of GetSubscriptionStats', () => {
    const body = { subscriptionBalance: { feature: 'FEATURE_OMNI', unit: 'UNIT_CREDIT', amountUsedRatio: 0.0319, expireTime: '2030-01-01T00:00:00Z' } };
    expect(parseSubscriptionStats(body, 5)).toEqual({ usedRatio: 0.0319, expiresAt: Date.UTC(2030, 0, 1), checkedAt: 5 });
  });

  it('reads research/usage counts', () => {
    expect(parseResearchUsage({ remain: 18, total: 20, used: 2 }, 5)).toEqual({ used: 2, total: 20, remaining: 18, checkedAt: 5 });
  });

  it('leaves out what is missing or of another type', () => {
    expect(parseSubscriptionStats({ subscriptionBalance: { amountUsedRatio: '0.5', expireTime: 'soon' } }, 5)).toEqual({ checkedAt: 5 });
    expect(parseSubscriptionStats(null, 5)).toEqual({ checkedAt: 5 });
    expect(parseResearchUsage([], 5)).toEqual({ checkedAt: 5 });
  });
});
