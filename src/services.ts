/** What the composition root (app.ts) takes and builds: everything composed once per app (no module-level state). */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AccountRegistry } from './accounts/account-registry.js';
import type { ClientFiles } from './attachments/client-files.js';
import type { AccountPool } from './accounts/pool.js';
import type { QuotaWatch } from './accounts/quota-watch.js';
import type { ApiKeyService } from './auth/api-keys.js';
import type { Config } from './config/config.js';
import type { Clock } from './core/clock.js';
import type { ChatService } from './conversations/chat-service.js';
import type { Janitor } from './conversations/janitor.js';
import type { ModelRegistry } from './models/registry.js';
import type { Metrics } from './observability/metrics.js';
import type { RequestLog } from './observability/request-log.js';
import type { Drain } from './observability/shutdown.js';
import type { Store } from './store/store.js';
import type { Dispatcher } from 'undici';
import type { KimiHttp } from './upstream/kimi/http.js';
import type { KimiProtocolClient } from './upstream/kimi/types.js';

export interface AppServices {
  config: Config;
  clock: Clock;
  logger: Logger;
  store: Store;
  http: KimiHttp;
  client: KimiProtocolClient;
  pool: AccountPool;
  models: ModelRegistry;
  janitor: Janitor;
  chat: ChatService;
  metrics: Metrics;
  /** Per-request bookkeeping: the log line, request metrics, the persisted request log. */
  requestLog: RequestLog;
  /** Graceful shutdown state (draining, and the signal that stops running requests). */
  drain: Drain;
  apiKeys: ApiKeyService;
  /** Run-time account changes shared by every instance using the store. */
  accountRegistry: AccountRegistry;
  /** The last quota Kimi reported per account, polled and read on demand. */
  quota: QuotaWatch;
  /** Files clients uploaded through `/v1/files`. */
  clientFiles: ClientFiles;
}

/** The injected parts of an app (tests build several apps side by side against an emulator). */
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
