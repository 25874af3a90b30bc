/**
 * Deletes upstream chats off the response path: temporary chats of stateless requests,
 * chats of deleted or idle conversations, chats of failed attempts. The queue lives in the
 * store, so pending work survives restarts and (with a shared store) is done once.
 */
import type { Clock } from '../core/clock.js';
import { policyOf } from '../core/error-policy.js';
import type { UnaryCall, UnaryOptions } from '../relay/unary.js';
import type { KimiProtocolClient } from '../upstream/kimi/types.js';
import type { Store } from '../store/store.js';

export interface JanitorOptions {
  store: Store;
  /** Runs each deletion on the chat's account, reporting the outcome to its health (Relay.unary). */
  unary: <T>(call: UnaryCall<T>, opts: UnaryOptions) => Promise<T>;
  client: KimiProtocolClient;
  clock: Clock;
  /** How often due work is looked for when nothing kicked the janitor. */
  intervalMs?: number;
  maxAttempts?: number;
  /** Implicit conversations idle this long are dropped and their upstream chats deleted. */
  implicitTtlMs?: number;
  /** False: idle implicit conversations are forgotten but their upstream chats kept. */
  deleteChats?: boolean;
  onError?: (err: unknown, chatId: string) => void;
}

/** Time limit of one upstream deletion. */
const DELETE_TIMEOUT_MS = 15_000;

export class Janitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private stopped = false;

  constructor(private readonly opts: JanitorOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.opts.intervalMs ?? 30_000);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Queues an upstream chat for deletion after `delayMs`. */
  async schedule(accountId: string, chatId: string, delayMs = 0): Promise<void> {
    await this.opts.store.enqueueDeletion({ accountId, chatId, protocol: this.opts.client.protocol, dueAt: this.opts.clock.now() + delayMs });
    if (delayMs === 0) this.kick();
  }

  /** Runs a pass now (or right after the one in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = this.pass()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.rerun) {
          this.rerun = false;
          this.kick();
        }
      });
  }

  /** Waits until the janitor is idle (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Forgets implicit conversations nobody continued within the TTL and queues their chats for deletion. */
  private async sweepIdle(): Promise<void> {
    const { store, clock, implicitTtlMs } = this.opts;
    if (implicitTtlMs === undefined) return;
    for (;;) {
      const idle = await store.listIdleImplicitConversations(clock.now() - implicitTtlMs, 50);
      if (idle.length === 0) return;
      for (const c of idle) {
        await store.deleteConversation(c.owner, c.id);
        if (this.opts.deleteChats !== false) {
          await store.enqueueDeletion({ accountId: c.accountId, chatId: c.upstreamChatId, protocol: c.protocol, dueAt: clock.now() });
        }
      }
    }
  }

  private async pass(): Promise<void> {
    await this.sweepIdle();
    const { store, unary, client, clock } = this.opts;
    const maxAttempts = this.opts.maxAttempts ?? 5;
    for (;;) {
      const batch = await store.claimDueDeletions(clock.now(), 16, 60_000);
      if (batch.length === 0) return;
      await Promise.all(
        batch.map(async (item) => {
          try {
            if (item.protocol !== client.protocol) throw new Error('protocol changed since the chat was created');
            await unary((ctx) => client.deleteChat(item.chatId, ctx), { accountId: item.accountId, timeoutMs: DELETE_TIMEOUT_MS });
            await store.completeDeletion(item.id);
          } catch (err) {
            // Already gone upstream: done. Anything else is tried again later, a bounded number of times.
            const gone = policyOf(err).chatGone;
            if (gone || item.attempts >= maxAttempts) await store.completeDeletion(item.id);
            else await store.retryDeletion(item.id, clock.now() + 2 ** item.attempts * 1_000);
            if (!gone) this.opts.onError?.(err, item.chatId);
          }
        }),
      );
      if (this.stopped) return;
    }
  }
}
