/**
 * A client's own conversations: list, show and delete, always scoped to the caller's key
 * (another key's conversation is "not found", never "forbidden"). Deleting one also queues
 * its upstream chat for deletion.
 */
import { ProxyError } from '../core/errors.js';
import type { ConversationRecord, Store } from '../store/store.js';
import type { Janitor } from './janitor.js';

export interface ConversationServiceDeps {
  store: Pick<Store, 'getConversation' | 'listConversations' | 'deleteConversation'>;
  janitor: Pick<Janitor, 'schedule'>;
}

export interface ConversationPage {
  limit: number;
  offset: number;
}

export class ConversationService {
  constructor(private readonly deps: ConversationServiceDeps) {}

  list(owner: string, page: ConversationPage): Promise<ConversationRecord[]> {
    return this.deps.store.listConversations({ owner, limit: page.limit, offset: page.offset });
  }

  /** The conversation, or 404 conversation_not_found. */
  async get(owner: string, id: string): Promise<ConversationRecord> {
    const record = await this.deps.store.getConversation(owner, id);
    if (!record) throw new ProxyError('conversation_not_found', `No conversation "${id}" for this API key.`, { param: 'conversation_id' });
    return record;
  }

  /** Deletes the conversation and queues its upstream chat for deletion; 404 when there is none. */
  async delete(owner: string, id: string): Promise<ConversationRecord> {
    const record = await this.get(owner, id);
    await this.deps.store.deleteConversation(owner, record.id);
    await this.deps.janitor.schedule(record.accountId, record.upstreamChatId);
    return record;
  }
}
