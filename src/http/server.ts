/**
 * The Fastify instance every app starts from: request ids (a sane `x-request-id` from the
 * client is kept), bodies parsed as JSON whatever their content type, one error handler that
 * answers in the dialect of the door, and each request's context (`request.ctx`).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
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
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function createServer(opts: ServerOptions): FastifyInstance {
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
  });
  registerJsonBodyParser(fastify);
  registerErrorHandler(fastify, { logger: opts.logger });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  registerRequestContext(fastify, { stopSignal: opts.stopSignal });
  return fastify;
}
