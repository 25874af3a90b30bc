import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import type { AccountState } from './store.js';
import { TokenCipherError } from './token-cipher.js';
import { resealStoredTokens, withTokenEncryption } from './token-encryption.js';

const KEY_A = 'first-data-key-0123456789';
const KEY_B = 'second-data-key-0123456789';
const state: AccountState = { accountId: 'acct_main', refreshToken: 'rt-secret-refresh-token', accessToken: 'eyJ-secret-access', accessTokenExpiresAt: 1, health: 'ok', updatedAt: 2 };
const record = [{ stateKey: 'acct_main', lockKey: 'refresh:acct_main' }];

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'kp-tokens-'));
  dirs.push(d);
  return d;
};

describe('tokens at rest', () => {
  it('the SQLite file never holds a token in the clear with DATA_KEY, and the proxy reads it back', async () => {
    const dir = tempDir();
    const raw = SqliteStore.open({ dataDir: dir, clock: new FakeClock() });
    const store = withTokenEncryption(raw, { current: KEY_A, previous: undefined });
    await store.saveAccountState(state);
    expect(await store.getAccountState('acct_main')).toEqual(state);
    const sealed = await raw.getAccountState('acct_main');
    expect(sealed?.refreshToken).toMatch(/^kpenc:v1:/);
    expect(sealed?.health).toBe('ok');
    await raw.close();
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      expect(bytes).not.toContain('rt-secret-refresh-token');
      expect(bytes).not.toContain('eyJ-secret-access');
    }
  });

  it('the data directory is 0700 and the database files 0600', async () => {
    const dir = join(tempDir(), 'data');
    const store = SqliteStore.open({ dataDir: dir, clock: new FakeClock() });
    await store.saveAccountState(state);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toContain('kimi-proxy.db-wal');
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    await store.close();
  });

  it('rotation: the previous key still opens, and a reseal rewrites every record under the new key', async () => {
    const raw = new MemoryStore(new FakeClock());
    await withTokenEncryption(raw, { current: KEY_A, previous: undefined }).saveAccountState(state);
    const keys = { current: KEY_B, previous: KEY_A };
    expect(await withTokenEncryption(raw, keys).getAccountState('acct_main')).toEqual(state);
    expect(await resealStoredTokens(raw, keys, record)).toBe(1);
    expect(await resealStoredTokens(raw, keys, record)).toBe(0);
    expect(await withTokenEncryption(raw, { current: KEY_B, previous: undefined }).getAccountState('acct_main')).toEqual(state);
    await expect(withTokenEncryption(raw, { current: KEY_A, previous: undefined }).getAccountState('acct_main')).rejects.toThrow(TokenCipherError);
  });

  it('turning encryption on seals the tokens stored before in the clear', async () => {
    const raw = new MemoryStore(new FakeClock());
    await raw.saveAccountState(state);
    expect(await resealStoredTokens(raw, { current: KEY_A, previous: undefined }, record)).toBe(1);
    expect((await raw.getAccountState('acct_main'))?.accessToken).toMatch(/^kpenc:v1:/);
  });

  it('a reseal leaves a record alone while a token refresh holds its lock', async () => {
    const raw = new MemoryStore(new FakeClock());
    await raw.saveAccountState(state);
    await raw.tryLock('refresh:acct_main', 10_000);
    expect(await resealStoredTokens(raw, { current: KEY_A, previous: undefined }, record)).toBe(0);
    expect((await raw.getAccountState('acct_main'))?.refreshToken).toBe(state.refreshToken);
  });

  it('without DATA_KEY, a sealed token is refused rather than sent to Kimi', async () => {
    const raw = new MemoryStore(new FakeClock());
    await withTokenEncryption(raw, { current: KEY_A, previous: undefined }).saveAccountState(state);
    await expect(withTokenEncryption(raw, { current: undefined, previous: undefined }).getAccountState('acct_main')).rejects.toThrow(/set DATA_KEY/);
    // At start, before anything is served: no key, or the wrong one, stops the process.
    await expect(resealStoredTokens(raw, { current: undefined, previous: undefined }, record)).rejects.toThrow(/set DATA_KEY/);
    await expect(resealStoredTokens(raw, { current: KEY_B, previous: undefined }, record)).rejects.toThrow(/neither DATA_KEY nor DATA_KEY_PREVIOUS/);
  });

  it('a tampered value is refused', async () => {
    const raw = new MemoryStore(new FakeClock());
    await withTokenEncryption(raw, { current: KEY_A, previous: undefined }).saveAccountState(state);
    const sealed = (await raw.getAccountState('acct_main'))!;
    const body = sealed.refreshToken!;
    await raw.saveAccountState({ ...sealed, refreshToken: body.slice(0, -2) + (body.endsWith('AA') ? 'BB' : 'AA') });
    await expect(withTokenEncryption(raw, { current: KEY_A, previous: undefined }).getAccountState('acct_main')).rejects.toThrow(/could not be decrypted/);
  });
});
