/**
 * The one persistence interface. Every backend (memory, SQLite, Redis) implements it and
 * passes the same contract suite (store.contract.ts).
 */
import type { ToolCall } from '../core/chat-event.js';
import type { FailedAttempt, RequestLogEntry } from '../core/request-log-entry.js';
import type { KimiProtocol } from '../upstream/kimi/types.js';

export type { FailedAttempt, RequestLogEntry };

/** An attachment as a transcript remembers it: what it was, never its bytes. */
export interface StoredAttachment {
  name: string;
  mime: string;
  kind: 'image' | 'document';
  sha256: string;
  size: number;
}

export interface TranscriptMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Connect: the upstream message id of an assistant turn (a branch point for edited history). */
  upstreamId?: string;
  /** Assistant turns: the function calls the reply made. */
  toolCalls?: ToolCall[];
  /** Tool results: the call answered. */
  toolCallId?: string;
  /** Images and documents sent with the message (their bytes are kept apart, attachments/kept-files.ts). */
  attachments?: StoredAttachment[];
}

export interface ConversationRecord {
  id: string;
  /** Who may use it: the API key's id ('' when the proxy runs without keys). */
  owner: string;
  accountId: string;
  protocol: KimiProtocol;
  model: string;
  upstreamChatId: string;
  /** Connect: the last assistant message id (next turn's parent_id). */
  lastAssistantMessageId?: string;
  /** Messages sent and received, in order. */
  transcript: TranscriptMessage[];
  /** Created implicitly from a stateless request (history reuse); deleted after an idle TTL. */
  implicit?: boolean;
  /**
   * Hash of the transcript as a client would resend it (see conversations/fingerprint.ts):
   * lets a stateless request that repeats this history continue the upstream chat.
   */
  fingerprint?: string;
  createdAt: number;
  updatedAt: number;
}

/** An upstream chat that still has to be deleted (temporary chats, deleted conversations). */
export interface PendingDeletion {
  id: string;
  accountId: string;
  protocol: KimiProtocol;
  chatId: string;
  dueAt: number;
  attempts: number;
}

/** Runtime state of an account that must survive restarts. */
export interface AccountState {
  accountId: string;
  /** Rotated refresh token, when the upstream issued a new one. */
  refreshToken?: string;
  accessToken?: string;
  accessTokenExpiresAt?: number;
  health?: string;
  cooldownUntil?: number;
  lastError?: string;
  updatedAt: number;
}

/** A client API key as stored: only its hash, never the key. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** sha256 hex of the key. */
  hash: string;
  /** First characters of the key, for recognising it in listings. */
  prefix: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  /** Model ids this key may use; absent = all. */
  allowedModels?: string[];
  rateLimitPerMinute?: number;
  maxConcurrentStreams?: number;
  usage: { requests: number; promptTokens: number; completionTokens: number; lastUsedAt?: number };
}

/**
 * A stored Responses API response. The store keeps the door's own record as JSON in `body`;
 * `expiresAt` is judged against the injected clock.
 */
export interface StoredResponse {
  id: string;
  /** Who may read, continue or delete it: the API key's id ('' without keys). */
  owner: string;
  body: string;
  createdAt: number;
  /** From this time on the response is gone: reads answer undefined. */
  expiresAt: number;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'redis';

  getConversation(owner: string, id: string): Promise<ConversationRecord | undefined>;
  saveConversation(record: ConversationRecord): Promise<void>;
  deleteConversation(owner: string, id: string): Promise<boolean>;
  /** Newest first. `owner` undefined = all owners (admin). */
  listConversations(opts: { owner?: string; limit: number; offset?: number }): Promise<ConversationRecord[]>;

  /** The newest conversation of `owner` whose fingerprint is `fingerprint`. */
  findConversationByFingerprint(owner: string, fingerprint: string): Promise<ConversationRecord | undefined>;
  /** Implicit conversations not updated since `before` (for the idle-TTL janitor). */
  listIdleImplicitConversations(before: number, limit: number): Promise<ConversationRecord[]>;

  /**
   * Tries to take an exclusive lock for `ttlMs`. Returns a token to release it with, or
   * undefined when someone else holds it. A lock whose holder died expires by itself.
   */
  tryLock(key: string, ttlMs: number): Promise<string | undefined>;
  releaseLock(key: string, token: string): Promise<void>;

  enqueueDeletion(item: Omit<PendingDeletion, 'id' | 'attempts'>): Promise<void>;
  /** Takes up to `limit` due deletions; each is hidden from other claimers for `leaseMs`. */
  claimDueDeletions(now: number, limit: number, leaseMs: number): Promise<PendingDeletion[]>;
  completeDeletion(id: string): Promise<void>;
  /** Puts a claimed deletion back for a later attempt. */
  retryDeletion(id: string, dueAt: number): Promise<void>;

  /**
   * Counting semaphore with leases: takes one of `limit` slots under `key` for `leaseMs`.
   * Returns a slot token, or undefined when all slots are taken. Expired leases (a crashed
   * holder) free their slot by themselves.
   */
  acquireSlot(key: string, limit: number, leaseMs: number): Promise<string | undefined>;
  /** Extends a held slot's lease; false when it had already expired (and may be reused). */
  renewSlot(key: string, token: string, leaseMs: number): Promise<boolean>;
  releaseSlot(key: string, token: string): Promise<void>;
  /** Slots currently held (unexpired) under `key`. */
  countSlots(key: string): Promise<number>;

  /**
   * Reserves the next start time under `key` with at least `minIntervalMs` between starts.
   * Returns when this caller may start (>= now). Atomic: two callers never get the same slot.
   */
  reserveStart(key: string, minIntervalMs: number, now: number): Promise<number>;

  /** Atomic increment; with `windowMs`, the counter expires that long after its first increment. */
  increment(key: string, windowMs?: number): Promise<number>;

  createApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; false when no such key. */
  revokeApiKey(id: string, at: number): Promise<boolean>;
  recordApiKeyUsage(id: string, usage: { requests: number; promptTokens: number; completionTokens: number; at: number }): Promise<void>;

  appendRequestLog(entry: RequestLogEntry): Promise<void>;
  /** Newest first. */
  listRequestLog(opts: { limit: number; before?: number }): Promise<RequestLogEntry[]>;
  /** Keeps at most `maxEntries` entries and none older than `olderThan`. */
  pruneRequestLog(opts: { maxEntries: number; olderThan: number }): Promise<void>;

  /** Saves (or replaces) a response; expired ones may be removed at the same time. */
  saveResponse(record: StoredResponse): Promise<void>;
  /** The response, or undefined when there is none or it has expired. */
  getResponse(owner: string, id: string): Promise<StoredResponse | undefined>;
  /** False when there was no such (unexpired) response. */
  deleteResponse(owner: string, id: string): Promise<boolean>;

  getAccountState(accountId: string): Promise<AccountState | undefined>;
  saveAccountState(state: AccountState): Promise<void>;

  /**
   * Names this instance (INSTANCE_ID, by default host:port). Locks and slots taken from now on
   * carry the name and this run's id, and those an earlier run under the same name left
   * behind (a crash, kill -9) are released at once. Returns how many were released.
   */
  adoptIdentity(owner: string): Promise<number>;

  /** Cheap reachability check for /health/ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
