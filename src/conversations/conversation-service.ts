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
  /**
   * Also list implicit conversations (upstream chats kept for a stateless client that resends
   * its history, CONVERSATION_REUSE=auto). Off by default: the client never named them.
   */
  includeImplicit?: boolean;
}

/** Records read per store page while skipping implicit ones. */
const SCAN_PAGE = 200;

export class ConversationService {
  constructor(private readonly deps: ConversationServiceDeps) {}

  async list(owner: string, page: ConversationPage): Promise<ConversationRecord[]> {
    if (page.includeImplicit) return this.deps.store.listConversations({ owner, limit: page.limit, offset: page.offset });
    // Newest first, implicit ones skipped; the offset counts listed (named) conversations only.
    const out: ConversationRecord[] = [];
    let skip = page.offset;
    for (let at = 0; out.length < page.limit; at += SCAN_PAGE) {
      const batch = await this.deps.store.listConversations({ owner, limit: SCAN_PAGE, offset: at });
      for (const record of batch) {
        if (record.implicit === true) continue;
        if (skip > 0) skip -= 1;
        else if (out.length < page.limit) out.push(record);
      }
      if (batch.length < SCAN_PAGE) break;
    }
    return out;
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
