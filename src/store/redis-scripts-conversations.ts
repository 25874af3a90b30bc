/** Lua scripts for conversation records and their owner, recency, implicit and fingerprint indexes (see redis-scripts.ts for what every script guarantees). */
import { LUA_KEYS, script } from './redis-lua.js';

export const CONVERSATION_SCRIPTS = {
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
};
