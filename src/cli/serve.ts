/** The `serve` and `check` commands: the proxy itself, and one validation of every account. */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { checkAccounts, formatCheckReport } from '../accounts/check.js';
import { buildApp, type App } from '../app.js';
import { ApiKeyService } from '../auth/api-keys.js';
import { checkBind } from '../auth/bind-check.js';
import type { Config } from '../config/config.js';
import { systemClock } from '../core/clock.js';
import { createLogger } from '../logger.js';
import { loadSettings, openConfiguredStore, StartError, type Env } from './settings.js';

/** Listens, turning the errors an operator can fix into one sentence that says how. */
export async function listen(app: App, config: Config, portSource = 'PORT'): Promise<string> {
  try {
    await app.fastify.listen({ host: config.host, port: config.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fix = `set ${portSource} or pass --port`;
    const message =
      code === 'EADDRINUSE'
        ? `port ${config.port} is in use on ${config.host}; ${fix}`
        : code === 'EACCES'
          ? `port ${config.port} on ${config.host} needs privileges this process does not have; use a port above 1023 (${fix})`
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
            ? `cannot listen on ${config.host}: no such local address; set HOST or pass --host`
            : undefined;
    if (message === undefined) throw err;
    await app.close();
    throw new StartError(message);
  }
  const addr = app.fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
}

export function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string): void => {
    if (closing) return;
    closing = true;
    console.error(`\n${signal} received, shutting down…`);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** INSTANCE_ID, else host:port; with an ephemeral port, a name no restart will share. */
function instanceName(config: Config): string {
  if (config.instanceId) return config.instanceId;
  return config.port === 0 ? `${hostname()}:ephemeral-${randomUUID()}` : `${hostname()}:${config.port}`;
}

export async function serve(env: Env): Promise<void> {
  const config = loadSettings(env);
  const logger = createLogger(config.logLevel);
  const { store, resealed } = await openConfiguredStore(config);
  // Secure by default, and decided before anything talks to Kimi: without any API key,
  // loopback only unless ALLOW_NO_AUTH=true.
  const keysConfigured = await new ApiKeyService(config.apiKeys, store, systemClock).enabled();
  const bind = checkBind({ host: config.host, keysConfigured, allowNoAuth: config.access.allowNoAuth });
  if (!bind.ok) {
    await store.close();
    throw new StartError(bind.message);
  }
  if (bind.message) logger[bind.level ?? 'info'](bind.message);
  if (resealed > 0) logger.info({ records: resealed }, 'rewrote the stored Kimi tokens under DATA_KEY');
  if (config.kimiTokens.length === 0 && config.accounts.fromFile.length === 0) {
    logger.warn('No Kimi account configured (KIMI_TOKENS is empty and no accounts: list in CONFIG_FILE): chat requests will fail. Try `npm run demo` to use the built-in emulator.');
  }
  const app = await buildApp({ config, logger, store });
  const base = await listen(app, config);
  logger.info({ url: `${base}/v1`, protocol: app.services.client.protocol, accounts: app.services.pool.size }, 'kimi-proxy is listening');
  // Only now: no other live process can have this name (it would hold the port).
  const instance = instanceName(config);
  const released = await store.adoptIdentity(instance);
  if (released > 0) logger.info({ instance, released }, 'released the account leases and conversation locks this instance held before its restart');
  onShutdown(() => app.close());
}

/** `check`: one validation of every account, printed as a table; the exit code says whether all work. */
export async function check(env: Env): Promise<number> {
  const config = loadSettings(env);
  const { store } = await openConfiguredStore(config);
  // Logs go to stderr so that stdout holds only the report.
  const app = await buildApp({ config, store, logger: createLogger(env.LOG_LEVEL ?? 'error', process.stderr) });
  try {
    const report = await checkAccounts(app.services);
    console.log(formatCheckReport(report));
    return report.ok ? 0 : 1;
  } finally {
    await app.close();
  }
}
