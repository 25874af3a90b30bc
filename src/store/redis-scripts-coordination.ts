/** Lua scripts for coordination between instances: locks, concurrency slots, start spacing, counters (see redis-scripts.ts for what every script guarantees). */
import { LUA_BUMP_TTL, script } from './redis-lua.js';

export const COORDINATION_SCRIPTS = {

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
};
