/**
 * Prometheus metrics, one registry per app (no global default registry, so several apps can
 * live in one process). Label values are bounded: models are the catalog's base ids or
 * `other`, keys are key names, accounts are account names (never tokens), error labels are
 * the proxy's own error codes.
 *
 * Hot path: request series are updated once per request, when it ends; account and queue
 * gauges are read from the pool at scrape time. Nothing here runs per delta.
 */
import type { QuotaReading } from '../accounts/quota-watch.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AccountStatus, PoolEvent } from '../accounts/pool.js';
import type { HealthState } from '../accounts/health.js';
import { isProxyError } from '../core/errors.js';
import type { ToolNote } from '../tools/notes.js';

/** Every account health state, so each account has one series per state (1 = current). */
export const HEALTH_STATES: readonly HealthState[] = ['healthy', 'cooling', 'refreshing', 'invalid', 'failing', 'disabled'];

/** The model label for requests whose model is unknown (or that failed before it was read). */
export const OTHER_MODEL = 'other';

export interface MetricsSources {
  accounts: () => readonly AccountStatus[];
  queueLength: () => number;
  /** The last quota Kimi reported for an account (accounts/quota-watch.ts), when any. */
  quota?: (accountId: string) => QuotaReading | undefined;
}

export interface MetricsOptions {
  version: string;
  /** Node.js process metrics (CPU, memory, event loop, GC). Default true. */
  processMetrics?: boolean;
}

/** What one finished chat request contributes. */
export interface RequestSample {
  status: number;
  model: string;
  key: string;
  stream: boolean;
  durationMs: number;
  /** Streams only: time until the first frame was written. */
  ttfbMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  errorCode?: string;
  /** A client's background call answered the cheap way. */
  auxiliary?: { task: string; answeredBy: string };
}

/** Kimi's own failures (the upstream_* codes and its usage limit). */
const fromKimi = (code: string): boolean => code.startsWith('upstream_') || code === 'quota_exhausted';

const TTFB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'status' | 'model' | 'key'>;
  private readonly ttfb: Histogram<'model'>;
  private readonly duration: Histogram<'model' | 'stream'>;
  private readonly activeStreams: Gauge;
  private readonly upstreamErrors: Counter<'code'>;
  private readonly refreshes: Counter<'result'>;
  private readonly failovers: Counter<'code'>;
  private readonly queueRejections: Counter<'reason'>;
  private readonly tokens: Counter<'type' | 'model'>;
  private readonly cuts: Counter<'reason'>;
  private readonly toolDrift: Counter<'format'>;
  private readonly toolParseFailures: Counter<'reason'>;
  private readonly toolSchemaMismatches: Counter<'action'>;
  private readonly toolRepairTurns: Counter<'reason'>;
  private readonly auxiliary: Counter<'task' | 'answered_by'>;

  constructor(sources: MetricsSources, opts: MetricsOptions) {
    const registers = [this.registry];
    /** A counter of this registry; `known` label values start at 0 so that a dashboard sees them before the first event. */
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], known?: { label: L; values: readonly string[] }): Counter<L> => {
      const c = new Counter({ name, help, labelNames, registers });
      if (known) for (const value of known.values) c.inc({ [known.label]: value } as Partial<Record<L, string>>, 0);
      return c;
    };
    /** A gauge with one series per account, read from the pool at scrape time; `undefined` leaves the account out. */
    const perAccount = (name: string, help: string, valueOf: (a: AccountStatus) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['account'],
        registers,
        collect() {
          this.reset();
          for (const a of sources.accounts()) {
            const value = valueOf(a);
            if (value !== undefined) this.set({ account: a.name }, value);
          }
        },
      });
    };
    const quotaOf = (a: AccountStatus): Exclude<QuotaReading, { error: string }> | undefined => {
      const q = sources.quota?.(a.id);
      return q && !('error' in q) ? q : undefined;
    };

    this.requests = counter('kimi_proxy_requests_total', 'Chat completion requests by HTTP status, model (base id or "other") and API key name.', ['status', 'model', 'key']);
    this.ttfb = new Histogram({
      name: 'kimi_proxy_stream_ttfb_seconds',
      help: 'Streaming requests: time from the request to the first SSE frame written.',
      labelNames: ['model'],
      buckets: TTFB_BUCKETS,
      registers,
    });
    this.duration = new Histogram({
      name: 'kimi_proxy_request_duration_seconds',
      help: 'Chat completion requests: total duration (streams: until the stream ended).',
      labelNames: ['model', 'stream'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.activeStreams = new Gauge({ name: 'kimi_proxy_active_streams', help: 'Streaming responses currently open.', registers });
    this.upstreamErrors = counter('kimi_proxy_upstream_errors_total', 'Upstream (Kimi) failures by error code, including those that caused a failover.', ['code']);
    this.refreshes = counter('kimi_proxy_token_refreshes_total', 'Access-token refreshes by result (ok, failed).', ['result'], { label: 'result', values: ['ok', 'failed'] });
    this.failovers = counter('kimi_proxy_failovers_total', 'Requests moved to another account after an upstream failure before any output, by the error code.', ['code']);
    this.queueRejections = counter('kimi_proxy_queue_rejections_total', 'Requests refused while waiting for a free account: queue full, or waited too long.', ['reason'], {
      label: 'reason',
      values: ['full', 'timeout'],
    });
    this.tokens = counter('kimi_proxy_estimated_tokens_total', 'Estimated tokens of completed chat requests (Kimi reports none; these are estimates).', ['type', 'model']);
    new Gauge({
      name: 'kimi_proxy_queue_waiting',
      help: 'Requests waiting for a free account slot.',
      registers,
      collect() {
        this.set(sources.queueLength());
      },
    });
    new Gauge({
      name: 'kimi_proxy_account_state',
      help: 'Health of each account: 1 for its current state, 0 for the others.',
      labelNames: ['account', 'state'],
      registers,
      collect() {
        this.reset();
        for (const a of sources.accounts()) {
          for (const state of HEALTH_STATES) this.set({ account: a.name, state }, a.state === state ? 1 : 0);
        }
      },
    });
    perAccount('kimi_proxy_account_in_flight', 'Requests currently running on each account.', (a) => a.inFlight);
    perAccount(
      'kimi_proxy_account_quota_remaining',
      "Kimi's last reported remaining quota per account (REST research/usage `remain`); absent when unknown.",
      (a) => quotaOf(a)?.remaining,
    );
    perAccount(
      'kimi_proxy_account_quota_used_ratio',
      "Kimi's last reported share of the credit used per account (Connect GetSubscriptionStats `amountUsedRatio`, 0 to 1); absent when unknown.",
      (a) => quotaOf(a)?.usedRatio,
    );
    new Gauge({ name: 'kimi_proxy_build_info', help: 'The running version (always 1).', labelNames: ['version'], registers }).set({ version: opts.version }, 1);
    this.cuts = counter(
      'kimi_proxy_requests_cut_total',
      'Requests cut before reaching a route: body not received within BODY_TIMEOUT_MS, a body where none is taken, malformed HTTP.',
      ['reason'],
      { label: 'reason', values: ['body_timeout', 'body_not_allowed', 'bad_request'] },
    );
    this.toolDrift = counter('kimi_proxy_tool_call_drift_total', 'Function-call blocks the model wrote in a form other than the canonical dialect (docs/tools.md), by form.', ['format']);
    this.toolParseFailures = counter(
      'kimi_proxy_tool_parse_failures_total',
      'Function calls (or JSON answers) that could not be used: unknown function, unreadable arguments or block, cut by the length limit, invalid JSON output.',
      ['reason'],
    );
    this.toolSchemaMismatches = counter(
      'kimi_proxy_tool_schema_mismatches_total',
      "Function calls whose arguments fail the function's JSON Schema: forwarded to the client, or refused (TOOL_SCHEMA_MISMATCH=repair, strict functions).",
      ['action'],
      { label: 'action', values: ['forwarded', 'refused'] },
    );
    this.toolRepairTurns = counter(
      'kimi_proxy_tool_repair_turns_total',
      'Repair turns sent upstream (TOOL_REPAIR_TURNS) because a call was unusable, a required call was missing, or the JSON output was invalid.',
      ['reason'],
      { label: 'reason', values: ['invalid_tool_call', 'missing_tool_call', 'invalid_json_output'] },
    );
    this.auxiliary = counter(
      'kimi_proxy_auxiliary_requests_total',
      "Clients' background calls (titles, tags, follow-ups, search queries) answered the cheap way, by task and by who answered (kimi, local).",
      ['task', 'answered_by'],
    );
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  streamOpened(): void {
    this.activeStreams.inc();
  }

  streamClosed(): void {
    this.activeStreams.dec();
  }

  /** One finished chat request. */
  request(s: RequestSample): void {
    this.requests.inc({ status: String(s.status), model: s.model, key: s.key });
    this.duration.observe({ model: s.model, stream: s.stream ? 'true' : 'false' }, s.durationMs / 1000);
    if (s.ttfbMs !== undefined) this.ttfb.observe({ model: s.model }, s.ttfbMs / 1000);
    if (s.promptTokens) this.tokens.inc({ type: 'prompt', model: s.model }, s.promptTokens);
    if (s.completionTokens) this.tokens.inc({ type: 'completion', model: s.model }, s.completionTokens);
    if (s.errorCode !== undefined && fromKimi(s.errorCode)) this.upstreamErrors.inc({ code: s.errorCode });
    if (s.auxiliary) this.auxiliary.inc({ task: s.auxiliary.task, answered_by: s.auxiliary.answeredBy });
  }

  /** A request cut before it reached a route (http/server.ts). */
  requestCut(reason: string): void {
    this.cuts.inc({ reason });
  }

  /** An upstream failure that moved the request to another account (it never reached the client). */
  failover(err: unknown): void {
    const code = isProxyError(err) ? err.code : 'unknown';
    this.failovers.inc({ code });
    if (fromKimi(code)) this.upstreamErrors.inc({ code });
  }

  /** What the tool emulation noticed in one reply; labels are fixed words, never client content. */
  toolNote(n: ToolNote): void {
    switch (n.kind) {
      case 'drift':
        this.toolDrift.inc({ format: n.format });
        break;
      case 'parse_failure':
        this.toolParseFailures.inc({ reason: n.reason });
        break;
      case 'schema_mismatch':
        this.toolSchemaMismatches.inc({ action: n.action });
        break;
      case 'repair_turn':
        this.toolRepairTurns.inc({ reason: n.reason });
        break;
      default:
        break;
    }
  }

  poolEvent(ev: PoolEvent): void {
    if (ev.type === 'refresh') this.refreshes.inc({ result: ev.ok ? 'ok' : 'failed' });
    else if (ev.type === 'queue-rejected') this.queueRejections.inc({ reason: ev.reason });
  }
}
