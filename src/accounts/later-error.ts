/** The answer when every account the request may use comes back later (cooling, resting, failing). */
import { ProxyError } from '../core/errors.js';

/**
 * `allResting`: each of them rests (usage limit reached or daily budget spent). A rest lasts
 * until a reset, not a moment: the answer says so, and a pinned conversation may move (the
 * policy's `migrate` for `quota_exhausted`).
 */
export function laterError(retryAfterMs: number, allResting: boolean): ProxyError {
  if (allResting) {
    const minutes = Math.ceil(retryAfterMs / 60_000);
    return new ProxyError('quota_exhausted', `Every usable Kimi account has reached its usage limit or its daily request budget; the first one is back in ${minutes} min.`, { retryAfterMs });
  }
  return new ProxyError('accounts_exhausted', `Every usable Kimi account is cooling down or failing; retry in ${Math.ceil(retryAfterMs / 1000)} s.`, { retryAfterMs });
}
