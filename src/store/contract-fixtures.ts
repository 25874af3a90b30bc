/** Shared context and record builders for the store contract suite. */
import type { FakeClock } from './fake-clock.js';
import type { AccountState, ApiKeyRecord, ConversationRecord, RequestLogEntry, Store } from './store.js';

export interface ContractContext {
  store: Store;
  clock: FakeClock;
}

/** Returns the current test's store and clock (a fresh pair per test). */
export type UseContext = () => ContractContext;

/** A conversation with only the required fields, unless overridden. */
export function conversation(over: Partial<ConversationRecord> & { id: string; updatedAt: number }): ConversationRecord {
  return {
    owner: 'owner-a',
    accountId: 'acct-1',
    protocol: 'rest',
    model: 'kimi-k2',
    upstreamChatId: `chat-${over.id}`,
    transcript: [{ role: 'user', content: `hello from ${over.id}` }],
    createdAt: over.updatedAt,
    ...over,
  };
}

/** A conversation with every optional field set. */
export function fullConversation(id: string, at: number): ConversationRecord {
  return conversation({
    id,
    owner: 'owner-full',
    protocol: 'connect',
    lastAssistantMessageId: 'msg-42',
    transcript: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'Grüße, 你好 "quoted" \\ and\nnewline' },
      { role: 'assistant', content: 'hi' },
    ],
    implicit: true,
    fingerprint: 'fp-full',
    createdAt: at - 1_000,
    updatedAt: at,
  });
}

export function apiKey(over: Partial<ApiKeyRecord> & { id: string }): ApiKeyRecord {
  return {
    name: `key ${over.id}`,
    hash: `hash-${over.id}`,
    prefix: `sk-${over.id.slice(0, 4)}`,
    createdAt: 1_700_000_000_000,
    usage: { requests: 0, promptTokens: 0, completionTokens: 0 },
    ...over,
  };
}

export function logEntry(over: Partial<RequestLogEntry> & { id: string; at: number }): RequestLogEntry {
  return {
    requestId: `req-${over.id}`,
    stream: false,
    status: 200,
    durationMs: 12,
    ...over,
  };
}

export function accountState(over: Partial<AccountState> & { accountId: string; updatedAt: number }): AccountState {
  return { ...over };
}

/** Ids of records, for order-sensitive comparisons. */
export const ids = (records: readonly { id: string }[]): string[] => records.map((r) => r.id);
