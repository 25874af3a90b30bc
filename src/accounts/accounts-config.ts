/**
 * Account configuration: `KIMI_TOKENS` (a comma/newline list) and/or a config file's
 * `accounts:` list, validated once at start with messages that name the field path.
 */
import { z } from 'zod';
import { accountIdForName, accountIdForToken, makeAccount, type Account } from './account.js';
import { normalizeToken } from './token-kind.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

const intIn = (min: number, max: number, what = 'an integer') =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(min, { error: `expected ${what} from ${min} to ${max}` })
    .max(max, { error: `expected ${what} from ${min} to ${max}` });

/** One validator per account setting, shared by the config file and the admin API. */
export const accountFields = {
  name: z.string({ error: 'expected a string' }).regex(NAME_RE, { error: 'expected 1-64 characters from A-Z a-z 0-9 . _ -' }),
  token: z
    .string({ error: 'expected a string' })
    .transform((v) => normalizeToken(v))
    .refine((v) => v !== '', { error: 'must not be empty' })
    .refine((v) => !/\s/.test(v), { error: 'must not contain whitespace' }),
  weight: z.number({ error: 'expected a number' }).gt(0, { error: 'expected a number greater than 0' }).max(1000, { error: 'expected at most 1000' }),
  maxConcurrent: intIn(1, 64),
  minIntervalMs: intIn(0, 600_000, 'an integer number of milliseconds'),
  disabled: z.boolean({ error: 'expected true or false' }),
  dailyRequests: intIn(0, 1_000_000, 'an integer number of requests (0 = no budget)'),
  proxyUrl: z.string({ error: 'expected a URL string' }).refine(
    (v) => {
      try {
        return ['http:', 'https:', 'socks:', 'socks5:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: 'expected an http(s):// or socks5:// URL' },
  ),
};

export const accountEntrySchema = z
  .object({
    name: accountFields.name,
    token: accountFields.token,
    weight: accountFields.weight.default(1),
    maxConcurrent: accountFields.maxConcurrent.default(2),
    minIntervalMs: accountFields.minIntervalMs.default(500),
    disabled: accountFields.disabled.default(false),
    dailyRequests: accountFields.dailyRequests.default(0),
    proxyUrl: accountFields.proxyUrl.optional(),
  })
  .strict();

export type AccountEntryInput = z.input<typeof accountEntrySchema>;
export type AccountEntry = z.output<typeof accountEntrySchema>;

export const accountsListSchema = z.array(accountEntrySchema, { error: 'expected a list of accounts' });

export class AccountsConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid account configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AccountsConfigError';
  }
}

function formatPath(base: string, path: ReadonlyArray<PropertyKey>): string {
  let out = base;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `.${String(seg)}`;
  return out;
}

/**
 * Validates a config file's `accounts:` value. Throws AccountsConfigError listing every
 * problem as `accounts[1].maxConcurrent: expected an integer from 1 to 64`.
 */
export function parseAccountEntries(raw: unknown, base = 'accounts'): AccountEntry[] {
  const parsed = accountsListSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AccountsConfigError(
      parsed.error.issues.map((i) => {
        if (i.code === 'unrecognized_keys') {
          return `${formatPath(base, i.path)}: unknown ${i.keys.length > 1 ? 'keys' : 'key'} ${i.keys.join(', ')}; expected ${Object.keys(accountFields).join(', ')}`;
        }
        return `${formatPath(base, i.path)}: ${i.message}${gotPart(raw, i.path)}`;
      }),
    );
  }
  return parsed.data;
}

/** Tokens and proxy URLs are secrets: their values are never echoed. */
const SECRET_FIELDS = new Set<PropertyKey>(['token', 'proxyUrl']);

/** `, got <value>` for the offending value, in the same words as the environment's messages. */
function gotPart(raw: unknown, path: ReadonlyArray<PropertyKey>): string {
  if (SECRET_FIELDS.has(path.at(-1) ?? '')) return '';
  let value: unknown = raw;
  for (const seg of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
  if (value === undefined) return ', got nothing';
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? ', got a list' : ', got a mapping';
  return `, got ${JSON.stringify(value)}`;
}

/** `KIMI_TOKENS` entries: named `account-1`, `account-2`, … with default settings. */
/** Limits applied to `KIMI_TOKENS` accounts (file accounts set their own). */
export interface TokenAccountDefaults {
  maxConcurrent: number;
  minIntervalMs: number;
}

export function entriesFromTokens(tokens: readonly string[], defaults: TokenAccountDefaults = { maxConcurrent: 2, minIntervalMs: 500 }): AccountEntry[] {
  return tokens
    .map((t) => normalizeToken(t))
    .filter((t) => t !== '')
    .map((token, i) => ({ name: `account-${i + 1}`, token, weight: 1, ...defaults, disabled: false, dailyRequests: 0 }));
}

export interface AccountSources {
  /** Entries of `KIMI_TOKENS`. Their ids derive from the token, as before names existed. */
  tokens?: readonly string[];
  /** A config file's `accounts:` list (unvalidated). Their ids derive from the name. */
  accounts?: unknown;
  tokenDefaults?: TokenAccountDefaults;
}

/** Both sources together: env tokens first, then the file's list. Throws AccountsConfigError. */
export function loadAccounts(sources: AccountSources): Account[] {
  const fromEnv = entriesFromTokens(sources.tokens ?? [], sources.tokenDefaults).map((e) => ({ entry: e, idFrom: 'token' as const }));
  const fromFile = sources.accounts === undefined ? [] : parseAccountEntries(sources.accounts).map((e) => ({ entry: e, idFrom: 'name' as const }));
  return buildAccountsFrom([...fromEnv, ...fromFile]);
}

/**
 * Accounts from validated entries. Ids come from the name (`acct_<name>`), so that a
 * rotated or replaced token never changes an account's identity. Throws on duplicates.
 */
export function buildAccounts(entries: readonly AccountEntry[]): Account[] {
  return buildAccountsFrom(entries.map((entry) => ({ entry, idFrom: 'name' as const })));
}

function buildAccountsFrom(items: ReadonlyArray<{ entry: AccountEntry; idFrom: 'token' | 'name' }>): Account[] {
  const problems: string[] = [];
  const seen = { name: new Map<string, string>(), token: new Map<string, string>(), id: new Map<string, string>() };
  /** Records `key`; false (with a problem) when an earlier entry already has it. */
  const claim = (what: keyof typeof seen, key: string, where: string): boolean => {
    const other = seen[what].get(key);
    if (other === undefined) {
      seen[what].set(key, where);
      return true;
    }
    problems.push(what === 'id' ? `${where}: resolves to the same account id as ${other}` : `${where}.${what}: same ${what} as ${other}`);
    return false;
  };
  const accounts: Account[] = [];
  let envIndex = 0;
  let fileIndex = 0;
  for (const { entry, idFrom } of items) {
    const where = idFrom === 'token' ? `KIMI_TOKENS[${envIndex++}]` : `accounts[${fileIndex++}]`;
    const id = idFrom === 'token' ? accountIdForToken(entry.token) : accountIdForName(entry.name);
    const nameOk = claim('name', entry.name, where);
    const tokenOk = claim('token', entry.token, where);
    if (!nameOk || !tokenOk || !claim('id', id, where)) continue;
    const { weight, maxConcurrent, minIntervalMs, disabled, dailyRequests, proxyUrl } = entry;
    accounts.push(makeAccount(entry.token, entry.name, id, { weight, maxConcurrent, minIntervalMs, disabled, dailyRequests, proxyUrl }));
  }
  if (problems.length > 0) throw new AccountsConfigError(problems);
  return accounts;
}
