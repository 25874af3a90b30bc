/**
 * Builds the Fastify app from injected parts (config, clock, store, logger, dispatcher), so
 * tests can build several apps side by side against an emulator.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { AccountRegistry } from './accounts/account-registry.js';
import { loadAccounts } from './accounts/accounts-config.js';
import { AccountPool } from './accounts/pool.js';
import { ApiKeyService } from './auth/api-keys.js';
import { registerCors } from './auth/cors.js';
import type { Config } from './config/config.js';
import { systemClock, type Clock } from './core/clock.js';
import { newConversationId } from './core/ids.js';
import { ChatService } from './conversations/chat-service.js';
import { ConversationService } from './conversations/conversation-service.js';
import { SchemaCache } from './tools/schema-cache.js';
import { Janitor } from './conversations/janitor.js';
import { registerClientApi } from './http/client-api.js';
import { createServer } from './http/server.js';
import { registerAnthropicRoutes, registerEventLoggingSink } from './doors/anthropic/routes.js';
import { ResponseStore } from './doors/responses/response-store.js';
import { registerResponsesRoutes } from './doors/responses/routes.js';
import { createLogger } from './logger.js';
import { ModelRegistry } from './models/registry.js';
import type { AttemptLoopOptions } from './relay/attempt-loop.js';
import { Relay } from './relay/relay.js';
import { runUnary } from './relay/unary.js';
import { registerAccountsCheckRoute } from './routes/accounts-check.js';
import { registerChatRoutes } from './routes/chat.js';
import { registerConversationRoutes } from './routes/conversations.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerModelRoutes } from './routes/models.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { Metrics } from './observability/metrics.js';
import { createOutbound, type Outbound } from './observability/outbound-proxy.js';
import { RequestLog } from './observability/request-log.js';
import { RequestLogStore } from './observability/request-log-store.js';
import { Drain } from './observability/shutdown.js';
import { registerAdminRoutes } from './routes/admin/index.js';
import type { AppServices } from './services.js';
import { openStore } from './store/index.js';
import type { Store } from './store/store.js';
import { refreshAccessToken } from './upstream/kimi/auth.js';
import { KimiHttp } from './upstream/kimi/http.js';
import { frameLimitFor } from './upstream/kimi/connect/envelope.js';
import { openProtocolClient, type UnaryRunner } from './upstream/kimi/protocol-client.js';
import type { KimiProtocolClient } from './upstream/kimi/types.js';
import { VERSION } from './version.js';

export interface AppDeps {
  config: Config;
  clock?: Clock;
  store?: Store;
  logger?: Logger;
  dispatcher?: Dispatcher;
}

export interface App {
  fastify: FastifyInstance;
  services: AppServices;
  /** Stops background work, closes the server, the upstream agent and the store. */
  close(): Promise<void>;
}


export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const store = deps.store ?? (await openStore({ url: config.storeUrl, dataDir: config.dataDir, clock, redisPrefix: config.redisPrefix }));
  // Upstream calls go through the outbound proxies (global, per account) when configured.
  const outbound: Outbound | undefined = deps.dispatcher ? undefined : createOutbound({ baseUrl: config.kimiBaseUrl, timeouts: config.timeouts, env: config.observability.proxy, accounts: () => pool.list() });
  const http = new KimiHttp({ baseUrl: config.kimiBaseUrl, timeouts: config.timeouts, dispatcher: deps.dispatcher ?? outbound!.dispatcher });
  const metrics = new Metrics({ accounts: () => pool.status(), queueLength: () => pool.counters().queueLength }, { version: VERSION });
  const accounts = loadAccounts({
    tokens: config.kimiTokens,
    accounts: config.accounts.fromFile,
    tokenDefaults: { maxConcurrent: config.accounts.maxConcurrent, minIntervalMs: config.accounts.minIntervalMs },
  });
  // The protocol client is chosen after the pool exists (auto-detection needs an account).
  const late: { client?: KimiProtocolClient } = {};
  const pool = new AccountPool(accounts, {
    store,
    clock,
    selection: config.accounts.selection,
    maxQueue: config.accounts.queueMax,
    maxWaitMs: config.accounts.queueWaitMs,
    breakerThreshold: config.accounts.breakerThreshold,
    breakerCoolOffMs: config.accounts.breakerCoolOffMs,
    leaseMs: config.accounts.leaseMs,
    healthSyncMs: config.accounts.healthSyncMs,
    refresh: ({ account, refreshToken, signal }) =>
      refreshAccessToken(http, refreshToken, account.deviceId, signal, { accountId: account.id, sessionId: account.sessionId, now: () => clock.now() }),
    probe: async (credentials, signal) => {
      if (!late.client) throw new Error('the upstream client is not ready yet');
      return late.client.checkAccount({ credentials, signal });
    },
    onEvent: (ev) => {
      metrics.poolEvent(ev);
      const account = 'accountId' in ev ? (pool.get(ev.accountId)?.name ?? ev.accountId) : undefined;
      if (ev.type === 'state') logger.info({ account, state: ev.to, from: ev.from, reason: ev.reason }, 'account state changed');
      else if (ev.type === 'refresh' && !ev.ok) logger.warn({ account, err: ev.error }, 'token refresh failed');
      else if (ev.type === 'store-error') logger.error({ op: ev.op, err: ev.error }, 'store error in the account pool');
    },
  });
  await pool.init();
  // Account changes made through the admin API, on this instance or any other sharing the store.
  const accountRegistry = new AccountRegistry({
    store,
    pool,
    clock,
    syncMs: config.accounts.syncMs,
    onError: (op, err) => logger.warn({ op, err: (err as Error).message }, 'could not apply stored account changes'),
  });
  await accountRegistry.start();
  // Every upstream call runs through the relay's attempt loop and reports to account health.
  const attempts: AttemptLoopOptions = {
    pool,
    clock,
    maxAttempts: Math.max(1, Math.min(3, pool.size)),
    backoffMs: 200,
    onFailover: (from, err) => {
      metrics.failover(err);
      logger.warn({ account: from, code: err.code, upstreamCode: err.upstreamCode }, 'upstream failed before output; trying another account');
    },
  };
  const unary: UnaryRunner = (call, opts) => runUnary(attempts, call, opts);
  const { protocol, client } = await openProtocolClient({ protocol: config.kimiProtocol, http, unary, accountCount: pool.size, connectChatPath: config.connectChatPath, logger,
    // Limits that agree: whatever prompt the body limit admits, Kimi's echo of it is read.
    connectMaxFrameBytes: frameLimitFor(config.maxBodyBytes) });
  late.client = client;

  const models = new ModelRegistry({
    protocol,
    ttlMs: config.modelCatalogTtlMs,
    clock,
    aliases: config.modelAliases,
    ...(client.listModels
      ? {
          fetchCatalog: () => unary((ctx) => client.listModels!(ctx), { timeoutMs: 15_000 }),
        }
      : {}),
    onError: (err) => logger.warn({ err: (err as Error).message }, 'could not read the live model catalog; serving the built-in list'),
  });
  const janitor = new Janitor({
    store,
    unary,
    client,
    clock,
    implicitTtlMs: config.implicitConversationTtlMs,
    deleteChats: config.deleteTempChats,
    onError: (err) => logger.warn({ err: (err as Error).message }, 'could not delete an upstream chat; will retry'),
  });
  const relay = new Relay({ ...attempts, client, discardChat: (accountId, chatId) => void janitor.schedule(accountId, chatId).catch(() => undefined) });
  const chat = new ChatService({
    relay,
    store,
    janitor,
    clock,
    protocol,
    deleteTempChats: config.deleteTempChats,
    conversationReuse: config.conversationReuse,
    lengthContinuations: config.lengthContinuations,
    newConversationId,
    conversationWaitMs: config.conversationWaitMs,
    turnTimeoutMs: config.timeouts.totalMs,
    tools: {
      schemas: new SchemaCache(),
      ...config.tools,
      onNote: (note) => logger.debug({ tool: note.kind, detail: note.detail }, 'tool emulation'),
    },
  });
  const drain = new Drain({ graceMs: config.observability.shutdownGraceMs, logger });
  const requestLog = new RequestLog({
    logger,
    metrics,
    clock,
    protocol,
    logBodies: config.observability.logBodies,
    accountName: (id) => pool.get(id)?.name,
    entries: new RequestLogStore({
      store,
      clock,
      maxEntries: config.observability.requestLogMaxEntries,
      maxAgeMs: config.observability.requestLogMaxAgeMs,
      onError: (op, err) => logger.warn({ op, err: (err as Error).message }, 'could not persist the request log'),
    }),
  });
  const services: AppServices = { config, clock, logger, store, http, client, pool, models, janitor, chat, metrics, requestLog, drain, accountRegistry, apiKeys: new ApiKeyService(config.apiKeys, store, clock) };

  const fastify = createServer({
    logger,
    bodyLimit: config.maxBodyBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    stopSignal: drain.stopSignal,
    onCut: (reason) => metrics.requestCut(reason),
  });
  // One log line per request, written when the response has really ended (streams included).
  requestLog.register(fastify);
  drain.register(fastify);
  await registerCors(fastify, { origins: config.access.corsOrigins, adminCors: config.access.adminCors });
  registerHealthRoutes(fastify, { version: VERSION, protocol, store, accounts: () => pool.status(), clock, draining: () => drain.isDraining });
  registerMetricsRoute(fastify, { metrics, token: config.observability.metricsToken });
  registerEventLoggingSink(fastify);
  const conversations = new ConversationService({ store, janitor });
  const canonicalModelId = async (id: string): Promise<string | undefined> => (await models.resolve(id))?.canonicalId;
  await registerClientApi(fastify, { apiKeys: services.apiKeys, store, clock, canonicalModelId }, [
    (api) => registerModelRoutes(api, { models, apiKeys: services.apiKeys }),
    (api) => registerChatRoutes(api, { chat, models, requestLog, clock, render: config }),
    (api) => registerAnthropicRoutes(api, { chat, models, requestLog, clock, render: config }),
    (api) => registerResponsesRoutes(api, { chat, models, requestLog, clock, render: config, responses: new ResponseStore(store, clock, config.responseStoreTtlMs) }),
    (api) => registerConversationRoutes(api, { conversations }),
    (api) => registerAccountsCheckRoute(api, { pool, client, clock }),
  ]);
  await registerAdminRoutes(fastify, services);

  janitor.start();
  requestLog.start();
  const proxies = outbound?.describe();
  if (proxies && (proxies.global || Object.keys(proxies.perAccount).length > 0)) logger.info({ proxy: proxies.global, accountProxies: proxies.perAccount }, 'upstream calls go through an outbound proxy');
  if (client.listModels && pool.size > 0) void models.refresh();

  return {
    fastify,
    services,
    async close() {
      // Stop accepting, let running requests finish (SHUTDOWN_GRACE_MS), stop the rest.
      await drain.run(fastify);
      await janitor.stop();
      accountRegistry.stop();
      await pool.close();
      await http.close();
      await outbound?.close();
      await requestLog.close();
      await store.close();
    },
  };
}
