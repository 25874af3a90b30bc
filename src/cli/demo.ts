/** The `demo` and `emulator` commands: the proxy wired to the built-in Kimi emulator, or the emulator alone. */
import { buildApp } from '../app.js';
import { randomAlnum } from '../core/ids.js';
import { startEmulator } from '../emulator/index.js';
import { createLogger } from '../logger.js';
import { VERSION } from '../version.js';
import { listen, onShutdown } from './serve.js';
import { loadSettings, StartError, type Env } from './settings.js';

export async function demo(env: Env, port?: string, host?: string): Promise<void> {
  // Read once without the demo's overrides, only to see whether real accounts are configured.
  const configured = loadSettings(env);
  const useEmulator = configured.kimiTokens.length === 0 && configured.accounts.fromFile.length === 0;
  const apiKey = configured.apiKeys[0] ?? `sk-demo-${randomAlnum(24)}`;
  const config = loadSettings({
    ...env,
    PORT: port ?? env.PORT ?? '8000',
    ...(host ? { HOST: host } : {}),
    API_KEYS: configured.apiKeys.length > 0 ? configured.apiKeys.join(',') : apiKey,
    // The demo keeps nothing: its emulator accounts and chats never reach the real store in DATA_DIR.
    STORE_URL: 'memory:',
  });
  const emulator = useEmulator ? await startEmulator({ host: '127.0.0.1', port: 0 }) : undefined;
  const demoConfig = emulator ? { ...config, kimiBaseUrl: emulator.url, kimiTokens: ['demo-account-1', 'demo-account-2'] } : config;
  const app = await buildApp({ config: demoConfig, logger: createLogger(env.LOG_LEVEL ?? 'warn') });
  const base = await listen(app, demoConfig).catch(async (err: unknown) => {
    await emulator?.close();
    throw err;
  });
  const curl = `curl ${base}/v1/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" -d '{"model":"k2","messages":[{"role":"user","content":"Hello!"}]}'`;
  console.log(
    [
      '',
      `kimi-proxy ${VERSION} demo`,
      emulator ? `  upstream : built-in Kimi emulator at ${emulator.url} (${app.services.client.protocol} protocol)` : `  upstream : ${config.kimiBaseUrl}`,
      `  base URL : ${base}/v1`,
      `  API key  : ${apiKey}`,
      '  store    : in memory (nothing is written to DATA_DIR)',
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

export async function emulatorOnly(port?: string, host?: string): Promise<void> {
  const listenPort = port ? Number(port) : 9000;
  const emulator = await startEmulator({ host: host ?? '127.0.0.1', port: listenPort }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new StartError(`port ${listenPort} is in use; pass --port`);
    throw err;
  });
  console.log(
    [
      `Kimi emulator listening at ${emulator.url} (REST under /api, Connect under /apiv2; stats at /__emulator/stats)`,
      'Point the proxy at it (any token works):',
      `  KIMI_BASE_URL=${emulator.url} KIMI_TOKENS=anything npm start`,
    ].join('\n'),
  );
  onShutdown(() => emulator.close());
}
