/** /admin/api/conversations: every owner's conversations (paged), one with its messages, delete (also upstream). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProxyError } from '../../core/errors.js';
import type { AppServices } from '../../services.js';
import type { ConversationRecord } from '../../store/store.js';
import { parseQuery, queryIntIn, seconds } from './validate.js';

/** How many conversations a lookup without `owner` reads at most. */
const SCAN_LIMIT = 10_000;
const PAGE = 200;

const listQuery = z.object({
  limit: queryIntIn(1, 200).default(50),
  offset: queryIntIn(0, 1_000_000).default(0),
  owner: z.string().optional(),
});
const ownerQuery = z.object({ owner: z.string().optional() });

export function registerConversationAdmin(app: FastifyInstance, services: AppServices): void {
  const { store } = services;

  const ownerNames = async (): Promise<Map<string, string>> => {
    const names = new Map<string, string>([['', 'anonymous']]);
    for (const k of services.apiKeys.listEnv()) names.set(k.id, k.name);
    for (const k of await services.apiKeys.listStored()) names.set(k.id, k.name);
    return names;
  };

  const view = (c: ConversationRecord, names: Map<string, string>, withMessages: boolean): Record<string, unknown> => ({
    id: c.id,
    object: 'conversation',
    owner: c.owner,
    owner_name: names.get(c.owner) ?? null,
    account_id: c.accountId,
    account_name: services.pool.get(c.accountId)?.name ?? null,
    protocol: c.protocol,
    model: c.model,
    upstream_chat_id: c.upstreamChatId,
    implicit: c.implicit === true,
    message_count: c.transcript.length,
    created_at: seconds(c.createdAt),
    updated_at: seconds(c.updatedAt),
    ...(withMessages ? { messages: c.transcript.map((m) => ({ role: m.role, content: m.content })) } : {}),
  });

  /** With `owner`, a direct read; without it, the newest conversations are searched for the id. */
  const find = async (request: FastifyRequest): Promise<ConversationRecord> => {
    const { id } = request.params as { id: string };
    const { owner } = parseQuery(ownerQuery, request.query);
    if (owner !== undefined) {
      const record = await store.getConversation(owner, id);
      if (record) return record;
    } else {
      const matches: ConversationRecord[] = [];
      for (let offset = 0; offset < SCAN_LIMIT; offset += PAGE) {
        const page = await store.listConversations({ limit: PAGE, offset });
        matches.push(...page.filter((c) => c.id === id));
        if (page.length < PAGE) break;
      }
      if (matches.length > 1) {
        throw new ProxyError('invalid_request', `Several owners have a conversation "${id}": add ?owner=<owner id>.`, { param: 'owner' });
      }
      if (matches[0]) return matches[0];
    }
    throw new ProxyError('conversation_not_found', `No conversation "${id}"${owner !== undefined ? ` for owner "${owner}"` : ''}.`, { param: 'id' });
  };

  app.get('/conversations', async (request) => {
    const q = parseQuery(listQuery, request.query);
    const records = await store.listConversations({ limit: q.limit, offset: q.offset, ...(q.owner !== undefined ? { owner: q.owner } : {}) });
    const names = await ownerNames();
    return { object: 'list', data: records.map((c) => view(c, names, false)), limit: q.limit, offset: q.offset, has_more: records.length === q.limit };
  });

  app.get('/conversations/:id', async (request) => view(await find(request), await ownerNames(), true));

  app.delete('/conversations/:id', async (request) => {
    const record = await find(request);
    await store.deleteConversation(record.owner, record.id);
    await services.janitor.schedule(record.accountId, record.upstreamChatId);
    return { id: record.id, object: 'conversation.deleted', owner: record.owner, deleted: true };
  });
}
