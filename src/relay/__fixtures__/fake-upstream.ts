/** A scripted Kimi client and a small account pool for tests of the relay and the chat service. */
import type { ChatEvent } from '../../core/chat-event.js';
import { makeAccount } from '../../accounts/account.js';
import { AccountPool, type AccountPoolOptions } from '../../accounts/pool.js';
import { FakeClock } from '../../store/fake-clock.js';
import { MemoryStore } from '../../store/memory.js';
import type { KimiProtocolClient, UpstreamAccountInfo, UpstreamCallContext, UpstreamChatRequest } from '../../upstream/kimi/types.js';

/** What one chat call does: refuse at once, or stream these events (then optionally fail, or wait for the call's abort). */
export type Step = { refuse: Error } | { events: ChatEvent[]; then?: Error | 'hang' };

export interface ChatCall {
  accountId: string;
  accessToken: string;
  request: UpstreamChatRequest;
}

export class ScriptedClient implements KimiProtocolClient {
  readonly protocol = 'rest' as const;
  readonly calls: ChatCall[] = [];
  readonly deleted: Array<{ accountId: string; chatId: string }> = [];
  /** Failures of the next deleteChat calls, in order. */
  readonly deleteFailures: Error[] = [];
  /** Streams whose reader stopped them early. */
  stopped = 0;

  constructor(private readonly steps: Step[] | ((call: ChatCall) => Step)) {}

  async chat(request: UpstreamChatRequest, ctx: UpstreamCallContext): Promise<AsyncIterable<ChatEvent>> {
    const call = { accountId: ctx.credentials.accountId, accessToken: ctx.credentials.accessToken, request };
    this.calls.push(call);
    const step = typeof this.steps === 'function' ? this.steps(call) : this.steps.shift();
    if (!step) throw new Error('no scripted step left');
    if ('refuse' in step) throw step.refuse;
    return this.stream(step, ctx.signal);
  }

  private async *stream(step: { events: ChatEvent[]; then?: Error | 'hang' }, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    let done = false;
    try {
      for (const ev of step.events) yield ev;
      if (step.then === 'hang') {
        await new Promise((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      if (step.then) throw step.then;
      done = true;
    } finally {
      if (!done) this.stopped += 1;
    }
  }

  async deleteChat(chatId: string, ctx: UpstreamCallContext): Promise<void> {
    const failure = this.deleteFailures.shift();
    if (failure) throw failure;
    this.deleted.push({ accountId: ctx.credentials.accountId, chatId });
  }

  async checkAccount(): Promise<UpstreamAccountInfo> {
    return {};
  }
}

/** A pool of accounts `acct_<name>` with tokens sent as they are (no refresh). */
export function fakePool(names: string[], opts: Partial<AccountPoolOptions> = {}): { pool: AccountPool; clock: FakeClock; store: MemoryStore } {
  const clock = new FakeClock();
  const store = new MemoryStore(clock);
  const accounts = names.map((n) => makeAccount(`cpmt_${n}_token`, n, `acct_${n}`, { minIntervalMs: 0 }));
  const pool = new AccountPool(accounts, { store, clock, random: () => 0, ...opts });
  return { pool, clock, store };
}

export const text = (t: string): ChatEvent => ({ type: 'text-delta', text: t });
export const stop: ChatEvent = { type: 'finish', reason: 'stop' };
export const meta = (chatId: string, assistantMessageId?: string): ChatEvent => ({ type: 'meta', chatId, ...(assistantMessageId ? { assistantMessageId } : {}) });

export async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}
