/**
 * Running Lua on the Redis store (by SHA, with a fallback for an empty script cache) and
 * the Lua helpers several scripts share: key builders, chunked deletes, TTL raises.
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
export const LUA_KEYS = `
local function convKey(P, owner, id) return P .. 'conv:' .. string.len(owner) .. ':' .. owner .. ':' .. id end
local function fpKey(P, owner, fp) return P .. 'conv-fp:' .. string.len(owner) .. ':' .. owner .. ':' .. fp end
local function memberOf(owner, id) return owner .. string.char(0) .. id end
local function splitMember(m)
  local i = string.find(m, string.char(0), 1, true)
  return string.sub(m, 1, i - 1), string.sub(m, i + 1)
end
`;

/** Deletes members of a sorted set and their fields in a hash, in bounded chunks (unpack has a stack limit). */
export const LUA_DROP = `
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
export const LUA_BUMP_TTL = `
local function bumpTtl(k, pttl)
  if redis.call('PTTL', k) < pttl then redis.call('PEXPIRE', k, pttl) end
end
`;

/** A script from its parts (shared helpers first, then its body). */
export const script = (name: string, ...parts: string[]): LuaScript => new LuaScript(name, parts.join('\n'));
