/** Conversation management for API clients: list, show, delete (scoped to the caller's key). */
import type { FastifyInstance } from 'fastify';
import type { ConversationService } from '../conversations/conversation-service.js';
import type { ConversationRecord } from '../store/store.js';

/** What a client sees of a conversation: never the account's token, only ids it can use. */
function view(c: ConversationRecord, withMessages: boolean): Record<string, unknown> {
  return {
    id: c.id,
    object: 'conversation',
    model: c.model,
    created_at: Math.floor(c.createdAt / 1000),
    updated_at: Math.floor(c.updatedAt / 1000),
    implicit: c.implicit === true,
    message_count: c.transcript.length,
    ...(withMessages ? { messages: c.transcript.map((m) => ({ role: m.role, content: m.content })) } : {}),
  };
}

export function registerConversationRoutes(app: FastifyInstance, deps: { conversations: ConversationService }): void {
  const { conversations } = deps;

  // Like every client route, with and without /v1.
  for (const prefix of ['', '/v1']) {
    app.get(`${prefix}/conversations`, async (request) => {
      const q = request.query as { limit?: string; offset?: string; include_implicit?: string };
      const limit = Math.min(Math.max(Number(q.limit) || 20, 1), 100);
      const offset = Math.max(Number(q.offset) || 0, 0);
      const includeImplicit = q.include_implicit === 'true' || q.include_implicit === '1';
      const records = await conversations.list(request.ctx.identity.id, { limit, offset, includeImplicit });
      return { object: 'list', data: records.map((c) => view(c, false)) };
    });

    app.get(`${prefix}/conversations/:id`, async (request) => {
      const { id } = request.params as { id: string };
      return view(await conversations.get(request.ctx.identity.id, id), true);
    });

    app.delete(`${prefix}/conversations/:id`, async (request) => {
      const { id } = request.params as { id: string };
      const record = await conversations.delete(request.ctx.identity.id, id);
      return { id: record.id, object: 'conversation.deleted', deleted: true };
    });
  }
}
