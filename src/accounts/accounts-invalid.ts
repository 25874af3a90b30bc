/**
 * The answer when no configured account can serve until an operator acts — every token was
 * refused or every account is disabled. That is not a wait (a 429 would make clients retry
 * for nothing), so it is `accounts_invalid`, naming each account and what to do.
 */
import { ProxyError } from '../core/errors.js';
import type { AccountRuntime } from './account-runtime.js';

/** `accounts_invalid` when every account in `runtimes` is invalid or disabled at `now`; undefined when some account could still serve. */
export function accountsInvalid(runtimes: readonly AccountRuntime[], now: number): ProxyError | undefined {
  const why: string[] = [];
  let invalid = false;
  let disabled = false;
  for (const rt of runtimes) {
    const av = rt.availability(now);
    if (av.kind !== 'never') return undefined;
    // An account's name is its label, never its token; the reasons never quote one either.
    if (av.state === 'disabled') {
      disabled = true;
      why.push(`${rt.account.name} (disabled)`);
    } else {
      invalid = true;
      why.push(`${rt.account.name} (invalid: ${rt.health.invalid?.reason ?? 'token refused'})`);
    }
  }
  const todo = [
    ...(invalid ? ['replace the token (KIMI_TOKENS, the accounts file or the admin API); run `kimi-proxy check`'] : []),
    ...(disabled ? ['enable a disabled account'] : []),
  ];
  return new ProxyError('accounts_invalid', `No Kimi account can serve: ${why.join('; ')}. To fix: ${todo.join('; ')}.`);
}
