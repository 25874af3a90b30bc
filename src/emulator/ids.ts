/** Identifier and timestamp formats of spec 1.4, plus values derived from an account key. */
import { createHash, randomBytes } from 'node:crypto';

/** xid-style alphabet: 20 lowercase base32 characters, e.g. `cnndivilnl96vah411dg`. */
const BASE32 = '0123456789abcdefghijklmnopqrstuv';

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE32[bytes[i % bytes.length]! % 32];
  return out;
}

/** Legacy chat ids, `req` ids, user ids and JWT `jti` values. */
export function legacyId(): string {
  return base32(randomBytes(20), 20);
}

/** Connect 2026 chat/message/file ids: UUID-shaped with an `8000` group (spec 1.4). */
export function kimiUuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-8000-${h.slice(16, 28)}`;
}

function digest(key: string, purpose: string): Buffer {
  return createHash('sha256').update(purpose).update('\0').update(key).digest();
}

/** A stable 20-char user id for an account key (JWT `sub`, `/api/user` `id`). */
export function userIdFor(accountKey: string): string {
  return base32(digest(accountKey, 'user'), 20);
}

/** A stable 19-digit decimal string whose first digit is `lead` (device ids 7…, session ids 17…). */
export function digitsFor(accountKey: string, purpose: string, lead: string): string {
  const d = digest(accountKey, purpose);
  let out = lead;
  for (let i = 0; out.length < 19; i++) out += String(d[i % d.length]! % 10);
  return out;
}

/** RFC 3339 with microseconds, as Connect responses carry them (spec 1.4). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

/** First 8 hex characters of the sha256 of a text. */
export function shortDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8);
}
