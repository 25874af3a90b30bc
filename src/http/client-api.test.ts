import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../auth/api-keys.js';
import { ProxyError } from '../core/errors.js';
import { FakeClock } from '../store/fake-clock.js';
import { MemoryStore } from '../store/memory.js';
import { registerClientApi, type FrontDoor } from './client-api.js';
import { useErrorDialect, type ErrorDialect } from './error-handler.js';
import { createServer } from './server.js';

const KEY = 'sk-test-0123456789abcdef';
const apps: FastifyInstance[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** A dialect unlike OpenAI's, as another front door would bring. */
const otherDialect: ErrorDialect = (error, requestId) => ({ status: error.status, body: { type: 'error', error: { kind: error.code, message: error.message }, request: requestId } });

async function serve(doors: FrontDoor[], stop = new AbortController()): Promise<{ app: FastifyInstance; base: string; stop: AbortController }> {
  const clock = new FakeClock();
  const store = new MemoryStore(clock);
  const app = createServer({ logger: pino({ level: 'silent' }), bodyLimit: 1 << 20, stopSignal: stop.signal });
  const apiKeys = new ApiKeyService([KEY], store, clock);
  await registerClientApi(app, { apiKeys, store, clock, canonicalModelId: async (id) => id }, doors);
  app.get('/outside', async () => ({ ok: true }));
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, stop };
}

const auth = { authorization: `Bearer ${KEY}` };

describe('the client API scope', () => {
  it('authenticates every route a door registers and gives it the caller once, on the request', async () => {
    const { base } = await serve([
      (api) => {
        api.get('/v1/door', async (request) => ({ key: request.ctx.identity.name }));
      },
    ]);
    const refused = await fetch(`${base}/v1/door`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const ok = await fetch(`${base}/v1/door`, { headers: auth });
    expect(await ok.json()).toEqual({ key: 'env-key-1' });
    // Routes outside the scope are not behind the key.
    expect((await fetch(`${base}/outside`)).status).toBe(200);
  });

  it('answers errors in the dialect a door picks for its scope, auth errors included; other doors stay OpenAI-shaped', async () => {
    const { base } = await serve([
      async (api) => {
        await api.register(async (door) => {
          useErrorDialect(door, otherDialect);
          door.post('/v1/other', async () => {
            throw new ProxyError('rate_limit_exceeded', 'slow down', { retryAfterMs: 2_000 });
          });
        });
      },
      (api) => {
        api.post('/v1/openai', async () => {
          throw new ProxyError('invalid_request', 'bad');
        });
      },
    ]);
    const unauthenticated = await fetch(`${base}/v1/other`, { method: 'POST' });
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ type: 'error', error: { kind: 'invalid_api_key' } });
    const limited = await fetch(`${base}/v1/other`, { method: 'POST', headers: { ...auth, 'x-request-id': 'req-1' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toEqual({ type: 'error', error: { kind: 'rate_limit_exceeded', message: 'slow down' }, request: 'req-1' });
    const openai = await fetch(`${base}/v1/openai`, { method: 'POST', headers: auth });
    expect(openai.status).toBe(400);
    expect(await openai.json()).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error', message: 'bad' } });
    // Bad JSON is refused in the door's dialect too.
    const badJson = await fetch(`${base}/v1/other`, { method: 'POST', headers: auth, body: '{' });
    expect(await badJson.json()).toMatchObject({ type: 'error', error: { kind: 'invalid_json' } });
  });

  it("cancels a request's work through request.ctx.signal when the client goes away", async () => {
    let aborted: (reason: unknown) => void = () => undefined;
    const reason = new Promise<unknown>((resolve) => (aborted = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { base } = await serve([
      (api) => {
        api.get('/v1/slow', async (request) => {
          const { signal } = request.ctx;
          signal.addEventListener('abort', () => aborted(signal.reason), { once: true });
          started();
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          return {};
        });
      },
    ]);
    const client = new AbortController();
    const pending = fetch(`${base}/v1/slow`, { headers: auth, signal: client.signal }).catch(() => undefined);
    await running;
    client.abort();
    await pending;
    expect(await reason).toMatchObject({ message: 'client disconnected' });
  });

  it("cancels a request's work through request.ctx.signal when a shutdown stops running requests", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { base, stop } = await serve([
      (api) => {
        api.get('/v1/slow', async (request) => {
          const { signal } = request.ctx;
          started();
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          throw signal.reason;
        });
      },
    ]);
    const res = fetch(`${base}/v1/slow`, { headers: auth });
    await running;
    stop.abort(new ProxyError('shutting_down', 'bye'));
    const answer = await res;
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
  });
});
