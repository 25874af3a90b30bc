/**
 * Builds the Fastify app from injected parts (config, clock, store, logger, dispatcher), so
 * tests can build several apps side by side against an emulator.
 */
import { AccountRegistry } from './accounts/account-registry.js';
import type { AccountPool } from './accounts/pool.js';
import { poolFromConfig } from './accounts/pool-from-config.js';
import { ApiKeyService } from './auth/api-keys.js';
import { systemClock } from './core/clock.js';
import { newConversationId } from './core/ids.js';
import { ChatService } from './conversations/chat-service.js';
import { SchemaCache } from './tools/schema-cache.js';
import { ToolSets } from './tools/tool-sets.js';
import type { ToolNote } from './tools/notes.js';
import { Janitor } from './conversations/janitor.js';
import { registerAppRoutes } from './http/app-routes.js';
import { createServer } from './http/server.js';
import { createLogger } from './logger.js';
import { ModelRegistry } from './models/registry.js';
import type { AttemptLoopOptions } from './relay/attempt-loop.js';
import { Relay } from './relay/relay.js';
import { runUnary } from './relay/unary.js';
import { Metrics } from './observability/metrics.js';
import { fetchQuota } from './accounts/quota.js';
import { QuotaWatch } from './accounts/quota-watch.js';
import { auxiliaryOptions } from './auxiliary/auxiliary-options.js';
import { observePoolEvents } from './observability/pool-events.js';
import { createOutbound, type Outbound } from './observability/outbound-proxy.js';
import { createRequestLog } from './observability/request-log.js';
import { Drain } from './observability/shutdown.js';
import type { App, AppDeps, AppServices } from './services.js';
import { openStore } from './store/index.js';
import { KimiHttp } from './upstream/kimi/http.js';
import { frameLimitFor } from './upstream/kimi/connect/envelope.js';
import { openProtocolClient, type UnaryRunner } from './upstream/kimi/protocol-client.js';
import { composeAttachments } from './attachments/compose.js';
import type { KimiProtocolClient } from './upstream/kimi/types.js';
import { VERSION } from './version.js';

export type { App, AppDeps } from './services.js';

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const store = deps.store ?? (await openStore({ url: config.storeUrl, dataDir: config.dataDir, clock, redisPrefix: config.redisPrefix }));
  // Upstream calls go through the outbound proxies (global, per account) when configured.
  const outbound: Outbound | undefined = deps.dispatcher ? undefined : createOutbound({ baseUrl: config.kimiBaseUrl, timeouts: config.timeouts, env: config.observability.proxy, accounts: () => pool.list() });
  const http = new KimiHttp({ baseUrl: config.kimiBaseUrl, timeouts: config.timeouts, dispatcher: deps.dispatcher ?? outbound!.dispatcher });
  const metrics = new Metrics({ accounts: () => pool.status(), queueLength: () => pool.counters().queueLength, quota: (id) => quota.get(id) }, { version: VERSION });
  // The protocol client is chosen after the pool exists (auto-detection needs an account).
  const late: { client?: KimiProtocolClient } = {};
  const pool: AccountPool = poolFromConfig(config, {
    store,
    clock,
    http,
    probe: async (credentials, signal) => {
      if (!late.client) throw new Error('the upstream client is not ready yet');
      return late.client.checkAccount({ credentials, signal });
    },
    onEvent: observePoolEvents({ metrics, logger, accountName: (id) => pool.get(id)?.name }),
  });
  await pool.init();
  const quota = new QuotaWatch({
    pool,
    clock,
    intervalMs: config.accounts.quotaPollMs,
    fetch: (credentials, signal) => fetchQuota(http, late.client?.protocol ?? 'connect', { credentials, signal }, () => clock.now()),
  });
  // Account changes made through the admin API, on this instance or any other sharing the store.
  const onRegistryError = (op: string, err: unknown): void => logger.warn({ op, err: (err as Error).message }, 'could not apply stored account changes');
  const accountRegistry = new AccountRegistry({ store, pool, clock, syncMs: config.accounts.syncMs, onError: onRegistryError });
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
  const attachments = composeAttachments(config, { store, clock });
  const { protocol, client } = await openProtocolClient({ protocol: config.kimiProtocol, http, unary, accountCount: pool.size, connectChatPath: config.connectChatPath, logger, uploads: attachments.uploads,
    // Limits that agree: whatever prompt the body limit admits, Kimi's echo of it is read.
    connectMaxFrameBytes: frameLimitFor(config.maxBodyBytes) });
  late.client = client;

  const models = new ModelRegistry({
    protocol,
    ttlMs: config.modelCatalogTtlMs,
    clock,
    aliases: config.modelAliases,
    ...(client.listModels ? { fetchCatalog: () => unary((ctx) => client.listModels!(ctx), { timeoutMs: 15_000 }) } : {}),
    onError: (err) => logger.warn({ err: (err as Error).message }, 'could not read the live model catalog; serving the built-in list'),
  });
  const onJanitorError = (err: unknown): void => logger.warn({ err: (err as Error).message }, 'could not delete an upstream chat; will retry');
  const janitor = new Janitor({ store, unary, client, clock, implicitTtlMs: config.implicitConversationTtlMs, deleteChats: config.deleteTempChats, onError: onJanitorError });
  // A stream's head waits for the first content at most as long as a keep-alive would.
  const relay = new Relay({ ...attempts, client, firstOutputWaitMs: config.keepAliveMs, discardChat: (accountId, chatId) => void janitor.schedule(accountId, chatId).catch(() => undefined) });
  const { deleteTempChats, conversationReuse, lengthContinuations, conversationWaitMs } = config;
  const onNote = (note: ToolNote): void => {
    metrics.toolNote(note);
    logger.debug({ tool: note }, 'tool emulation');
  };
  const schemas = new SchemaCache();
  const tools = { schemas, toolSets: new ToolSets(schemas), ...config.tools, onNote };
  const auxiliary = auxiliaryOptions(config.auxiliary, models);
  const chat = new ChatService({ relay, store, janitor, clock, protocol, deleteTempChats, conversationReuse, lengthContinuations, conversationWaitMs, newConversationId, turnTimeoutMs: config.timeouts.totalMs, tools, ...(auxiliary ? { auxiliary } : {}), attachments: attachments.resolver, keptFiles: attachments.keptFiles });
  const drain = new Drain({ graceMs: config.observability.shutdownGraceMs, logger });
  const requestLog = createRequestLog(config, { logger, metrics, clock, store, protocol, accountName: (id) => pool.get(id)?.name });
  const services: AppServices = { config, clock, logger, store, http, client, pool, models, janitor, chat, metrics, requestLog, drain, accountRegistry, quota, apiKeys: new ApiKeyService(config.apiKeys, store, clock), clientFiles: attachments.clientFiles };

  const fastify = createServer({
    logger,
    bodyLimit: config.maxBodyBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    inlineMaxBytes: Math.max(config.attachments.imageMaxBytes, config.attachments.documentMaxBytes),
    stopSignal: drain.stopSignal,
    onCut: (reason) => metrics.requestCut(reason),
  });
  await registerAppRoutes(fastify, services);

  janitor.start();
  requestLog.start();
  quota.start();
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
      quota.stop();
      await pool.close();
      await http.close();
      await attachments.close();
      await outbound?.close();
      await requestLog.close();
      await store.close();
    },
  };
}
