/**
 * SQLite store (better-sqlite3, WAL). One file in the data directory holds everything.
 * Calls are synchronous under the hood; the async interface only keeps backends
 * interchangeable. Several processes may share the file: every read-modify-write is one
 * statement or one IMMEDIATE transaction, so they serialize on SQLite's write lock.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { heldByEarlierRun, TokenMint } from './holder.js';
import { migrate } from './sqlite-schema.js';
import {
  apiKeyToRow,
  conversationToRow,
  requestLogToRow,
  rowToAccountState,
  rowToApiKey,
  rowToConversation,
  rowToDeletion,
  rowToRequestLog,
} from './sqlite-rows.js';
import { prepareStatements, type Statements } from './sqlite-statements.js';
import type { AccountState, ApiKeyRecord, ConversationRecord, PendingDeletion, RequestLogEntry, Store, StoredResponse } from './store.js';

export { migrate, MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';

export interface SqliteStoreOptions {
  dataDir: string;
  clock?: Clock;
  /** Database file name inside dataDir. */
  fileName?: string;
}

export const DEFAULT_DB_FILE = 'kimi-proxy.db';
const BUSY_TIMEOUT_MS = 5_000;
/** Expired locks, slots and counters are swept after this many writes to them. */
const SWEEP_EVERY = 500;

/** SQLite's LIMIT treats negatives as "no limit"; the interface means "none". */
const nonNegative = (n: number): number => Math.max(0, Math.floor(n));

/** Owner-only access to a new directory; existing directories are the operator's choice. */
const DIR_MODE = 0o700;
/** Owner-only access to the database (it holds Kimi tokens); SQLite gives its -wal and -shm files the same mode. */
const FILE_MODE = 0o600;

/** The data directory (0700 when created here) and the database file (0600, also when it already existed). */
function createPrivately(dir: string, file: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  closeSync(openSync(file, 'a', FILE_MODE));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, FILE_MODE);
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly q: Statements;
  private readonly claimTx: SqliteStore['claimBody'];
  private readonly acquireSlotTx: SqliteStore['acquireSlotBody'];
  private readonly reserveStartTx: SqliteStore['reserveStartBody'];
  private readonly pruneTx: SqliteStore['pruneBody'];
  private writesSinceSweep = 0;
  private readonly mint = new TokenMint();

  private constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.q = prepareStatements(db);
    this.claimTx = this.transaction(this.claimBody.bind(this));
    this.acquireSlotTx = this.transaction(this.acquireSlotBody.bind(this));
    this.reserveStartTx = this.transaction(this.reserveStartBody.bind(this));
    this.pruneTx = this.transaction(this.pruneBody.bind(this));
  }

  static open(opts: SqliteStoreOptions): SqliteStore {
    const file = join(opts.dataDir, opts.fileName ?? DEFAULT_DB_FILE);
    createPrivately(opts.dataDir, file);
    const clock = opts.clock ?? systemClock;
    const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a commit survives a process crash; only an OS crash or power
      // loss may drop the last transactions, never corrupt the file.
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // No table references another today (owners and accounts live in config), but
      // enforcing keeps any future reference honest.
      db.pragma('foreign_keys = ON');
      migrate(db, clock.now());
      return new SqliteStore(db, clock);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async getConversation(owner: string, id: string): Promise<ConversationRecord | undefined> {
    const row = this.q.getConversation.get(owner, id);
    return row && rowToConversation(row);
  }

  async saveConversation(record: ConversationRecord): Promise<void> {
    // A single statement is its own transaction: a crash leaves the old or the new record.
    this.q.saveConversation.run(conversationToRow(record));
  }

  async deleteConversation(owner: string, id: string): Promise<boolean> {
    return this.q.deleteConversation.run(owner, id).changes > 0;
  }

  async listConversations(opts: { owner?: string; limit: number; offset?: number }): Promise<ConversationRecord[]> {
    const page = { limit: nonNegative(opts.limit), offset: nonNegative(opts.offset ?? 0) };
    const rows =
      opts.owner === undefined ? this.q.listAllConversations.all(page) : this.q.listConversationsOfOwner.all({ ...page, owner: opts.owner });
    return rows.map(rowToConversation);
  }

  async findConversationByFingerprint(owner: string, fingerprint: string): Promise<ConversationRecord | undefined> {
    const row = this.q.findByFingerprint.get(owner, fingerprint);
    return row && rowToConversation(row);
  }

  async listIdleImplicitConversations(before: number, limit: number): Promise<ConversationRecord[]> {
    return this.q.listIdleImplicit.all(before, nonNegative(limit)).map(rowToConversation);
  }

  async adoptIdentity(owner: string): Promise<number> {
    const reclaim = this.mint.adopt(owner);
    // Only tokens of this owner are read (an index range on the prefix), then filtered in JS.
    const release = this.transaction((): number => {
      let released = 0;
      for (const table of ['locks', 'slots'] as const) {
        const rows = this.q.tokensWithPrefix[table].all(reclaim.ownerPrefix, `${reclaim.ownerPrefix}\uffff`);
        for (const { key, token } of rows) {
          if (heldByEarlierRun(token, reclaim)) released += this.q.deleteToken[table].run(key, token).changes;
        }
      }
      return released;
    });
    return release();
  }

  async tryLock(key: string, ttlMs: number): Promise<string | undefined> {
    const now = this.clock.now();
    this.sweepSometimes(now);
    const token = this.mint.token();
    const { changes } = this.q.tryLock.run({ key, token, expires_at: now + ttlMs, now });
    return changes > 0 ? token : undefined;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    this.q.releaseLock.run(key, token);
  }

  async enqueueDeletion(item: Omit<PendingDeletion, 'id' | 'attempts'>): Promise<void> {
    this.q.enqueueDeletion.run({ id: randomUUID(), account_id: item.accountId, protocol: item.protocol, chat_id: item.chatId, due_at: item.dueAt });
  }

  private claimBody(now: number, limit: number, leaseMs: number): PendingDeletion[] {
    const rows = this.q.dueDeletions.all({ now, limit: nonNegative(limit) });
    for (const row of rows) this.q.leaseDeletion.run(now + leaseMs, row.id);
    return rows.map((row) => rowToDeletion({ ...row, attempts: row.attempts + 1 }));
  }

  async claimDueDeletions(now: number, limit: number, leaseMs: number): Promise<PendingDeletion[]> {
    return this.claimTx(now, limit, leaseMs);
  }

  async completeDeletion(id: string): Promise<void> {
    this.q.completeDeletion.run(id);
  }

  async retryDeletion(id: string, dueAt: number): Promise<void> {
    this.q.retryDeletion.run(dueAt, id);
  }

  private acquireSlotBody(key: string, limit: number, leaseMs: number): string | undefined {
    const now = this.clock.now();
    this.q.purgeSlots.run(key, now);
    const held = this.q.countSlots.get(key, now)?.n ?? 0;
    if (held >= limit) return undefined;
    const token = this.mint.token();
    this.q.insertSlot.run(key, token, now + leaseMs);
    return token;
  }

  async acquireSlot(key: string, limit: number, leaseMs: number): Promise<string | undefined> {
    return this.acquireSlotTx(key, limit, leaseMs);
  }

  async renewSlot(key: string, token: string, leaseMs: number): Promise<boolean> {
    const now = this.clock.now();
    return this.q.renewSlot.run({ key, token, expires_at: now + leaseMs, now }).changes > 0;
  }

  async releaseSlot(key: string, token: string): Promise<void> {
    this.q.releaseSlot.run(key, token);
  }

  async countSlots(key: string): Promise<number> {
    return this.q.countSlots.get(key, this.clock.now())?.n ?? 0;
  }

  private reserveStartBody(key: string, minIntervalMs: number, now: number): number {
    const last = this.q.lastStart.get(key)?.last_start;
    const start = last === undefined ? now : Math.max(now, last + minIntervalMs);
    this.q.setLastStart.run(key, start);
    return start;
  }

  async reserveStart(key: string, minIntervalMs: number, now: number): Promise<number> {
    return this.reserveStartTx(key, minIntervalMs, now);
  }

  async increment(key: string, windowMs?: number): Promise<number> {
    const now = this.clock.now();
    this.sweepSometimes(now);
    const expires_at = windowMs === undefined ? null : now + windowMs;
    const row = this.q.increment.get({ key, expires_at, now });
    if (!row) throw new Error('counter upsert returned no row');
    return row.value;
  }

  async createApiKey(record: ApiKeyRecord): Promise<void> {
    this.q.createApiKey.run(apiKeyToRow(record));
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.q.apiKeyByHash.get(hash);
    return row && rowToApiKey(row);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.q.listApiKeys.all().map(rowToApiKey);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    return this.q.revokeApiKey.run(at, id).changes > 0;
  }

  async recordApiKeyUsage(id: string, usage: { requests: number; promptTokens: number; completionTokens: number; at: number }): Promise<void> {
    this.q.recordApiKeyUsage.run({
      id,
      requests: usage.requests,
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      at: usage.at,
    });
  }

  async appendRequestLog(entry: RequestLogEntry): Promise<void> {
    this.q.appendRequestLog.run(requestLogToRow(entry));
  }

  async listRequestLog(opts: { limit: number; before?: number }): Promise<RequestLogEntry[]> {
    const limit = nonNegative(opts.limit);
    const rows = opts.before === undefined ? this.q.listRequestLog.all(limit) : this.q.listRequestLogBefore.all(opts.before, limit);
    return rows.map(rowToRequestLog);
  }

  private pruneBody(maxEntries: number, olderThan: number): void {
    this.q.pruneRequestLogByAge.run(olderThan);
    this.q.pruneRequestLogByCount.run(nonNegative(maxEntries));
  }

  async pruneRequestLog(opts: { maxEntries: number; olderThan: number }): Promise<void> {
    this.pruneTx(opts.maxEntries, opts.olderThan);
  }

  async saveResponse(record: StoredResponse): Promise<void> {
    const now = this.clock.now();
    this.db.transaction(() => {
      this.q.deleteExpiredResponses.run(now);
      this.q.saveResponse.run({ owner: record.owner, id: record.id, body: record.body, created_at: record.createdAt, expires_at: record.expiresAt });
    })();
  }

  async getResponse(owner: string, id: string): Promise<StoredResponse | undefined> {
    const row = this.q.getResponse.get(owner, id, this.clock.now());
    return row && { owner: row.owner, id: row.id, body: row.body, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  async deleteResponse(owner: string, id: string): Promise<boolean> {
    return this.q.deleteResponse.run(owner, id, this.clock.now()).changes > 0;
  }

  async getAccountState(accountId: string): Promise<AccountState | undefined> {
    const row = this.q.getAccountState.get(accountId);
    return row && rowToAccountState(row);
  }

  async saveAccountState(state: AccountState): Promise<void> {
    this.q.saveAccountState.run(state.accountId, JSON.stringify(state), state.updatedAt);
  }

  async ping(): Promise<void> {
    this.q.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * Wraps `fn` in a transaction that takes the write lock up front (IMMEDIATE), so two
   * processes cannot both read the old value before either writes.
   */
  private transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const tx = this.db.transaction(fn);
    return (...args: A) => tx.immediate(...args);
  }

  /** Locks, slots and counters are read lazily against `now`; this only reclaims space. */
  private sweepSometimes(now: number): void {
    if (++this.writesSinceSweep < SWEEP_EVERY) return;
    this.writesSinceSweep = 0;
    this.q.purgeLocks.run(now);
    this.q.purgeAllSlots.run(now);
    this.q.purgeCounters.run(now);
  }
}
