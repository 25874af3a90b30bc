import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ProxyError, type ErrorCode } from './errors.js';
import { ERROR_POLICY, policyOf } from './error-policy.js';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const where = (test: (code: ErrorCode) => boolean): ErrorCode[] => codes.filter(test).sort();
/** Kimi's answers: the upstream_* codes and its usage limit. */
const fromKimi = (c: ErrorCode): boolean => c.startsWith('upstream_') || c === 'quota_exhausted';

describe('error policy', () => {
  it('decides every error code', () => {
    expect(Object.keys(ERROR_POLICY).sort()).toEqual([...codes].sort());
  });

  it('fails over exactly on the upstream failures another account may not have: refused token, rate limit, usage limit, 5xx, network, timeout', () => {
    expect(where((c) => ERROR_POLICY[c].failover)).toEqual(
      ['quota_exhausted', 'upstream_http_error', 'upstream_network_error', 'upstream_overloaded', 'upstream_rate_limited', 'upstream_timeout', 'upstream_unauthenticated'].sort(),
    );
  });

  it('never retries what the client sent or its own limits', () => {
    for (const code of codes.filter((c) => ERROR_CODES[c].status >= 400 && ERROR_CODES[c].status < 500 && !fromKimi(c))) {
      const p = ERROR_POLICY[code];
      expect([p.failover, p.retrySameAccount, p.migrate, p.health], code).toEqual([false, false, false, 'none']);
    }
  });

  it('a Kimi 429 cools the account down; a refused token re-authenticates; 5xx, network and timeouts count toward the breaker', () => {
    expect(where((c) => ERROR_POLICY[c].health === 'cool-down')).toEqual(['upstream_rate_limited']);
    expect(where((c) => ERROR_POLICY[c].health === 'rest')).toEqual(['quota_exhausted']);
    expect(where((c) => ERROR_POLICY[c].health === 'reauthenticate')).toEqual(['upstream_unauthenticated']);
    expect(where((c) => ERROR_POLICY[c].health === 'breaker')).toEqual(['upstream_http_error', 'upstream_network_error', 'upstream_overloaded', 'upstream_timeout']);
  });

  it('anything that marks an account also lets the request fail over: the account is the problem, not the request', () => {
    for (const code of where((c) => ERROR_POLICY[c].health !== 'none')) expect(ERROR_POLICY[code].failover, code).toBe(true);
  });

  it('migrates a pinned conversation when its account is unavailable, its chat is gone, its token refused or its usage limit reached, but not when nothing is configured', () => {
    expect(where((c) => ERROR_POLICY[c].migrate)).toEqual(['account_unavailable', 'quota_exhausted', 'upstream_chat_not_found', 'upstream_unauthenticated']);
    expect(ERROR_POLICY.no_accounts.migrate).toBe(false);
  });

  it('retries on the same account only after a refused token (reporting it refreshes the token) and a busy chat (after a pause)', () => {
    expect(where((c) => ERROR_POLICY[c].retrySameAccount)).toEqual(['upstream_chat_busy', 'upstream_unauthenticated']);
    expect(where((c) => ERROR_POLICY[c].retryAfterPause)).toEqual(['upstream_chat_busy']);
  });

  it('a deletion of a chat that is already gone is done', () => {
    expect(where((c) => ERROR_POLICY[c].chatGone)).toEqual(['upstream_chat_not_found']);
  });

  it('tells the client to wait on every 429, a busy conversation or chat and passing overloads, and not to retry what only an operator can fix', () => {
    expect(where((c) => ERROR_POLICY[c].clientRetry === 'after-wait')).toEqual(
      [...where((c) => ERROR_CODES[c].status === 429 && c !== 'quota_exhausted'), 'conversation_busy', 'overloaded', 'shutting_down', 'store_unavailable', 'upstream_chat_busy', 'upstream_overloaded'].sort(),
    );
    expect(where((c) => ERROR_POLICY[c].clientRetry === 'not-until-fixed')).toEqual(['account_unavailable', 'accounts_invalid', 'no_accounts']);
    // A spent quota: Retry-After names the reset, and SDKs must not retry on their own.
    expect(where((c) => ERROR_POLICY[c].clientRetry === 'after-reset')).toEqual(['quota_exhausted']);
  });

  it('only an internal error is the proxy\'s own fault; only an unreachable store ends an account selection', () => {
    expect(where((c) => ERROR_POLICY[c].serverFault)).toEqual(['internal_error']);
    expect(where((c) => ERROR_POLICY[c].endsSelection)).toEqual(['store_unavailable']);
    expect(policyOf(new Error('bug')).serverFault).toBe(false);
  });

  it('errors without a code are never retried and say nothing about the account', () => {
    const p = policyOf(new Error('bug'));
    expect([p.failover, p.retrySameAccount, p.migrate, p.health]).toEqual([false, false, false, 'none']);
    expect(policyOf(new ProxyError('upstream_timeout', 't')).failover).toBe(true);
  });
});
