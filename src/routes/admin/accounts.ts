/**
 * /admin/api/accounts: list (masked tokens, health), add, remove, disable/enable, re-check,
 * replace token. Accounts added here live for the process lifetime; KIMI_TOKENS and the
 * config file stay the lasting source.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accountIdForName, makeAccount } from '../../accounts/account.js';
import type { AccountStatus } from '../../accounts/pool.js';
import { accountFields } from '../../accounts/accounts-config.js';
import { ProxyError } from '../../core/errors.js';
import type { AppServices } from '../../services.js';
import { parseBody, seconds } from './validate.js';

const PROBE_TIMEOUT_MS = 15_000;

const { token } = accountFields;

const addSchema = z
  .object({
    token,
    name: accountFields.name,
    weight: accountFields.weight.optional(),
    max_concurrent: accountFields.maxConcurrent.optional(),
    min_interval_ms: accountFields.minIntervalMs.optional(),
    disabled: accountFields.disabled.optional(),
    proxy_url: accountFields.proxyUrl.optional(),
  })
  .strict();

const tokenSchema = z.object({ token }).strict();

function view(s: AccountStatus, source: 'config' | 'admin'): Record<string, unknown> {
  return {
    id: s.id,
    object: 'account',
    name: s.name,
    source,
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
  };
}

export function registerAccountAdmin(app: FastifyInstance, services: AppServices): void {
  const { pool } = services;
  /** Ids of the accounts added through this API (for `source`). */
  const added = new Set<string>();
  const show = (s: AccountStatus): Record<string, unknown> => view(s, added.has(s.id) ? 'admin' : 'config');
  const find = (request: FastifyRequest): AccountStatus => {
    const { id } = request.params as { id: string };
    const status = pool.status().find((s) => s.id === id || s.name === id);
    if (!status) throw new ProxyError('not_found', `No Kimi account "${id}".`, { param: 'id' });
    return status;
  };
  const current = (id: string): AccountStatus => pool.status().find((s) => s.id === id)!;

  app.get('/accounts', async () => ({ object: 'list', data: pool.status().map(show) }));

  app.get('/accounts/:id', async (request) => show(find(request)));

  app.post('/accounts', async (request, reply) => {
    const body = parseBody(addSchema, request.body);
    const { accounts } = services.config;
    const account = makeAccount(body.token, body.name, accountIdForName(body.name), {
      weight: body.weight ?? 1,
      maxConcurrent: body.max_concurrent ?? accounts.maxConcurrent,
      minIntervalMs: body.min_interval_ms ?? accounts.minIntervalMs,
      disabled: body.disabled ?? false,
      ...(body.proxy_url ? { proxyUrl: body.proxy_url } : {}),
    });
    const status = await pool.add(account);
    added.add(account.id);
    services.logger.info({ account: account.name }, 'account added through the admin API');
    void reply.code(201);
    return show(status);
  });

  app.delete('/accounts/:id', async (request) => {
    const { id, name } = find(request);
    pool.remove(id);
    added.delete(id);
    services.logger.info({ account: name }, 'account removed through the admin API');
    return { id, object: 'account.deleted', deleted: true };
  });

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(`/accounts/:id/${action}`, async (request) => {
      const { id } = find(request);
      pool.setDisabled(id, disabled);
      return show(current(id));
    });
  }

  app.post('/accounts/:id/recheck', async (request) => {
    const { id } = find(request);
    const ok = await pool.recheck(id, (credentials, signal) =>
      services.client.checkAccount({ credentials, signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]) }),
    );
    return { ok, account: show(current(id)) };
  });

  app.post('/accounts/:id/token', async (request) => {
    const { id } = find(request);
    const body = parseBody(tokenSchema, request.body);
    return show(await pool.replaceToken(id, body.token));
  });
}
