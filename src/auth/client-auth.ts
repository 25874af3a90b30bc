/**
 * The auth hooks of the client API (every route under the OpenAI prefixes, whatever file
 * registers it): the key is checked in `onRequest`, before the body is read; the requested
 * model and the concurrent-stream limit once the body is parsed (`preHandler`). Usage is
 * recorded when the response closes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { ApiKeyIdentity, ApiKeyService } from './api-keys.js';
import { StreamSlots, registerKeyRateLimit } from './limits.js';

/** Paths of the client API: `/v1/…`, the same without `/v1`, and the conversation-scoped base URLs. */
const CLIENT_PATH_RE = /^\/(?:v1|chat|completions|models|conversations|embeddings|messages|responses)(?:[/?]|$)/;

export function isClientPath(path: string): boolean {
  return CLIENT_PATH_RE.test(path);
}

export interface ClientAuthDeps {
  apiKeys: ApiKeyService;
  store: Pick<Store, 'increment' | 'acquireSlot' | 'renewSlot' | 'releaseSlot'>;
  clock: Clock;
}

function isClientRequest(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return request.method !== 'OPTIONS' && url !== undefined && isClientPath(url);
}

/** Registers the client API's auth, rate limit, model check, stream limit and usage recording. Call before the routes. */
export async function registerClientAuth(app: FastifyInstance, deps: ClientAuthDeps): Promise<void> {
  const { apiKeys } = deps;
  const slots = new StreamSlots(deps.store);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isClientRequest(request)) return;
    const identity = await apiKeys.verify(request);
    reply.raw.once('close', () => {
      const tokens = apiKeys.takeUsage(request);
      void apiKeys.recordUsage(identity, { requests: 1, promptTokens: tokens?.promptTokens ?? 0, completionTokens: tokens?.completionTokens ?? 0 });
    });
  });

  // Runs after the hook above: route-level hooks follow the instance's own.
  await registerKeyRateLimit(app, {
    store: deps.store,
    clock: deps.clock,
    identityOf: async (request) => (isClientRequest(request) ? apiKeys.verify(request) : undefined),
  });

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isClientRequest(request)) return;
    const identity: ApiKeyIdentity = await apiKeys.verify(request);
    const body = request.body as { model?: unknown; stream?: unknown } | undefined;
    if (request.method !== 'POST' || typeof body !== 'object' || body === null) return;
    if (typeof body.model === 'string') apiKeys.assertModelAllowed(identity, body.model);
    if (body.stream === true && identity.maxConcurrentStreams !== undefined) {
      const release = await slots.acquire(identity, identity.maxConcurrentStreams);
      reply.raw.once('close', release);
      if (reply.raw.destroyed) release();
    }
  });
}
