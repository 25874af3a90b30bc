/** In-memory store: for tests and for running without persistence. */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { heldByEarlierRun, TokenMint } from './holder.js';
import type { AccountState, ApiKeyRecord, ConversationRecord, PendingDeletion, RequestLogEntry, Store, StoredResponse } from './store.js';

const clone = <T>(v: T): T => structuredClone(v);

/** Plain code-unit order, the same order SQLite's BINARY collation gives for ids. */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Newest first, then a stable tie-break so listings never shuffle between calls. */
const newestFirst = (a: ConversationRecord, b: ConversationRecord): number =>
  b.updatedAt - a.updatedAt || cmp(a.owner, b.owner) || cmp(a.id, b.id);

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly conversations = new Map<string, ConversationRecord>();
  private readonly locks = new Map<string, { token: string; expiresAt: number }>();
  private readonly deletions = new Map<string, PendingDeletion & { hiddenUntil: number }>();
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly lastStarts = new Map<string, number>();
  private readonly counters = new Map<string, { value: number; expiresAt?: number }>();
  private readonly apiKeys = new Map<string, ApiKeyRecord>();
  private readonly mint = new TokenMint();
  /** In append order; listing sorts by `at`. */
  private requestLog: RequestLogEntry[] = [];
  private readonly accounts = new Map<string, AccountState>();
  private readonly responses = new Map<string, StoredResponse>();

  constructor(private readonly clock: Clock = systemClock) {}

  private static key(owner: string, id: string): string {
    return `${owner}\u0000${id}`;
  }

  async getConversation(owner: string, id: string): Promise<ConversationRecord | undefined> {
    const r = this.conversations.get(MemoryStore.key(owner, id));
    return r && clone(r);
  }

  async saveConversation(record: ConversationRecord): Promise<void> {
    this.conversations.set(MemoryStore.key(record.owner, record.id), clone(record));
  }

  async deleteConversation(owner: string, id: string): Promise<boolean> {
    return this.conversations.delete(MemoryStore.key(owner, id));
  }

  async listConversations(opts: { owner?: string; limit: number; offset?: number }): Promise<ConversationRecord[]> {
    const all = [...this.conversations.values()].filter((c) => opts.owner === undefined || c.owner === opts.owner).sort(newestFirst);
    const start = Math.max(0, opts.offset ?? 0);
    return all.slice(start, start + Math.max(0, opts.limit)).map(clone);
  }

  async findConversationByFingerprint(owner: string, fingerprint: string): Promise<ConversationRecord | undefined> {
    const match = [...this.conversations.values()].filter((c) => c.owner === owner && c.fingerprint === fingerprint).sort(newestFirst)[0];
    return match && clone(match);
  }

  async listIdleImplicitConversations(before: number, limit: number): Promise<ConversationRecord[]> {
    // Oldest first: the janitor should clear the longest-idle conversations first.
    return [...this.conversations.values()]
      .filter((c) => c.implicit === true && c.updatedAt < before)
      .sort((a, b) => a.updatedAt - b.updatedAt || cmp(a.owner, b.owner) || cmp(a.id, b.id))
      .slice(0, Math.max(0, limit))
      .map(clone);
  }

  async adoptIdentity(owner: string): Promise<number> {
    const reclaim = this.mint.adopt(owner);
    let released = 0;
    for (const [key, lock] of this.locks) {
      if (heldByEarlierRun(lock.token, reclaim)) {
        this.locks.delete(key);
        released += 1;
      }
    }
    for (const [key, held] of this.slots) {
      for (const token of held.keys()) {
        if (heldByEarlierRun(token, reclaim)) {
          held.delete(token);
          released += 1;
        }
      }
      if (held.size === 0) this.slots.delete(key);
    }
    return released;
  }

  async tryLock(key: string, ttlMs: number): Promise<string | undefined> {
    const now = this.clock.now();
    const held = this.locks.get(key);
    if (held && held.expiresAt > now) return undefined;
    const token = this.mint.token();
    this.locks.set(key, { token, expiresAt: now + ttlMs });
    return token;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.locks.get(key)?.token === token) this.locks.delete(key);
  }

  async enqueueDeletion(item: Omit<PendingDeletion, 'id' | 'attempts'>): Promise<void> {
    const id = randomUUID();
    const { accountId, protocol, chatId, dueAt } = item;
    this.deletions.set(id, { id, accountId, protocol, chatId, dueAt, attempts: 0, hiddenUntil: 0 });
  }

  async claimDueDeletions(now: number, limit: number, leaseMs: number): Promise<PendingDeletion[]> {
    const due: (PendingDeletion & { hiddenUntil: number })[] = [];
    for (const d of this.deletions.values()) if (d.dueAt <= now && d.hiddenUntil <= now) due.push(d);
    due.sort((a, b) => a.dueAt - b.dueAt);
    const out: PendingDeletion[] = [];
    for (const d of due.slice(0, Math.max(0, limit))) {
      d.hiddenUntil = now + leaseMs;
      d.attempts += 1;
      // A copy (every field is a primitive), so the caller cannot change the queued item.
      const { hiddenUntil: _hidden, ...rest } = d;
      out.push(rest);
    }
    return out;
  }

  async completeDeletion(id: string): Promise<void> {
    this.deletions.delete(id);
  }

  async retryDeletion(id: string, dueAt: number): Promise<void> {
    const d = this.deletions.get(id);
    if (d) {
      d.dueAt = dueAt;
      d.hiddenUntil = 0;
    }
  }

  /** The live leases under `key`, with expired ones dropped first. */
  private liveSlots(key: string): Map<string, number> {
    const now = this.clock.now();
    const held = this.slots.get(key) ?? new Map<string, number>();
    for (const [token, expiresAt] of held) if (expiresAt <= now) held.delete(token);
    if (held.size === 0) this.slots.delete(key);
    return held;
  }

  async acquireSlot(key: string, limit: number, leaseMs: number): Promise<string | undefined> {
    const held = this.liveSlots(key);
    if (held.size >= limit) return undefined;
    const token = this.mint.token();
    held.set(token, this.clock.now() + leaseMs);
    this.slots.set(key, held);
    return token;
  }

  async renewSlot(key: string, token: string, leaseMs: number): Promise<boolean> {
    const held = this.liveSlots(key);
    if (!held.has(token)) return false;
    held.set(token, this.clock.now() + leaseMs);
    return true;
  }

  async releaseSlot(key: string, token: string): Promise<void> {
    const held = this.slots.get(key);
    held?.delete(token);
    if (held?.size === 0) this.slots.delete(key);
  }

  async countSlots(key: string): Promise<number> {
    return this.liveSlots(key).size;
  }

  async reserveStart(key: string, minIntervalMs: number, now: number): Promise<number> {
    const last = this.lastStarts.get(key);
    const start = last === undefined ? now : Math.max(now, last + minIntervalMs);
    this.lastStarts.set(key, start);
    return start;
  }

  async increment(key: string, windowMs?: number): Promise<number> {
    const now = this.clock.now();
    const cur = this.counters.get(key);
    if (cur && (cur.expiresAt === undefined || cur.expiresAt > now)) {
      cur.value += 1;
      return cur.value;
    }
    // The window starts with the first increment; later increments never move it.
    this.counters.set(key, windowMs === undefined ? { value: 1 } : { value: 1, expiresAt: now + windowMs });
    return 1;
  }

  async createApiKey(record: ApiKeyRecord): Promise<void> {
    if (this.apiKeys.has(record.id)) throw new Error(`API key id already exists: ${record.id}`);
    for (const k of this.apiKeys.values()) if (k.hash === record.hash) throw new Error('API key hash already exists');
    this.apiKeys.set(record.id, clone(record));
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    for (const k of this.apiKeys.values()) if (k.hash === hash) return clone(k);
    return undefined;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return [...this.apiKeys.values()].sort((a, b) => a.createdAt - b.createdAt || cmp(a.id, b.id)).map(clone);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    const k = this.apiKeys.get(id);
    if (!k) return false;
    // The first revocation is the one that counts; repeating it changes nothing.
    k.revokedAt ??= at;
    return true;
  }

  async recordApiKeyUsage(id: string, usage: { requests: number; promptTokens: number; completionTokens: number; at: number }): Promise<void> {
    const k = this.apiKeys.get(id);
    if (!k) return;
    k.usage.requests += usage.requests;
    k.usage.promptTokens += usage.promptTokens;
    k.usage.completionTokens += usage.completionTokens;
    k.usage.lastUsedAt = Math.max(k.usage.lastUsedAt ?? usage.at, usage.at);
  }

  async appendRequestLog(entry: RequestLogEntry): Promise<void> {
    this.requestLog.push({ ...entry }); // flat: a spread copies it fully
  }

  /** Newest first; among equal times, the later append first. */
  private sortedLog(): RequestLogEntry[] {
    return [...this.requestLog].reverse().sort((a, b) => b.at - a.at);
  }

  async listRequestLog(opts: { limit: number; before?: number }): Promise<RequestLogEntry[]> {
    const { before } = opts;
    return this.sortedLog()
      .filter((e) => before === undefined || e.at < before)
      .slice(0, Math.max(0, opts.limit))
      .map(clone);
  }

  async pruneRequestLog(opts: { maxEntries: number; olderThan: number }): Promise<void> {
    const keep = new Set(this.sortedLog().filter((e) => e.at >= opts.olderThan).slice(0, Math.max(0, opts.maxEntries)));
    this.requestLog = this.requestLog.filter((e) => keep.has(e));
  }

  async saveResponse(record: StoredResponse): Promise<void> {
    const now = this.clock.now();
    for (const [key, r] of this.responses) if (r.expiresAt <= now) this.responses.delete(key);
    this.responses.set(MemoryStore.key(record.owner, record.id), { ...record });
  }

  async getResponse(owner: string, id: string): Promise<StoredResponse | undefined> {
    const r = this.responses.get(MemoryStore.key(owner, id));
    return r && r.expiresAt > this.clock.now() ? { ...r } : undefined;
  }

  async deleteResponse(owner: string, id: string): Promise<boolean> {
    const live = (await this.getResponse(owner, id)) !== undefined;
    this.responses.delete(MemoryStore.key(owner, id));
    return live;
  }

  async getAccountState(accountId: string): Promise<AccountState | undefined> {
    const s = this.accounts.get(accountId);
    return s && clone(s);
  }

  async saveAccountState(state: AccountState): Promise<void> {
    this.accounts.set(state.accountId, clone(state));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
