/** Everything a request handler may use, composed once per app (no module-level state). */
import type { Logger } from 'pino';
import type { AccountPool } from './accounts/pool.js';
import type { ApiKeyVerifier } from './auth/api-keys.js';
import type { Config } from './config/config.js';
import type { Clock } from './core/clock.js';
import type { ChatService } from './conversations/chat-service.js';
import type { Janitor } from './conversations/janitor.js';
import type { ModelRegistry } from './models/registry.js';
import type { Store } from './store/store.js';
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
  apiKeys: ApiKeyVerifier;
}
