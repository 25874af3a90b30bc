/**
 * /admin/api/stats: the dashboard's overview, computed from the persisted request log when
 * asked (nothing is counted on the chat path for it): requests, errors, time to first byte
 * (p50/p95) and estimated tokens per time bucket over the last hour or day, the same per
 * account and per key, accounts by state, and the requests running now.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountPool } from '../../accounts/pool.js';
import type { Clock } from '../../core/clock.js';
import type { RequestLogEntry, Store } from '../../store/store.js';
import { quantile, scanRequestLog } from './log-scan.js';
import { requestSchema } from './openapi.js';
import { answers, array, bool, constant, int, object, oneOf, orNull, str } from './schema-parts.js';
import { parseQuery, seconds } from './validate.js';

const WINDOWS = {
  hour: { spanMs: 3_600_000, bucketMs: 60_000 },
  day: { spanMs: 86_400_000, bucketMs: 3_600_000 },
} as const;

/** A result is reused this long (several open dashboards share one computation). */
const CACHE_MS = 2_000;

const query = z.object({ window: z.enum(['hour', 'day']).default('hour').describe('hour: 60 one-minute buckets; day: 24 one-hour buckets.') });

const tallyFields = {
  requests: int('Requests.'),
  errors: int('Requests answered with an error.'),
  tokens: int('Estimated prompt and completion tokens.'),
  ttfb_p50_ms: orNull(int('Median time to first byte, in ms.')),
  ttfb_p95_ms: orNull(int('95th percentile of the time to first byte, in ms.')),
};
const named = object('The tally of one account or key.', { name: str('The account or key name ("(none)" when there was none).'), ...tallyFields });
const statsAnswer = object('The overview of the window.', {
  object: constant('admin.stats', 'Always "admin.stats".'),
  window: oneOf(['hour', 'day'], 'The window.'),
  from: int('Start of the first bucket (unix seconds).'),
  to: int('Now (unix seconds).'),
  bucket_seconds: int('Length of a bucket.'),
  truncated: bool('The window holds more requests than the log keeps (REQUEST_LOG_MAX_ENTRIES).'),
  totals: object('The whole window.', tallyFields),
  series: array(object('One bucket.', { at: int('Its start (unix seconds).'), ...tallyFields }), 'The buckets, oldest first.'),
  per_account: array(named, 'Per account, busiest first.'),
  per_key: array(named, 'Per API key, busiest first.'),
  accounts_by_state: { type: 'object', description: 'How many accounts are in each state (healthy, cooling, …).', additionalProperties: { type: 'integer' } },
  in_flight: object('Requests running now.', {
    total: int('On every account.'),
    per_account: array(object('One account.', { name: str('The account name.'), in_flight: int('Its running requests.') }), 'Accounts running requests.'),
  }),
});

interface Tally {
  requests: number;
  errors: number;
  tokens: number;
  ttfb: number[];
}

const newTally = (): Tally => ({ requests: 0, errors: 0, tokens: 0, ttfb: [] });

export const isError = (e: RequestLogEntry): boolean => e.status >= 400 || e.errorCode !== undefined;

function add(t: Tally, e: RequestLogEntry): void {
  t.requests++;
  if (isError(e)) t.errors++;
  t.tokens += (e.promptTokens ?? 0) + (e.completionTokens ?? 0);
  if (e.ttfbMs !== undefined) t.ttfb.push(e.ttfbMs);
}

const show = (t: Tally): Record<string, number | null> => ({
  requests: t.requests,
  errors: t.errors,
  tokens: t.tokens,
  ttfb_p50_ms: quantile(t.ttfb, 0.5) ?? null,
  ttfb_p95_ms: quantile(t.ttfb, 0.95) ?? null,
});

function grouped(entries: RequestLogEntry[], keyOf: (e: RequestLogEntry) => string): Record<string, unknown>[] {
  const groups = new Map<string, Tally>();
  for (const e of entries) {
    const k = keyOf(e);
    let t = groups.get(k);
    if (!t) groups.set(k, (t = newTally()));
    add(t, e);
  }
  return [...groups].sort((a, b) => b[1].requests - a[1].requests).map(([name, t]) => ({ name, ...show(t) }));
}

export interface StatsAdminDeps {
  pool: Pick<AccountPool, 'status'>;
  clock: Clock;
  store: Pick<Store, 'listRequestLog'>;
  /** REQUEST_LOG_MAX_ENTRIES: a window is read up to this many entries (0: no cap, then 10,000). */
  requestLogMaxEntries: number;
}

export function registerStatsAdmin(app: FastifyInstance, deps: StatsAdminDeps): void {
  const { pool, clock } = deps;
  const cache = new Map<string, { at: number; body: Record<string, unknown> }>();

  const compute = async (window: keyof typeof WINDOWS): Promise<Record<string, unknown>> => {
    const { spanMs, bucketMs } = WINDOWS[window];
    const now = clock.now();
    const start = Math.floor((now - spanMs) / bucketMs) * bucketMs + bucketMs;
    const { entries, more } = await scanRequestLog(deps.store, { since: start, max: deps.requestLogMaxEntries || 10_000 });
    const buckets = Array.from({ length: Math.round(spanMs / bucketMs) }, newTally);
    for (const e of entries) {
      const i = Math.floor((e.at - start) / bucketMs);
      if (i >= 0 && i < buckets.length) add(buckets[i]!, e);
    }
    const total = newTally();
    for (const e of entries) add(total, e);
    const statuses = pool.status();
    const byState: Record<string, number> = {};
    for (const s of statuses) byState[s.state] = (byState[s.state] ?? 0) + 1;
    return {
      object: 'admin.stats',
      window,
      from: seconds(start),
      to: seconds(now),
      bucket_seconds: bucketMs / 1000,
      // The log keeps REQUEST_LOG_MAX_ENTRIES entries: a busier window is cut at that many.
      truncated: more,
      totals: show(total),
      series: buckets.map((t, i) => ({ at: seconds(start + i * bucketMs), ...show(t) })),
      per_account: grouped(entries, (e) => e.accountName ?? '(none)'),
      per_key: grouped(entries, (e) => e.keyName ?? '(none)'),
      accounts_by_state: byState,
      in_flight: {
        total: statuses.reduce((n, s) => n + s.inFlight, 0),
        per_account: statuses.filter((s) => s.inFlight > 0).map((s) => ({ name: s.name, in_flight: s.inFlight })),
      },
    };
  };

  const schema = { tags: ['stats'], summary: 'Overview statistics', description: 'Computed from the request log when asked; reused for 2 s.', querystring: requestSchema(query), response: answers(200, statsAnswer) };
  app.get('/stats', { schema }, async (request) => {
    const { window } = parseQuery(query, request.query);
    const hit = cache.get(window);
    const now = clock.now();
    if (hit && now - hit.at < CACHE_MS) return hit.body;
    const body = await compute(window);
    cache.set(window, { at: now, body });
    return body;
  });
}
