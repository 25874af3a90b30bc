/** Client API keys: accepted as `Authorization: Bearer` or `x-api-key`, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ProxyError } from '../core/errors.js';

export interface ApiKeyIdentity {
  /** Stable, non-secret id (scopes conversations). */
  id: string;
  name: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function keyId(key: string): string {
  return `key_${digest(key).toString('hex').slice(0, 12)}`;
}

export function extractKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) return x.trim();
  return undefined;
}

export class ApiKeyVerifier {
  private readonly keys: Array<{ digest: Buffer; identity: ApiKeyIdentity }>;

  constructor(keys: string[]) {
    this.keys = keys.map((k, i) => ({ digest: digest(k), identity: { id: keyId(k), name: `env-key-${i + 1}` } }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** Returns the caller's identity; throws 401 when keys are configured and none matches. */
  verify(headers: Record<string, string | string[] | undefined>): ApiKeyIdentity {
    if (!this.enabled) return { id: '', name: 'anonymous' };
    const presented = extractKey(headers);
    if (!presented) {
      throw new ProxyError('invalid_api_key', 'Missing API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".');
    }
    const d = digest(presented);
    // Compare against every key so timing does not reveal which one (or how many) matched.
    let match: ApiKeyIdentity | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.digest, d)) match = k.identity;
    if (!match) throw new ProxyError('invalid_api_key', 'Incorrect API key provided.');
    return match;
  }
}
