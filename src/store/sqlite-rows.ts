/**
 * Row shapes of the SQLite tables and their mapping to the store's records. Optional
 * fields are stored as NULL and come back absent (never as `undefined` or `null` keys),
 * so a round trip yields a record equal to the one saved.
 */
import { requestLogView, type RequestLogView } from '../core/request-log-entry.js';
import type { KimiProtocol } from '../upstream/kimi/types.js';
import type { AccountState, ApiKeyRecord, ConversationRecord, FailedAttempt, PendingDeletion, RequestLogEntry, TranscriptMessage } from './store.js';

/** Copies `value` into `target[key]` only when it is present. */
function setIf<T, K extends keyof T>(target: T, key: K, value: T[K] | null | undefined): void {
  if (value !== null && value !== undefined) target[key] = value;
}

export interface ConversationRow {
  owner: string;
  id: string;
  account_id: string;
  protocol: string;
  model: string;
  upstream_chat_id: string;
  last_assistant_message_id: string | null;
  transcript: string;
  implicit: number | null;
  fingerprint: string | null;
  created_at: number;
  updated_at: number;
}

export function conversationToRow(r: ConversationRecord): ConversationRow {
  return {
    owner: r.owner,
    id: r.id,
    account_id: r.accountId,
    protocol: r.protocol,
    model: r.model,
    upstream_chat_id: r.upstreamChatId,
    last_assistant_message_id: r.lastAssistantMessageId ?? null,
    transcript: JSON.stringify(r.transcript),
    implicit: r.implicit === undefined ? null : r.implicit ? 1 : 0,
    fingerprint: r.fingerprint ?? null,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

export function rowToConversation(row: ConversationRow): ConversationRecord {
  const r: ConversationRecord = {
    id: row.id,
    owner: row.owner,
    accountId: row.account_id,
    protocol: row.protocol as KimiProtocol,
    model: row.model,
    upstreamChatId: row.upstream_chat_id,
    transcript: JSON.parse(row.transcript) as TranscriptMessage[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  setIf(r, 'lastAssistantMessageId', row.last_assistant_message_id);
  // NULL keeps an absent flag distinct from an explicit `false`.
  if (row.implicit !== null) r.implicit = row.implicit === 1;
  setIf(r, 'fingerprint', row.fingerprint);
  return r;
}

export interface DeletionRow {
  id: string;
  account_id: string;
  protocol: string;
  chat_id: string;
  due_at: number;
  attempts: number;
}

export function rowToDeletion(row: DeletionRow): PendingDeletion {
  return {
    id: row.id,
    accountId: row.account_id,
    protocol: row.protocol as KimiProtocol,
    chatId: row.chat_id,
    dueAt: row.due_at,
    attempts: row.attempts,
  };
}

export interface AccountStateRow {
  state: string;
}

export function rowToAccountState(row: AccountStateRow): AccountState {
  return JSON.parse(row.state) as AccountState;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  hash: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  allowed_models: string | null;
  rate_limit_per_minute: number | null;
  max_concurrent_streams: number | null;
  usage_requests: number;
  usage_prompt_tokens: number;
  usage_completion_tokens: number;
  usage_last_used_at: number | null;
}

export function apiKeyToRow(k: ApiKeyRecord): ApiKeyRow {
  return {
    id: k.id,
    name: k.name,
    hash: k.hash,
    prefix: k.prefix,
    created_at: k.createdAt,
    expires_at: k.expiresAt ?? null,
    revoked_at: k.revokedAt ?? null,
    allowed_models: k.allowedModels === undefined ? null : JSON.stringify(k.allowedModels),
    rate_limit_per_minute: k.rateLimitPerMinute ?? null,
    max_concurrent_streams: k.maxConcurrentStreams ?? null,
    usage_requests: k.usage.requests,
    usage_prompt_tokens: k.usage.promptTokens,
    usage_completion_tokens: k.usage.completionTokens,
    usage_last_used_at: k.usage.lastUsedAt ?? null,
  };
}

export function rowToApiKey(row: ApiKeyRow): ApiKeyRecord {
  const k: ApiKeyRecord = {
    id: row.id,
    name: row.name,
    hash: row.hash,
    prefix: row.prefix,
    createdAt: row.created_at,
    usage: { requests: row.usage_requests, promptTokens: row.usage_prompt_tokens, completionTokens: row.usage_completion_tokens },
  };
  setIf(k, 'expiresAt', row.expires_at);
  setIf(k, 'revokedAt', row.revoked_at);
  if (row.allowed_models !== null) k.allowedModels = JSON.parse(row.allowed_models) as string[];
  setIf(k, 'rateLimitPerMinute', row.rate_limit_per_minute);
  setIf(k, 'maxConcurrentStreams', row.max_concurrent_streams);
  setIf(k.usage, 'lastUsedAt', row.usage_last_used_at);
  return k;
}

/** The admin API's view under the same column names; SQLite has no booleans or arrays. */
export type RequestLogRow = Omit<RequestLogView, 'stream' | 'failed_attempts'> & {
  stream: number;
  /** JSON array of FailedAttempt. */
  failed_attempts: string | null;
};

export function requestLogToRow(e: RequestLogEntry): RequestLogRow {
  return {
    ...requestLogView(e),
    stream: e.stream ? 1 : 0,
    failed_attempts: e.failedAttempts === undefined ? null : JSON.stringify(e.failedAttempts),
  };
}

export function rowToRequestLog(row: RequestLogRow): RequestLogEntry {
  const e: RequestLogEntry = {
    id: row.id,
    at: row.at,
    requestId: row.request_id,
    stream: row.stream === 1,
    status: row.status,
    durationMs: row.duration_ms,
  };
  setIf(e, 'keyName', row.key_name);
  setIf(e, 'model', row.model);
  setIf(e, 'accountName', row.account_name);
  setIf(e, 'protocol', row.protocol);
  setIf(e, 'conversationId', row.conversation_id);
  setIf(e, 'ttfbMs', row.ttfb_ms);
  setIf(e, 'promptTokens', row.prompt_tokens);
  setIf(e, 'completionTokens', row.completion_tokens);
  setIf(e, 'errorCode', row.error_code);
  setIf(e, 'upstreamCode', row.upstream_code);
  if (row.failed_attempts !== null) e.failedAttempts = JSON.parse(row.failed_attempts) as FailedAttempt[];
  setIf(e, 'auxiliary', row.auxiliary);
  return e;
}

export interface ResponseRow {
  owner: string;
  id: string;
  body: string;
  created_at: number;
  expires_at: number;
}
