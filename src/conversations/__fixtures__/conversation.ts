/** A stored conversation after one turn, and the request that continues it (conversation tests). */
import type { ConversationRecord } from '../../store/store.js';
import type { ChatMessage } from '../messages.js';

/** Conversation `c` of key `key1` on `acct_a`, upstream chat `chat_old`, after one question and answer. */
export const storedConversation = (over: Partial<ConversationRecord> = {}): ConversationRecord => ({
  id: 'c',
  owner: 'key1',
  accountId: 'acct_a',
  protocol: 'rest',
  model: 'kimi-k2',
  upstreamChatId: 'chat_old',
  transcript: [
    { role: 'user', content: 'first question' },
    { role: 'assistant', content: 'first answer' },
  ],
  createdAt: 1,
  updatedAt: 1,
  ...over,
});

/** What a client resends to ask the second question of `storedConversation` (a fresh copy each time). */
export const secondTurn = (): ChatMessage[] => [
  { role: 'user', content: 'first question' },
  { role: 'assistant', content: 'first answer' },
  { role: 'user', content: 'second question' },
];
