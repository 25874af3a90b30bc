/**
 * CORS for browser clients (NextChat web and the like): `CORS_ORIGINS` on the client API
 * only; /admin only with `ADMIN_CORS=true`. No credentials (keys travel in headers, never
 * cookies). Without CORS_ORIGINS nothing is registered and preflights answer 404.
 *
 * A preflight (OPTIONS) reaches no route of the API it asks about, so CORS alone decides by
 * path which API a request belongs to.
 */
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export interface CorsSettings {
  /** Exact origins, or ['*']. */
  origins: readonly string[];
  adminCors: boolean;
}

const EXPOSED_HEADERS = [
  'x-request-id',
  'x-conversation-id',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];
/** Headers the plugin sets on actual (non-preflight) responses. */
const RESPONSE_HEADERS = ['access-control-allow-origin', 'access-control-expose-headers', 'vary'];

/** Paths of the client API: `/v1/…`, the same without `/v1`, and the conversation-scoped base URLs. */
const CLIENT_PATH_RE = /^\/(?:v1|chat|completions|models|conversations|embeddings|messages|responses)(?:[/?]|$)/;

export const isClientPath = (path: string): boolean => CLIENT_PATH_RE.test(path);

export const isAdminPath = (path: string): boolean => path === '/admin' || path.startsWith('/admin/');

export async function registerCors(app: FastifyInstance, settings: CorsSettings): Promise<void> {
  if (settings.origins.length === 0) return;
  const allowed: FastifyCorsOptions = {
    origin: settings.origins.includes('*') ? '*' : [...settings.origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  };
  const refused: FastifyCorsOptions = { origin: false };
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request, callback) => {
      const path = request.url.split('?')[0] ?? '';
      const applies = isClientPath(path) || (settings.adminCors && isAdminPath(path));
      callback(null, applies ? allowed : refused);
    },
  });
  // Streams are written straight to the raw response (after reply.hijack()), which never
  // sees headers set on the reply: copy the CORS ones there as well.
  app.addHook('onRequest', async (_request, reply) => {
    for (const name of RESPONSE_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
  });
}
