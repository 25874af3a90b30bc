/**
 * The client API: one plugin scope in which every front door (OpenAI chat, models,
 * conversations, and any door added later) registers its routes. A route registered here gets,
 * with nothing to do on its side:
 *
 * - from the root: its request context (`request.ctx`, http/request-context.ts) with the
 *   signal that cancels its upstream work, the request log line, the shutdown drain, CORS, and
 *   the error handler (http/error-handler.ts);
 * - from this scope (auth/client-auth.ts): the caller's identity from the API key, set once
 *   as `request.ctx.identity`, the key's rate limit, model allowlist and stream limit, and the
 *   key's usage counters.
 *
 * Errors are OpenAI-shaped unless the door picks its own dialect: `useErrorDialect(scope, …)`
 * in the door's own child scope, or `config.errorDialect` on a route.
 */
import type { FastifyInstance } from 'fastify';
import { registerClientAuth, type ClientAuthDeps } from '../auth/client-auth.js';

/** Registers a front door's routes into the client API scope. */
export type FrontDoor = (scope: FastifyInstance) => void | Promise<void>;

export async function registerClientApi(app: FastifyInstance, auth: ClientAuthDeps, doors: readonly FrontDoor[]): Promise<void> {
  await app.register(async (scope) => {
    await registerClientAuth(scope, auth);
    for (const door of doors) await door(scope);
  });
}
