/**
 * Runs upstream work on leased accounts through one attempt loop (attempt-loop.ts), whose
 * decisions come from the error policy (core/error-policy.ts):
 * - `open`: one chat turn. Before any content has been produced, a failure moves the turn
 *   to the next account, retries it on the same one, or migrates a pinned turn, as the
 *   policy says; once content has been produced, nothing is retried: the error propagates
 *   to the renderer, which reports it inside the stream. `open` resolves only once the
 *   upstream has produced content (or ended), so that a failure before any content rejects
 *   it and the door answers with the failure's real status and Retry-After instead of a
 *   200 stream holding an error; a start silent for longer than `firstOutputWaitMs` resolves
 *   it anyway (the door opens its stream, whose keep-alive comments keep intermediaries
 *   from cutting it), and a failure after that is reported in the stream.
 * - `unary`: any other upstream call (account probe, catalog, chat deletion), with the same
 *   retries and the same health reports.
 * Every outcome is reported to the account's health, and the lease is released when the
 * work ends, fails or is abandoned (client gone).
 */
import type { ChatEvent } from '../core/chat-event.js';
import type { Clock } from '../core/clock.js';
import type { KimiProtocolClient, UpstreamCallContext, UpstreamChatRequest } from '../upstream/kimi/types.js';
import { AttemptLoop, type Attempt, type AttemptFailure, type AttemptLoopOptions } from './attempt-loop.js';
import { runUnary, type UnaryOptions } from './unary.js';

export interface RelayOptions extends AttemptLoopOptions {
  client: KimiProtocolClient;
  /** Deletes an upstream chat created by an attempt that failed (off the response path). */
  discardChat: (accountId: string, chatId: string) => void;
  /** Longest wait in `open` for the upstream's first content (default 15 s, the keep-alive interval's default). */
  firstOutputWaitMs?: number;
}

const DEFAULT_FIRST_OUTPUT_WAIT_MS = 15_000;
const WAITED = Symbol('waited');
/**
 * Why the wait for first content is cut short: content came. A reason given saves building a
 * DOMException (with its stack) on every turn; nobody reads it.
 */
const CONTENT_CAME = Symbol('content came');

export interface RelayRequest {
  upstream: UpstreamChatRequest;
  /** Conversation affinity: the upstream chat lives on this account. */
  accountId?: string;
  /**
   * With `accountId`: the request to run instead, unpinned, when the account or its chat can
   * no longer serve (the policy's `migrate`). Without it, such a failure is the answer.
   */
  migrate?: () => UpstreamChatRequest;
  signal: AbortSignal;
  /** Told of each failed attempt and what followed it. */
  onFailure?: (failure: AttemptFailure) => void;
}

export interface RelayTurn {
  /** Decoded events. Failover (if any) happens inside, before the first content event. */
  events: AsyncIterable<ChatEvent>;
  /** The account serving the turn right now (it can change until content starts). */
  readonly accountId: string;
  /** The turn left its pinned account and runs `migrate()` instead (it can change until content starts). */
  readonly migrated: boolean;
  /** Releases the account when the events will never be read (e.g. the client left first). */
  abandon(): void;
}

/** Whether an event may already have shown the client output of this attempt (it cannot be retried then). */
const SHOWN: { readonly [K in ChatEvent['type']]: boolean } = {
  meta: false,
  'text-delta': true,
  'text-replace': true,
  'reasoning-delta': true,
  search: false,
  citation: true,
  'citation-ref': true,
  'tool-call': true,
  heartbeat: false,
  finish: true,
};

interface ChatStream {
  stream: AsyncIterable<ChatEvent>;
  /** The request named an existing upstream chat (a new one it creates is not discarded). */
  continuesChat: boolean;
}

export class Relay {
  constructor(private readonly opts: RelayOptions) {}

  /**
   * Resolves when the upstream has produced content or ended (or `firstOutputWaitMs` has
   * passed), so the response head can be sent; rejects with the typed error of a failure
   * before that, after the failover the policy allows.
   */
  async open(req: RelayRequest): Promise<RelayTurn> {
    let migration: UpstreamChatRequest | undefined;
    const loop = new AttemptLoop<ChatStream>(this.opts, { accountId: req.accountId, migratable: req.migrate !== undefined, signal: req.signal, onFailure: req.onFailure, budgeted: true }, async (_lease, credentials, migrated) => {
      const upstream = migrated ? (migration ??= req.migrate!()) : req.upstream;
      const start = () => this.opts.client.chat(upstream, { credentials, signal: req.signal });
      // Kimi can take minutes to parse a document: a turn with files uploads them inside its
      // stream, so the wait for first output below bounds the parse too and the door opens its
      // stream with keep-alives; a failure after that reaches the client in the stream.
      return { stream: upstream.files?.length ? startedOnRead(start) : await start(), continuesChat: Boolean(upstream.chatId) };
    });
    const turn = new Turn(loop, await loop.open(), this.opts.discardChat);
    await turn.awaitContent(this.opts.clock, this.opts.firstOutputWaitMs ?? DEFAULT_FIRST_OUTPUT_WAIT_MS);
    return turn;
  }

  /** Runs one non-chat upstream call on an account, reporting its outcome to the account's health. */
  unary<T>(call: (ctx: UpstreamCallContext) => Promise<T>, opts: UnaryOptions): Promise<T> {
    return runUnary(this.opts, call, opts);
  }
}

/** One relayed turn: its events go back to the attempt loop until content has been produced. */
class Turn implements RelayTurn {
  private started = false;
  private readonly source: AsyncGenerator<ChatEvent>;
  /** Events read by `awaitContent`, handed to the reader first. */
  private readonly held: ChatEvent[] = [];
  /** A read still running when `awaitContent` stopped waiting. */
  private pending: Promise<IteratorResult<ChatEvent>> | undefined;
  private sourceEnded = false;
  readonly events: AsyncIterable<ChatEvent>;

  constructor(
    private readonly loop: AttemptLoop<ChatStream>,
    private attempt: Attempt<ChatStream>,
    private readonly discardChat: (accountId: string, chatId: string) => void,
  ) {
    this.source = this.run();
    this.events = this.replay();
  }

  /** Reads until the first content event (or the end), keeping what it read; throws what failed before content. */
  async awaitContent(clock: Clock, waitMs: number): Promise<void> {
    const stopWaiting = new AbortController();
    const waited = clock.sleep(waitMs, stopWaiting.signal).then(
      (): typeof WAITED => WAITED,
      (): typeof WAITED => WAITED,
    );
    try {
      for (;;) {
        const read = (this.pending ??= this.source.next());
        // Whoever reads it later sees its failure; until then it must not count as unhandled.
        read.catch(() => undefined);
        const next = await Promise.race([read, waited]);
        if (next === WAITED) return;
        this.pending = undefined;
        if (next.done) {
          this.sourceEnded = true;
          return;
        }
        this.held.push(next.value);
        if (SHOWN[next.value.type]) return;
      }
    } finally {
      stopWaiting.abort(CONTENT_CAME);
    }
  }

  get accountId(): string {
    return this.attempt.lease.account.id;
  }

  get migrated(): boolean {
    return this.loop.migrated;
  }

  abandon(): void {
    if (!this.started) {
      this.attempt.lease.release();
      return;
    }
    // Stops the upstream stream and gives the lease back (the run's own cleanup).
    void this.source.return(undefined).catch(() => undefined);
  }

  private async *replay(): AsyncGenerator<ChatEvent> {
    try {
      while (this.held.length > 0) yield this.held.shift()!;
      if (this.pending) {
        const next = await this.pending;
        this.pending = undefined;
        if (next.done) return;
        yield next.value;
      }
      if (!this.sourceEnded) yield* this.source;
    } finally {
      // A reader that stops early stops the upstream too (a no-op once the run has ended).
      await this.source.return(undefined).catch(() => undefined);
    }
  }

  private async *run(): AsyncGenerator<ChatEvent> {
    this.started = true;
    for (;;) {
      const { lease, value } = this.attempt;
      let shown = false;
      let createdChatId: string | undefined;
      let failure: unknown;
      let drained = false;
      const it = value.stream[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          const ev = next.value;
          if (ev.type === 'meta' && ev.chatId && !value.continuesChat) createdChatId = ev.chatId;
          if (SHOWN[ev.type] && !shown) {
            shown = true;
            this.loop.settle();
          }
          if (ev.type === 'finish') {
            // Nothing may follow finish. The rest of the body (trailer, chunk end) drains in the
            // background so the keep-alive connection is reused, without delaying the client.
            // Started before yielding: consumers stop pulling as soon as they see finish.
            drained = true;
            drainInBackground(it);
            lease.report('ok');
            yield ev;
            return;
          }
          yield ev;
        }
        lease.report('ok');
        return;
      } catch (err) {
        lease.report(err);
        if (shown || !this.loop.recover(err, lease.account.id)) throw err;
        // The failed attempt's new chat will never be used.
        if (createdChatId) this.discardChat(lease.account.id, createdChatId);
        failure = err;
      } finally {
        // The consumer left early (client gone): stop the upstream stream.
        if (!drained) await it.return?.(undefined).catch(() => undefined);
        // Every exit (success, error, client gone, another attempt) gives this attempt's lease back.
        lease.release();
      }
      this.attempt = await this.loop.open(failure);
    }
  }
}

/** A stream whose start (`start`) runs when it is first read; a start that fails throws from that read. */
async function* startedOnRead(start: () => Promise<AsyncIterable<ChatEvent>>): AsyncGenerator<ChatEvent> {
  yield* await start();
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
