/**
 * Per-request bookkeeping: exactly one log line per request, written when the response has
 * really ended (for streams: when the stream finished or the client left, not when the
 * headers went out), the request metrics, and the persisted request-log entry.
 *
 * Everything is read from the request's context (`request.ctx`: caller, usage, the error
 * answered, how the renderer ended the response) and the reply. Routes that serve chat turns
 * say so in their route config (`logsTurn`) and feed a `ChatTrack` (model, account,
 * conversation, first frame); only they get metrics and a persisted entry.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { AuxiliaryMark } from '../auxiliary/auxiliary-turn.js';
import type { Clock } from '../core/clock.js';
import { isProxyError } from '../core/errors.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { AttemptFailure } from '../relay/attempt-loop.js';
import type { FailedAttempt, RequestLogEntry, Store } from '../store/store.js';
import { OTHER_MODEL, type Metrics } from './metrics.js';
import { RequestLogStore } from './request-log-store.js';

export interface RequestLogOptions {
  logger: Logger;
  metrics: Metrics;
  entries: RequestLogStore;
  clock: Clock;
  /** LOG_BODIES: add the request's messages to its log line. */
  logBodies: boolean;
  protocol: string;
  accountName: (accountId: string) => string | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves chat turns: the request log tracks it from its first hook (see ChatTrack). */
    logsTurn?: boolean;
  }
}

/** What a turn-serving route tells the request log about one request. */
export class ChatTrack {
  model: string | undefined;
  modelLabel = OTHER_MODEL;
  stream = false;
  conversationId: string | undefined;
  messages: unknown;
  ttfbMs: number | undefined;
  streamOpen = false;
  /** The request's failed upstream attempts, in order, and what followed each. */
  readonly failures: AttemptFailure[] = [];
  private turnRef: { readonly accountId: string; readonly auxiliary?: AuxiliaryMark } | undefined;

  constructor(
    private readonly start: number,
    private readonly metrics: Metrics,
  ) {}

  setRequest(body: { model: string; stream?: boolean | null | undefined; messages: unknown }, conversationId: string | undefined): void {
    this.model = body.model;
    this.stream = body.stream === true;
    this.conversationId = conversationId;
    this.messages = body.messages;
  }

  /** The resolved model: its base id is the metrics label (bounded by the catalog). */
  setModel(model: ResolvedModel): void {
    this.modelLabel = model.baseId;
  }

  /** The turn serving the request (its account may change until output starts). */
  setTurn(turn: { readonly accountId: string; readonly auxiliary?: AuxiliaryMark }): void {
    this.turnRef = turn;
  }

  readonly noteFailure = (failure: AttemptFailure): void => {
    this.failures.push(failure);
  };

  get accountId(): string | undefined {
    return this.turnRef?.accountId || undefined;
  }

  /** Set when the request was a client's background call answered the cheap way. */
  get auxiliary(): AuxiliaryMark | undefined {
    return this.turnRef?.auxiliary;
  }

  /** Counts the stream as open and notes when its first frame was produced. */
  frames(source: AsyncIterable<string>): AsyncIterable<string> {
    if (!this.streamOpen) {
      this.streamOpen = true;
      this.metrics.streamOpened();
    }
    return {
      [Symbol.asyncIterator]: () => {
        const it = source[Symbol.asyncIterator]();
        let first = true;
        return {
          next: () => {
            if (!first) return it.next();
            first = false;
            return it.next().then((step) => {
              if (step.done !== true) this.ttfbMs = performance.now() - this.start;
              return step;
            });
          },
          return: (value?: unknown) => (it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined })),
        };
      },
    };
  }
}

/** A copy of `o` without its undefined properties (a plain loop: it runs for every request). */
function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const key in o) {
    const value = o[key];
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

export class RequestLog {
  constructor(private readonly opts: RequestLogOptions) {}

  /** Adds the hook that tracks each request and writes its record when the response closes. Needs `request.ctx`. */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', async (request, reply) => {
      // Turn-serving routes are tracked from the start, so that those refused early (auth, limits) count too.
      if (request.routeOptions.config.logsTurn === true) request.ctx.turn = new ChatTrack(request.ctx.startedAt, this.opts.metrics);
      let done = false;
      // 'close' fires after 'finish' for complete responses, and alone when the client left.
      reply.raw.once('close', () => {
        if (done) return;
        done = true;
        this.finish(request, reply);
      });
    });
  }

  /** The chat-turn tracker of a request whose route has `logsTurn`. */
  chat(request: FastifyRequest): ChatTrack {
    request.ctx.turn ??= new ChatTrack(request.ctx.startedAt, this.opts.metrics);
    return request.ctx.turn;
  }

  /** Starts the periodic pruning of persisted entries. */
  start(): void {
    this.opts.entries.start();
  }

  /** Writes the entries queued so far. */
  flush(): Promise<void> {
    return this.opts.entries.flush();
  }

  /** Applies the retention limits now (also done periodically). */
  prune(): Promise<void> {
    return this.opts.entries.prune();
  }

  /** Writes the entries still queued (the store is closed by its owner). */
  close(): Promise<void> {
    return this.opts.entries.close();
  }

  private finish(request: FastifyRequest, reply: FastifyReply): void {
    try {
      this.write(request, reply);
    } catch (err) {
      this.opts.logger.error({ reqId: request.id, err: (err as Error).message }, 'could not record the request');
    }
  }

  private write(request: FastifyRequest, reply: FastifyReply): void {
    const ctx = request.ctx;
    const durationMs = Math.round(performance.now() - ctx.startedAt);
    const raw = reply.raw;
    const completed = raw.writableFinished;
    // 499: the client went away before any response was sent (nginx's convention).
    const status = raw.headersSent || completed ? raw.statusCode : 499;
    const chat = ctx.turn;
    const end = ctx.end;
    const err = ctx.error ?? (end?.outcome === 'error' ? end.error : undefined);
    let errorCode: string | undefined = err === undefined ? undefined : isProxyError(err) ? err.code : 'internal_error';
    const upstreamCode = isProxyError(err) ? err.upstreamCode : undefined;
    if (errorCode === undefined && (!completed || end?.outcome === 'client_gone')) errorCode = 'client_closed';
    const usage = end?.outcome === 'finish' ? ctx.usage : undefined;
    const keyName = ctx.knownIdentity?.name;

    const account = chat?.accountId !== undefined ? this.opts.accountName(chat.accountId) : undefined;
    const attempts = chat === undefined || chat.failures.length === 0 ? undefined : chat.failures.map((f) => this.attemptView(f));
    const level = status >= 500 ? 'warn' : 'info';
    if (this.opts.logger.isLevelEnabled(level)) {
      const line: Record<string, unknown> = {
        reqId: request.id,
        method: request.method,
        url: request.url.split('?')[0],
        status,
        durationMs,
      };
      if (chat) {
        Object.assign(
          line,
          stripUndefined({
            key: keyName,
            model: chat.model,
            account,
            protocol: this.opts.protocol,
            conversationId: chat.conversationId,
            stream: chat.stream,
            ttfbMs: chat.ttfbMs === undefined ? undefined : Math.round(chat.ttfbMs),
            promptTokens: usage?.prompt_tokens,
            completionTokens: usage?.completion_tokens,
            tokensEstimated: usage ? true : undefined,
            auxiliary: chat.auxiliary ? `${chat.auxiliary.task} (${chat.auxiliary.client}, ${chat.auxiliary.answeredBy})` : undefined,
          }),
        );
      }
      if (errorCode !== undefined) line.errorCode = errorCode;
      if (upstreamCode !== undefined) line.upstreamCode = upstreamCode;
      if (attempts !== undefined) line.failedAttempts = attempts;
      if (this.opts.logBodies && chat?.messages !== undefined) line.messages = chat.messages;
      this.opts.logger[level](line, 'request');
    }

    if (!chat) return;
    if (chat.streamOpen) this.opts.metrics.streamClosed();
    this.opts.metrics.request({
      status,
      model: chat.modelLabel,
      key: keyName ?? 'none',
      stream: chat.stream,
      durationMs,
      ...(chat.ttfbMs !== undefined ? { ttfbMs: chat.ttfbMs } : {}),
      ...(usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } : {}),
      ...(errorCode !== undefined ? { errorCode } : {}),
      ...(chat.auxiliary ? { auxiliary: chat.auxiliary } : {}),
    });
    const entry: RequestLogEntry = stripUndefined({
      id: randomUUID(),
      at: this.opts.clock.now(),
      requestId: request.id,
      keyName,
      model: chat.model,
      accountName: account,
      protocol: this.opts.protocol,
      conversationId: chat.conversationId,
      stream: chat.stream,
      status,
      ttfbMs: chat.ttfbMs === undefined ? undefined : Math.round(chat.ttfbMs),
      durationMs,
      promptTokens: usage?.prompt_tokens,
      completionTokens: usage?.completion_tokens,
      errorCode,
      upstreamCode,
      failedAttempts: attempts,
      auxiliary: chat.auxiliary?.task,
    });
    this.opts.entries.add(entry);
  }

  private attemptView(f: AttemptFailure): FailedAttempt {
    const account = f.accountId === undefined ? undefined : this.opts.accountName(f.accountId);
    return { ...(account !== undefined ? { account } : {}), code: f.code, next: f.next };
  }
}

/** The request log with the settings of `config` (LOG_BODIES, REQUEST_LOG_MAX_ENTRIES, REQUEST_LOG_MAX_AGE_MS). */
export function createRequestLog(
  config: Config,
  deps: Pick<RequestLogOptions, 'logger' | 'metrics' | 'clock' | 'protocol' | 'accountName'> & { store: Store },
): RequestLog {
  const { logger, clock, store } = deps;
  const { logBodies, requestLogMaxEntries, requestLogMaxAgeMs } = config.observability;
  return new RequestLog({
    ...deps,
    logBodies,
    entries: new RequestLogStore({
      store,
      clock,
      maxEntries: requestLogMaxEntries,
      maxAgeMs: requestLogMaxAgeMs,
      onError: (op, err) => logger.warn({ op, err: (err as Error).message }, 'could not persist the request log'),
    }),
  });
}
