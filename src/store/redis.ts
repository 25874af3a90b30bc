/**
 * Redis store: lets several proxy instances share conversations, account state, limits and
 * locks. Every read-modify-write is one Lua script (redis-scripts.ts), so two instances
 * never interleave inside one; every expiry is judged against the injected clock, whose
 * `now` is passed into the scripts. Keys that can expire also get a generous real TTL
 * (PEXPIRE) so that nothing a crashed instance left behind stays forever. The key layout
 * is described in redis-keys.ts.
 *
 * When Redis is unreachable every call fails at once (or after the command timeout) with
 * ProxyError('store_unavailable'); the client reconnects in the background and the same
 * store works again when Redis is back.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import { apiKeyFromFields, apiKeyToFields, deletionFromRow, nonNegative, num, stringList, ttlArg } from './redis-codec.js';
import { createClient, sanitizeError, storeError, waitUntilReady, type ConnectionTuning } from './redis-connection.js';
import { DEFAULT_REDIS_PREFIX, RedisKeys } from './redis-keys.js';
import { SCRIPTS, type LuaScript } from './redis-scripts.js';
import type { AccountState, ApiKeyRecord, ConversationRecord, PendingDeletion, RequestLogEntry, Store, StoredResponse } from './store.js';
import { TokenMint } from './holder.js';

export { DEFAULT_REDIS_PREFIX } from './redis-keys.js';

export interface RedisStoreOptions extends Partial<ConnectionTuning> {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url: string;
  /** Namespace of every key; deployments sharing one Redis need different prefixes. Default `kimi-proxy:`. */
  prefix?: string;
  clock?: Clock;
  /** Hard cap on request log entries, enforced on append (pruneRequestLog usually keeps far fewer). Default 100,000. */
  requestLogMaxEntries?: number;
  /** Real TTL of the request log, renewed on every append. Default 30 days. */
  requestLogTtlMs?: number;
  /** Connection errors seen by the background reconnect loop (already stripped to name and message). */
  onConnectionError?: (err: Error) => void;
}

export const REDIS_DEFAULTS = {
  connectTimeoutMs: 2_000,
  commandTimeoutMs: 1_000,
  maxReconnectDelayMs: 1_000,
  requestLogMaxEntries: 100_000,
  requestLogTtlMs: 30 * 24 * 3_600_000,
};

type ResolvedOptions = RedisStoreOptions & typeof REDIS_DEFAULTS;

/** Added to every real TTL: a key outlives its logical expiry by at least this much. */
const TTL_MARGIN_MS = 60_000;
/** Real TTL of a key whose logical lifetime is `ms`: twice that plus the margin. */
const generous = (ms: number): string => ttlArg(2 * Math.max(0, ms) + TTL_MARGIN_MS);

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly keys: RedisKeys;
  private closed = false;
  private readonly mint = new TokenMint();

  private constructor(
    private readonly client: Redis,
    private readonly clock: Clock,
    private readonly opts: ResolvedOptions,
  ) {
    this.keys = new RedisKeys(opts.prefix ?? DEFAULT_REDIS_PREFIX);
  }

  /** Connects and waits for Redis (up to connectTimeoutMs); rejects with store_unavailable when it cannot. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const opts: ResolvedOptions = { ...REDIS_DEFAULTS, ...definedOnly(options), url: options.url };
    const client = createClient(opts.url, opts);
    // Without a listener, ioredis prints every reconnect failure to the console.
    client.on('error', (err: Error) => opts.onConnectionError?.(sanitizeError(err)));
    try {
      await waitUntilReady(client, opts.connectTimeoutMs);
    } catch (err) {
      client.disconnect();
      throw err;
    }
    return new RedisStore(client, opts.clock ?? systemClock, opts);
  }

  /** Whether the client is connected right now (it reconnects by itself when not). */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  async getConversation(owner: string, id: string): Promise<ConversationRecord | undefined> {
    const json = await this.io('getConversation', () => this.client.hget(this.keys.conversation(owner, id), 'json'));
    return json === null ? undefined : (JSON.parse(json) as ConversationRecord);
  }

  async saveConversation(record: ConversationRecord): Promise<void> {
    const { owner, id, updatedAt, implicit, fingerprint } = record;
    await this.script(SCRIPTS.saveConversation, this.conversationKeys(owner, id), [
      this.keys.prefix,
      owner,
      id,
      JSON.stringify(record),
      num(-updatedAt),
      num(updatedAt),
      implicit === true ? '1' : '0',
      fingerprint === undefined ? '0' : '1',
      fingerprint ?? '',
    ]);
  }

  async deleteConversation(owner: string, id: string): Promise<boolean> {
    return (await this.script(SCRIPTS.deleteConversation, this.conversationKeys(owner, id), [this.keys.prefix, owner, id])) === 1;
  }

  async listConversations(opts: { owner?: string; limit: number; offset?: number }): Promise<ConversationRecord[]> {
    const limit = nonNegative(opts.limit);
    if (limit === 0) return [];
    const first = nonNegative(opts.offset ?? 0);
    const ranks = [num(first), num(first + limit - 1)];
    const reply =
      opts.owner === undefined
        ? await this.script(SCRIPTS.listConversationsByMember, [this.keys.allIndex], [this.keys.prefix, 'rank', ...ranks])
        : await this.script(SCRIPTS.listConversationsOfOwner, [this.keys.ownerIndex(opts.owner)], [this.keys.prefix, opts.owner, ...ranks]);
    return parseAll<ConversationRecord>(reply, 'conversations');
  }

  async findConversationByFingerprint(owner: string, fingerprint: string): Promise<ConversationRecord | undefined> {
    const reply = await this.script(SCRIPTS.findConversationByFingerprint, [this.keys.fingerprintIndex(owner, fingerprint)], [this.keys.prefix, owner]);
    return typeof reply === 'string' ? (JSON.parse(reply) as ConversationRecord) : undefined;
  }

  async listIdleImplicitConversations(before: number, limit: number): Promise<ConversationRecord[]> {
    const n = nonNegative(limit);
    if (n === 0) return [];
    const reply = await this.script(SCRIPTS.listConversationsByMember, [this.keys.implicitIndex], [this.keys.prefix, 'before', `(${num(before)}`, num(n)]);
    return parseAll<ConversationRecord>(reply, 'idle conversations');
  }

  async adoptIdentity(owner: string): Promise<number> {
    const reclaim = this.mint.adopt(owner);
    let released = 0;
    // Locks and slot sets are found by key pattern; each is cleaned by one atomic script.
    for (const pattern of [this.keys.lock('*'), this.keys.slots('*')]) {
      let cursor = '0';
      do {
        const [next, keys] = await this.io('scan', () => this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500));
        cursor = next;
        for (const key of keys) released += Number(await this.script(SCRIPTS.releaseEarlierRuns, [key], [reclaim.ownerPrefix, reclaim.runPrefix]));
      } while (cursor !== '0');
    }
    return released;
  }

  async tryLock(key: string, ttlMs: number): Promise<string | undefined> {
    const now = this.clock.now();
    const token = this.mint.token();
    const taken = await this.script(SCRIPTS.tryLock, [this.keys.lock(key)], [num(now), token, num(now + ttlMs), generous(ttlMs)]);
    return taken === 1 ? token : undefined;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    await this.script(SCRIPTS.releaseLock, [this.keys.lock(key)], [token]);
  }

  async enqueueDeletion(item: Omit<PendingDeletion, 'id' | 'attempts'>): Promise<void> {
    const { accountId, protocol, chatId, dueAt } = item;
    await this.script(SCRIPTS.enqueueDeletion, [this.keys.deletionSeq, this.keys.deletionDue], [this.keys.prefix, accountId, protocol, chatId, num(dueAt)]);
  }

  async claimDueDeletions(now: number, limit: number, leaseMs: number): Promise<PendingDeletion[]> {
    const n = nonNegative(limit);
    if (n === 0) return [];
    const reply = await this.script(SCRIPTS.claimDueDeletions, [this.keys.deletionDue, this.keys.deletionLeased], [this.keys.prefix, num(now), num(n), num(now + leaseMs)]);
    if (!Array.isArray(reply)) throw new TypeError('unexpected Redis reply for claimed deletions');
    return reply.map(deletionFromRow);
  }

  async completeDeletion(id: string): Promise<void> {
    await this.script(SCRIPTS.completeDeletion, [this.keys.deletionItem(id), this.keys.deletionDue, this.keys.deletionLeased], [id]);
  }

  async retryDeletion(id: string, dueAt: number): Promise<void> {
    await this.script(SCRIPTS.retryDeletion, [this.keys.deletionItem(id), this.keys.deletionDue, this.keys.deletionLeased], [id, num(dueAt)]);
  }

  async acquireSlot(key: string, limit: number, leaseMs: number): Promise<string | undefined> {
    const now = this.clock.now();
    const token = this.mint.token();
    const granted = await this.script(SCRIPTS.acquireSlot, [this.keys.slots(key)], [num(now), num(limit), token, num(now + leaseMs), generous(leaseMs)]);
    return granted === 1 ? token : undefined;
  }

  async renewSlot(key: string, token: string, leaseMs: number): Promise<boolean> {
    const now = this.clock.now();
    return (await this.script(SCRIPTS.renewSlot, [this.keys.slots(key)], [num(now), token, num(now + leaseMs), generous(leaseMs)])) === 1;
  }

  async releaseSlot(key: string, token: string): Promise<void> {
    await this.io('releaseSlot', () => this.client.zrem(this.keys.slots(key), token));
  }

  async countSlots(key: string): Promise<number> {
    return Number(await this.script(SCRIPTS.countSlots, [this.keys.slots(key)], [num(this.clock.now())]));
  }

  async reserveStart(key: string, minIntervalMs: number, now: number): Promise<number> {
    return Number(await this.script(SCRIPTS.reserveStart, [this.keys.start(key)], [num(now), num(minIntervalMs), num(TTL_MARGIN_MS)]));
  }

  async increment(key: string, windowMs?: number): Promise<number> {
    const now = this.clock.now();
    const windowed = windowMs !== undefined;
    const args = [num(now), windowed ? '1' : '0', windowed ? num(now + windowMs) : '', windowed ? generous(windowMs) : ''];
    return Number(await this.script(SCRIPTS.increment, [this.keys.counter(key)], args));
  }

  async createApiKey(record: ApiKeyRecord): Promise<void> {
    const keys = [this.keys.apiKey(record.id), this.keys.apiKeyByHash, this.keys.apiKeyIds];
    const outcome = await this.script(SCRIPTS.createApiKey, keys, [record.id, record.hash, num(record.createdAt), ...apiKeyToFields(record)]);
    if (outcome === 'id') throw new Error(`API key id already exists: ${record.id}`);
    if (outcome === 'hash') throw new Error('API key hash already exists');
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const reply = await this.script(SCRIPTS.apiKeyByHash, [this.keys.apiKeyByHash], [this.keys.prefix, hash]);
    return reply === null ? undefined : apiKeyFromFields(reply);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const reply = await this.script(SCRIPTS.listApiKeys, [this.keys.apiKeyIds], [this.keys.prefix]);
    if (!Array.isArray(reply)) throw new TypeError('unexpected Redis reply for API keys');
    return reply.map(apiKeyFromFields);
  }

  async revokeApiKey(id: string, at: number): Promise<boolean> {
    return (await this.script(SCRIPTS.revokeApiKey, [this.keys.apiKey(id)], [num(at)])) === 1;
  }

  async recordApiKeyUsage(id: string, usage: { requests: number; promptTokens: number; completionTokens: number; at: number }): Promise<void> {
    const args = [num(usage.requests), num(usage.promptTokens), num(usage.completionTokens), num(usage.at)];
    await this.script(SCRIPTS.recordApiKeyUsage, [this.keys.apiKey(id)], args);
  }

  async appendRequestLog(entry: RequestLogEntry): Promise<void> {
    const keys = [this.keys.requestLog, this.keys.requestLogData, this.keys.requestLogSeq];
    const { requestLogTtlMs, requestLogMaxEntries } = this.opts;
    await this.script(SCRIPTS.appendRequestLog, keys, [num(entry.at), JSON.stringify(entry), ttlArg(requestLogTtlMs), num(nonNegative(requestLogMaxEntries))]);
  }

  async listRequestLog(opts: { limit: number; before?: number }): Promise<RequestLogEntry[]> {
    const limit = nonNegative(opts.limit);
    if (limit === 0) return [];
    const max = opts.before === undefined ? '+inf' : `(${num(opts.before)}`;
    const reply = await this.script(SCRIPTS.listRequestLog, [this.keys.requestLog, this.keys.requestLogData], [max, num(limit)]);
    return parseAll<RequestLogEntry>(reply, 'the request log');
  }

  async pruneRequestLog(opts: { maxEntries: number; olderThan: number }): Promise<void> {
    const args = [num(opts.olderThan), num(nonNegative(opts.maxEntries))];
    await this.script(SCRIPTS.pruneRequestLog, [this.keys.requestLog, this.keys.requestLogData], args);
  }

  async saveResponse(record: StoredResponse): Promise<void> {
    const ttl = record.expiresAt - this.clock.now();
    const key = this.keys.response(record.owner, record.id);
    if (ttl <= 0) {
      await this.io('saveResponse', () => this.client.del(key));
      return;
    }
    // Redis drops the key itself at the logical expiry (plus a margin; reads check the clock).
    await this.io('saveResponse', () => this.client.set(key, JSON.stringify(record), 'PX', ttl + TTL_MARGIN_MS));
  }

  async getResponse(owner: string, id: string): Promise<StoredResponse | undefined> {
    const json = await this.io('getResponse', () => this.client.get(this.keys.response(owner, id)));
    if (json === null) return undefined;
    const record = JSON.parse(json) as StoredResponse;
    return record.expiresAt > this.clock.now() ? record : undefined;
  }

  async deleteResponse(owner: string, id: string): Promise<boolean> {
    const live = (await this.getResponse(owner, id)) !== undefined;
    await this.io('deleteResponse', () => this.client.del(this.keys.response(owner, id)));
    return live;
  }

  async getAccountState(accountId: string): Promise<AccountState | undefined> {
    const json = await this.io('getAccountState', () => this.client.get(this.keys.account(accountId)));
    return json === null ? undefined : (JSON.parse(json) as AccountState);
  }

  async saveAccountState(state: AccountState): Promise<void> {
    await this.io('saveAccountState', () => this.client.set(this.keys.account(state.accountId), JSON.stringify(state)));
  }

  async ping(): Promise<void> {
    await this.io('ping', () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // QUIT lets replies already on their way arrive; it fails at once when offline.
      if (this.client.status === 'ready') await this.client.quit();
    } catch {
      // Closing anyway below.
    } finally {
      this.client.disconnect();
    }
  }

  private conversationKeys(owner: string, id: string): string[] {
    return [this.keys.conversation(owner, id), this.keys.ownerIndex(owner), this.keys.allIndex, this.keys.implicitIndex];
  }

  private script(s: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.io(s.name, () => s.run(this.client, keys, args));
  }

  /** Runs one Redis round trip; every failure leaves as store_unavailable or a sanitized error. */
  private async io<T>(op: string, call: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ProxyError('store_unavailable', `The Redis store is closed (${op}).`);
    try {
      return await call();
    } catch (err) {
      throw storeError(op, err);
    }
  }
}

function parseAll<T>(reply: unknown, what: string): T[] {
  return stringList(reply, what).map((json) => JSON.parse(json) as T);
}

/** Drops keys whose value is undefined, so they do not override defaults when spread. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
