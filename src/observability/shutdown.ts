/**
 * Graceful shutdown: stop accepting connections, answer new requests with 503 + Retry-After,
 * let running requests (streams included) finish within a grace period, then stop what is
 * left: running upstream calls are aborted with `shutting_down`, which ends every open
 * stream with an SSE error chunk and `[DONE]` (and answers non-streaming requests with 503).
 */
import { unlimitedController } from '../core/signals.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ProxyError } from '../core/errors.js';

export interface DrainOptions {
  /** SHUTDOWN_GRACE_MS: how long running requests may take to finish. */
  graceMs: number;
  logger: Logger;
  /** Retry hint for requests refused while draining. Default 5 s. */
  retryAfterMs?: number;
  /** After the grace period: how long stopped requests get to write their last frames. Default 5 s. */
  settleMs?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route keeps answering while draining (liveness, readiness, metrics). */
    answersWhileDraining?: boolean;
  }
}

const shuttingDown = (retryAfterMs?: number): ProxyError =>
  new ProxyError('shutting_down', 'The proxy is shutting down; retry shortly (another instance may answer).', retryAfterMs === undefined ? {} : { retryAfterMs });

export class Drain {
  /** Every running request listens to it, so it has no listener cap. */
  private readonly stopper = unlimitedController();
  private draining = false;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private running: Promise<void> | undefined;

  constructor(private readonly opts: DrainOptions) {}

  /** Aborted when the grace period is over: upstream work still running must stop. */
  get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Counts running requests and refuses new ones while draining. */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.answersWhileDraining === true) return;
      if (this.draining) {
        void reply.header('connection', 'close');
        throw shuttingDown(this.opts.retryAfterMs ?? 5_000);
      }
      this.inFlight += 1;
      reply.raw.once('close', () => {
        this.inFlight -= 1;
        if (this.inFlight === 0) this.wakeIdle();
      });
    });
  }

  /**
   * Drains and closes the server: runs once, later calls wait for the first. Resolves when
   * every connection is closed.
   */
  run(fastify: FastifyInstance): Promise<void> {
    this.running ??= this.drainAndClose(fastify);
    return this.running;
  }

  private async drainAndClose(fastify: FastifyInstance): Promise<void> {
    const { logger, graceMs } = this.opts;
    this.draining = true;
    // Stops accepting connections and closes idle ones; resolves once all are gone.
    const closed = fastify.close();
    if (this.inFlight > 0) {
      logger.info({ inFlight: this.inFlight, graceMs }, 'shutting down: waiting for running requests');
      if (!(await this.waitIdle(graceMs))) {
        logger.warn({ inFlight: this.inFlight }, 'shutting down: grace period over; stopping the running requests');
        this.stopper.abort(shuttingDown());
        await this.waitIdle(this.opts.settleMs ?? 5_000);
      }
    } else {
      this.stopper.abort(shuttingDown());
    }
    const server = fastify.server;
    // Keep-alive connections that went idle during the drain would otherwise hold the close.
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), 1_000);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves true once nothing is in flight, false after `ms`. */
  private waitIdle(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      this.idleWaiters.push(done);
    });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
