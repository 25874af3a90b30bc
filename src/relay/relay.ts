/**
 * Runs one upstream turn on an account, with the retry/failover policy in one place:
 * - before any content has been produced, a failure that another account might not have
 *   (auth, rate limit, 5xx, network, timeout) moves the request to the next account, with
 *   bounded attempts and jittered backoff;
 * - a request pinned to an account (a conversation's upstream chat lives there) never moves;
 * - once content has been produced, nothing is retried: the error propagates to the
 *   renderer, which reports it inside the stream.
 * The lease is released when the events end, fail or are abandoned (client gone).
 */
import type { ChatEvent } from '../core/chat-event.js';
import type { Clock } from '../core/clock.js';
import { ProxyError, isProxyError } from '../core/errors.js';
import type { AccountLease, AccountPool } from '../accounts/pool.js';
import type { KimiProtocolClient, UpstreamChatRequest } from '../upstream/kimi/types.js';

export interface RelayOptions {
  pool: AccountPool;
  client: KimiProtocolClient;
  clock: Clock;
  /** Total attempts across accounts for one request. */
  maxAttempts: number;
  /** Base of the jittered backoff between attempts. */
  backoffMs: number;
  /** Deletes an upstream chat created by an attempt that failed (off the response path). */
  discardChat: (accountId: string, chatId: string) => void;
  onFailover?: (from: string, err: ProxyError) => void;
}

export interface RelayRequest {
  upstream: UpstreamChatRequest;
  /** Conversation affinity: the upstream chat lives on this account. */
  accountId?: string;
  signal: AbortSignal;
}

export interface RelayTurn {
  /** Decoded events. Failover (if any) happens inside, before the first content event. */
  events: AsyncIterable<ChatEvent>;
  /** The account serving the turn right now (it can change until content starts). */
  readonly accountId: string;
  /** Releases the account when the events will never be read (e.g. the client left first). */
  abandon(): void;
}

/** Events that mean the client may already have seen output from this attempt. */
const CONTENT = new Set<ChatEvent['type']>(['text-delta', 'text-replace', 'reasoning-delta', 'citation', 'finish']);

export class Relay {
  constructor(private readonly opts: RelayOptions) {}

  /** Resolves when an upstream stream is open (so headers can be flushed); rejects with the last typed error. */
  async open(req: RelayRequest): Promise<RelayTurn> {
    const ctx: AttemptContext = { tried: new Set<string>(), authRetried: false };
    const first = await this.startAttempt(req, ctx, 1);
    return new Turn(this, req, ctx, first);
  }

  /** @internal */
  canFailover(req: RelayRequest, err: unknown, attemptNo: number): boolean {
    return !req.accountId && isProxyError(err) && err.failover && attemptNo < this.opts.maxAttempts && this.opts.pool.size > 1;
  }

  /**
   * @internal A 401 where no other account can take over (a pinned conversation, or a single
   * account) is retried once on the same account: the pool refreshes the token on report.
   */
  retrySameAccount(req: RelayRequest, err: unknown, ctx: AttemptContext): boolean {
    if (ctx.authRetried || !isProxyError(err) || err.code !== 'upstream_unauthenticated') return false;
    if (!req.accountId && this.opts.pool.size > 1) return false;
    ctx.authRetried = true;
    return true;
  }

  /** @internal Opens a stream on the next account, failing over on pre-stream errors. */
  async startAttempt(
    req: RelayRequest,
    ctx: AttemptContext,
    attemptNo: number,
    previous?: unknown,
  ): Promise<{ lease: AccountLease; stream: AsyncIterable<ChatEvent> }> {
    let lastError = previous;
    for (let n = attemptNo; n <= this.opts.maxAttempts; n++) {
      if (n > 1) await this.opts.clock.sleep(this.backoff(n), req.signal);
      let lease: AccountLease;
      try {
        lease = await this.opts.pool.acquire({ accountId: req.accountId, exclude: ctx.tried, signal: req.signal });
      } catch (err) {
        // Nobody left to try: the previous upstream error says more than "exhausted".
        throw lastError && isProxyError(err) && err.code === 'accounts_exhausted' ? lastError : err;
      }
      ctx.tried.add(lease.account.id);
      try {
        const credentials = await lease.credentials(req.signal);
        const stream = await this.opts.client.chat(req.upstream, { credentials, signal: req.signal });
        return { lease, stream };
      } catch (err) {
        lease.report(err);
        lease.release();
        if (req.signal.aborted) throw err;
        if (this.retrySameAccount(req, err, ctx)) {
          ctx.tried.delete(lease.account.id);
          lastError = err;
          n -= 1; // the retry does not use up a failover attempt
          continue;
        }
        if (!this.canFailover(req, err, n)) throw err;
        this.opts.onFailover?.(lease.account.id, err as ProxyError);
        lastError = err;
      }
    }
    throw lastError ?? new ProxyError('accounts_exhausted', 'Every Kimi account failed for this request.');
  }

  /** @internal */
  notifyFailover(accountId: string, err: unknown, chatId?: string): void {
    if (chatId) this.opts.discardChat(accountId, chatId);
    this.opts.onFailover?.(accountId, err as ProxyError);
  }

  private backoff(attemptNo: number): number {
    const base = Math.min(this.opts.backoffMs * 2 ** (attemptNo - 2), 2_000);
    return Math.round(base / 2 + Math.random() * (base / 2));
  }
}

/** @internal What one request has tried so far. */
export interface AttemptContext {
  tried: Set<string>;
  authRetried: boolean;
}

interface Attempt {
  lease: AccountLease;
  stream: AsyncIterable<ChatEvent>;
}

/** One relayed turn: its events fail over to another account until content has been produced. */
class Turn implements RelayTurn {
  private started = false;
  readonly events: AsyncIterable<ChatEvent>;

  constructor(
    private readonly relay: Relay,
    private readonly req: RelayRequest,
    private readonly ctx: AttemptContext,
    private attempt: Attempt,
  ) {
    this.events = this.run();
  }

  get accountId(): string {
    return this.attempt.lease.account.id;
  }

  abandon(): void {
    if (!this.started) this.attempt.lease.release();
  }

  private async *run(): AsyncGenerator<ChatEvent> {
    this.started = true;
    const { req } = this;
    let attemptNo = 1;
    for (;;) {
      let committed = false;
      let createdChatId: string | undefined;
      let failure: unknown;
      let drained = false;
      const it = this.attempt.stream[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          const ev = next.value;
          if (ev.type === 'meta' && ev.chatId && !req.upstream.chatId) createdChatId = ev.chatId;
          if (CONTENT.has(ev.type)) committed = true;
          if (ev.type === 'finish') {
            // Nothing may follow finish. The rest of the body (trailer, chunk end) drains in the
            // background so the keep-alive connection is reused, without delaying the client.
            // Started before yielding: consumers stop pulling as soon as they see finish.
            drained = true;
            drainInBackground(it);
            this.attempt.lease.report('ok');
            yield ev;
            return;
          }
          yield ev;
        }
        this.attempt.lease.report('ok');
        return;
      } catch (err) {
        this.attempt.lease.report(err);
        if (committed || req.signal.aborted) throw err;
        if (this.relay.retrySameAccount(req, err, this.ctx)) {
          this.ctx.tried.delete(this.attempt.lease.account.id);
          attemptNo -= 1;
        } else if (!this.relay.canFailover(req, err, attemptNo)) throw err;
        this.relay.notifyFailover(this.attempt.lease.account.id, err, createdChatId);
        failure = err;
      } finally {
        // The consumer left early (client gone): stop the upstream stream.
        if (!drained) await it.return?.(undefined).catch(() => undefined);
        // Every exit (success, error, client gone, failover) gives this attempt's lease back.
        this.attempt.lease.release();
      }
      attemptNo += 1;
      this.attempt = await this.relay.startAttempt(req, this.ctx, attemptNo, failure);
    }
  }
}

function drainInBackground(it: AsyncIterator<ChatEvent>): void {
  void (async () => {
    try {
      while (!(await it.next()).done) {
        // discard: the turn is over
      }
    } catch {
      // A failure after finish changes nothing for the client.
    }
  })();
}
