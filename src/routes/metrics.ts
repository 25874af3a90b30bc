/** GET /metrics in the Prometheus text format; with METRICS_TOKEN set, a Bearer token is required. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../core/errors.js';
import type { Metrics } from '../observability/metrics.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function bearer(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1]!.trim() : undefined;
}

export function registerMetricsRoute(app: FastifyInstance, deps: { metrics: Metrics; token: string | undefined }): void {
  const expected = deps.token ? digest(deps.token) : undefined;
  // Metrics keep answering while a shutdown drains.
  app.get('/metrics', { config: { answersWhileDraining: true } }, async (request, reply) => {
    if (expected) {
      const given = bearer(request.headers.authorization);
      if (!given || !timingSafeEqual(digest(given), expected)) {
        void reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new ProxyError('invalid_api_key', 'The metrics endpoint needs "Authorization: Bearer <METRICS_TOKEN>".');
      }
    }
    const body = await deps.metrics.render();
    return reply.header('content-type', deps.metrics.contentType).header('cache-control', 'no-store').send(body);
  });
}
