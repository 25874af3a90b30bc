/** /admin/api/conversations: every owner's conversations (paged), one with its messages, delete (also upstream). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProxyError } from '../../core/errors.js';
import type { ApiKeyService } from '../../auth/api-keys.js';
import type { Janitor } from '../../conversations/janitor.js';
import type { ConversationRecord, Store } from '../../store/store.js';
import { requestSchema } from './openapi.js';
import { answers, array, bool, constant, idParam, int, list, object, oneOf, orNull, str } from './schema-parts.js';
import { parseQuery, queryIntIn, seconds } from './validate.js';

/** How many conversations a lookup without `owner` reads at most. */
const SCAN_LIMIT = 10_000;
const PAGE = 200;

const owner = z.string().optional();
const listQuery = z.object({
  limit: queryIntIn(1, 200).default(50).describe('Conversations per page.'),
  offset: queryIntIn(0, 1_000_000).default(0).describe('Conversations to skip (newest first).'),
  owner: owner.describe('Only this owner\'s (an API key id; "" for requests without a key).'),
});
const ownerQuery = z.object({ owner: owner.describe('The owner (an API key id): needed when two owners have a conversation with this id.') });

const conversationFields = {
  id: str('The conversation id.'),
  object: constant('conversation', 'Always "conversation".'),
  owner: str('The API key id that owns it ("" without a key).'),
  owner_name: orNull(str("The owning key's name.")),
  account_id: str('The Kimi account its upstream chat lives on.'),
  account_name: orNull(str("That account's name (null once removed).")),
  protocol: oneOf(['rest', 'connect'], 'The upstream protocol of its chat.'),
  model: str('The model it was started with.'),
  upstream_chat_id: str("Kimi's chat id."),
  implicit: bool('Kept for a stateless client (conversation reuse), not named by the client.'),
  message_count: int('Messages in its transcript.'),
  created_at: int('Creation (unix seconds).'),
  updated_at: int('Last turn (unix seconds).'),
};
const conversation = object('A conversation.', conversationFields);
const withMessages = object('A conversation with its messages.', {
  ...conversationFields,
  messages: array(object('A message.', { role: oneOf(['system', 'user', 'assistant', 'tool'], 'Who said it.'), content: str('What was said.') }), 'The transcript.'),
});
const params = idParam('The conversation id.');

export interface ConversationAdminDeps {
  store: Pick<Store, 'getConversation' | 'listConversations' | 'deleteConversation'>;
  /** Names the owners (API keys) of the conversations. */
  apiKeys: Pick<ApiKeyService, 'listEnv' | 'listStored'>;
  /** The name of a configured account (undefined once removed). */
  accountName: (accountId: string) => string | undefined;
  /** Deletes a conversation's upstream chat off the request path. */
  janitor: Pick<Janitor, 'schedule'>;
}

export function registerConversationAdmin(app: FastifyInstance, deps: ConversationAdminDeps): void {
  const { store, apiKeys } = deps;

  const ownerNames = async (): Promise<Map<string, string>> => {
    const names = new Map<string, string>([['', 'anonymous']]);
    for (const k of apiKeys.listEnv()) names.set(k.id, k.name);
    for (const k of await apiKeys.listStored()) names.set(k.id, k.name);
    return names;
  };

  const view = (c: ConversationRecord, names: Map<string, string>, withMessages: boolean): Record<string, unknown> => ({
    id: c.id,
    object: 'conversation',
    owner: c.owner,
    owner_name: names.get(c.owner) ?? null,
    account_id: c.accountId,
    account_name: deps.accountName(c.accountId) ?? null,
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

  const tags = ['conversations'];
  const page = list(conversation, 'A page of conversations, newest first.', {
    limit: int('The page size used.'),
    offset: int('The offset used.'),
    has_more: bool('Whether a next page may hold more.'),
  });
  app.get('/conversations', { schema: { tags, summary: "List every owner's conversations", querystring: requestSchema(listQuery), response: answers(200, page) } }, async (request) => {
    const q = parseQuery(listQuery, request.query);
    const records = await store.listConversations({ limit: q.limit, offset: q.offset, ...(q.owner !== undefined ? { owner: q.owner } : {}) });
    const names = await ownerNames();
    return { object: 'list', data: records.map((c) => view(c, names, false)), limit: q.limit, offset: q.offset, has_more: records.length === q.limit };
  });

  const lookup = { params, querystring: requestSchema(ownerQuery) };
  app.get('/conversations/:id', { schema: { tags, summary: 'Show a conversation with its messages', ...lookup, response: answers(200, withMessages) } }, async (request) => view(await find(request), await ownerNames(), true));

  const deleted = object('The conversation is deleted.', {
    id: str('The conversation id.'),
    object: constant('conversation.deleted', 'Always "conversation.deleted".'),
    owner: str('Its owner.'),
    deleted: bool('Always true.'),
  });
  const remove = { tags, summary: 'Delete a conversation', description: 'Its upstream chat is deleted too.', ...lookup, response: answers(200, deleted) };
  app.delete('/conversations/:id', { schema: remove }, async (request) => {
    const record = await find(request);
    await store.deleteConversation(record.owner, record.id);
    await deps.janitor.schedule(record.accountId, record.upstreamChatId);
    return { id: record.id, object: 'conversation.deleted', owner: record.owner, deleted: true };
  });
}
