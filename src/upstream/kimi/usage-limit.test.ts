import { describe, expect, it } from 'vitest';
import { errorFromUpstreamResponse } from './upstream-errors.js';
import { connectError, exceptionError } from './connect/stream-errors.js';
import { isUsageLimit } from './usage-limit.js';

describe('usage-limit classifier', () => {
  it('reads a spent limit from a reason, a code or the wording', () => {
    expect(isUsageLimit({ code: 'resource_exhausted', reason: 'REASON_USAGE_LIMIT_EXCEEDED' })).toBe(true);
    expect(isUsageLimit({ reason: 'REASON_QUOTA_EXCEEDED' })).toBe(true);
    expect(isUsageLimit({ code: 'chat.quota_exceeded' })).toBe(true);
    expect(isUsageLimit({ code: 'internal.error', message: '今日用量已达上限，请明天再来' })).toBe(true);
    expect(isUsageLimit({ code: 'internal', message: 'You are out of credits' })).toBe(true);
  });

  it('a bare resource_exhausted (too many concurrent replies) and anything naming a rate stay rate limits', () => {
    expect(isUsageLimit({ code: 'resource_exhausted' })).toBe(false);
    expect(isUsageLimit({ code: 'resource_exhausted', message: 'too many concurrent generations for this account' })).toBe(false);
    expect(isUsageLimit({ reason: 'REASON_RATE_LIMIT_EXCEEDED' })).toBe(false);
    expect(isUsageLimit({ code: 'internal.error', message: '发送频率过高' })).toBe(false);
    expect(isUsageLimit({ reason: 'REASON_COMPLETION_OVERLOADED' })).toBe(false);
  });

  it('every envelope classifies the same answer as quota_exhausted, keeping the reset time of an HTTP answer', () => {
    const body = JSON.stringify({ code: 'resource_exhausted', message: 'limit', details: [{ debug: { reason: 'REASON_USAGE_LIMIT_EXCEEDED' } }] });
    expect(errorFromUpstreamResponse(429, { 'retry-after': '3600' }, body, 'connect')).toMatchObject({ code: 'quota_exhausted', retryAfterMs: 3_600_000 });
    expect(errorFromUpstreamResponse(429, {}, JSON.stringify({ error_type: 'internal.error', message: 'busy' }), 'rest').code).toBe('upstream_rate_limited');
    expect(connectError(JSON.parse(body), 'trailer').code).toBe('quota_exhausted');
    expect(connectError({ code: 'resource_exhausted' }, 'stream').code).toBe('upstream_rate_limited');
    expect(exceptionError({ error: { reason: 'REASON_USAGE_LIMIT_EXCEEDED', localizedMessage: { message: 'limit' } } }).code).toBe('quota_exhausted');
    expect(exceptionError({ error: { reason: 'REASON_SOMETHING_ELSE' } }).code).toBe('upstream_generation_error');
  });
});
