import { describe, expect, it } from 'vitest';
import { accountIdForToken } from './account.js';
import { AccountsConfigError, buildAccounts, loadAccounts, parseAccountEntries } from './accounts-config.js';
import { jwt } from './__fixtures__/fakes.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof AccountsConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected AccountsConfigError');
}

describe('account configuration', () => {
  it('applies defaults', () => {
    const [entry] = parseAccountEntries([{ name: 'main', token: 'cpmt_one' }]);
    expect(entry).toEqual({ name: 'main', token: 'cpmt_one', weight: 1, maxConcurrent: 2, minIntervalMs: 500, disabled: false, dailyRequests: 0 });
  });

  it('names the field path of every problem', () => {
    const list = problems(() =>
      parseAccountEntries([
        { name: 'ok', token: 'a' },
        { name: 'bad name', token: 'b', maxConcurrent: 0 },
        { name: 'x', token: '  ', weight: -1, proxyUrl: 'ftp://h', extra: true },
      ]),
    );
    expect(list).toContain('accounts[1].name: expected 1-64 characters from A-Z a-z 0-9 . _ -, got "bad name"');
    expect(list).toContain('accounts[1].maxConcurrent: expected an integer from 1 to 64, got 0');
    expect(list).toContain('accounts[2].token: must not be empty');
    expect(list).toContain('accounts[2].weight: expected a number greater than 0, got -1');
    expect(list).toContain('accounts[2].proxyUrl: expected an http(s):// or socks5:// URL');
    expect(list.some((p) => p.startsWith('accounts[2]: ') && p.includes('extra'))).toBe(true);
  });

  it('rejects a value that is not a list', () => {
    expect(problems(() => parseAccountEntries({ name: 'a' }))).toEqual(['accounts: expected a list of accounts, got a mapping']);
  });

  it('derives ids from names for configured accounts and from tokens for KIMI_TOKENS', () => {
    const access = jwt({ typ: 'access', app_id: 'kimi', exp: 2_000_000_000 });
    const accounts = loadAccounts({
      tokens: [' Bearer cpmt_env1 ', 'cpmt_env2'],
      accounts: [{ name: 'work', token: `"${access}"`, weight: 3, maxConcurrent: 1, minIntervalMs: 0, proxyUrl: 'http://127.0.0.1:8080' }],
    });
    expect(accounts.map((a) => [a.id, a.name, a.token, a.tokenKind])).toEqual([
      [accountIdForToken('cpmt_env1'), 'account-1', 'cpmt_env1', 'refresh'],
      [accountIdForToken('cpmt_env2'), 'account-2', 'cpmt_env2', 'refresh'],
      ['acct_work', 'work', access, 'access'],
    ]);
    expect(accounts[2]).toMatchObject({ weight: 3, maxConcurrent: 1, minIntervalMs: 0, disabled: false, proxyUrl: 'http://127.0.0.1:8080' });
  });

  it('keeps a named account id when its token changes, but not its state key', () => {
    const [a] = buildAccounts(parseAccountEntries([{ name: 'main', token: 'cpmt_old' }]));
    const [b] = buildAccounts(parseAccountEntries([{ name: 'main', token: 'cpmt_new' }]));
    expect(a!.id).toBe('acct_main');
    expect(b!.id).toBe('acct_main');
    expect(a!.deviceId).toBe(b!.deviceId);
    expect(a!.stateKey).not.toBe(b!.stateKey);
  });

  it('rejects duplicate names and tokens', () => {
    const list = problems(() =>
      loadAccounts({
        tokens: ['cpmt_same'],
        accounts: [
          { name: 'a', token: 'cpmt_same' },
          { name: 'a', token: 'cpmt_other' },
        ],
      }),
    );
    expect(list).toEqual(['accounts[0].token: same token as KIMI_TOKENS[0]', 'accounts[1].name: same name as accounts[0]']);
  });
});
