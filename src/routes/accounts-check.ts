/**
 * `GET /v1/accounts/check`: validates every configured Kimi account against the upstream and
 * reports each one (never a token, only its first 6 and last 4 characters). The handler does
 * not know how callers authenticate: the scope it is registered in does (the client API
 * scope with an API key, an admin scope with its own token).
 */
import type { FastifyInstance } from 'fastify';
import { checkAccounts, type AccountCheckReport, type CheckDeps } from '../accounts/check.js';

export interface AccountsCheckRouteOptions {
  /** Default `/v1/accounts/check`. */
  path?: string;
}

export type AccountsCheckServices = Pick<CheckDeps, 'pool' | 'client' | 'clock' | 'quota'>;

const sec = (ms: number | undefined): number | null => (ms === undefined ? null : Math.floor(ms / 1000));

/** The report in the API's snake_case shape, with times in seconds since the epoch. */
export function accountsCheckBody(report: AccountCheckReport): Record<string, unknown> {
  return {
    object: 'accounts.check',
    ok: report.ok,
    checked_at: Math.floor(report.checkedAt / 1000),
    data: report.accounts.map((a) => ({
      id: a.id,
      name: a.name,
      token_kind: a.kind,
      masked_token: a.maskedToken,
      access_token_expires_at: a.expiresAt === undefined ? null : Math.floor(a.expiresAt / 1000),
      status: a.status,
      state: a.state,
      last_error: a.lastError ?? null,
      user_id: a.userId ?? null,
      quota: !a.quota
        ? null
        : 'error' in a.quota
          ? { error: a.quota.error }
          : { used_ratio: a.quota.usedRatio ?? null, used: a.quota.used ?? null, total: a.quota.total ?? null, remaining: a.quota.remaining ?? null, expires_at: sec(a.quota.expiresAt) },
      rest_reason: a.restReason ?? null,
      back_at: a.restReason ? sec(a.cooldownUntil) : null,
      daily_requests: a.daily?.budget ?? null,
      daily_used: a.daily?.used ?? null,
      duration_ms: a.durationMs,
    })),
  };
}

export function registerAccountsCheckRoute(app: FastifyInstance, services: AccountsCheckServices, options: AccountsCheckRouteOptions = {}): void {
  // Like every client route, with and without /v1 (unless mounted at a path of its own).
  for (const path of options.path ? [options.path] : ['/v1/accounts/check', '/accounts/check']) {
    app.get(path, async (_request, reply) => {
      const report = await checkAccounts({ pool: services.pool, client: services.client, clock: services.clock, ...(services.quota ? { quota: services.quota } : {}) });
      void reply.header('cache-control', 'no-store');
      return accountsCheckBody(report);
    });
  }
}
