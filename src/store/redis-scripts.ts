/**
 * Lua scripts of the Redis store. Redis runs each script as one atomic step: no other
 * client's command interleaves with it, so every read-modify-write that two proxy
 * instances could race on is one script. Times always come in as arguments (the store's
 * injected clock), never from Redis's own TIME, and results that are times are returned
 * as strings ('%.17g') because Redis truncates Lua numbers to integers.
 *
 * Some scripts build key names from a prefix argument (e.g. the fingerprint index of a
 * record's old fingerprint, known only inside the script). That is fine on a standalone
 * Redis or a Sentinel setup; it is not Redis Cluster-safe.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Runs a script by SHA and falls back to sending its source when the server lacks it. */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // A restarted or flushed server has an empty script cache: EVAL sends and caches it.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** Key builders mirrored from redis-keys.ts; `P` is the prefix. */
const LUA_KEYS = `
local function convKey(P, owner, id) return P .. 'conv:' .. string.len(owner) .. ':' .. owner .. ':' .. id end
local function fpKey(P, owner, fp) return P .. 'conv-fp:' .. string.len(owner) .. ':' .. owner .. ':' .. fp end
local function memberOf(owner, id) return owner .. string.char(0) .. id end
local function splitMember(m)
  local i = string.find(m, string.char(0), 1, true)
  return string.sub(m, 1, i - 1), string.sub(m, i + 1)
end
`;

/** Deletes members of a sorted set and their fields in a hash, in bounded chunks (unpack has a stack limit). */
const LUA_DROP = `
local function drop(z, data, members)
  for i = 1, #members, 500 do
    local chunk = {}
    for j = i, math.min(i + 499, #members) do chunk[#chunk + 1] = members[j] end
    redis.call('HDEL', data, unpack(chunk))
    redis.call('ZREM', z, unpack(chunk))
  end
end
`;

/** Raises a key's TTL to `pttl` ms, never lowers it (other holders may need longer). */
const LUA_BUMP_TTL = `
local function bumpTtl(k, pttl)
  if redis.call('PTTL', k) < pttl then redis.call('PEXPIRE', k, pttl) end
end
`;

const script = (name: string, ...parts: string[]): LuaScript => new LuaScript(name, parts.join('\n'));

export const SCRIPTS = {
  // KEYS: record, owner index, all index, implicit index.
  // ARGV: prefix, owner, id, json, -updatedAt, updatedAt, implicit ('1'|'0'), has fingerprint ('1'|'0'), fingerprint.
  saveConversation: script(
    'saveConversation',
    LUA_KEYS,
    `
local P, owner, id = ARGV[1], ARGV[2], ARGV[3]
local member = memberOf(owner, id)
local old = redis.call('HGET', KEYS[1], 'fp')
if old then redis.call('ZREM', fpKey(P, owner, old), id) end
redis.call('DEL', KEYS[1])
if ARGV[8] == '1' then
  redis.call('HSET', KEYS[1], 'json', ARGV[4], 'fp', ARGV[9])
  redis.call('ZADD', fpKey(P, owner, ARGV[9]), ARGV[5], id)
else
  redis.call('HSET', KEYS[1], 'json', ARGV[4])
end
redis.call('ZADD', KEYS[2], ARGV[5], id)
redis.call('ZADD', KEYS[3], ARGV[5], member)
if ARGV[7] == '1' then redis.call('ZADD', KEYS[4], ARGV[6], member) else redis.call('ZREM', KEYS[4], member) end
return 1`,
  ),

  // KEYS: record, owner index, all index, implicit index. ARGV: prefix, owner, id.
  deleteConversation: script(
    'deleteConversation',
    LUA_KEYS,
    `
local P, owner, id = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], 'fp')
if old then redis.call('ZREM', fpKey(P, owner, old), id) end
local member = memberOf(owner, id)
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], member)
redis.call('ZREM', KEYS[4], member)
return 1`,
  ),

  // KEYS: owner index. ARGV: prefix, owner, first rank, last rank. Returns JSON strings.
  listConversationsOfOwner: script(
    'listConversationsOfOwner',
    LUA_KEYS,
    `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[3], ARGV[4])) do
  local json = redis.call('HGET', convKey(ARGV[1], ARGV[2], id), 'json')
  if json then out[#out + 1] = json end
end
return out`,
  ),

  // KEYS: all index (or implicit index). ARGV: prefix, then either ('rank', first, last) or ('before', max, limit).
  listConversationsByMember: script(
    'listConversationsByMember',
    LUA_KEYS,
    `
local members
if ARGV[2] == 'rank' then
  members = redis.call('ZRANGE', KEYS[1], ARGV[3], ARGV[4])
else
  members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, ARGV[4])
end
local out = {}
for _, m in ipairs(members) do
  local owner, id = splitMember(m)
  local json = redis.call('HGET', convKey(ARGV[1], owner, id), 'json')
  if json then out[#out + 1] = json end
end
return out`,
  ),

  // KEYS: fingerprint index. ARGV: prefix, owner. Returns the newest record's JSON or nil.
  findConversationByFingerprint: script(
    'findConversationByFingerprint',
    LUA_KEYS,
    `
local ids = redis.call('ZRANGE', KEYS[1], 0, 0)
if #ids == 0 then return false end
return redis.call('HGET', convKey(ARGV[1], ARGV[2], ids[1]), 'json')`,
  ),

  // KEYS: lock. ARGV: now, token, expiresAt, real TTL ms. Returns 1 when taken.
  tryLock: script(
    'tryLock',
    `
local held = redis.call('HGET', KEYS[1], 'exp')
if held and tonumber(held) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'exp', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`,
  ),

  // KEYS: a lock hash or a slots zset. ARGV: owner prefix, run prefix. Removes the tokens of
  // the owner's earlier runs (holder.ts); returns how many.
  releaseEarlierRuns: script(
    'releaseEarlierRuns',
    `
local function earlier(token)
  return string.sub(token, 1, string.len(ARGV[1])) == ARGV[1] and string.sub(token, 1, string.len(ARGV[2])) ~= ARGV[2]
end
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
  local token = redis.call('HGET', KEYS[1], 'token')
  if token and earlier(token) then redis.call('DEL', KEYS[1]) return 1 end
  return 0
end
if kind ~= 'zset' then return 0 end
local n = 0
for _, token in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if earlier(token) then n = n + redis.call('ZREM', KEYS[1], token) end
end
return n`,
  ),

  // KEYS: lock. ARGV: token. Deletes only the holder's own lock.
  releaseLock: script(
    'releaseLock',
    `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  ),

  // KEYS: slots. ARGV: now, limit, token, expiresAt, real TTL ms. Returns 1 when granted.
  acquireSlot: script(
    'acquireSlot',
    LUA_BUMP_TTL,
    `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
bumpTtl(KEYS[1], tonumber(ARGV[5]))
return 1`,
  ),

  // KEYS: slots. ARGV: now, token, expiresAt, real TTL ms. Returns 1 when the lease was live.
  renewSlot: script(
    'renewSlot',
    LUA_BUMP_TTL,
    `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[2])
bumpTtl(KEYS[1], tonumber(ARGV[4]))
return 1`,
  ),

  // KEYS: slots. ARGV: now. Drops expired leases, returns the live count.
  countSlots: script(
    'countSlots',
    `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])`,
  ),

  // KEYS: start. ARGV: now, minIntervalMs, TTL margin ms. Returns the reserved start.
  reserveStart: script(
    'reserveStart',
    `
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = now
local last = redis.call('GET', KEYS[1])
if last then
  local next = tonumber(last) + interval
  if next > start then start = next end
end
local s = string.format('%.17g', start)
local ttl = math.max(1, math.floor(start - now + 2 * interval + tonumber(ARGV[3])))
redis.call('SET', KEYS[1], s, 'PX', string.format('%d', ttl))
return s`,
  ),

  // KEYS: counter. ARGV: now, has window ('1'|'0'), expiresAt, real TTL ms. Returns the new value.
  increment: script(
    'increment',
    `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local exp = redis.call('HGET', KEYS[1], 'exp')
  if not exp or tonumber(exp) > tonumber(ARGV[1]) then return redis.call('HINCRBY', KEYS[1], 'v', 1) end
end
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'v', 1, 'exp', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'v', 1)
end
return 1`,
  ),

  // KEYS: sequence, due queue. ARGV: prefix, accountId, protocol, chatId, dueAt. Returns the id.
  enqueueDeletion: script(
    'enqueueDeletion',
    `
local id = string.format('%016d', redis.call('INCR', KEYS[1]))
redis.call('HSET', ARGV[1] .. 'del:item:' .. id, 'accountId', ARGV[2], 'protocol', ARGV[3], 'chatId', ARGV[4], 'dueAt', ARGV[5], 'attempts', 0)
redis.call('ZADD', KEYS[2], ARGV[5], id)
return id`,
  ),

  // KEYS: due queue, leased set. ARGV: prefix, now, limit, hiddenUntil.
  // Returns { id, accountId, protocol, chatId, dueAt, attempts } per claimed item.
  claimDueDeletions: script(
    'claimDueDeletions',
    `
local P = ARGV[1]
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])) do
  local due = redis.call('HGET', P .. 'del:item:' .. id, 'dueAt')
  if due then redis.call('ZADD', KEYS[1], due, id) end
  redis.call('ZREM', KEYS[2], id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])) do
  local k = P .. 'del:item:' .. id
  redis.call('ZREM', KEYS[1], id)
  if redis.call('EXISTS', k) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[4], id)
    local attempts = redis.call('HINCRBY', k, 'attempts', 1)
    local f = redis.call('HMGET', k, 'accountId', 'protocol', 'chatId', 'dueAt')
    out[#out + 1] = { id, f[1], f[2], f[3], f[4], tostring(attempts) }
  end
end
return out`,
  ),

  // KEYS: item, due queue, leased set. ARGV: id.
  completeDeletion: script(
    'completeDeletion',
    `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`,
  ),

  // KEYS: item, due queue, leased set. ARGV: id, dueAt.
  retryDeletion: script(
    'retryDeletion',
    `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'dueAt', ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1`,
  ),

  // KEYS: key hash, hash index, id index. ARGV: id, sha256, createdAt, then the key hash's field/value pairs.
  // Returns 'ok', or 'id' / 'hash' when that already exists.
  createApiKey: script(
    'createApiKey',
    `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'hash' end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 'ok'`,
  ),

  // KEYS: hash index. ARGV: prefix, sha256. Returns the key hash's HGETALL, or nil.
  apiKeyByHash: script(
    'apiKeyByHash',
    `
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return false end
local fields = redis.call('HGETALL', ARGV[1] .. 'apikey:' .. id)
if #fields == 0 then return false end
return fields`,
  ),

  // KEYS: id index. ARGV: prefix. Returns one HGETALL per key, oldest first.
  listApiKeys: script(
    'listApiKeys',
    `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HGETALL', ARGV[1] .. 'apikey:' .. id)
  if #fields > 0 then out[#out + 1] = fields end
end
return out`,
  ),

  // KEYS: key hash. ARGV: at. The first revocation wins. Returns 0 for an unknown key.
  revokeApiKey: script(
    'revokeApiKey',
    `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'revokedAt', ARGV[1])
return 1`,
  ),

  // KEYS: key hash. ARGV: requests, promptTokens, completionTokens, at.
  recordApiKeyUsage: script(
    'recordApiKeyUsage',
    `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBYFLOAT', KEYS[1], 'requests', ARGV[1])
redis.call('HINCRBYFLOAT', KEYS[1], 'prompt', ARGV[2])
redis.call('HINCRBYFLOAT', KEYS[1], 'completion', ARGV[3])
local last = redis.call('HGET', KEYS[1], 'last')
if not last or tonumber(last) < tonumber(ARGV[4]) then redis.call('HSET', KEYS[1], 'last', ARGV[4]) end
return 1`,
  ),

  // KEYS: log index, log data, sequence. ARGV: at, JSON, real TTL ms, hard cap.
  appendRequestLog: script(
    'appendRequestLog',
    LUA_DROP,
    `
local seq = string.format('%016d', redis.call('INCR', KEYS[3]))
redis.call('ZADD', KEYS[1], ARGV[1], seq)
redis.call('HSET', KEYS[2], seq, ARGV[2])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then drop(KEYS[1], KEYS[2], redis.call('ZRANGE', KEYS[1], 0, over - 1)) end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1`,
  ),

  // KEYS: log index, log data. ARGV: max score ('+inf' or '(before'), limit. Newest first.
  listRequestLog: script(
    'listRequestLog',
    `
local out = {}
for _, seq in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'LIMIT', 0, ARGV[2])) do
  local json = redis.call('HGET', KEYS[2], seq)
  if json then out[#out + 1] = json end
end
return out`,
  ),

  // KEYS: log index, log data. ARGV: olderThan, maxEntries.
  pruneRequestLog: script(
    'pruneRequestLog',
    LUA_DROP,
    `
drop(KEYS[1], KEYS[2], redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1]))
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if over > 0 then drop(KEYS[1], KEYS[2], redis.call('ZRANGE', KEYS[1], 0, over - 1)) end
return 1`,
  ),
} as const;
