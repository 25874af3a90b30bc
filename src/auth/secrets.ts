/** Key material: generation, hashing, constant-time comparison, and reading credentials from headers. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomAlnum } from '../core/ids.js';

export type Headers = Record<string, string | string[] | undefined>;

/** Created keys look like `sk-kp-` + 40 letters and digits (about 238 bits). */
const KEY_PREFIX = 'sk-kp-';
const KEY_RANDOM_LENGTH = 40;
/** How much of a key listings show: the marker and 6 random characters. */
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 6;

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
export const sha256Hex = (s: string): string => sha256(s).toString('hex');

/** Constant-time equality of two secrets (compares their sha256 digests, so lengths never leak). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** Constant-time equality of two digests (Buffer or hex); false when the lengths differ. */
export function digestsEqual(a: Buffer, b: Buffer | string): boolean {
  const other = typeof b === 'string' ? Buffer.from(b, 'hex') : b;
  return a.length === other.length && timingSafeEqual(a, other);
}

export interface GeneratedKey {
  key: string;
  /** sha256 hex, the only form that is stored. */
  hash: string;
  /** Shown in listings so that people can recognise a key. */
  prefix: string;
}

export function generateApiKey(): GeneratedKey {
  const key = `${KEY_PREFIX}${randomAlnum(KEY_RANDOM_LENGTH)}`;
  return { key, hash: sha256Hex(key), prefix: key.slice(0, SHOWN_PREFIX_LENGTH) };
}

function single(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const trimmed = v?.trim();
  return trimmed ? trimmed : undefined;
}

/** `Authorization: Bearer <secret>`, else the value of `header` (e.g. `x-api-key`). */
export function extractSecret(headers: Headers, header: string): string | undefined {
  const auth = single(headers.authorization);
  if (auth) {
    const m = /^Bearer\s+(\S.*)$/i.exec(auth);
    if (m) return m[1]!.trim();
  }
  return single(headers[header]);
}
