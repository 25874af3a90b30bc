/** Conversation management for API clients: list, show, delete (scoped to the caller's key). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProxyError } from '../core/errors.js';
import type { ConversationRecord } from '../store/store.js';
import type { AppServices } from '../services.js';

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

export function registerConversationRoutes(app: FastifyInstance, services: AppServices): void {
  const find = async (request: FastifyRequest): Promise<{ owner: string; record: ConversationRecord }> => {
    const owner = (await services.apiKeys.verify(request)).id;
    const { id } = request.params as { id: string };
    const record = await services.store.getConversation(owner, id);
    if (!record) throw new ProxyError('conversation_not_found', `No conversation "${id}" for this API key.`, { param: 'conversation_id' });
    return { owner, record };
  };

  app.get('/v1/conversations', async (request) => {
    const owner = (await services.apiKeys.verify(request)).id;
    const q = request.query as { limit?: string; offset?: string };
    const limit = Math.min(Math.max(Number(q.limit) || 20, 1), 100);
    const offset = Math.max(Number(q.offset) || 0, 0);
    const records = await services.store.listConversations({ owner, limit, offset });
    return { object: 'list', data: records.map((c) => view(c, false)) };
  });

  app.get('/v1/conversations/:id', async (request) => view((await find(request)).record, true));

  app.delete('/v1/conversations/:id', async (request) => {
    const { owner, record } = await find(request);
    await services.store.deleteConversation(owner, record.id);
    await services.janitor.schedule(record.accountId, record.upstreamChatId);
    return { id: record.id, object: 'conversation.deleted', deleted: true };
  });
}
