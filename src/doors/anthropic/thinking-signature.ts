/**
 * Signatures of the thinking blocks this proxy sends. Anthropic clients hand thinking blocks
 * back with their `signature` on the next request; an HMAC of the thinking text under a
 * secret of this app proves a returned block is one this proxy produced, unchanged.
 *
 * Kimi takes no earlier thinking as input, so every returned block is dropped either way; the
 * check only tells ours from blocks another provider signed (a session moved between
 * providers), which are dropped without complaint rather than refused.
 */
import { createHmac, randomBytes, timingSafeEqual, type Hmac } from 'node:crypto';

export class ThinkingSigner {
  readonly #secret: Buffer;

  /** `secret`: at least 32 bytes; a fresh random one by default (signatures then last as long as the app). */
  constructor(secret: Buffer = randomBytes(32)) {
    this.#secret = secret;
  }

  /** An incremental signature for text that arrives in pieces. */
  start(): { update(text: string): void; digest(): string } {
    const mac: Hmac = createHmac('sha256', this.#secret);
    return {
      update: (text) => void mac.update(text, 'utf8'),
      digest: () => mac.digest('base64'),
    };
  }

  sign(text: string): string {
    const s = this.start();
    s.update(text);
    return s.digest();
  }

  verify(text: string, signature: unknown): boolean {
    if (typeof signature !== 'string' || signature.length === 0) return false;
    const expected = Buffer.from(this.sign(text), 'base64');
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
