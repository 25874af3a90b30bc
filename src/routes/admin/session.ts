/**
 * Dashboard sessions: after a login with ADMIN_TOKEN the browser holds a signed, expiring
 * session cookie, and every state-changing call must also carry the session's CSRF token in
 * `x-csrf-token` (a value only the dashboard's own pages can read from the API).
 *
 * Sessions are signed, not stored: the signing key is derived from ADMIN_TOKEN, so every
 * instance sharing the token accepts them and changing the token ends them all. A logout
 * ends the session on the instance that got it at once; elsewhere the cookie is gone from
 * the browser and the session expires by itself.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { digestsEqual } from '../../auth/secrets.js';

export const SESSION_COOKIE = 'kp_admin_session';

export interface Session {
  id: string;
  expiresAt: number;
}

const b64url = (b: Buffer): string => b.toString('base64url');

export class AdminSessions {
  private readonly key: Buffer;
  /** Ended before their expiry (logout), until they expire. */
  private readonly ended = new Map<string, number>();

  constructor(
    adminToken: string,
    private readonly clock: Clock,
    readonly ttlMs: number,
  ) {
    this.key = createHmac('sha256', createHash('sha256').update('kimi-proxy admin session v1').digest()).update(adminToken).digest();
  }

  private sign(text: string): Buffer {
    return createHmac('sha256', this.key).update(text).digest();
  }

  /** A new session and its cookie value. */
  create(): { session: Session; cookie: string } {
    const session = { id: b64url(randomBytes(18)), expiresAt: this.clock.now() + this.ttlMs };
    const body = `${session.id}.${session.expiresAt}`;
    return { session, cookie: `${body}.${b64url(this.sign(body))}` };
  }

  /** The session a cookie value stands for: undefined when forged or ended, 'expired' once its time is up. */
  read(cookie: string | undefined): Session | 'expired' | undefined {
    if (!cookie) return undefined;
    const parts = cookie.split('.');
    if (parts.length !== 3) return undefined;
    const [id, exp, sig] = parts as [string, string, string];
    if (!/^\d{1,16}$/.test(exp) || !digestsEqual(this.sign(`${id}.${exp}`), Buffer.from(sig, 'base64url'))) return undefined;
    if (this.ended.has(id)) return undefined;
    const expiresAt = Number(exp);
    return this.clock.now() >= expiresAt ? 'expired' : { id, expiresAt };
  }

  /** The CSRF token of a session (the same for the session's whole life). */
  csrfToken(session: Session): string {
    return b64url(this.sign(`csrf.${session.id}`));
  }

  csrfValid(session: Session, presented: string | undefined): boolean {
    return presented !== undefined && digestsEqual(this.sign(`csrf.${session.id}`), Buffer.from(presented, 'base64url'));
  }

  end(session: Session): void {
    const now = this.clock.now();
    for (const [id, until] of this.ended) if (until <= now) this.ended.delete(id);
    this.ended.set(session.id, session.expiresAt);
  }
}
