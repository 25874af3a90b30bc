/**
 * The auth hooks of the client API scope (http/client-api.ts): every route a door registers
 * there gets them. The key is checked in `onRequest`, before the body is read, and the
 * caller's identity is set on the request's context once; the key's rate limit follows; the
 * requested model and the concurrent-stream limit are checked once the body is parsed
 * (`preHandler`). Usage is recorded when the response closes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { ApiKeyService } from './api-keys.js';
import { StreamSlots, registerKeyRateLimit } from './limits.js';

export interface ClientAuthDeps {
  apiKeys: ApiKeyService;
  store: Pick<Store, 'increment' | 'acquireSlot' | 'renewSlot' | 'releaseSlot'>;
  clock: Clock;
  /** The canonical id (base model + suffixes) a requested model id resolves to, if any. */
  canonicalModelId: (id: string) => Promise<string | undefined>;
}

/** Registers auth, rate limit, model check, stream limit and usage recording on `scope`. Call before its routes. */
export async function registerClientAuth(scope: FastifyInstance, deps: ClientAuthDeps): Promise<void> {
  const { apiKeys } = deps;
  const slots = new StreamSlots(deps.store);

  scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = await apiKeys.authenticate(request.headers);
    const ctx = request.ctx;
    ctx.setIdentity(identity);
    reply.raw.once('close', () => {
      const usage = ctx.usage;
      void apiKeys.recordUsage(identity, { requests: 1, promptTokens: usage?.prompt_tokens ?? 0, completionTokens: usage?.completion_tokens ?? 0 });
    });
  });

  // Runs after the hook above: route-level hooks follow the scope's own.
  await registerKeyRateLimit(scope, { store: deps.store, clock: deps.clock });

  scope.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = request.ctx.identity;
    const body = request.body as { model?: unknown; stream?: unknown } | undefined;
    if (request.method !== 'POST' || typeof body !== 'object' || body === null) return;
    if (typeof body.model === 'string') await apiKeys.assertModelAllowed(identity, body.model, deps.canonicalModelId);
    if (body.stream === true && identity.maxConcurrentStreams !== undefined) {
      const release = await slots.acquire(identity, identity.maxConcurrentStreams);
      reply.raw.once('close', release);
      if (reply.raw.destroyed) release();
    }
  });
}
