/**
 * Who holds a lock or a slot. Tokens a store hands out read `<owner>~<run>~<random>` once the
 * instance has adopted an identity (INSTANCE_ID, by default host:port): a restarted instance
 * has the same owner and a new run, so at start it can release at once what its earlier run
 * left behind (after a crash or kill -9) instead of waiting for every lease to run out.
 * Before that, tokens are plain random ids that nothing reclaims.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface Reclaim {
  /** Tokens starting with this belong to the owner (any run)… */
  ownerPrefix: string;
  /** …and those starting with this to the current run, which keeps them. */
  runPrefix: string;
}

const SEPARATOR = '~';

/** Owner names become part of tokens: only characters that need no escaping anywhere. */
function sanitize(owner: string): string {
  return owner.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 200) || '_';
}

export class TokenMint {
  private prefix = '';

  /** Starts a run of `owner`; returns what identifies the earlier runs' tokens. */
  adopt(owner: string): Reclaim {
    const ownerPrefix = `${sanitize(owner)}${SEPARATOR}`;
    this.prefix = `${ownerPrefix}${randomBytes(6).toString('base64url')}${SEPARATOR}`;
    return { ownerPrefix, runPrefix: this.prefix };
  }

  token(): string {
    return `${this.prefix}${randomUUID()}`;
  }
}

/** True for a token an earlier run of the owner took. */
export function heldByEarlierRun(token: string, r: Reclaim): boolean {
  return token.startsWith(r.ownerPrefix) && !token.startsWith(r.runPrefix);
}
