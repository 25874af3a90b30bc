/**
 * One error handler for the whole app: anything thrown (typed `ProxyError`, Fastify's own
 * errors, bugs) becomes a status, retry headers and a body in the dialect of the door
 * the request came through. A door picks its dialect in its route config (`errorDialect`),
 * for one route or, with `useErrorDialect`, for every route of its plugin scope; without
 * one, errors are OpenAI-shaped.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { isProxyError, ProxyError, toOpenAIError } from '../core/errors.js';
import { policyOf } from '../core/error-policy.js';

/** Renders a typed error as a door's error response body (and its status). */
export type ErrorDialect = (error: ProxyError, requestId: string) => { status: number; body: unknown };

/** The OpenAI error shape: `{"error":{"message","type","param","code","request_id"}}`. */
export const openAIDialect: ErrorDialect = (error, requestId) => toOpenAIError(error, requestId);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How this route's errors look (default: OpenAI). */
    errorDialect?: ErrorDialect;
  }
}

/** Every route registered in `scope` (after this call) answers errors in `dialect`. */
export function useErrorDialect(scope: FastifyInstance, dialect: ErrorDialect): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, errorDialect: route.config?.errorDialect ?? dialect };
  });
}

/** Retry hint for answers that tell the client to wait, when nothing better is known. */
const DEFAULT_RETRY_AFTER_MS = 5_000;

/** Fastify's own errors (bad JSON, body too large, …) as typed errors; anything else unchanged. */
export function mapFrameworkError(error: unknown): unknown {
  if (error instanceof ProxyError) return error;
  const fe = error as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProxyError('body_too_large', 'The request body is larger than the configured limit (MAX_BODY_BYTES).');
    case 'FST_ERR_CTP_INVALID_JSON':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ProxyError('invalid_json', 'The request body is not valid JSON.');
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ProxyError('invalid_request', fe.message ?? 'Invalid request.', { status: fe.statusCode });
  }
  return error;
}

function asProxyError(error: unknown): ProxyError {
  return isProxyError(error) ? error : new ProxyError('internal_error', 'Internal server error. The request id identifies the log line with details.', { cause: error });
}

function dialectOf(request: FastifyRequest): ErrorDialect {
  return request.routeOptions.config?.errorDialect ?? openAIDialect;
}

/** Sends `error` in the request's dialect, with the retry headers its policy asks for. */
function sendError(request: FastifyRequest, reply: FastifyReply, error: ProxyError): void {
  const { status, body } = dialectOf(request)(error, request.id);
  const { clientRetry } = policyOf(error);
  if (clientRetry === 'after-wait' || clientRetry === 'after-reset') {
    // Without a hint (Kimi's or the proxy's own), a short default.
    const retryAfterMs = error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
    void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    void reply.header('retry-after-ms', String(Math.round(retryAfterMs)));
  }
  if (clientRetry === 'not-until-fixed' || clientRetry === 'after-reset') void reply.header('x-should-retry', 'false');
  void reply.code(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/** A URL Fastify cannot route (bad percent-encoding): no route, so the default dialect. */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply) => {
  const { status, body } = openAIDialect(asProxyError(mapFrameworkError(error)), request.id);
  const raw = reply as unknown as FastifyReply;
  void raw.code(status).header('x-request-id', request.id).header('content-type', 'application/json; charset=utf-8').send(body);
};

/** The rest of an oversized body is read and dropped up to this much, then the connection is closed. */
const DRAIN_AFTER_413_BYTES = 32 * 1024 * 1024;
/** ...and for at most this long. */
const DRAIN_AFTER_413_MS = 10_000;

/**
 * Clients that send the whole body before reading (Python's http.client, curl with a file)
 * would meet a closed socket, not the 413: the rest of the body is read and dropped, within
 * bounds, before the connection closes. Beyond them the connection closes at once.
 */
function keepReadingAfter413(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete) return;
  const declared = Number(raw.headers['content-length']);
  // Fastify closes the connection after a body error; beyond the bounds it still does.
  if (Number.isFinite(declared) && declared > DRAIN_AFTER_413_BYTES) return;
  reply.removeHeader('connection');
  let drained = 0;
  const cut = (): void => {
    clearTimeout(timer);
    raw.socket.destroy();
  };
  const timer = setTimeout(cut, DRAIN_AFTER_413_MS);
  timer.unref();
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_AFTER_413_BYTES) cut();
  });
  raw.once('end', () => clearTimeout(timer));
  raw.resume();
}

/** Sets the app's error and not-found handlers. Child scopes inherit them. */
export function registerErrorHandler(app: FastifyInstance, deps: { logger: Logger }): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const mapped = mapFrameworkError(error);
    const typed = asProxyError(mapped);
    // The request log records the code the client was answered with.
    if (request.ctx) request.ctx.error ??= typed;
    // A client that left (gave up while queued, closed the tab) is not a server error: its
    // request ends with the reason at info level, and there is nobody to answer.
    if (reply.raw.destroyed || request.raw.socket?.destroyed === true) {
      deps.logger.info({ reqId: request.id, reason: typed.message, code: typed.code }, 'client left before the answer');
      return;
    }
    if (policyOf(typed).serverFault) {
      deps.logger.error({ reqId: request.id, err: error }, 'unhandled error');
    }
    if (typed.code === 'body_too_large') keepReadingAfter413(request, reply);
    sendError(request, reply, typed);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, new ProxyError('not_found', `Unknown route: ${request.method} ${request.url.split('?')[0]}`));
  });
}
