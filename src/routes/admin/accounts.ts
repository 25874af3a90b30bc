/**
 * /admin/api/accounts: list (masked tokens, health, settings, quota), add (a token, or any
 * text holding one: cookie, localStorage dump, "Copy as cURL"), read what a pasted text
 * holds, remove, disable/enable, change weight and limits, re-check (with the quota), and
 * replace the token. Changes go through the account registry, so they persist in the store
 * and every instance sharing it applies them.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accountIdForName, maskSecret } from '../../accounts/account.js';
import { accountFields } from '../../accounts/accounts-config.js';
import { extractPastedToken, type PastedToken } from '../../accounts/pasted-credentials.js';
import type { AccountStatus } from '../../accounts/pool.js';
import { fetchQuota, type AccountQuota } from '../../accounts/quota.js';
import { ProxyError } from '../../core/errors.js';
import type { AppServices } from '../../services.js';
import { parseBody, seconds } from './validate.js';

const PROBE_TIMEOUT_MS = 15_000;
const MAX_PASTE = 200_000;

const pasted = z.string({ error: 'expected a string' }).min(1, { error: 'must not be empty' }).max(MAX_PASTE, { error: `expected at most ${MAX_PASTE} characters` });

const settingsFields = {
  weight: accountFields.weight.optional(),
  max_concurrent: accountFields.maxConcurrent.optional(),
  min_interval_ms: accountFields.minIntervalMs.optional(),
  disabled: accountFields.disabled.optional(),
};

const addSchema = z
  .object({ token: accountFields.token.optional(), text: pasted.optional(), name: accountFields.name.optional(), proxy_url: accountFields.proxyUrl.optional(), ...settingsFields })
  .strict()
  .refine((b) => (b.token === undefined) !== (b.text === undefined), { error: 'give token or text (one of them)', path: ['token'] });
const tokenSchema = z
  .object({ token: accountFields.token.optional(), text: pasted.optional() })
  .strict()
  .refine((b) => (b.token === undefined) !== (b.text === undefined), { error: 'give token or text (one of them)', path: ['token'] });
const parseSchema = z.object({ text: pasted }).strict();
const patchSchema = z.object(settingsFields).strict();

/** The token of a body: given as is, or found in pasted text. */
function tokenOf(body: { token?: string | undefined; text?: string | undefined }, now: number): PastedToken {
  const found = extractPastedToken(body.token ?? body.text ?? '', now);
  if (!found) {
    throw new ProxyError('invalid_request', 'No Kimi token found in the pasted text: paste a token, the kimi-auth cookie, a localStorage dump or a "Copy as cURL".', {
      param: body.token !== undefined ? 'token' : 'text',
    });
  }
  return found;
}

export function registerAccountAdmin(app: FastifyInstance, services: AppServices): void {
  const { pool, accountRegistry: registry, clock } = services;
  /** Last quota seen per account (quota calls are made by re-checks only). */
  const quotas = new Map<string, AccountQuota | { error: string; checkedAt: number }>();

  const view = (s: AccountStatus): Record<string, unknown> => {
    const account = pool.get(s.id);
    const quota = quotas.get(s.id);
    return {
      id: s.id,
      object: 'account',
      name: s.name,
      source: registry.origin(s.id),
      masked_token: s.maskedToken,
      token_kind: s.kind,
      state: s.state,
      expires_at: seconds(s.expiresAt),
      cooldown_until: seconds(s.cooldownUntil),
      in_flight: s.inFlight,
      requests: s.requests,
      failures: s.failures,
      last_error: s.lastError ?? null,
      last_used_at: seconds(s.lastUsedAt),
      weight: account?.weight ?? null,
      max_concurrent: account?.maxConcurrent ?? null,
      min_interval_ms: account?.minIntervalMs ?? null,
      quota: !quota
        ? null
        : 'error' in quota
          ? { error: quota.error, checked_at: seconds(quota.checkedAt) }
          : {
              used_ratio: quota.usedRatio ?? null,
              expires_at: seconds(quota.expiresAt),
              used: quota.used ?? null,
              total: quota.total ?? null,
              remaining: quota.remaining ?? null,
              checked_at: seconds(quota.checkedAt),
            },
    };
  };
  const find = (request: FastifyRequest): AccountStatus => {
    const { id } = request.params as { id: string };
    const status = pool.status().find((s) => s.id === id || s.name === id);
    if (!status) throw new ProxyError('not_found', `No Kimi account "${id}".`, { param: 'id' });
    return status;
  };
  const current = (id: string): AccountStatus => {
    const status = pool.status().find((s) => s.id === id);
    if (!status) throw new ProxyError('not_found', `No Kimi account "${id}".`, { param: 'id' });
    return status;
  };
  /** A free name like `account-3`. */
  const freeName = (): string => {
    const taken = new Set(pool.status().map((s) => s.name));
    let n = pool.size + 1;
    while (taken.has(`account-${n}`)) n++;
    return `account-${n}`;
  };

  app.get('/accounts', async () => {
    // A read shows other instances' latest changes without waiting for the next sync.
    await registry.sync();
    return { object: 'list', data: pool.status().map(view) };
  });

  app.get('/accounts/:id', async (request) => view(find(request)));

  app.post('/accounts/parse', async (request) => {
    const found = tokenOf(parseBody(parseSchema, request.body), clock.now());
    return {
      object: 'account.token',
      token_kind: found.kind,
      source: found.source,
      masked_token: maskSecret(found.token),
      expires_at: seconds(found.expiresAt),
      user_id: found.userId ?? null,
    };
  });

  app.post('/accounts', async (request, reply) => {
    const body = parseBody(addSchema, request.body);
    const { token } = tokenOf(body, clock.now());
    const name = body.name ?? freeName();
    const id = accountIdForName(name);
    const { accounts } = services.config;
    await registry.change((entries) => {
      const clash = pool.list().find((a) => a.id === id || a.name === name || a.token === token);
      if (clash) throw new ProxyError('already_exists', `An account with the same name or token already exists (${clash.name}).`);
      entries[id] = {
        name,
        origin: 'admin',
        token,
        ...(body.proxy_url ? { proxyUrl: body.proxy_url } : {}),
        settings: {
          weight: body.weight ?? 1,
          maxConcurrent: body.max_concurrent ?? accounts.maxConcurrent,
          minIntervalMs: body.min_interval_ms ?? accounts.minIntervalMs,
          disabled: body.disabled ?? false,
        },
      };
    });
    services.logger.info({ account: name }, 'account added through the admin API');
    void reply.code(201);
    return view(current(id));
  });

  app.delete('/accounts/:id', async (request) => {
    const { id, name } = find(request);
    await registry.change((entries) => {
      // A removed account keeps only its mark (no token stays in the store for it).
      entries[id] = { name, origin: entries[id]?.origin ?? 'config', settings: {}, removed: true };
    });
    services.logger.info({ account: name }, 'account removed through the admin API');
    return { id, object: 'account.deleted', deleted: true };
  });

  /** Records a settings change for an account (config accounts get an entry holding only what changed). */
  const changeSettings = async (status: AccountStatus, change: Record<string, number | boolean | undefined>): Promise<void> => {
    const defined = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
    await registry.change((entries) => {
      const entry = entries[status.id] ?? { name: status.name, origin: 'config', settings: {} };
      entries[status.id] = { ...entry, settings: { ...entry.settings, ...defined } };
    });
  };

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(`/accounts/:id/${action}`, async (request) => {
      const status = find(request);
      await changeSettings(status, { disabled });
      return view(current(status.id));
    });
  }

  app.patch('/accounts/:id', async (request) => {
    const status = find(request);
    const body = parseBody(patchSchema, request.body);
    await changeSettings(status, { weight: body.weight, maxConcurrent: body.max_concurrent, minIntervalMs: body.min_interval_ms, disabled: body.disabled });
    return view(current(status.id));
  });

  app.post('/accounts/:id/recheck', async (request) => {
    const { id } = find(request);
    const ok = await pool.recheck(id, async (credentials, probeSignal) => {
      const signal = AbortSignal.any([probeSignal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
      const info = await services.client.checkAccount({ credentials, signal });
      // The quota is optional: an account whose quota call fails still works.
      try {
        quotas.set(id, await fetchQuota(services.http, services.client.protocol, { credentials, signal }, () => clock.now()));
      } catch (err) {
        quotas.set(id, { error: err instanceof ProxyError ? err.code : 'quota_unavailable', checkedAt: clock.now() });
      }
      return info;
    });
    return { ok, account: view(current(id)) };
  });

  app.post('/accounts/:id/token', async (request) => {
    const status = find(request);
    const { token } = tokenOf(parseBody(tokenSchema, request.body), clock.now());
    await registry.change((entries) => {
      const entry = entries[status.id] ?? { name: status.name, origin: 'config', settings: {} };
      entries[status.id] = { ...entry, replaced: { token, id: randomUUID() } };
    });
    return view(current(status.id));
  });
}
