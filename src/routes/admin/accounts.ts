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
import type { AccountPool, AccountStatus } from '../../accounts/pool.js';
import { fetchQuota } from '../../accounts/quota.js';
import { ProxyError } from '../../core/errors.js';
import type { Logger } from 'pino';
import type { AccountRegistry } from '../../accounts/account-registry.js';
import type { QuotaWatch } from '../../accounts/quota-watch.js';
import type { Clock } from '../../core/clock.js';
import type { KimiHttp } from '../../upstream/kimi/http.js';
import type { KimiProtocolClient } from '../../upstream/kimi/types.js';
import { accountAnswer, parsedToken, recheckAnswer, removedAccount } from './account-schemas.js';
import { requestSchema } from './openapi.js';
import { answers, idParam, list } from './schema-parts.js';
import { parseBody, seconds } from './validate.js';

const PROBE_TIMEOUT_MS = 15_000;
const MAX_PASTE = 200_000;

const pasted = z
  .string({ error: 'expected a string' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_PASTE, { error: `expected at most ${MAX_PASTE} characters` })
  .describe('Anything holding a token: the token in any form, the kimi-auth cookie, a localStorage dump or a "Copy as cURL". Not with token.');
const token = accountFields.token.optional().describe('A Kimi token as is (refresh or access). Not with text.');

const settingsFields = {
  weight: accountFields.weight.optional().describe('Share of traffic relative to the other accounts (2: about twice as many requests as 1).'),
  max_concurrent: accountFields.maxConcurrent.optional().describe('Requests the account may run at once.'),
  min_interval_ms: accountFields.minIntervalMs.optional().describe('Least time between two request starts on the account, in milliseconds.'),
  disabled: accountFields.disabled.optional().describe('true: out of rotation (no new request gets it).'),
  daily_requests: accountFields.dailyRequests
    .nullable()
    .optional()
    .describe('Chat turns per day, then the account rests until the next day (DAILY_BUDGET_TIMEZONE); 0 or null: no budget.'),
};

const addSchema = z
  .object({
    token,
    text: pasted.optional(),
    name: accountFields.name.optional().describe('A name (1-64 of A-Z a-z 0-9 . _ -); default account-N.'),
    proxy_url: accountFields.proxyUrl.optional().describe("An outbound proxy for this account's upstream traffic (http(s):// or socks5://)."),
    ...settingsFields,
  })
  .strict()
  .refine((b) => (b.token === undefined) !== (b.text === undefined), { error: 'give token or text (one of them)', path: ['token'] });
const tokenSchema = z
  .object({ token, text: pasted.optional() })
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

export interface AccountAdminDeps {
  pool: Pick<AccountPool, 'get' | 'list' | 'status' | 'size' | 'recheck'>;
  /** Where account changes are written, so that every instance applies them. */
  registry: Pick<AccountRegistry, 'origin' | 'sync' | 'change'>;
  clock: Clock;
  logger: Logger;
  /** The limits a new account gets when the request names none (ACCOUNT_MAX_CONCURRENT, ACCOUNT_MIN_INTERVAL_MS). */
  defaults: { maxConcurrent: number; minIntervalMs: number };
  /** The last quota Kimi reported per account; a re-check reads it anew. */
  quotas: Pick<QuotaWatch, 'get' | 'set'>;
  /** A re-check asks Kimi through these. */
  client: Pick<KimiProtocolClient, 'checkAccount' | 'protocol'>;
  http: KimiHttp;
}

export function registerAccountAdmin(app: FastifyInstance, deps: AccountAdminDeps): void {
  const { pool, registry, clock, logger, defaults, quotas } = deps;

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
      rest_reason: s.restReason ?? null,
      in_flight: s.inFlight,
      requests: s.requests,
      failures: s.failures,
      last_error: s.lastError ?? null,
      last_used_at: seconds(s.lastUsedAt),
      weight: account?.weight ?? null,
      max_concurrent: account?.maxConcurrent ?? null,
      min_interval_ms: account?.minIntervalMs ?? null,
      daily_requests: account && account.dailyRequests > 0 ? account.dailyRequests : null,
      daily_used: s.dailyUsed ?? null,
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

  const tags = ['accounts'];
  const params = idParam('The account id (acct_…) or name.');
  const one = answers(200, accountAnswer);
  app.get('/accounts', { schema: { tags, summary: 'List accounts', response: answers(200, list(accountAnswer, 'Every account.')) } }, async () => {
    // A read shows other instances' latest changes without waiting for the next sync.
    await registry.sync();
    return { object: 'list', data: pool.status().map(view) };
  });

  app.get('/accounts/:id', { schema: { tags, summary: 'Show an account', params, response: one } }, async (request) => view(find(request)));

  const parse = { tags, summary: 'Read a pasted text', description: 'What a pasted text holds, without adding an account.', body: requestSchema(parseSchema), response: answers(200, parsedToken) };
  app.post('/accounts/parse', { schema: parse }, async (request) => {
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

  const add = {
    tags,
    summary: 'Add an account',
    description: 'Give token or text. Stored, and applied by every instance sharing the store. 409 already_exists for the same name or token.',
    body: requestSchema(addSchema),
    response: answers(201, accountAnswer),
  };
  app.post('/accounts', { schema: add }, async (request, reply) => {
    const body = parseBody(addSchema, request.body);
    const { token } = tokenOf(body, clock.now());
    const name = body.name ?? freeName();
    const id = accountIdForName(name);
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
          maxConcurrent: body.max_concurrent ?? defaults.maxConcurrent,
          minIntervalMs: body.min_interval_ms ?? defaults.minIntervalMs,
          disabled: body.disabled ?? false,
          dailyRequests: body.daily_requests ?? 0,
        },
      };
    });
    logger.info({ account: name }, 'account added through the admin API');
    void reply.code(201);
    return view(current(id));
  });

  const remove = { tags, summary: 'Remove an account', description: 'No new request gets it; running ones finish.', params, response: answers(200, removedAccount) };
  app.delete('/accounts/:id', { schema: remove }, async (request) => {
    const { id, name } = find(request);
    await registry.change((entries) => {
      // A removed account keeps only its mark (no token stays in the store for it).
      entries[id] = { name, origin: entries[id]?.origin ?? 'config', settings: {}, removed: true };
    });
    logger.info({ account: name }, 'account removed through the admin API');
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
    const summary = disabled ? 'Take an account out of rotation' : 'Put an account back into rotation';
    app.post(`/accounts/:id/${action}`, { schema: { tags, summary, params, response: one } }, async (request) => {
      const status = find(request);
      await changeSettings(status, { disabled });
      return view(current(status.id));
    });
  }

  app.patch('/accounts/:id', { schema: { tags, summary: "Change an account's weight and limits", params, body: requestSchema(patchSchema), response: one } }, async (request) => {
    const status = find(request);
    const body = parseBody(patchSchema, request.body);
    const dailyRequests = body.daily_requests === null ? 0 : body.daily_requests;
    await changeSettings(status, { weight: body.weight, maxConcurrent: body.max_concurrent, minIntervalMs: body.min_interval_ms, disabled: body.disabled, dailyRequests });
    return view(current(status.id));
  });

  const recheck = { tags, summary: 'Re-check an account', description: 'Asks Kimi whether the account works (a working one becomes healthy) and reads its quota.', params, response: answers(200, recheckAnswer) };
  app.post('/accounts/:id/recheck', { schema: recheck }, async (request) => {
    const { id } = find(request);
    const ok = await pool.recheck(id, async (credentials, probeSignal) => {
      const signal = AbortSignal.any([probeSignal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
      const info = await deps.client.checkAccount({ credentials, signal });
      // The quota is optional: an account whose quota call fails still works.
      try {
        quotas.set(id, await fetchQuota(deps.http, deps.client.protocol, { credentials, signal }, () => clock.now()));
      } catch (err) {
        quotas.set(id, { error: err instanceof ProxyError ? err.code : 'quota_unavailable', checkedAt: clock.now() });
      }
      return info;
    });
    return { ok, account: view(current(id)) };
  });

  const replace = { tags, summary: "Replace an account's token", description: 'Give token or text.', params, body: requestSchema(tokenSchema), response: one };
  app.post('/accounts/:id/token', { schema: replace }, async (request) => {
    const status = find(request);
    const { token } = tokenOf(parseBody(tokenSchema, request.body), clock.now());
    await registry.change((entries) => {
      const entry = entries[status.id] ?? { name: status.name, origin: 'config', settings: {} };
      entries[status.id] = { ...entry, replaced: { token, id: randomUUID() } };
    });
    return view(current(status.id));
  });
}
