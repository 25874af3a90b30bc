/** Liveness and a helpful root page (never an HTML error page). */
import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../services.js';

export function registerHealthRoutes(app: FastifyInstance, services: AppServices, version: string): void {
  app.get('/', async () => ({
    name: 'kimi-proxy',
    version,
    description: 'OpenAI-compatible API for Kimi web accounts',
    endpoints: ['POST /v1/chat/completions', 'POST /v1/chat/completions/{conversation_id}', 'GET /v1/models', 'GET /health'],
    protocol: services.client.protocol,
  }));
  app.get('/health', async () => ({ status: 'ok' }));
}
