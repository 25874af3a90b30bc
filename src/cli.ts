#!/usr/bin/env node
/** `kimi-proxy [serve|demo|emulator|check] [--port N] [--host H]` */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkAccounts, formatCheckReport } from './accounts/check.js';
import { buildApp, type App } from './app.js';
import { checkBind } from './auth/bind-check.js';
import { installBenchProbe } from './bench-probe.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { randomAlnum } from './core/ids.js';
import { startEmulator } from './emulator/index.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';

const USAGE = `kimi-proxy ${VERSION}

Usage: kimi-proxy [command] [options]

Commands:
  serve       run the proxy (default); configure with environment variables or .env
  demo        run the proxy against the built-in Kimi emulator (no Kimi account needed)
  emulator    run only the Kimi web emulator
  check       validate every configured Kimi account against Kimi; exits 1 when one fails
Options:
  --port N    listen port (serve/demo: PORT, default 8000; emulator: default 9000)
  --host H    listen address (default 127.0.0.1)
  --help      show this help
`;

function loadDotEnv(): void {
  if (existsSync('.env')) process.loadEnvFile('.env');
}

async function listen(app: App, config: Config): Promise<string> {
  await app.fastify.listen({ host: config.host, port: config.port });
  const addr = app.fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
}

function onShutdown(close: () => Promise<void>): void {
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

async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  if (config.kimiTokens.length === 0) {
    logger.warn('No Kimi account configured (KIMI_TOKENS is empty): chat requests will fail. Try `npm run demo` to use the built-in emulator.');
  }
  const app = await buildApp({ config, logger });
  // Secure by default: without any API key, loopback only unless ALLOW_NO_AUTH=true.
  const bind = checkBind({ host: config.host, keysConfigured: await app.services.apiKeys.enabled(), allowNoAuth: config.access.allowNoAuth });
  if (!bind.ok) {
    await app.close();
    throw new ConfigError([bind.message]);
  }
  if (bind.message) logger[bind.level ?? 'info'](bind.message);
  const base = await listen(app, config);
  logger.info({ url: `${base}/v1`, protocol: app.services.client.protocol, accounts: app.services.pool.size }, 'kimi-proxy is listening');
  onShutdown(() => app.close());
}

async function demo(env: Record<string, string | undefined>, port?: string, host?: string): Promise<void> {
  const useEmulator = !env.KIMI_TOKENS;
  const emulator = useEmulator ? await startEmulator({ host: '127.0.0.1', port: 0 }) : undefined;
  const apiKey = env.API_KEYS?.split(',')[0]?.trim() || `sk-demo-${randomAlnum(24)}`;
  const config = loadConfig({
    ...env,
    PORT: port ?? env.PORT ?? '8000',
    ...(host ? { HOST: host } : {}),
    API_KEYS: env.API_KEYS || apiKey,
    ...(emulator ? { KIMI_BASE_URL: emulator.url, KIMI_TOKENS: 'demo-account-1,demo-account-2' } : {}),
  });
  const app = await buildApp({ config, logger: createLogger(env.LOG_LEVEL ?? 'warn') });
  const base = await listen(app, config);
  const curl = `curl ${base}/v1/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" -d '{"model":"k2","messages":[{"role":"user","content":"Hello!"}]}'`;
  console.log(
    [
      '',
      `kimi-proxy ${VERSION} demo`,
      emulator ? `  upstream : built-in Kimi emulator at ${emulator.url} (${app.services.client.protocol} protocol)` : `  upstream : ${config.kimiBaseUrl}`,
      `  base URL : ${base}/v1`,
      `  API key  : ${apiKey}`,
      '',
      'Try it:',
      `  ${curl}`,
      '',
      'Streaming: add "stream":true. Stateful: POST to /v1/chat/completions/<your-conversation-id>.',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  onShutdown(async () => {
    await app.close();
    await emulator?.close();
  });
}

async function emulatorOnly(port?: string, host?: string): Promise<void> {
  const emulator = await startEmulator({ host: host ?? '127.0.0.1', port: port ? Number(port) : 9000 });
  console.log(`Kimi emulator listening at ${emulator.url} (REST under /api, Connect under /apiv2; stats at /__emulator/stats)`);
  onShutdown(() => emulator.close());
}

/** `check`: one validation of every account, printed as a table; the exit code says whether all work. */
async function check(env: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig(env);
  // Logs go to stderr so that stdout holds only the report.
  const app = await buildApp({ config, logger: createLogger(env.LOG_LEVEL ?? 'error', process.stderr) });
  try {
    const report = await checkAccounts(app.services);
    console.log(formatCheckReport(report));
    return report.ok ? 0 : 1;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean' }, version: { type: 'boolean' } },
  });
  if (values.help) return void console.log(USAGE);
  if (values.version) return void console.log(VERSION);
  loadDotEnv();
  // Diagnostics hook for benchmarks: inert unless BENCH_REPORT_IPC=1 and started with an IPC channel.
  installBenchProbe();
  const env = { ...process.env };
  const command = positionals[0] ?? 'serve';
  switch (command) {
    case 'serve':
      return serve({ ...env, ...(values.port ? { PORT: values.port } : {}), ...(values.host ? { HOST: values.host } : {}) });
    case 'demo':
      return demo(env, values.port, values.host);
    case 'emulator':
      return emulatorOnly(values.port, values.host);
    case 'check':
      return process.exit(await check(env));
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
