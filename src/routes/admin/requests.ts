/** /admin/api/requests: the recent request log, newest first, paged with `before`. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppServices } from '../../services.js';
import type { RequestLogEntry } from '../../store/store.js';
import { parseQuery, queryIntIn } from './validate.js';

const query = z.object({
  limit: queryIntIn(1, 500).default(50),
  /** Epoch ms: only entries logged before this (the `next_before` of the previous page). */
  before: queryIntIn(0, Number.MAX_SAFE_INTEGER).optional(),
});

function view(e: RequestLogEntry): Record<string, unknown> {
  return {
    id: e.id,
    at: e.at,
    request_id: e.requestId,
    key_name: e.keyName ?? null,
    model: e.model ?? null,
    account_name: e.accountName ?? null,
    protocol: e.protocol ?? null,
    conversation_id: e.conversationId ?? null,
    stream: e.stream,
    status: e.status,
    ttfb_ms: e.ttfbMs ?? null,
    duration_ms: e.durationMs,
    prompt_tokens: e.promptTokens ?? null,
    completion_tokens: e.completionTokens ?? null,
    error_code: e.errorCode ?? null,
    upstream_code: e.upstreamCode ?? null,
  };
}

export function registerRequestLogAdmin(app: FastifyInstance, services: AppServices): void {
  app.get('/requests', async (request) => {
    const q = parseQuery(query, request.query);
    const entries = await services.store.listRequestLog({ limit: q.limit, ...(q.before !== undefined ? { before: q.before } : {}) });
    const last = entries.at(-1);
    return { object: 'list', data: entries.map(view), next_before: entries.length === q.limit && last ? last.at : null };
  });
}
