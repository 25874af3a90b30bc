/**
 * The admin API under /admin/api, behind ADMIN_TOKEN. Without ADMIN_TOKEN nothing is
 * registered and every /admin path answers 404. JSON in and out, OpenAI-shaped errors.
 */
import type { FastifyInstance } from 'fastify';
import { AdminTokenVerifier } from '../../auth/admin-token.js';
import type { AppServices } from '../../services.js';
import { registerAccountAdmin } from './accounts.js';
import { registerConversationAdmin } from './conversations.js';
import { registerKeyAdmin } from './keys.js';
import { registerRequestLogAdmin } from './requests.js';

export const ADMIN_PREFIX = '/admin/api';

export async function registerAdminRoutes(app: FastifyInstance, services: AppServices): Promise<void> {
  const token = services.config.access.adminToken;
  if (!token) return;
  const verifier = new AdminTokenVerifier(token);
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => verifier.verify(request.headers));
      admin.get('/', async () => ({
        object: 'admin',
        endpoints: ['accounts', 'keys', 'conversations', 'requests'].map((p) => `${ADMIN_PREFIX}/${p}`),
      }));
      registerAccountAdmin(admin, services);
      registerKeyAdmin(admin, services);
      registerConversationAdmin(admin, services);
      registerRequestLogAdmin(admin, services);
    },
    { prefix: ADMIN_PREFIX },
  );
}
