/**
 * Encryption of the Kimi tokens kept in the store, with a key from the environment
 * (`DATA_KEY`). AES-256-GCM: a stolen database file or Redis dump without the key reveals
 * no token, and a tampered value is refused rather than sent upstream.
 *
 * A stored value reads `kpenc:v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts). The key
 * id names the key that wrote it, so rotation (`DATA_KEY_PREVIOUS`) knows which key opens it.
 * Values without the prefix are plain tokens from before encryption was turned on; they
 * are read as they are and rewritten encrypted.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';

const PREFIX = 'kpenc:v1:';
const IV_BYTES = 12;
// A fixed salt: the key must derive the same on every instance; the passphrase's entropy is the secret.
const SALT = 'kimi-proxy DATA_KEY v1';

interface DerivedKey {
  id: string;
  key: Buffer;
}

export class TokenCipherError extends Error {
  override name = 'TokenCipherError';
}

function derive(passphrase: string): DerivedKey {
  const key = scryptSync(passphrase, SALT, 32);
  // The id reveals nothing usable about the key: a hash of the derived key, shortened.
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return { id, key };
}

export type Opened = { value: string; stale: boolean };

export class TokenCipher {
  private readonly current: DerivedKey;
  private readonly byId = new Map<string, DerivedKey>();

  constructor(current: string, previous?: string) {
    this.current = derive(current);
    this.byId.set(this.current.id, this.current);
    if (previous !== undefined) {
      const old = derive(previous);
      if (!this.byId.has(old.id)) this.byId.set(old.id, old);
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.current.id}:${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${body.toString('base64url')}`;
  }

  /** The plain token; `stale` when it was not sealed with the current key (rewrite it). */
  open(stored: string): Opened {
    if (!TokenCipher.isSealed(stored)) return { value: stored, stale: true };
    const [id, iv, tag, body] = stored.slice(PREFIX.length).split(':');
    const key = id === undefined ? undefined : this.byId.get(id);
    if (!key || iv === undefined || tag === undefined || body === undefined) {
      throw new TokenCipherError(
        'a stored Kimi token was encrypted with a key that is neither DATA_KEY nor DATA_KEY_PREVIOUS; set the key it was written with (see docs/deployment.md, "Tokens at rest")',
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      return { value: plain, stale: key !== this.current };
    } catch {
      throw new TokenCipherError('a stored Kimi token could not be decrypted (the value was altered, or the key is wrong)');
    }
  }
}
