/**
 * The Fastify instance every app starts from: request ids (a sane `x-request-id` from the
 * client is kept), bodies parsed as JSON whatever their content type, one error handler that
 * answers in the dialect of the door, and each request's context (`request.ctx`).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ProxyError, toOpenAIError } from '../core/errors.js';
import type { Logger } from 'pino';
import { newRequestId } from '../core/ids.js';
import { lazyChildLogger } from '../observability/lazy-request-logger.js';
import { registerJsonBodyParser } from './body-parser.js';
import { frameworkErrors, registerErrorHandler } from './error-handler.js';
import { registerRequestContext } from './request-context.js';

export interface ServerOptions {
  logger: Logger;
  /** MAX_BODY_BYTES. */
  bodyLimit: number;
  /** Aborts running upstream work (the end of a shutdown's grace period). */
  stopSignal: AbortSignal;
  /** BODY_TIMEOUT_MS: a request (head and body) not received within this is cut with 408. Default 30 s. */
  bodyTimeoutMs?: number;
  /** The largest attachment: bigger data URLs stay in the parsed body (http/body-parser.ts). Absent = none are taken out. */
  inlineMaxBytes?: number;
  /** Counts requests cut before they reached a route (observability/metrics.ts). */
  onCut?: (reason: CutReason) => void;
}

export type CutReason = 'body_timeout' | 'body_not_allowed' | 'bad_request';

/** Methods whose routes take no body: a body sent with them is refused before it is read. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** How often Node checks for requests that outlived BODY_TIMEOUT_MS (its default is 30 s). */
const TIMEOUT_CHECK_MS = 250;
/** Idle keep-alive connections are closed after this (Fastify's default). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Writes an OpenAI-shaped error straight to a socket that has no response object (client errors). */
function writeRawError(socket: Socket, status: number, message: string): void {
  if (!socket.writable) return;
  const body = JSON.stringify(toOpenAIError(new ProxyError('invalid_request', message, { status })).body);
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function sendRawError(res: ServerResponse, status: number, message: string, requestId?: string): void {
  const body = JSON.stringify(toOpenAIError(new ProxyError('invalid_request', message, { status }), requestId).body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function createServer(options: ServerOptions): FastifyInstance {
  const opts = { ...options, bodyTimeoutMs: options.bodyTimeoutMs ?? 30_000 };
  const fastify = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    // One log line per request is written by the request log (observability/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: opts.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : newRequestId();
    },
    // The drain hook answers requests during a shutdown itself (503 with Retry-After).
    return503OnClosing: false,
    frameworkErrors,
    // Slow bodies (and heads) are cut: a client may not hold a connection open by trickling.
    // Node checks the deadline on an interval that only its constructor takes, hence the factory.
    serverFactory: (handler) => {
      const server = createHttpServer({ requestTimeout: opts.bodyTimeoutMs, connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, opts.bodyTimeoutMs) }, handler);
      // Fastify's own default, which it applies only to servers it creates.
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      return server;
    },
    // Errors Node raises before a request exists: the same error shape as every other answer.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        opts.onCut?.('body_timeout');
        writeRawError(socket, 408, `The request did not arrive within ${opts.bodyTimeoutMs} ms (BODY_TIMEOUT_MS).`);
      } else if (err.code === 'HPE_HEADER_OVERFLOW') {
        writeRawError(socket, 431, 'The request headers are too large.');
      } else {
        opts.onCut?.('bad_request');
        writeRawError(socket, 400, 'The request is not valid HTTP/1.1.');
      }
      socket.destroy();
    },
  });
  // Node answers an Expect header it cannot meet with a bare 417; this one says why.
  fastify.server.on('checkExpectation', (req, res) => {
    sendRawError(res, 417, `Unsupported Expect header "${String(req.headers.expect).slice(0, 100)}": only 100-continue is supported.`);
  });
  // A body on a route that takes none is refused before any of it is read (or any auth):
  // nothing would read it, and a slow one would hold the connection.
  fastify.addHook('onRequest', async (request, reply) => {
    const { headers } = request;
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    if (!hasBody || !BODYLESS_METHODS.has(request.method)) return;
    opts.onCut?.('body_not_allowed');
    // Nothing will read the body: the connection closes after the answer.
    void reply.header('connection', 'close');
    throw new ProxyError('invalid_request', `A ${request.method} request takes no body.`, { status: 400 });
  });
  registerJsonBodyParser(fastify, opts.inlineMaxBytes !== undefined ? { inlineMaxBytes: opts.inlineMaxBytes } : {});
  registerErrorHandler(fastify, { logger: opts.logger });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  registerRequestContext(fastify, { stopSignal: opts.stopSignal });
  return fastify;
}
