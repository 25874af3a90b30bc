/**
 * What every command needs before it starts: the configuration (environment, `.env`, the
 * file named by CONFIG_FILE) and the store, opened with the tokens-at-rest encryption.
 */
import { loadAccounts } from '../accounts/accounts-config.js';
import { readConfigFile } from '../config/config-file.js';
import { loadConfig, type Config } from '../config/config.js';
import { systemClock, type Clock } from '../core/clock.js';
import { openStore, type Store } from '../store/index.js';
import { resealStoredTokens, withTokenEncryption } from '../store/token-encryption.js';

export { StartError } from './start-error.js';

export type Env = Record<string, string | undefined>;

/** The configuration from `env` and, when CONFIG_FILE names one, the config file. Throws ConfigError naming the file, key and problem. */
export function loadSettings(env: Env): Config {
  const path = env.CONFIG_FILE?.trim();
  return loadConfig(env, path ? readConfigFile(path) : { env: {} });
}

export interface OpenedStore {
  store: Store;
  /** Account records rewritten under DATA_KEY at this start (encryption turned on, key rotated). */
  resealed: number;
}

/** The configured store, tokens sealed with DATA_KEY when it is set; stale records are rewritten first. */
export async function openConfiguredStore(config: Config, clock: Clock = systemClock): Promise<OpenedStore> {
  const raw = await openStore({ url: config.storeUrl, dataDir: config.dataDir, clock, redisPrefix: config.redisPrefix });
  try {
    const accounts = loadAccounts({ tokens: config.kimiTokens, accounts: config.accounts.fromFile });
    const resealed = await resealStoredTokens(
      raw,
      config.dataKeys,
      // The lock is the one a token refresh of the account holds (accounts/token-manager.ts).
      accounts.map((a) => ({ stateKey: a.stateKey, lockKey: `refresh:${a.id}` })),
    );
    return { store: withTokenEncryption(raw, config.dataKeys), resealed };
  } catch (err) {
    await raw.close();
    throw err;
  }
}
