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

export function observePoolEvents(sinks: PoolEventSinks): (ev: PoolEvent) => void {
  const { metrics, logger, accountName } = sinks;
  return (ev) => {
    metrics.poolEvent(ev);
    const account = 'accountId' in ev ? (accountName(ev.accountId) ?? ev.accountId) : undefined;
    if (ev.type === 'state') logger.info({ account, state: ev.to, from: ev.from, reason: ev.reason }, 'account state changed');
    else if (ev.type === 'refresh' && !ev.ok) logger.warn({ account, err: ev.error }, 'token refresh failed');
    else if (ev.type === 'store-error') logger.error({ op: ev.op, err: ev.error }, 'store error in the account pool');
  };
}
