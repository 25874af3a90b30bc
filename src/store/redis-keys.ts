/**
 * The Redis key layout, every name under one prefix. A key that embeds two caller-chosen
 * strings length-prefixes the first one (in UTF-8 bytes), so `("a:b", "c")` and
 * `("a", "b:c")` never share a key. The Lua scripts build the same names (see LUA_KEYS in
 * redis-scripts.ts); the two must stay in step.
 *
 *   conv:<len>:<owner>:<id>        hash { json, fp? }           one conversation
 *   conv-owner:<owner>             zset id, score -updatedAt      listing of one owner
 *   conv-all                       zset owner\0id, -updatedAt     listing of all owners
 *   conv-implicit                  zset owner\0id, updatedAt      idle implicit conversations
 *   conv-fp:<len>:<owner>:<fp>     zset id, score -updatedAt      fingerprint lookup
 *   lock:<key>                     hash { token, exp }            PEXPIRE'd
 *   slots:<key>                    zset token, score expiresAt    PEXPIRE'd
 *   start:<key>                    string last reserved start     PEXPIRE'd
 *   ctr:<key>                      hash { v, exp? }               PEXPIRE'd when windowed
 *   del:seq / del:due / del:leased string / zset dueAt / zset hiddenUntil
 *   del:item:<id>                  hash { accountId, protocol, chatId, dueAt, attempts }
 *   apikey:<id>                    hash { rec, requests, prompt, completion, last?, revokedAt? }
 *   apikey-hash / apikey-ids       hash sha256 -> id / zset id, score createdAt
 *   reqlog / reqlog:data / reqlog:seq   zset seq, score at / hash seq -> JSON / string
 *   account:<id>                   string JSON of the account state
 *   resp:<len>:<owner>:<id>        string JSON of a stored response   PEXPIRE'd at its expiry
 */
export const DEFAULT_REDIS_PREFIX = 'kimi-proxy:';

const len = (s: string): number => Buffer.byteLength(s, 'utf8');

export class RedisKeys {
  constructor(readonly prefix: string) {}

  conversation(owner: string, id: string): string {
    return `${this.prefix}conv:${len(owner)}:${owner}:${id}`;
  }
  ownerIndex(owner: string): string {
    return `${this.prefix}conv-owner:${owner}`;
  }
  get allIndex(): string {
    return `${this.prefix}conv-all`;
  }
  get implicitIndex(): string {
    return `${this.prefix}conv-implicit`;
  }
  fingerprintIndex(owner: string, fingerprint: string): string {
    return `${this.prefix}conv-fp:${len(owner)}:${owner}:${fingerprint}`;
  }
  /** Member naming a conversation in the cross-owner indexes; NUL sorts before any character. */
  static member(owner: string, id: string): string {
    return `${owner}\u0000${id}`;
  }

  lock(key: string): string {
    return `${this.prefix}lock:${key}`;
  }
  slots(key: string): string {
    return `${this.prefix}slots:${key}`;
  }
  start(key: string): string {
    return `${this.prefix}start:${key}`;
  }
  counter(key: string): string {
    return `${this.prefix}ctr:${key}`;
  }

  get deletionSeq(): string {
    return `${this.prefix}del:seq`;
  }
  get deletionDue(): string {
    return `${this.prefix}del:due`;
  }
  get deletionLeased(): string {
    return `${this.prefix}del:leased`;
  }
  deletionItem(id: string): string {
    return `${this.prefix}del:item:${id}`;
  }

  apiKey(id: string): string {
    return `${this.prefix}apikey:${id}`;
  }
  get apiKeyByHash(): string {
    return `${this.prefix}apikey-hash`;
  }
  get apiKeyIds(): string {
    return `${this.prefix}apikey-ids`;
  }

  get requestLog(): string {
    return `${this.prefix}reqlog`;
  }
  get requestLogData(): string {
    return `${this.prefix}reqlog:data`;
  }
  get requestLogSeq(): string {
    return `${this.prefix}reqlog:seq`;
  }

  response(owner: string, id: string): string {
    return `${this.prefix}resp:${len(owner)}:${owner}:${id}`;
  }
  account(id: string): string {
    return `${this.prefix}account:${id}`;
  }
}
