/** What the account pool reports (state changes, refreshes, store errors) goes to the metrics and the log. */
import type { Logger } from 'pino';
import type { PoolEvent } from '../accounts/pool.js';
import type { Metrics } from './metrics.js';

export interface PoolEventSinks {
  metrics: Pick<Metrics, 'poolEvent'>;
  logger: Logger;
  /** An account's name for log lines (never its token); the id when unknown. */
  accountName: (accountId: string) => string | undefined;
}

/** Distinct unclassified upstream codes logged; beyond this they are no longer logged (the set stays bounded). */
const MAX_UNCLASSIFIED_LOGGED = 200;

export function observePoolEvents(sinks: PoolEventSinks): (ev: PoolEvent) => void {
  const { metrics, logger, accountName } = sinks;
  const unclassifiedSeen = new Set<string>();
  return (ev) => {
    if (ev.type === 'unclassified-error') {
      // Once per raw code: enough to extend the usage-limit table (upstream/kimi/usage-limit.ts), never a flood.
      if (unclassifiedSeen.has(ev.upstreamCode) || unclassifiedSeen.size >= MAX_UNCLASSIFIED_LOGGED) return;
      unclassifiedSeen.add(ev.upstreamCode);
      const account = accountName(ev.accountId) ?? ev.accountId;
      logger.warn({ account, code: ev.code, upstreamCode: ev.upstreamCode, reason: ev.message }, 'Kimi answered with an error no table classifies (logged once per code)');
      return;
    }
    metrics.poolEvent(ev);
    const account = 'accountId' in ev ? (accountName(ev.accountId) ?? ev.accountId) : undefined;
    if (ev.type === 'state') logger.info({ account, state: ev.to, from: ev.from, reason: ev.reason }, 'account state changed');
    else if (ev.type === 'refresh' && !ev.ok) logger.warn({ account, err: ev.error }, 'token refresh failed');
    else if (ev.type === 'store-error') logger.error({ op: ev.op, err: ev.error }, 'store error in the account pool');
  };
}
