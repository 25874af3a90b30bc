/**
 * Anthropic's model list shape, used by GET /v1/models when the request carries
 * `anthropic-version` (Anthropic SDKs and Claude Code's gateway model discovery send it).
 */
import type { FastifyRequest } from 'fastify';
import type { PublicModel } from '../../models/model-table.js';

export interface AnthropicModel {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
}

export function wantsAnthropicShape(request: FastifyRequest): boolean {
  return typeof request.headers['anthropic-version'] === 'string';
}

export function toAnthropicModel(m: PublicModel): AnthropicModel {
  return { type: 'model', id: m.id, display_name: m.description ?? m.id, created_at: new Date(m.created * 1000).toISOString() };
}

export function anthropicModelList(models: PublicModel[]): { data: AnthropicModel[]; has_more: false; first_id: string | null; last_id: string | null } {
  const data = models.map(toAnthropicModel);
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
