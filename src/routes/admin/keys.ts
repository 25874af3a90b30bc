/** /admin/api/keys: create (the key is shown once), list (prefixes only), show, revoke. */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiKeyService } from '../../auth/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { z } from 'zod';
import { ProxyError } from '../../core/errors.js';
import type { ApiKeyRecord } from '../../store/store.js';
import { requestSchema } from './openapi.js';
import { answers, array, constant, idParam, int, keyUsage, list, object, oneOf, orNull, str, time } from './schema-parts.js';
import { intIn, parseBody, seconds } from './validate.js';

const TEN_YEARS_S = 10 * 366 * 86_400;
const EXPIRY_FORMAT = 'expected unix seconds or an ISO 8601 date-time (e.g. 2030-01-31T00:00:00Z)';

const createSchema = z
  .object({
    name: z
      .string({ error: 'expected a string' })
      .trim()
      .min(1, { error: 'must not be empty' })
      .max(100, { error: 'expected at most 100 characters' })
      .describe('A name for the key (shown in the dashboard, the request log and statistics).'),
    expires_at: z
      .union([
        z.number({ error: EXPIRY_FORMAT }).int({ error: EXPIRY_FORMAT }).positive({ error: EXPIRY_FORMAT }),
        z.iso.datetime({ offset: true, error: EXPIRY_FORMAT }),
      ])
      .nullish()
      .describe('When the key stops working: unix seconds or an ISO 8601 date-time. Not with expires_in; omit both for a key that never expires.'),
    expires_in: intIn(1, TEN_YEARS_S).nullish().describe('When the key stops working, in seconds from now. Not with expires_at.'),
    allowed_models: z
      .array(z.string({ error: 'expected model ids' }).trim().min(1, { error: 'expected a model id' }).max(128, { error: 'expected at most 128 characters' }), {
        error: 'expected a list of model ids',
      })
      .min(1, { error: 'expected at least one model id (omit the field to allow every model)' })
      .max(500, { error: 'expected at most 500 model ids' })
      .nullish()
      .describe('The models the key may use (ids or aliases; checked after alias resolution). Omit for every model.'),
    rate_limit_per_minute: intIn(1, 1_000_000).nullish().describe('Requests per minute the key may make (429 with Retry-After beyond). Omit for no limit.'),
    max_concurrent_streams: intIn(1, 10_000).nullish().describe('Requests the key may have running at once. Omit for no limit.'),
  })
  .strict()
  .refine((b) => b.expires_at == null || b.expires_in == null, { error: 'give expires_at or expires_in, not both', path: ['expires_in'] });

const keyFields = {
  id: str('The key id (key_…), used in the paths below; not the key.'),
  object: constant('api_key', 'Always "api_key".'),
  name: str('The key\'s name.'),
  source: oneOf(['admin', 'env'], 'admin: created here and kept in the store; env: from API_KEYS.'),
  prefix: str('The first characters of the key, to recognise it.'),
  status: oneOf(['active', 'revoked', 'expired'], 'Whether the key works.'),
  usage: keyUsage,
};
const storedKeyFields = {
  ...keyFields,
  created_at: time('Creation'),
  expires_at: time('Expiry'),
  revoked_at: time('Revocation'),
  allowed_models: orNull(array(str('A model id.'), 'The models the key may use; null: every model.')),
  rate_limit_per_minute: orNull(int('Requests per minute allowed; null: no limit.')),
  max_concurrent_streams: orNull(int('Requests running at once allowed; null: no limit.')),
};
const storedKey = object('An API key kept in the store.', storedKeyFields);
const anyKey = object('An API key: one from API_KEYS (source env) has only the common fields.', storedKeyFields, Object.keys(storedKeyFields).filter((k) => !(k in keyFields)));
const keyId = idParam('The key id (key_…).');

function status(k: ApiKeyRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (k.revokedAt !== undefined) return 'revoked';
  if (k.expiresAt !== undefined && now >= k.expiresAt) return 'expired';
  return 'active';
}

function view(k: ApiKeyRecord, now: number): Record<string, unknown> {
  return {
    id: k.id,
    object: 'api_key',
    name: k.name,
    source: 'admin',
    prefix: k.prefix,
    status: status(k, now),
    created_at: seconds(k.createdAt),
    expires_at: seconds(k.expiresAt),
    revoked_at: seconds(k.revokedAt),
    allowed_models: k.allowedModels ?? null,
    rate_limit_per_minute: k.rateLimitPerMinute ?? null,
    max_concurrent_streams: k.maxConcurrentStreams ?? null,
    usage: {
      requests: k.usage.requests,
      prompt_tokens: k.usage.promptTokens,
      completion_tokens: k.usage.completionTokens,
      last_used_at: seconds(k.usage.lastUsedAt),
    },
  };
}

export interface KeyAdminDeps {
  apiKeys: Pick<ApiKeyService, 'create' | 'listEnv' | 'listStored' | 'revoke'>;
  clock: Clock;
  logger: Logger;
}

export function registerKeyAdmin(app: FastifyInstance, deps: KeyAdminDeps): void {
  const { apiKeys, clock, logger } = deps;

  const tags = ['keys'];
  app.post(
    '/keys',
    {
      schema: {
        tags,
        summary: 'Create an API key',
        description: 'The answer is the only one that ever holds the key; the store keeps its hash.',
        body: requestSchema(createSchema),
        response: answers(201, object('The new key, with the key itself.', { ...storedKeyFields, key: str('The API key. Shown once.') })),
      },
    },
    async (request, reply) => {
    const body = parseBody(createSchema, request.body);
    const now = clock.now();
    let expiresAt: number | undefined;
    if (body.expires_in != null) expiresAt = now + body.expires_in * 1000;
    else if (typeof body.expires_at === 'number') expiresAt = body.expires_at * 1000;
    else if (typeof body.expires_at === 'string') expiresAt = Date.parse(body.expires_at);
    if (expiresAt !== undefined && expiresAt <= now) {
      throw new ProxyError('invalid_request', 'Invalid request body: expires_at: must be in the future', { param: 'expires_at' });
    }
    const { record, key } = await apiKeys.create({
      name: body.name,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(body.allowed_models ? { allowedModels: body.allowed_models } : {}),
      ...(body.rate_limit_per_minute != null ? { rateLimitPerMinute: body.rate_limit_per_minute } : {}),
      ...(body.max_concurrent_streams != null ? { maxConcurrentStreams: body.max_concurrent_streams } : {}),
    });
    logger.info({ keyId: record.id, keyName: record.name }, 'API key created through the admin API');
    void reply.code(201);
    // The only response that ever contains the key.
    return { ...view(record, now), key };
  });

  app.get('/keys', { schema: { tags, summary: 'List API keys', description: 'Keys from API_KEYS first (source env), then the stored ones.', response: answers(200, list(anyKey, 'Every API key.')) } }, async () => {
    const now = clock.now();
    const env = apiKeys.listEnv().map((k) => ({
      id: k.id,
      object: 'api_key',
      name: k.name,
      source: 'env',
      prefix: k.prefix,
      status: 'active',
      usage: { requests: k.usage.requests, prompt_tokens: k.usage.promptTokens, completion_tokens: k.usage.completionTokens, last_used_at: seconds(k.usage.lastUsedAt) },
    }));
    return { object: 'list', data: [...env, ...(await apiKeys.listStored()).map((k) => view(k, now))] };
  });

  app.get('/keys/:id', { schema: { tags, summary: 'Show a stored API key', params: keyId, response: answers(200, storedKey) } }, async (request) => {
    const { id } = request.params as { id: string };
    const record = (await apiKeys.listStored()).find((k) => k.id === id);
    if (!record) throw new ProxyError('not_found', `No stored API key "${id}".`, { param: 'id' });
    return view(record, clock.now());
  });

  app.delete(
    '/keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke a stored API key',
        description: 'The next request with the key gets 401 api_key_revoked, on every instance. Keys from API_KEYS are removed there.',
        params: keyId,
        response: answers(200, storedKey),
      },
    },
    async (request) => {
    const { id } = request.params as { id: string };
    if (apiKeys.listEnv().some((k) => k.id === id)) {
      throw new ProxyError('invalid_request', `"${id}" comes from API_KEYS: remove it there and restart to revoke it.`, { param: 'id' });
    }
    const record = await apiKeys.revoke(id);
    if (!record) throw new ProxyError('not_found', `No stored API key "${id}".`, { param: 'id' });
    logger.info({ keyId: record.id, keyName: record.name }, 'API key revoked through the admin API');
    return view(record, clock.now());
  });
}
