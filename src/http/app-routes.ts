/**
 * What the app serves, in order, and what each part gets: the request log and the drain
 * (every request), CORS, liveness/readiness and metrics, then the client API scope with its
 * front doors, then the admin API in its own scope. A new front door is one more entry in
 * `frontDoors`: the client API scope gives it auth, limits, usage, cancellation and the
 * request log (http/client-api.ts). Each route receives the narrow dependencies it uses.
 */
import type { FastifyInstance } from 'fastify';
import { registerCors } from '../auth/cors.js';
import { ConversationService } from '../conversations/conversation-service.js';
import { registerAnthropicRoutes, registerEventLoggingSink } from '../doors/anthropic/routes.js';
import { registerCompletionsRoutes } from '../doors/completions/routes.js';
import { ResponseStore } from '../doors/responses/response-store.js';
import { registerResponsesRoutes } from '../doors/responses/routes.js';
import { registerAccountsCheckRoute } from '../routes/accounts-check.js';
import { registerAdminRoutes, type AdminRoutesDeps } from '../routes/admin/index.js';
import { registerChatRoutes } from '../routes/chat.js';
import { registerConversationRoutes } from '../routes/conversations.js';
import { registerFilesRoutes } from '../routes/files.js';
import { registerHealthRoutes } from '../routes/health.js';
import { registerMetricsRoute } from '../routes/metrics.js';
import { registerModelRoutes } from '../routes/models.js';
import type { AppServices } from '../services.js';
import { VERSION } from '../version.js';
import { registerClientApi, type FrontDoor } from './client-api.js';

/** The front doors of the client API, each registering its routes in the client API scope. */
function frontDoors(s: AppServices): FrontDoor[] {
  const { config, clock, models, apiKeys, pool, client } = s;
  const conversations = new ConversationService({ store: s.store, janitor: s.janitor });
  return [
    (api) => registerModelRoutes(api, { models, apiKeys }),
    (api) => registerChatRoutes(api, { chat: s.chat, models, requestLog: s.requestLog, clock, render: config }),
    (api) => registerCompletionsRoutes(api, { chat: s.chat, models, requestLog: s.requestLog, clock, render: config }),
    (api) => registerAnthropicRoutes(api, { chat: s.chat, models, requestLog: s.requestLog, clock, render: config }),
    (api) => registerResponsesRoutes(api, { chat: s.chat, models, requestLog: s.requestLog, clock, render: config, responses: new ResponseStore(s.store, clock, config.responseStoreTtlMs) }),
    (api) => registerConversationRoutes(api, { conversations }),
    (api) => registerAccountsCheckRoute(api, { pool, client, clock, quota: s.quota }),
    (api) => registerFilesRoutes(api, { files: s.clientFiles, maxBytes: config.attachments.filesMaxBytes }),
  ];
}

/** The admin API's parts and what each uses. */
function adminDeps(s: AppServices): AdminRoutesDeps {
  const { config, clock, logger, store, pool, apiKeys } = s;
  return {
    access: { adminToken: config.access.adminToken, sessionTtlMs: config.access.adminSessionTtlMs, clock, store, logger },
    accounts: { pool, registry: s.accountRegistry, clock, logger, defaults: { maxConcurrent: config.accounts.maxConcurrent, minIntervalMs: config.accounts.minIntervalMs }, quotas: s.quota, client: s.client, http: s.http },
    keys: { apiKeys, clock, logger },
    conversations: { store, apiKeys, accountName: (id) => pool.get(id)?.name, janitor: s.janitor },
    requests: { store },
    stats: { pool, clock, store, requestLogMaxEntries: config.observability.requestLogMaxEntries },
  };
}

export async function registerAppRoutes(fastify: FastifyInstance, s: AppServices): Promise<void> {
  const { config, clock, pool, drain } = s;
  // One log line per request, written when the response has really ended (streams included).
  s.requestLog.register(fastify);
  drain.register(fastify);
  await registerCors(fastify, { origins: config.access.corsOrigins, adminCors: config.access.adminCors });
  registerHealthRoutes(fastify, { version: VERSION, protocol: s.client.protocol, store: s.store, accounts: () => pool.status(), clock, draining: () => drain.isDraining });
  registerMetricsRoute(fastify, { metrics: s.metrics, token: config.observability.metricsToken });
  registerEventLoggingSink(fastify);
  const canonicalModelId = async (id: string): Promise<string | undefined> => (await s.models.resolve(id))?.canonicalId;
  await registerClientApi(fastify, { apiKeys: s.apiKeys, store: s.store, clock, canonicalModelId }, frontDoors(s));
  await registerAdminRoutes(fastify, adminDeps(s));
}
