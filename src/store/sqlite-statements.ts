/**
 * Every SQL statement the SQLite store runs, prepared once per connection. Times are
 * always passed in (`@now`) rather than read from SQLite, so an injected clock governs
 * every expiry.
 */
import type Database from 'better-sqlite3';
import type { AccountStateRow, ApiKeyRow, ConversationRow, DeletionRow, RequestLogRow, ResponseRow } from './sqlite-rows.js';

const CONVERSATION_COLUMNS =
  'owner, id, account_id, protocol, model, upstream_chat_id, last_assistant_message_id, transcript, implicit, fingerprint, created_at, updated_at';

export function prepareStatements(db: Database) {
  return {
    getConversation: db.prepare<ConversationRow>(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? AND id = ?`),
    saveConversation: db.prepare(
      `INSERT OR REPLACE INTO conversations (${CONVERSATION_COLUMNS})
       VALUES (@owner, @id, @account_id, @protocol, @model, @upstream_chat_id, @last_assistant_message_id,
               @transcript, @implicit, @fingerprint, @created_at, @updated_at)`,
    ),
    deleteConversation: db.prepare('DELETE FROM conversations WHERE owner = ? AND id = ?'),
    listConversationsOfOwner: db.prepare<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner = @owner
       ORDER BY updated_at DESC, id LIMIT @limit OFFSET @offset`,
    ),
    listAllConversations: db.prepare<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations
       ORDER BY updated_at DESC, owner, id LIMIT @limit OFFSET @offset`,
    ),
    findByFingerprint: db.prepare<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? AND fingerprint = ?
       ORDER BY updated_at DESC, id LIMIT 1`,
    ),
    listIdleImplicit: db.prepare<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE implicit = 1 AND updated_at < ?
       ORDER BY updated_at, owner, id LIMIT ?`,
    ),

    // One upsert: inserts a free key, or takes over a key whose holder's lease ran out.
    tryLock: db.prepare(
      `INSERT INTO locks (key, token, expires_at) VALUES (@key, @token, @expires_at)
       ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
       WHERE locks.expires_at <= @now`,
    ),
    releaseLock: db.prepare('DELETE FROM locks WHERE key = ? AND token = ?'),
    // Tokens in [prefix, prefix + U+FFFF): every token that starts with the prefix.
    tokensWithPrefix: {
      locks: db.prepare<{ key: string; token: string }>('SELECT key, token FROM locks WHERE token >= ? AND token < ?'),
      slots: db.prepare<{ key: string; token: string }>('SELECT key, token FROM slots WHERE token >= ? AND token < ?'),
    },
    deleteToken: {
      locks: db.prepare('DELETE FROM locks WHERE key = ? AND token = ?'),
      slots: db.prepare('DELETE FROM slots WHERE key = ? AND token = ?'),
    },
    purgeLocks: db.prepare('DELETE FROM locks WHERE expires_at <= ?'),

    enqueueDeletion: db.prepare(
      `INSERT INTO pending_deletions (id, account_id, protocol, chat_id, due_at, attempts, hidden_until)
       VALUES (@id, @account_id, @protocol, @chat_id, @due_at, 0, 0)`,
    ),
    dueDeletions: db.prepare<DeletionRow>(
      `SELECT id, account_id, protocol, chat_id, due_at, attempts FROM pending_deletions
       WHERE due_at <= @now AND hidden_until <= @now ORDER BY due_at, rowid LIMIT @limit`,
    ),
    leaseDeletion: db.prepare('UPDATE pending_deletions SET hidden_until = ?, attempts = attempts + 1 WHERE id = ?'),
    completeDeletion: db.prepare('DELETE FROM pending_deletions WHERE id = ?'),
    retryDeletion: db.prepare('UPDATE pending_deletions SET due_at = ?, hidden_until = 0 WHERE id = ?'),

    purgeSlots: db.prepare('DELETE FROM slots WHERE key = ? AND expires_at <= ?'),
    purgeAllSlots: db.prepare('DELETE FROM slots WHERE expires_at <= ?'),
    countSlots: db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM slots WHERE key = ? AND expires_at > ?'),
    insertSlot: db.prepare('INSERT INTO slots (key, token, expires_at) VALUES (?, ?, ?)'),
    renewSlot: db.prepare('UPDATE slots SET expires_at = @expires_at WHERE key = @key AND token = @token AND expires_at > @now'),
    releaseSlot: db.prepare('DELETE FROM slots WHERE key = ? AND token = ?'),

    lastStart: db.prepare<{ last_start: number }>('SELECT last_start FROM start_reservations WHERE key = ?'),
    setLastStart: db.prepare(
      `INSERT INTO start_reservations (key, last_start) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET last_start = excluded.last_start`,
    ),

    // One upsert: an expired counter restarts at 1 with a new window; a live one counts up
    // and keeps the window of its first increment.
    increment: db.prepare<{ value: number }>(
      `INSERT INTO counters (key, value, expires_at) VALUES (@key, 1, @expires_at)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN counters.expires_at <= @now THEN 1 ELSE counters.value + 1 END,
         expires_at = CASE WHEN counters.expires_at <= @now THEN excluded.expires_at ELSE counters.expires_at END
       RETURNING value`,
    ),
    purgeCounters: db.prepare('DELETE FROM counters WHERE expires_at <= ?'),

    createApiKey: db.prepare(
      `INSERT INTO api_keys (id, name, hash, prefix, created_at, expires_at, revoked_at, allowed_models,
         rate_limit_per_minute, max_concurrent_streams, usage_requests, usage_prompt_tokens,
         usage_completion_tokens, usage_last_used_at)
       VALUES (@id, @name, @hash, @prefix, @created_at, @expires_at, @revoked_at, @allowed_models,
         @rate_limit_per_minute, @max_concurrent_streams, @usage_requests, @usage_prompt_tokens,
         @usage_completion_tokens, @usage_last_used_at)`,
    ),
    apiKeyByHash: db.prepare<ApiKeyRow>('SELECT * FROM api_keys WHERE hash = ?'),
    listApiKeys: db.prepare<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'),
    revokeApiKey: db.prepare('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?'),
    recordApiKeyUsage: db.prepare(
      `UPDATE api_keys SET
         usage_requests = usage_requests + @requests,
         usage_prompt_tokens = usage_prompt_tokens + @prompt_tokens,
         usage_completion_tokens = usage_completion_tokens + @completion_tokens,
         usage_last_used_at = MAX(COALESCE(usage_last_used_at, @at), @at)
       WHERE id = @id`,
    ),

    appendRequestLog: db.prepare(
      `INSERT INTO request_log (id, at, request_id, key_name, model, account_name, protocol, conversation_id,
         stream, status, ttfb_ms, duration_ms, prompt_tokens, completion_tokens, error_code, upstream_code, failed_attempts, auxiliary)
       VALUES (@id, @at, @request_id, @key_name, @model, @account_name, @protocol, @conversation_id,
         @stream, @status, @ttfb_ms, @duration_ms, @prompt_tokens, @completion_tokens, @error_code, @upstream_code, @failed_attempts, @auxiliary)`,
    ),
    listRequestLog: db.prepare<RequestLogRow>('SELECT * FROM request_log ORDER BY at DESC, rowid DESC LIMIT ?'),
    listRequestLogBefore: db.prepare<RequestLogRow>('SELECT * FROM request_log WHERE at < ? ORDER BY at DESC, rowid DESC LIMIT ?'),
    pruneRequestLogByAge: db.prepare('DELETE FROM request_log WHERE at < ?'),
    pruneRequestLogByCount: db.prepare(
      `DELETE FROM request_log WHERE rowid IN (
         SELECT rowid FROM request_log ORDER BY at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
    ),

    saveResponse: db.prepare(
      `INSERT OR REPLACE INTO responses (owner, id, body, created_at, expires_at) VALUES (@owner, @id, @body, @created_at, @expires_at)`,
    ),
    getResponse: db.prepare<ResponseRow>('SELECT owner, id, body, created_at, expires_at FROM responses WHERE owner = ? AND id = ? AND expires_at > ?'),
    deleteResponse: db.prepare('DELETE FROM responses WHERE owner = ? AND id = ? AND expires_at > ?'),
    deleteExpiredResponses: db.prepare('DELETE FROM responses WHERE expires_at <= ?'),
    getAccountState: db.prepare<AccountStateRow>('SELECT state FROM account_state WHERE account_id = ?'),
    saveAccountState: db.prepare(
      `INSERT INTO account_state (account_id, state, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
    ),

    ping: db.prepare<{ one: number }>('SELECT 1 AS one'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
