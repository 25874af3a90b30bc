/**
 * The admin API under /admin/api and the dashboard at /admin, behind ADMIN_TOKEN. Without
 * ADMIN_TOKEN the API is not registered (every /admin/api path answers 404) and /admin says
 * how to enable it. JSON in and out, OpenAI-shaped errors.
 */
import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../../services.js';
import { registerAdminAccess } from './access.js';
import { registerAccountAdmin } from './accounts.js';
import { registerConversationAdmin } from './conversations.js';
import { registerKeyAdmin } from './keys.js';
import { registerRequestLogAdmin } from './requests.js';
import { registerStatsAdmin } from './stats.js';
import { registerDashboard, registerDisabledDashboard } from './ui.js';

export const ADMIN_PREFIX = '/admin/api';

export async function registerAdminRoutes(app: FastifyInstance, services: AppServices): Promise<void> {
  const token = services.config.access.adminToken;
  if (!token) {
    registerDisabledDashboard(app);
    return;
  }
  await app.register(
    async (admin) => {
      await registerAdminAccess(admin, services, token, ADMIN_PREFIX);
      admin.get('/', async () => ({
        object: 'admin',
        endpoints: ['session', 'accounts', 'keys', 'conversations', 'requests', 'stats'].map((p) => `${ADMIN_PREFIX}/${p}`),
      }));
      registerAccountAdmin(admin, services);
      registerKeyAdmin(admin, services);
      registerConversationAdmin(admin, services);
      registerRequestLogAdmin(admin, services);
      registerStatsAdmin(admin, services);
    },
    { prefix: ADMIN_PREFIX },
  );
  await registerDashboard(app);
}
