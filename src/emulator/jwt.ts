/** JWT-shaped strings (spec 1.1, 1.2). Signatures are random: nothing verifies them. */
import { randomBytes } from 'node:crypto';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS512', typ: 'JWT' })).toString('base64url');

export function encodeJwt(payload: Record<string, unknown>): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${HEADER}.${body}.${randomBytes(64).toString('base64url')}`;
}

/** The payload of a three-part token, or undefined when it does not decode to a JSON object. */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The token-kind test every client uses (spec 1.1): `eyJ`, three parts, typ access, app_id kimi. */
export function isAccessJwt(token: string): boolean {
  if (!token.startsWith('eyJ')) return false;
  const payload = decodeJwtPayload(token);
  return payload?.typ === 'access' && payload.app_id === 'kimi';
}
