/** Lua scripts for the queued chat deletions, stored API keys and the request log (see redis-scripts.ts for what every script guarantees). */
import { LUA_DROP, script } from './redis-lua.js';

export const RECORD_SCRIPTS = {

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
};
