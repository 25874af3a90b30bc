/**
 * What one request carries from its first hook to its last log line, set once and read
 * everywhere as `request.ctx`: who is calling (set by the client API's auth hook), the signal
 * that cancels its upstream work, the estimated usage of its reply, how its response ended,
 * and the error the error handler answered with. No module keeps a side table per request.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { ApiKeyIdentity } from '../auth/api-keys.js';
import { ProxyError } from '../core/errors.js';
import { linkSignals, type LinkedSignal } from '../core/signals.js';
import type { ChatTrack } from '../observability/request-log.js';
import type { ResponseEnd } from '../render/response-end.js';

/** Estimated tokens of a reply (the renderer's estimate). */
export interface ReplyUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export class RequestContext {
  /** `performance.now()` when the request arrived. */
  readonly startedAt = performance.now();
  /** The typed error the error handler answered with. */
  error: unknown;
  /** How the renderer ended the response (finish, error, client gone); unset when none ran. */
  end: ResponseEnd | undefined;
  /** What a turn-serving route tells the request log (observability/request-log.ts). */
  turn: ChatTrack | undefined;
  #identity: ApiKeyIdentity | undefined;
  #usage: ReplyUsage | undefined;
  #link: LinkedSignal | undefined;
  #closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly stopSignal: AbortSignal,
  ) {}

  /** The caller, once the client API's auth hook has established it. */
  get identity(): ApiKeyIdentity {
    if (this.#identity === undefined) throw new ProxyError('internal_error', 'The request has no caller identity (a route outside the client API asked for it).');
    return this.#identity;
  }

  /** The caller, or undefined before (or without) authentication: for logs and metrics. */
  get knownIdentity(): ApiKeyIdentity | undefined {
    return this.#identity;
  }

  setIdentity(identity: ApiKeyIdentity): void {
    this.#identity = identity;
  }

  /** Estimated usage of the reply, summed when a request runs several turns. */
  get usage(): ReplyUsage | undefined {
    return this.#usage;
  }

  /** For a renderer's `onEnd`: records how the response ended, and the usage of a finished reply. */
  readonly reportEnd = (end: ResponseEnd): void => {
    this.end = end;
    if (end.outcome === 'finish') this.addUsage(end.usage);
  };

  addUsage(usage: ReplyUsage): void {
    const prev = this.#usage;
    this.#usage = prev ? { prompt_tokens: prev.prompt_tokens + usage.prompt_tokens, completion_tokens: prev.completion_tokens + usage.completion_tokens } : { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens };
  }

  /**
   * Cancels the request's upstream work: aborts when the client goes away before the response
   * is complete, or when a shutdown's grace period is over. Made on first use (most routes do
   * not need it).
   */
  get signal(): AbortSignal {
    if (this.#link) return this.#link.signal;
    // Not AbortSignal.any(): on Node 20 it leaves an entry in the long-lived stop signal per
    // request for good. The stop signal is unlinked when the response closes; the response
    // itself lives no longer than the request, and a client that leaves still cancels work
    // that outlives it.
    const link = linkSignals(this.#closed ? [] : [this.stopSignal]);
    this.#link = link;
    const res = this.res;
    if (res.destroyed && !res.writableFinished) link.abort(clientGone());
    else res.once('close', () => {
      if (!res.writableFinished) link.abort(clientGone());
    });
    return link.signal;
  }

  /** The response closed: the signal stops following the shutdown's. */
  close(): void {
    this.#closed = true;
    this.#link?.unlink();
  }
}

const clientGone = (): ProxyError => new ProxyError('internal_error', 'client disconnected');

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's context (see http/request-context.ts). */
    ctx: RequestContext;
  }
}

/** Gives every request its context. Register before any hook that reads it. */
export function registerRequestContext(app: FastifyInstance, deps: { stopSignal: AbortSignal }): void {
  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.addHook('onRequest', async (request, reply) => {
    const ctx = new RequestContext(reply.raw, deps.stopSignal);
    request.ctx = ctx;
    reply.raw.once('close', () => ctx.close());
  });
}
