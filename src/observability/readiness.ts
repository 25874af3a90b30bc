/**
 * Readiness: the store answers a ping and at least one account can take a request now.
 * Otherwise the answer says why (store unreachable, no accounts, every account invalid,
 * disabled or cooling down, with when the first one comes back, or shutting down).
 */
import type { AccountStatus } from '../accounts/pool.js';
import type { Store } from '../store/store.js';

export type NotReadyReason = 'shutting_down' | 'store_unreachable' | 'no_accounts' | 'accounts_unavailable';

export interface ReadinessDeps {
  store: Pick<Store, 'ping'>;
  accounts: () => readonly AccountStatus[];
  now: () => number;
  draining: () => boolean;
  /** Default 2 s. */
  pingTimeoutMs?: number;
}

export interface Readiness {
  ready: boolean;
  /** When known: how long until it may be ready (the first account back from a cooldown). */
  retryAfterMs?: number;
  body: Record<string, unknown>;
}

/** An account that can serve a request now (a half-open circuit counts: it takes a probe). */
export function isUsable(a: AccountStatus, now: number): boolean {
  if (a.state === 'healthy' || a.state === 'refreshing') return true;
  if (a.state === 'cooling' || a.state === 'failing') return a.cooldownUntil === undefined || a.cooldownUntil <= now;
  return false;
}

function notReady(reason: NotReadyReason, message: string, extra: Record<string, unknown> = {}, retryAfterMs?: number): Readiness {
  return {
    ready: false,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    body: { status: 'not_ready', reason, message, ...extra },
  };
}

async function pingWithin(store: Pick<Store, 'ping'>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([store.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  if (deps.draining()) return notReady('shutting_down', 'The proxy is shutting down.');
  try {
    await pingWithin(deps.store, deps.pingTimeoutMs ?? 2_000);
  } catch (err) {
    return notReady('store_unreachable', `The store does not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const accounts = deps.accounts();
  if (accounts.length === 0) {
    return notReady('no_accounts', 'No Kimi account is configured (KIMI_TOKENS or the accounts file).');
  }
  const now = deps.now();
  const states: Record<string, number> = {};
  let usable = 0;
  let firstBack = Infinity;
  for (const a of accounts) {
    states[a.state] = (states[a.state] ?? 0) + 1;
    if (isUsable(a, now)) usable += 1;
    else if ((a.state === 'cooling' || a.state === 'failing') && a.cooldownUntil !== undefined) firstBack = Math.min(firstBack, a.cooldownUntil);
  }
  const summary = { total: accounts.length, usable, states };
  if (usable > 0) return { ready: true, body: { status: 'ready', store: 'ok', accounts: summary } };
  if (firstBack === Infinity) {
    return notReady('accounts_unavailable', `None of the ${accounts.length} Kimi accounts is usable: each is invalid or disabled.`, { accounts: summary });
  }
  const retryAfterMs = Math.max(0, firstBack - now);
  return notReady(
    'accounts_unavailable',
    `None of the ${accounts.length} Kimi accounts is usable now (invalid, disabled or cooling down); the first comes back in ${Math.ceil(retryAfterMs / 1000)} s.`,
    { accounts: summary, retry_at: new Date(firstBack).toISOString(), retry_after_ms: retryAfterMs },
    retryAfterMs,
  );
}
