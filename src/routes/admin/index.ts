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
import { registerAdminOpenApi } from './openapi.js';
import { registerRequestLogAdmin } from './requests.js';
import { answers, array, constant, object, str } from './schema-parts.js';
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
      // First: it describes the routes registered after it.
      await registerAdminOpenApi(admin);
      await registerAdminAccess(admin, services, token, ADMIN_PREFIX);
      const index = object('Where to start.', { object: constant('admin', 'Always "admin".'), endpoints: array(str('A path.'), 'The collections of the admin API; openapi.json describes every route.') });
      admin.get('/', { schema: { tags: ['meta'], summary: 'The admin API\'s collections', response: answers(200, index) } }, async () => ({
        object: 'admin',
        endpoints: ['session', 'accounts', 'keys', 'conversations', 'requests', 'stats', 'openapi.json'].map((p) => `${ADMIN_PREFIX}/${p}`),
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
