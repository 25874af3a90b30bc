/** Starts a real emulator and a real proxy on loopback ports for e2e tests. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { Clock } from '../../src/core/clock.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';

export interface Harness {
  emulator: Emulator;
  app: App;
  /** Proxy base URL without /v1. */
  base: string;
  apiKey: string;
  /** Everything the proxy logged, one JSON line per entry. */
  logs: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  emulator?: EmulatorOptions;
  /** Reuse an emulator (e.g. to restart the proxy against the same upstream). */
  sharedEmulator?: Emulator;
  /** The proxy's log level (default debug, collected in `logs`); 'silent' for long runs that would fill `logs`. */
  logLevel?: string;
  /** The proxy's clock (default: the system clock); a FakeClock lets a test move past a TTL without waiting. */
  clock?: Clock;
}

export const TEST_KEY = 'sk-test-0123456789abcdef';

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const emulator = opts.sharedEmulator ?? (await startEmulator({ ...opts.emulator }));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    KIMI_BASE_URL: emulator.url,
    KIMI_TOKENS: 'tok-alpha,tok-beta',
    API_KEYS: TEST_KEY,
    KEEPALIVE_INTERVAL_MS: '15000',
    STORE_URL: 'memory:',
    // Spacing and tight limits are tested on purpose; elsewhere they only slow tests down.
    ACCOUNT_MIN_INTERVAL_MS: '0',
    ACCOUNT_MAX_CONCURRENT: '8',
    ...opts.env,
  });
  const app = await buildApp({ config, logger: pino({ level: opts.logLevel ?? 'debug' }, sink), ...(opts.clock ? { clock: opts.clock } : {}) });
  await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    emulator,
    app,
    base: `http://127.0.0.1:${port}`,
    apiKey: TEST_KEY,
    logs,
    async close() {
      await app.close();
      if (!opts.sharedEmulator) await emulator.close();
    },
  };
}

/**
 * One harness per test, closed after it (registers the `afterEach` in the calling suite):
 * `const start = harnessPerTest({ emulator: { maxEventsLogged: 200 } })`, then `await start(opts)`
 * in each test. A test's `env` and `emulator` options are laid over the suite's.
 */
export function harnessPerTest(suite: HarnessOptions = {}): (opts?: HarnessOptions) => Promise<Harness> {
  let running: Harness | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  return async (opts = {}) => {
    running = await startHarness({ ...suite, ...opts, env: { ...suite.env, ...opts.env }, emulator: { ...suite.emulator, ...opts.emulator } });
    return running;
  };
}

/** Polls until `check` returns true (or throws after `timeoutMs`). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface SseResult {
  status: number;
  headers: Headers;
  raw: string;
  /** Parsed `data:` payloads (JSON), with `[DONE]` kept as the string. */
  events: unknown[];
}

/** POSTs a chat request and reads the whole SSE body as raw text and parsed events. */
export async function postStream(h: Harness, body: Record<string, unknown>, path = '/v1/chat/completions', headers: Record<string, string> = {}): Promise<SseResult> {
  const res = await fetch(h.base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}`, ...headers },
    body: JSON.stringify({ stream: true, ...body }),
  });
  const raw = await res.text();
  const events = raw
    .split('\n\n')
    .filter((rec) => rec.startsWith('data: '))
    .map((rec) => rec.slice(6))
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
  return { status: res.status, headers: res.headers, raw, events };
}

export async function postJson(h: Harness, body: unknown, path = '/v1/chat/completions', headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(h.base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${h.apiKey}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/** Concatenated `delta.content` of a parsed stream. */
export function streamText(events: unknown[]): string {
  return events
    .filter((e): e is { choices: Array<{ delta?: { content?: string } }> } => typeof e === 'object' && e !== null && 'choices' in e)
    .map((e) => e.choices[0]?.delta?.content ?? '')
    .join('');
}
