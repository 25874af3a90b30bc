/**
 * Turns a validated chat request into one upstream turn:
 * - stateless: a new upstream chat with the history folded in; deleted afterwards, or kept
 *   as an implicit conversation (CONVERSATION_REUSE=auto) so that a client resending this
 *   exact history continues it instead of starting over;
 * - stateful: a conversation bound to an upstream chat and its account, continued with only
 *   what is new, branched on edits, migrated when its account becomes unusable.
 * Nothing here knows the upstream protocol beyond "can it branch".
 */
import { startAuxiliaryTurn, type AuxiliaryMark, type AuxiliaryOptions } from '../auxiliary/auxiliary-turn.js';
import { detectAuxiliary } from '../auxiliary/detect.js';
import { filesOf } from '../attachments/attachment.js';
import type { KeptFiles } from '../attachments/kept-files.js';
import type { InlineData } from '../attachments/inline-data.js';
import type { AttachmentResolver } from '../attachments/resolve.js';
import type { ChatEvent } from '../core/chat-event.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { Relay, RelayRequest, RelayTurn } from '../relay/relay.js';
import type { ConversationRecord, Store, TranscriptMessage } from '../store/store.js';
import { defaultToolOptions, foldTurn, withTools, type FoldedPrompt, type ToolOptions } from '../tools/chat-turn.js';
import { PromptTokenCounter } from '../core/prompt-tokens.js';
import { checkResponseFormat } from '../tools/tool-request.js';
import type { KimiProtocol } from '../upstream/kimi/types.js';
import { ConversationLocks, type Unlock } from './conversation-lock.js';
import { fingerprint } from './fingerprint.js';
import type { Janitor } from './janitor.js';
import { continueOnLength } from './length-continuation.js';
import type { ChatMessage } from './messages.js';
import { planTurn, type TurnPlan } from './turn-plan.js';
import { conversationAfterTurn, reuseContext } from './turn-record.js';
import { newOutcome, tapTurn, type TurnOutcome } from './turn-tap.js';
import type { AttemptFailure } from '../relay/attempt-loop.js';

export interface ChatServiceOptions {
  relay: Relay;
  store: Store;
  janitor: Janitor;
  clock: Clock;
  protocol: KimiProtocol;
  deleteTempChats: boolean;
  conversationReuse: 'auto' | 'off';
  lengthContinuations: number;
  /** Bounded wait for a busy conversation before answering 409. */
  conversationWaitMs: number;
  /** Upper bound of one turn; a conversation lock never outlives it. */
  turnTimeoutMs: number;
  newConversationId: () => string;
  /** Tool-call and JSON-output emulation (src/tools); defaults when absent. */
  tools?: ToolOptions;
  /** Background calls of chat clients (titles, tags…) answered cheaply (src/auxiliary); off when absent. */
  auxiliary?: AuxiliaryOptions;
  /** Turns images and documents into checked bytes; absent = attachments are refused. */
  attachments?: AttachmentResolver;
  /** Keeps conversations' attachment bytes for a migration to another account. */
  keptFiles?: KeptFiles;
}

export interface ChatInput {
  /** API key id ('' without keys): conversations are scoped to it. */
  owner: string;
  conversationId?: string;
  model: ResolvedModel;
  messages: ChatMessage[];
  /** Functions offered to the model (emulated: see src/tools). */
  tools?: ToolRequest;
  /** Structured output (`response_format`), emulated by prompt, validation and a repair turn. */
  responseFormat?: ResponseFormat;
  /**
   * The session id an agent client sends with every step (x-session-id, session-id,
   * x-claude-code-session-id, prompt_cache_key…): scopes implicit conversation reuse.
   */
  sessionHint?: string;
  signal: AbortSignal;
  /** The data URLs taken out of the request body before it was parsed (http/body-parser.ts). */
  inline?: InlineData;
  /** Told of each failed upstream attempt and what followed it (retry, failover, migration). */
  onUpstreamFailure?: (failure: AttemptFailure) => void;
}

export interface StartedTurn {
  events: AsyncIterable<ChatEvent>;
  readonly accountId: string;
  /** Estimated tokens of the text sent upstream (`usage.prompt_tokens`). */
  readonly promptTokens: number;
  /** Set when the request was a client's background call answered cheaply (request log, metrics). */
  auxiliary?: AuxiliaryMark;
  abandon(): void;
}

/** Where a turn runs and what it is saved as. */
interface TurnTarget {
  conversationId: string;
  record: ConversationRecord | undefined;
  plan: TurnPlan;
  implicit: boolean;
  unlock: Unlock;
}

export class ChatService {
  private readonly locks: ConversationLocks;

  private readonly tools: ToolOptions;

  private readonly promptTokens = new PromptTokenCounter();

  constructor(private readonly opts: ChatServiceOptions) {
    // A lock never outlives its turn: every continuation of the turn included, plus a margin.
    const holdMs = opts.turnTimeoutMs * (opts.lengthContinuations + 1) + 30_000;
    this.locks = new ConversationLocks({ store: opts.store, clock: opts.clock, waitMs: opts.conversationWaitMs, holdMs });
    this.tools = opts.tools ?? defaultToolOptions();
  }

  async start(input: ChatInput): Promise<StartedTurn> {
    if (!input.messages.some((m) => m.role === 'user' || m.role === 'tool')) {
      throw new ProxyError('invalid_request', 'messages must contain at least one user message.', { param: 'messages' });
    }
    // Equal tool sets share one checked instance: the request's own copy is not kept.
    if (input.tools) input = { ...input, tools: this.tools.toolSets.prepare(input.tools) };
    checkResponseFormat(input.responseFormat, this.tools.schemas);
    const aux = this.opts.auxiliary;
    // A background call of a chat client: never a conversation of its own, never a turn.
    const call = aux && !input.conversationId ? detectAuxiliary(input.messages, aux.signatures, input.tools !== undefined || input.responseFormat !== undefined) : undefined;
    if (aux && call) return startAuxiliaryTurn({ relay: this.opts.relay, janitor: this.opts.janitor, options: aux }, call, input.model, input.signal, input.onUpstreamFailure);
    await this.resolveAttachments(input);
    if (input.conversationId) return this.startStateful(input, input.conversationId);
    if (this.opts.conversationReuse === 'auto') return this.startImplicit(input);
    return this.startStateless(input);
  }

  /** Every attachment becomes checked bytes before any upstream work (refusals are the client's 4xx). */
  private async resolveAttachments(input: ChatInput): Promise<void> {
    const carrying = input.messages.find((m) => m.attachments?.length);
    if (!carrying) return;
    if (!this.opts.attachments) {
      const param = carrying.attachments![0]!.param;
      throw new ProxyError('unsupported_content', `${param}: this proxy does not forward attachments.`, { param });
    }
    await this.opts.attachments.resolve(input.messages, { owner: input.owner, signal: input.signal, ...(input.inline ? { inline: input.inline } : {}) });
  }

  /** A throw-away upstream chat, deleted when the turn ends. */
  private async startStateless(input: ChatInput): Promise<StartedTurn> {
    const prompt = this.fold(input.messages, input, false);
    const turn = await this.opts.relay.open({ upstream: { text: prompt.text, model: input.model, ...withFiles(input.messages) }, signal: input.signal, onFailure: input.onUpstreamFailure });
    const outcome = newOutcome();
    const events = tapTurn(this.withTools(this.withContinuation(turn, input), turn, input), outcome, {
      onEnd: this.cleanup(turn, outcome, () => this.opts.deleteTempChats),
    });
    return wrapTurn(events, turn, this.countTokens(prompt));
  }

  /** Stateless request with history reuse: continue the upstream chat that produced this history, if any. */
  private async startImplicit(input: ChatInput): Promise<StartedTurn> {
    const { store } = this.opts;
    const lastAssistant = input.messages.findLastIndex((m) => m.role === 'assistant');
    if (lastAssistant >= 0) {
      const fp = fingerprint(input.messages.slice(0, lastAssistant + 1), reuseContext(input));
      const record = await store.findConversationByFingerprint(input.owner, fp);
      if (record?.implicit && record.protocol === this.opts.protocol) {
        // Never wait here: a parallel request with the same history simply gets its own chat.
        const unlock = await this.locks.tryLock(input.owner, record.id);
        if (unlock) {
          const plan: TurnPlan = { kind: 'continue', fresh: input.messages.slice(lastAssistant + 1) };
          return this.runTurn(input, { conversationId: record.id, record, plan, implicit: true, unlock });
        }
      }
    }
    return this.runTurn(input, {
      conversationId: this.opts.newConversationId(),
      record: undefined,
      plan: { kind: 'restart', fresh: input.messages },
      implicit: true,
      unlock: () => undefined,
    });
  }

  private async startStateful(input: ChatInput, conversationId: string): Promise<StartedTurn> {
    const { store } = this.opts;
    const unlock = await this.locks.lock(input.owner, conversationId, input.signal);
    try {
      const record = await store.getConversation(input.owner, conversationId);
      const plan: TurnPlan = record
        ? planTurn(record.transcript, input.messages, this.opts.protocol === 'connect')
        : { kind: 'restart', fresh: input.messages };
      if (!plan.fresh.some((m) => m.role === 'user' || m.role === 'tool')) {
        throw new ProxyError('invalid_request', 'No new user message to send in this conversation.', { param: 'messages' });
      }
      return await this.runTurn(input, { conversationId, record, plan, implicit: false, unlock });
    } catch (err) {
      unlock();
      throw err;
    }
  }

  /** Opens the upstream turn for a conversation and saves the conversation when it finishes. */
  private async runTurn(input: ChatInput, target: TurnTarget): Promise<StartedTurn> {
    const { record, plan } = target;
    const reuses = record !== undefined && plan.kind !== 'restart';
    const base: TranscriptMessage[] = !record || plan.kind === 'restart' ? [] : plan.kind === 'branch' ? record.transcript.slice(0, plan.keep) : record.transcript;
    let prompt = this.fold(plan.fresh, input, reuses);
    const text = prompt.text;
    // A continued chat already holds the files of its earlier turns: only the new messages' go up.
    const files = withFiles(plan.fresh);
    let request: RelayRequest = { upstream: { text, model: input.model, ...files }, signal: input.signal, onFailure: input.onUpstreamFailure };
    if (reuses) {
      const parentId = plan.kind === 'branch' ? plan.parentId : record.lastAssistantMessageId;
      request = {
        upstream: { text, model: input.model, chatId: record.upstreamChatId, ...(parentId ? { parentId } : {}), ...files },
        accountId: record.accountId,
        // The chat's account is unusable (or the chat is gone): the relay rebuilds the
        // conversation on a healthy account, seeded with the stored transcript, so the user sees no break.
        migrate: () => {
          // The transcript's attachments are descriptions; their markers are in the text already.
          prompt = this.fold([...base.map(({ attachments: _kept, ...m }) => m), ...plan.fresh], input, false);
          // The new chat gets every file of the conversation; the new account uploads its own
          // copies (the cache is per account), earlier turns' bytes read back from the kept files.
          const kept = this.opts.keptFiles;
          const earlier = kept ? base.flatMap((m) => (m.attachments ?? []).map((a) => kept.kept(input.owner, a))) : [];
          const all = [...earlier, ...(files.files ?? [])];
          return { text: prompt.text, model: input.model, ...(all.length > 0 ? { files: all } : {}) };
        },
        signal: input.signal,
        onFailure: input.onUpstreamFailure,
      };
    }

    const turn = await this.opts.relay.open(request);
    const continuing = (): boolean => reuses && !turn.migrated;
    // The previous upstream chat is abandoned by a restart or a migration.
    let oldChatAbandoned = false;
    const abandonOldChat = (): void => {
      if (!record || continuing() || oldChatAbandoned) return;
      oldChatAbandoned = true;
      void this.opts.janitor.schedule(record.accountId, record.upstreamChatId).catch(() => undefined);
    };
    abandonOldChat();

    const outcome = newOutcome(continuing() ? record?.upstreamChatId : undefined);
    const save = async (o: TurnOutcome): Promise<void> => {
      if (!o.chatId) return;
      if (files.files && this.opts.keptFiles) await this.opts.keptFiles.keep(input.owner, filesOf(plan.fresh));
      const { conversationId, implicit } = target;
      const shaped = { conversationId, owner: input.owner, protocol: this.opts.protocol, model: input.model.requestedId, previous: record, base, fresh: plan.fresh, implicit, reuse: input };
      const run = { accountId: turn.accountId, chatId: o.chatId, outcome: o, continued: continuing(), now: this.opts.clock.now() };
      await this.opts.store.saveConversation(conversationAfterTurn(shaped, run));
    };
    // A chat this turn created that never got saved is an orphan: delete it.
    const unlock = (): void => {
      abandonOldChat();
      target.unlock();
    };
    const events = tapTurn(this.withTools(this.withContinuation(turn, input), turn, input), outcome, {
      onFinish: save,
      onEnd: this.cleanup(turn, outcome, () => !continuing(), unlock),
    });
    return wrapTurn(events, turn, this.countTokens(prompt), target.unlock);
  }

  private fold(messages: ChatMessage[], input: ChatInput, continuing: boolean): FoldedPrompt {
    const prompt = foldTurn(messages, input, continuing, this.tools);
    // A data URL taken out of the body belongs to an attachment; its placeholder is never text for Kimi.
    for (const placeholder of input.inline?.keys() ?? []) {
      if (prompt.text.includes(placeholder)) throw new ProxyError('internal_error', 'A data URL taken out of the request body reached the text of the prompt.');
    }
    return prompt;
  }

  /** Counted once the turn is open, so that a migration's re-folded text is what counts. */
  private countTokens(prompt: FoldedPrompt): number {
    return this.promptTokens.estimate(prompt.text, prompt.systemTexts);
  }

  private withTools(events: AsyncIterable<ChatEvent>, turn: RelayTurn, input: ChatInput): AsyncIterable<ChatEvent> {
    return withTools(events, turn, this.opts.relay, input, this.tools);
  }

  private withContinuation(turn: RelayTurn, input: ChatInput): AsyncIterable<ChatEvent> {
    // Only REST streams name the segment a continuation resumes (spec A.4); on Connect there
    // is nothing to continue, and the layer would cost every event a generator step.
    if (this.opts.lengthContinuations === 0 || this.opts.protocol === 'connect') return turn.events;
    return continueOnLength(turn.events, {
      max: this.opts.lengthContinuations,
      open: async (chatId, segmentId) =>
        (
          await this.opts.relay.open({
            upstream: { text: ' ', model: input.model, chatId, continueSegmentId: segmentId },
            accountId: turn.accountId,
            signal: input.signal,
            onFailure: input.onUpstreamFailure,
          })
        ).events,
    });
  }

  /** What runs when the turn's events end: releases the lock and deletes the upstream chat when asked. */
  private cleanup(turn: RelayTurn, outcome: TurnOutcome, deleteChat: () => boolean, unlock?: () => void): () => void {
    return () => {
      const settle = (): void => {
        unlock?.();
        // Saved conversations keep their chat; everything else is temporary.
        const saved = outcome.finished && unlock !== undefined;
        if (outcome.chatId && !saved && deleteChat()) void this.opts.janitor.schedule(turn.accountId, outcome.chatId).catch(() => undefined);
      };
      // The reader left early and the turn is still being followed to its end: decide then.
      if (outcome.following) void outcome.following.then(settle);
      else settle();
    };
  }
}

/** The upstream `files` field for the attachments of `messages` (absent when there are none). */
function withFiles(messages: ReadonlyArray<{ attachments?: ChatMessage['attachments'] }>): { files?: ReturnType<typeof filesOf> } {
  const files = filesOf(messages);
  return files.length > 0 ? { files } : {};
}

function wrapTurn(events: AsyncIterable<ChatEvent>, turn: RelayTurn, promptTokens: number, onAbandon?: () => void): StartedTurn {
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
    promptTokens,
    abandon() {
      if (started) return;
      turn.abandon();
      onAbandon?.();
    },
  };
}
