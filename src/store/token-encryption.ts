/**
 * Tokens at rest: a store wrapper that seals the Kimi refresh and access tokens of every
 * account record with DATA_KEY on the way in and opens them on the way out, whatever the
 * backend (SQLite file, Redis). Everything else passes through untouched.
 */
import type { AccountState, Store } from './store.js';
import { TokenCipher, TokenCipherError } from './token-cipher.js';

export interface DataKeys {
  current: string | undefined;
  previous: string | undefined;
}

const SECRET_FIELDS = ['refreshToken', 'accessToken'] as const;

function mapSecrets(state: AccountState, fn: (value: string) => string): AccountState {
  const out = { ...state };
  for (const field of SECRET_FIELDS) {
    const value = out[field];
    if (value !== undefined) out[field] = fn(value);
  }
  return out;
}

/** Without DATA_KEY, a sealed value must not reach Kimi as if it were a token. */
function refuseSealed(value: string): string {
  if (TokenCipher.isSealed(value)) throw new TokenCipherError('the stored Kimi tokens are encrypted: set DATA_KEY to the key they were written with');
  return value;
}

/** The store, with account tokens sealed by DATA_KEY (or plain, and sealed ones refused, without a key). */
export function withTokenEncryption(store: Store, keys: DataKeys): Store {
  const cipher = keys.current === undefined ? undefined : new TokenCipher(keys.current, keys.previous);
  const getAccountState = async (accountId: string): Promise<AccountState | undefined> => {
    const state = await store.getAccountState(accountId);
    if (state === undefined) return undefined;
    return mapSecrets(state, cipher ? (v) => cipher.open(v).value : refuseSealed);
  };
  const saveAccountState = async (state: AccountState): Promise<void> => store.saveAccountState(cipher ? mapSecrets(state, (v) => cipher.seal(v)) : state);
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'getAccountState') return getAccountState;
      if (prop === 'saveAccountState') return saveAccountState;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export interface AccountRecordRef {
  /** The account's record in the store. */
  stateKey: string;
  /** The lock a token refresh of this account holds, so a rewrite never races a refresh. */
  lockKey: string;
}

/**
 * Rewrites under DATA_KEY every account record still holding plain tokens or tokens sealed
 * with DATA_KEY_PREVIOUS (turning encryption on, rotating the key). Returns how many were
 * rewritten. A record whose refresh lock is held elsewhere is left for the next start.
 * Throws TokenCipherError when a record cannot be opened with the keys given (none, or the
 * wrong one), so that a start with the wrong key stops with a clear message.
 */
export async function resealStoredTokens(store: Store, keys: DataKeys, records: readonly AccountRecordRef[], lockTtlMs = 10_000): Promise<number> {
  if (keys.current === undefined) {
    for (const { stateKey } of records) {
      const raw = await store.getAccountState(stateKey);
      if (raw) mapSecrets(raw, refuseSealed);
    }
    return 0;
  }
  const cipher = new TokenCipher(keys.current, keys.previous);
  let rewritten = 0;
  for (const { stateKey, lockKey } of records) {
    const lock = await store.tryLock(lockKey, lockTtlMs);
    if (lock === undefined) continue;
    try {
      const raw = await store.getAccountState(stateKey);
      if (raw === undefined) continue;
      let stale = false;
      const opened = mapSecrets(raw, (v) => {
        const o = cipher.open(v);
        stale ||= o.stale;
        return o.value;
      });
      if (!stale) continue;
      await store.saveAccountState(mapSecrets(opened, (v) => cipher.seal(v)));
      rewritten += 1;
    } finally {
      await store.releaseLock(lockKey, lock);
    }
  }
  return rewritten;
}
