/**
 * The admin API under /admin/api and the dashboard at /admin, behind ADMIN_TOKEN. Without
 * ADMIN_TOKEN the API is not registered (every /admin/api path answers 404) and /admin says
 * how to enable it. JSON in and out, OpenAI-shaped errors.
 */
import type { FastifyInstance } from 'fastify';
import { registerAdminAccess, type AdminAccessDeps } from './access.js';
import { registerAccountAdmin, type AccountAdminDeps } from './accounts.js';
import { registerConversationAdmin, type ConversationAdminDeps } from './conversations.js';
import { registerKeyAdmin, type KeyAdminDeps } from './keys.js';
import { registerAdminOpenApi } from './openapi.js';
import { registerRequestLogAdmin, type RequestLogAdminDeps } from './requests.js';
import { answers, array, constant, object, str } from './schema-parts.js';
import { registerStatsAdmin, type StatsAdminDeps } from './stats.js';
import { registerDashboard, registerDisabledDashboard } from './ui.js';

export const ADMIN_PREFIX = '/admin/api';

/** What each part of the admin API uses; without an admin token, nothing (the API is off). */
export interface AdminRoutesDeps {
  access: Omit<AdminAccessDeps, 'adminToken'> & { adminToken: string | undefined };
  accounts: AccountAdminDeps;
  keys: KeyAdminDeps;
  conversations: ConversationAdminDeps;
  requests: RequestLogAdminDeps;
  stats: StatsAdminDeps;
}

export async function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): Promise<void> {
  const token = deps.access.adminToken;
  if (!token) {
    registerDisabledDashboard(app);
    return;
  }
  await app.register(
    async (admin) => {
      // First: it describes the routes registered after it.
      await registerAdminOpenApi(admin);
      await registerAdminAccess(admin, { ...deps.access, adminToken: token }, ADMIN_PREFIX);
      const index = object('Where to start.', { object: constant('admin', 'Always "admin".'), endpoints: array(str('A path.'), 'The collections of the admin API; openapi.json describes every route.') });
      admin.get('/', { schema: { tags: ['meta'], summary: 'The admin API\'s collections', response: answers(200, index) } }, async () => ({
        object: 'admin',
        endpoints: ['session', 'accounts', 'keys', 'conversations', 'requests', 'stats', 'openapi.json'].map((p) => `${ADMIN_PREFIX}/${p}`),
      }));
      registerAccountAdmin(admin, deps.accounts);
      registerKeyAdmin(admin, deps.keys);
      registerConversationAdmin(admin, deps.conversations);
      registerRequestLogAdmin(admin, deps.requests);
      registerStatsAdmin(admin, deps.stats);
    },
    { prefix: ADMIN_PREFIX },
  );
  await registerDashboard(app);
}
