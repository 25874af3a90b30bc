/** GET /v1/models and /v1/models/{id} in OpenAI's exact list shape. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProxyError } from '../core/errors.js';
import type { AppServices } from '../services.js';
import { API_PREFIXES } from './prefixes.js';

export function registerModelRoutes(app: FastifyInstance, services: AppServices): void {
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/models`, async (request) => {
      const identity = await services.apiKeys.verify(request);
      return { object: 'list', data: services.apiKeys.filterModels(identity, await services.models.list()) };
    });
    app.get(`${prefix}/models/:id`, async (request: FastifyRequest) => {
      const identity = await services.apiKeys.verify(request);
      const { id } = request.params as { id: string };
      services.apiKeys.assertModelAllowed(identity, id);
      const listed = (await services.models.list()).find((m) => m.id === id);
      if (listed) return listed;
      const resolved = await services.models.resolve(id);
      if (!resolved) throw new ProxyError('model_not_found', `The model "${id}" does not exist.`, { param: 'model' });
      return { id, object: 'model', created: 1752192000, owned_by: 'moonshot-kimi-web', description: `Variant of ${resolved.baseId}` };
    });
  }
}
