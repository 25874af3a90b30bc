import { randomBytes, randomUUID } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Random alphanumeric string (uniform: rejection sampling over random bytes). */
export function randomAlnum(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALNUM[byte % 62];
    }
  }
  return out;
}

export const newCompletionId = (): string => `chatcmpl-${randomAlnum(29)}`;
export const newRequestId = (): string => `req_${randomAlnum(24)}`;
export const newConversationId = (): string => `conv_${randomAlnum(24)}`;
export const newUuid = (): string => randomUUID();
