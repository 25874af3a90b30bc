/**
 * Chats and their message trees, shared by both protocols: a legacy chat can be continued
 * over Connect (spec B.7, "older flow"). Chats belong to the account key that created them.
 */
import type { SearchResult } from './reply-plan.js';

export type MessageStatus = 'MESSAGE_STATUS_GENERATING' | 'MESSAGE_STATUS_COMPLETED';

export interface StoredMessage {
  id: string;
  parentId?: string;
  role: 'user' | 'assistant';
  status: MessageStatus;
  text: string;
  think?: string;
  searchResults?: SearchResult[];
  scenario?: string;
  createTime: number;
}

export interface StoredChat {
  id: string;
  owner: string;
  name: string;
  createTime: number;
  updateTime: number;
  messages: Map<string, StoredMessage>;
  /** The most recent assistant message: where a turn without `parent_id` continues. */
  latestId?: string;
  /** Replies currently streaming into this chat (legacy `chat.user_stream_pushing`). */
  streaming: number;
  /** Legacy `length` continuation: `req` id → the deltas not yet sent. */
  pendingSegments: Map<string, string[]>;
}

export const UNTITLED_CHAT = 'Untitled Chat';

export class ChatStore {
  private readonly chats = new Map<string, StoredChat>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.chats.size;
  }

  create(id: string, owner: string, name: string): StoredChat {
    const t = this.now();
    const chat: StoredChat = {
      id,
      owner,
      name,
      createTime: t,
      updateTime: t,
      messages: new Map(),
      streaming: 0,
      pendingSegments: new Map(),
    };
    this.chats.set(id, chat);
    return chat;
  }

  /** A chat visible to this account, or undefined (unknown id or someone else's chat). */
  get(id: string, owner: string): StoredChat | undefined {
    const chat = this.chats.get(id);
    return chat && chat.owner === owner ? chat : undefined;
  }

  delete(id: string, owner: string): boolean {
    if (!this.get(id, owner)) return false;
    this.chats.delete(id);
    return true;
  }

  /** The account's chats, most recently updated first. */
  list(owner: string): StoredChat[] {
    return [...this.chats.values()].filter((c) => c.owner === owner).sort((a, b) => b.updateTime - a.updateTime || (a.id < b.id ? -1 : 1));
  }

  add(chat: StoredChat, message: StoredMessage): void {
    chat.messages.set(message.id, message);
    chat.updateTime = Math.max(chat.updateTime, message.createTime);
    if (message.role === 'assistant') chat.latestId = message.id;
  }

  /** Messages from the root down to `leafId` (inclusive). */
  branch(chat: StoredChat, leafId: string | undefined): StoredMessage[] {
    const out: StoredMessage[] = [];
    const seen = new Set<string>();
    for (let id = leafId; id !== undefined && !seen.has(id); ) {
      seen.add(id);
      const m = chat.messages.get(id);
      if (!m) break;
      out.push(m);
      id = m.parentId;
    }
    return out.reverse();
  }

  /** All messages, newest first (ListMessages order). */
  messagesNewestFirst(chat: StoredChat): StoredMessage[] {
    return [...chat.messages.values()].reverse();
  }
}
