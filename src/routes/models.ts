/** GET /v1/models and /v1/models/{id} in OpenAI's exact list shape, limited to what the caller's key may use. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyService, CanonicalModelId } from '../auth/api-keys.js';
import { ProxyError } from '../core/errors.js';
import type { ModelRegistry } from '../models/registry.js';
import { anthropicModelList, toAnthropicModel, wantsAnthropicShape } from '../doors/anthropic/models.js';
import { API_PREFIXES } from './prefixes.js';

export interface ModelRouteDeps {
  models: Pick<ModelRegistry, 'list' | 'resolve'>;
  apiKeys: Pick<ApiKeyService, 'filterModels' | 'assertModelAllowed'>;
}

export function registerModelRoutes(app: FastifyInstance, deps: ModelRouteDeps): void {
  const canonicalOf: CanonicalModelId = async (id) => (await deps.models.resolve(id))?.canonicalId;
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/models`, async (request) => {
      const data = await deps.apiKeys.filterModels(request.ctx.identity, await deps.models.list(), canonicalOf);
      // Anthropic clients (their SDKs, Claude Code's model discovery) send anthropic-version.
      return wantsAnthropicShape(request) ? anthropicModelList(data) : { object: 'list', data };
    });
    app.get(`${prefix}/models/:id`, async (request: FastifyRequest) => {
      const { id } = request.params as { id: string };
      await deps.apiKeys.assertModelAllowed(request.ctx.identity, id, canonicalOf);
      const listed = (await deps.models.list()).find((m) => m.id === id);
      const resolved = listed ? undefined : await deps.models.resolve(id);
      if (!listed && !resolved) throw new ProxyError('model_not_found', `The model "${id}" does not exist.`, { param: 'model' });
      // A variant that is not listed (`-thinking-search`) says what its base model says.
      const model = listed ?? { ...(await deps.models.list()).find((m) => m.id === resolved!.baseId)!, id, description: `Variant of ${resolved!.baseId}` };
      return wantsAnthropicShape(request) ? toAnthropicModel(model) : model;
    });
  }
}
