/**
 * Turns a validated chat request into one upstream turn: stateless (a temporary upstream
 * chat, deleted afterwards) or stateful (a conversation bound to an upstream chat and its
 * account, continued with only what is new). Nothing here knows the upstream protocol.
 */
import type { ChatEvent } from '../core/chat-event.js';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { Relay, RelayTurn } from '../relay/relay.js';
import type { ConversationRecord, Store, TranscriptMessage } from '../store/store.js';
import type { KimiProtocol } from '../upstream/kimi/types.js';
import { newMessagesSince } from './diff.js';
import { foldMessages } from './fold.js';
import type { Janitor } from './janitor.js';
import type { ChatMessage } from './messages.js';

export interface ChatServiceOptions {
  relay: Relay;
  store: Store;
  janitor: Janitor;
  clock: Clock;
  protocol: KimiProtocol;
  deleteTempChats: boolean;
  /** Bounded wait for a busy conversation before answering 409. */
  conversationWaitMs: number;
  /** Upper bound of one turn; a conversation lock never outlives it. */
  turnTimeoutMs: number;
}

export interface ChatInput {
  /** API key id ('' without keys): conversations are scoped to it. */
  owner: string;
  conversationId?: string;
  model: ResolvedModel;
  messages: ChatMessage[];
  signal: AbortSignal;
}

export interface StartedTurn {
  events: AsyncIterable<ChatEvent>;
  readonly accountId: string;
  /** The text sent upstream (for prompt-token estimates). */
  promptText: string;
  abandon(): void;
}

const LOCK_POLL_MS = 50;

interface StatefulTurn {
  input: ChatInput;
  conversationId: string;
  record: ConversationRecord | undefined;
  fresh: ChatMessage[];
  turn: RelayTurn;
  unlock: () => void;
}

export class ChatService {
  constructor(private readonly opts: ChatServiceOptions) {}

  async start(input: ChatInput): Promise<StartedTurn> {
    if (!input.messages.some((m) => m.role === 'user' || m.role === 'tool')) {
      throw new ProxyError('invalid_request', 'messages must contain at least one user message.', { param: 'messages' });
    }
    return input.conversationId ? this.startStateful(input, input.conversationId) : this.startStateless(input);
  }

  private async startStateless(input: ChatInput): Promise<StartedTurn> {
    const text = foldMessages(input.messages);
    const turn = await this.opts.relay.open({ upstream: { text, model: input.model }, signal: input.signal });
    const events = this.statelessEvents(turn);
    return wrapTurn(events, turn, text);
  }

  private async *statelessEvents(turn: RelayTurn): AsyncGenerator<ChatEvent> {
    let chatId: string | undefined;
    try {
      for await (const ev of turn.events) {
        if (ev.type === 'meta' && ev.chatId) chatId = ev.chatId;
        yield ev;
      }
    } finally {
      if (chatId && this.opts.deleteTempChats) void this.opts.janitor.schedule(turn.accountId, chatId).catch(() => undefined);
    }
  }

  private async startStateful(input: ChatInput, conversationId: string): Promise<StartedTurn> {
    const { store } = this.opts;
    const lockKey = `conv:${input.owner}:${conversationId}`;
    const lockToken = await this.lock(lockKey, input.signal);
    const unlock = (): void => void store.releaseLock(lockKey, lockToken).catch(() => undefined);
    try {
      const record = await store.getConversation(input.owner, conversationId);
      const fresh = record ? newMessagesSince(record.transcript, input.messages) : input.messages;
      if (!fresh.some((m) => m.role === 'user' || m.role === 'tool')) {
        throw new ProxyError('invalid_request', 'No new user message to send in this conversation.', { param: 'messages' });
      }
      const text = foldMessages(fresh);
      const turn = await this.opts.relay.open({
        upstream: {
          text,
          model: input.model,
          ...(record ? { chatId: record.upstreamChatId } : {}),
          ...(record?.lastAssistantMessageId ? { parentId: record.lastAssistantMessageId } : {}),
        },
        ...(record ? { accountId: record.accountId } : {}),
        signal: input.signal,
      });
      const events = this.statefulEvents({ input, conversationId, record, fresh, turn, unlock });
      return wrapTurn(events, turn, text, unlock);
    } catch (err) {
      unlock();
      throw err;
    }
  }

  private async *statefulEvents(t: StatefulTurn): AsyncGenerator<ChatEvent> {
    const { input, conversationId, record, fresh, turn, unlock } = t;
    const { store, clock } = this.opts;
    let chatId = record?.upstreamChatId;
    let assistantId: string | undefined;
    let answer = '';
    let finished = false;
    try {
      for await (const ev of turn.events) {
        if (ev.type === 'meta') {
          if (ev.chatId) chatId = ev.chatId;
          if (ev.assistantMessageId) assistantId = ev.assistantMessageId;
        } else if (ev.type === 'text-delta') answer += ev.text;
        else if (ev.type === 'text-replace' && answer.endsWith(ev.previous)) answer = answer.slice(0, answer.length - ev.previous.length) + ev.text;
        else if (ev.type === 'finish' && chatId) {
          // Saved before the finish reaches the client: the next turn must find it.
          const now = clock.now();
          const transcript: TranscriptMessage[] = [
            ...(record?.transcript ?? []),
            ...fresh.filter((m): m is ChatMessage & TranscriptMessage => m.role !== 'tool'),
            { role: 'assistant', content: answer },
          ];
          const next: ConversationRecord = {
            id: conversationId,
            owner: input.owner,
            accountId: turn.accountId,
            protocol: this.opts.protocol,
            model: input.model.requestedId,
            upstreamChatId: chatId,
            transcript,
            createdAt: record?.createdAt ?? now,
            updatedAt: now,
          };
          const parent = assistantId ?? record?.lastAssistantMessageId;
          if (parent) next.lastAssistantMessageId = parent;
          await store.saveConversation(next);
          finished = true;
        }
        yield ev;
      }
    } finally {
      unlock();
      // A first turn that never finished leaves an orphan upstream chat: clean it up.
      if (!record && !finished && chatId) void this.opts.janitor.schedule(turn.accountId, chatId).catch(() => undefined);
    }
  }

  /** Takes the conversation lock, waiting up to conversationWaitMs; then 409. */
  private async lock(key: string, signal: AbortSignal): Promise<string> {
    const deadline = this.opts.clock.now() + this.opts.conversationWaitMs;
    for (;;) {
      const token = await this.opts.store.tryLock(key, this.opts.turnTimeoutMs + 30_000);
      if (token) return token;
      if (this.opts.clock.now() >= deadline) {
        throw new ProxyError('conversation_busy', 'This conversation is already answering another request; retry when it has finished.', {
          retryAfterMs: 1_000,
        });
      }
      await this.opts.clock.sleep(LOCK_POLL_MS, signal);
    }
  }
}

function wrapTurn(events: AsyncIterable<ChatEvent>, turn: { accountId: string; abandon(): void }, promptText: string, onAbandon?: () => void): StartedTurn {
  let started = false;
  return {
    events: {
      [Symbol.asyncIterator]() {
        started = true;
        return events[Symbol.asyncIterator]();
      },
    },
    get accountId() {
      return turn.accountId;
    },
    promptText,
    abandon() {
      if (started) return;
      turn.abandon();
      onAbandon?.();
    },
  };
}
