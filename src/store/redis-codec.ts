/**
 * Conversions between store records and what the Redis store keeps: JSON strings, hash
 * fields and script arguments. Every number sent to Redis goes through `num` so that a
 * score or a time is never written as something Redis cannot parse.
 */
import type { KimiProtocol } from '../upstream/kimi/types.js';
import type { ApiKeyRecord, PendingDeletion } from './store.js';

/** A number as Redis reads it (scores, times); infinities in Redis's spelling. */
export function num(n: number): string {
  if (Number.isNaN(n)) throw new RangeError('NaN cannot be stored');
  if (n === Infinity) return '+inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

/** A positive whole number of milliseconds for PEXPIRE / SET PX. */
export function ttlArg(ms: number): string {
  return String(Number.isFinite(ms) ? Math.max(1, Math.ceil(ms)) : Number.MAX_SAFE_INTEGER);
}

/** The interface means "none" for a negative limit or offset; Redis would read -1 as "to the end". */
export const nonNegative = (n: number): number => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : n > 0 ? Number.MAX_SAFE_INTEGER : 0);

/** A script's array reply, checked to hold only strings. */
export function stringList(reply: unknown, what: string): string[] {
  if (!Array.isArray(reply) || reply.some((v) => typeof v !== 'string')) throw new TypeError(`unexpected Redis reply for ${what}`);
  return reply as string[];
}

/** HGETALL's flat [field, value, …] as a map. */
function fieldMap(flat: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i] as string, flat[i + 1] as string);
  return m;
}

/** The key hash: the record without its mutable parts as JSON, usage counters and revocation as fields. */
export function apiKeyToFields(record: ApiKeyRecord): string[] {
  const { usage, revokedAt, ...rest } = record;
  const fields = ['rec', JSON.stringify(rest), 'requests', num(usage.requests), 'prompt', num(usage.promptTokens), 'completion', num(usage.completionTokens)];
  if (usage.lastUsedAt !== undefined) fields.push('last', num(usage.lastUsedAt));
  if (revokedAt !== undefined) fields.push('revokedAt', num(revokedAt));
  return fields;
}

export function apiKeyFromFields(reply: unknown): ApiKeyRecord {
  const f = fieldMap(stringList(reply, 'an API key'));
  const rec = f.get('rec');
  if (rec === undefined) throw new TypeError('API key hash without its record');
  const record = JSON.parse(rec) as Omit<ApiKeyRecord, 'usage' | 'revokedAt'>;
  const usage: ApiKeyRecord['usage'] = {
    requests: Number(f.get('requests') ?? 0),
    promptTokens: Number(f.get('prompt') ?? 0),
    completionTokens: Number(f.get('completion') ?? 0),
  };
  const last = f.get('last');
  if (last !== undefined) usage.lastUsedAt = Number(last);
  const out: ApiKeyRecord = { ...record, usage };
  const revokedAt = f.get('revokedAt');
  if (revokedAt !== undefined) out.revokedAt = Number(revokedAt);
  return out;
}

/** One claimed deletion as the claim script returns it: [id, accountId, protocol, chatId, dueAt, attempts]. */
export function deletionFromRow(reply: unknown): PendingDeletion {
  const [id, accountId, protocol, chatId, dueAt, attempts] = stringList(reply, 'a pending deletion');
  if (attempts === undefined) throw new TypeError('pending deletion row is incomplete');
  return {
    id: id as string,
    accountId: accountId as string,
    protocol: protocol as KimiProtocol,
    chatId: chatId as string,
    dueAt: Number(dueAt),
    attempts: Number(attempts),
  };
}
