/**
 * Per-request bookkeeping: exactly one log line per request, written when the response has
 * really ended (for streams: when the stream finished or the client left, not when the
 * headers went out), the request metrics, and the persisted request-log entry.
 *
 * The chat route feeds a `ChatTrack` (key name, model, account, conversation, first frame,
 * usage, in-stream error); everything else is read from the request and the reply. Nothing
 * here runs per delta except one promise reaction per upstream event while streaming, which
 * is how an in-stream error is seen without touching the renderer.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { isProxyError, ProxyError } from '../core/errors.js';
import { linkSignals } from '../core/signals.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { ChatUsage } from '../render/openai/usage.js';
import type { RequestLogEntry } from '../store/store.js';
import { OTHER_MODEL, type Metrics } from './metrics.js';
import type { RequestLogStore } from './request-log-store.js';

export interface RequestLogOptions {
  logger: Logger;
  metrics: Metrics;
  entries: RequestLogStore;
  clock: Clock;
  /** LOG_BODIES: add the request's messages to its log line. */
  logBodies: boolean;
  protocol: string;
  accountName: (accountId: string) => string | undefined;
  /** Aborts running upstream calls (a shutdown whose grace period is over). */
  stopSignal: AbortSignal;
}

interface RequestRecord {
  start: number;
  error?: unknown;
  chat?: ChatTrack;
  done: boolean;
}

/** What the chat route tells the request log about one chat request. */
export class ChatTrack {
  keyName: string | undefined;
  model: string | undefined;
  modelLabel = OTHER_MODEL;
  stream = false;
  conversationId: string | undefined;
  messages: unknown;
  ttfbMs: number | undefined;
  usage: Pick<ChatUsage, 'prompt_tokens' | 'completion_tokens'> | undefined;
  streamError: unknown;
  streamOpen = false;
  private turnRef: { readonly accountId: string } | undefined;
  private unlinkSignal: (() => void) | undefined;

  constructor(
    private readonly start: number,
    private readonly metrics: Metrics,
    private readonly stopSignal: AbortSignal,
  ) {}

  setKey(name: string): void {
    this.keyName = name;
  }

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
  setTurn(turn: { readonly accountId: string }): void {
    this.turnRef = turn;
  }

  get accountId(): string | undefined {
    return this.turnRef?.accountId;
  }

  /** For RenderOptions.onUsage: the estimated usage of a completed reply. */
  readonly onUsage = (usage: Pick<ChatUsage, 'prompt_tokens' | 'completion_tokens'>): void => {
    this.usage = usage;
  };

  /**
   * The request's signal: aborts when the client goes away before the response is complete,
   * or when a shutdown's grace period is over. One controller for both (a signal per source
   * and a link between them cost measurably on the hot path).
   */
  requestSignal(res: ServerResponse): AbortSignal {
    // Not AbortSignal.any(): on Node 20 it leaves an entry in the long-lived stop signal per
    // request for good. The stop signal is unlinked when the request ends; the response lives
    // no longer than the request and stays listened to (a client that leaves still cancels
    // work that outlives the response).
    this.unlinkSignal?.();
    const link = linkSignals([this.stopSignal]);
    this.unlinkSignal = link.unlink;
    res.once('close', () => {
      if (!res.writableFinished) link.abort(new ProxyError('internal_error', 'client disconnected'));
    });
    return link.signal;
  }

  /** The request is over: its upstream signal stops following the stop signal. */
  unlink(): void {
    this.unlinkSignal?.();
    this.unlinkSignal = undefined;
  }

  /** Remembers the error that ends an event stream (the renderer reports it in-stream). */
  events<T>(source: AsyncIterable<T>): AsyncIterable<T> {
    const onError = (err: unknown): never => {
      this.streamError ??= err;
      throw err;
    };
    return {
      [Symbol.asyncIterator]: () => {
        const it = source[Symbol.asyncIterator]();
        return {
          next: () => it.next().then(undefined, onError),
          return: (value?: unknown) => (it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined })),
        };
      },
    };
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

/** A copy of `o` without its undefined properties (a loop: entries/filter/fromEntries showed in profiles). */
function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const key in o) {
    const value = o[key];
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

export class RequestLog {
  private readonly records = new WeakMap<FastifyRequest, RequestRecord>();

  constructor(private readonly opts: RequestLogOptions) {}

  /** Adds the hook that starts a record per request and writes it when the response closes. */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', async (request, reply) => {
      const rec: RequestRecord = { start: performance.now(), done: false };
      // Chat requests are tracked from the start, so that those refused early (auth, limits) count too.
      if (request.routeOptions.url?.includes('/chat/completions')) rec.chat = new ChatTrack(rec.start, this.opts.metrics, this.opts.stopSignal);
      this.records.set(request, rec);
      // 'close' fires after 'finish' for complete responses, and alone when the client left.
      reply.raw.once('close', () => this.finish(request, reply, rec));
    });
  }

  /** The chat route's tracker for this request. */
  chat(request: FastifyRequest): ChatTrack {
    let rec = this.records.get(request);
    if (!rec) {
      rec = { start: performance.now(), done: false };
      this.records.set(request, rec);
    }
    rec.chat ??= new ChatTrack(rec.start, this.opts.metrics, this.opts.stopSignal);
    return rec.chat;
  }

  /** The (typed) error the error handler answered with. */
  noteError(request: FastifyRequest, err: unknown): void {
    const rec = this.records.get(request);
    if (rec) rec.error ??= err;
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

  private finish(request: FastifyRequest, reply: FastifyReply, rec: RequestRecord): void {
    if (rec.done) return;
    rec.done = true;
    rec.chat?.unlink();
    try {
      this.write(request, reply, rec);
    } catch (err) {
      this.opts.logger.error({ reqId: request.id, err: (err as Error).message }, 'could not record the request');
    }
  }

  private write(request: FastifyRequest, reply: FastifyReply, rec: RequestRecord): void {
    const durationMs = Math.round(performance.now() - rec.start);
    const raw = reply.raw;
    const completed = raw.writableFinished;
    // 499: the client went away before any response was sent (nginx's convention).
    const status = raw.headersSent || completed ? raw.statusCode : 499;
    const chat = rec.chat;
    const err = rec.error ?? chat?.streamError;
    let errorCode: string | undefined = err === undefined ? undefined : isProxyError(err) ? err.code : 'internal_error';
    const upstreamCode = isProxyError(err) ? err.upstreamCode : undefined;
    if (errorCode === undefined && !completed) errorCode = 'client_closed';
    // A stream that ended cleanly for the client but without a completed reply ended on an
    // error frame the renderer made itself (an upstream stream without its end marker).
    if (errorCode === undefined && chat?.streamOpen && chat.usage === undefined) errorCode = 'upstream_protocol_error';

    const account = chat?.accountId !== undefined ? this.opts.accountName(chat.accountId) : undefined;
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
            key: chat.keyName,
            model: chat.model,
            account,
            protocol: this.opts.protocol,
            conversationId: chat.conversationId,
            stream: chat.stream,
            ttfbMs: chat.ttfbMs === undefined ? undefined : Math.round(chat.ttfbMs),
            promptTokens: chat.usage?.prompt_tokens,
            completionTokens: chat.usage?.completion_tokens,
            tokensEstimated: chat.usage ? true : undefined,
          }),
        );
      }
      if (errorCode !== undefined) line.errorCode = errorCode;
      if (upstreamCode !== undefined) line.upstreamCode = upstreamCode;
      if (this.opts.logBodies && chat?.messages !== undefined) line.messages = chat.messages;
      this.opts.logger[level](line, 'request');
    }

    if (!chat) return;
    if (chat.streamOpen) this.opts.metrics.streamClosed();
    this.opts.metrics.request({
      status,
      model: chat.modelLabel,
      key: chat.keyName ?? 'none',
      stream: chat.stream,
      durationMs,
      ...(chat.ttfbMs !== undefined ? { ttfbMs: chat.ttfbMs } : {}),
      ...(chat.usage ? { promptTokens: chat.usage.prompt_tokens, completionTokens: chat.usage.completion_tokens } : {}),
      ...(errorCode !== undefined ? { errorCode } : {}),
    });
    const entry: RequestLogEntry = stripUndefined({
      id: randomUUID(),
      at: this.opts.clock.now(),
      requestId: request.id,
      keyName: chat.keyName,
      model: chat.model,
      accountName: account,
      protocol: this.opts.protocol,
      conversationId: chat.conversationId,
      stream: chat.stream,
      status,
      ttfbMs: chat.ttfbMs === undefined ? undefined : Math.round(chat.ttfbMs),
      durationMs,
      promptTokens: chat.usage?.prompt_tokens,
      completionTokens: chat.usage?.completion_tokens,
      errorCode,
      upstreamCode,
    });
    this.opts.entries.add(entry);
  }
}
