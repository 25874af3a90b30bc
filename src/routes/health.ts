/** Liveness, readiness and a helpful root page (never an HTML error page). */
import type { FastifyInstance } from 'fastify';
import { checkReadiness } from '../observability/readiness.js';
import type { AppServices } from '../services.js';

export function registerHealthRoutes(app: FastifyInstance, services: AppServices, version: string): void {
  app.get('/', async () => ({
    name: 'kimi-proxy',
    version,
    description: 'OpenAI-compatible API for Kimi web accounts',
    endpoints: ['POST /v1/chat/completions', 'POST /v1/chat/completions/{conversation_id}', 'GET /v1/models', 'GET /health', 'GET /health/ready', 'GET /metrics'],
    protocol: services.client.protocol,
  }));
  app.get('/health', async () => ({ status: 'ok' }));
  // 200 when the store answers and an account can serve now; 503 with the reason otherwise.
  app.get('/health/ready', async (_request, reply) => {
    const r = await checkReadiness({ store: services.store, accounts: () => services.pool.status(), now: () => services.clock.now(), draining: () => services.drain.isDraining });
    if (r.retryAfterMs !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
    return reply.code(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r.body);
  });
}
