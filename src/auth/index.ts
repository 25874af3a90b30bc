/** Access control of the app: CORS and the client API's auth hooks. */
import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../services.js';
import { registerClientAuth } from './client-auth.js';
import { registerCors } from './cors.js';

/** Registers CORS and the client API's auth. Call before any route is registered. */
export async function registerAccessControl(app: FastifyInstance, services: AppServices): Promise<void> {
  const { access } = services.config;
  await registerCors(app, { origins: access.corsOrigins, adminCors: access.adminCors });
  await registerClientAuth(app, { apiKeys: services.apiKeys, store: services.store, clock: services.clock });
}
