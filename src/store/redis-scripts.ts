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
import { CONVERSATION_SCRIPTS } from './redis-scripts-conversations.js';
import { COORDINATION_SCRIPTS } from './redis-scripts-coordination.js';
import { RECORD_SCRIPTS } from './redis-scripts-records.js';

export { LuaScript } from './redis-lua.js';

/** Every script of the Redis store, by the store operation that runs it. */
export const SCRIPTS = { ...CONVERSATION_SCRIPTS, ...COORDINATION_SCRIPTS, ...RECORD_SCRIPTS };
