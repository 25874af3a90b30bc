import { randomBytes, randomUUID } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Random bytes are drawn from the system in blocks and handed out a byte at a time (as
 * Node's own randomUUID does): one draw per id cost more than the rest of the id. This is a
 * cache of entropy, not state: no byte is handed out twice, and nothing depends on it.
 */
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let poolAt = 0;

function randomByte(): number {
  if (poolAt === POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/** Random alphanumeric string (uniform: rejection sampling over random bytes). */
export function randomAlnum(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += ALNUM[byte % 62];
  }
  return out;
}

export const newCompletionId = (): string => `chatcmpl-${randomAlnum(29)}`;
export const newRequestId = (): string => `req_${randomAlnum(24)}`;
export const newConversationId = (): string => `conv_${randomAlnum(24)}`;
export const newUuid = (): string => randomUUID();
