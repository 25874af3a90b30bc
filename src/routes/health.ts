/** Liveness, readiness and a helpful root page (never an HTML error page). */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import { checkReadiness, type ReadinessDeps } from '../observability/readiness.js';

export interface HealthRouteDeps {
  version: string;
  /** The Kimi protocol in use (shown on the root page). */
  protocol: string;
  store: ReadinessDeps['store'];
  accounts: ReadinessDeps['accounts'];
  clock: Clock;
  draining: () => boolean;
}

export function registerHealthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  app.get('/', async () => ({
    name: 'kimi-proxy',
    version: deps.version,
    description: 'OpenAI-compatible API for Kimi web accounts',
    endpoints: ['POST /v1/chat/completions', 'POST /v1/chat/completions/{conversation_id}', 'GET /v1/models', 'GET /health', 'GET /health/ready', 'GET /metrics'],
    protocol: deps.protocol,
  }));
  // Liveness and readiness keep answering while a shutdown drains.
  const config = { answersWhileDraining: true };
  app.get('/health', { config }, async () => ({ status: 'ok' }));
  // 200 when the store answers and an account can serve now; 503 with the reason otherwise.
  app.get('/health/ready', { config }, async (_request, reply) => {
    const r = await checkReadiness({ store: deps.store, accounts: deps.accounts, now: () => deps.clock.now(), draining: deps.draining });
    if (r.retryAfterMs !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
    return reply.code(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r.body);
  });
}
