/**
 * Runs an auxiliary call (detect.ts) the cheap way: never a conversation (not even an
 * implicit one, so nothing is saved and nothing counts as a turn), a temporary Kimi chat
 * deleted as soon as the reply ends, a short prompt, search and thinking off, optionally
 * another model (AUXILIARY_MODEL), or no Kimi call at all for titles (AUXILIARY_LOCAL_TITLES).
 */
import type { ChatEvent } from '../core/chat-event.js';
import { estimateTokens } from '../core/tokens.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { Relay, RelayRequest } from '../relay/relay.js';
import type { Janitor } from '../conversations/janitor.js';
import { auxiliaryPrompt, cheapModel, localEvents, localTitle, reshaped } from './cheap-answer.js';
import type { AuxiliaryCall } from './detect.js';
import type { AuxiliarySignature, AuxiliaryTask } from './signatures.js';

export interface AuxiliaryOptions {
  /** The table (built-in signatures plus AUXILIARY_SIGNATURES). Empty: detection is off. */
  signatures: readonly AuxiliarySignature[];
  /** Titles are made from the first words of the first user message, without Kimi. */
  localTitles: boolean;
  /** The model auxiliary calls run on instead of the requested one (AUXILIARY_MODEL). */
  model?: () => Promise<ResolvedModel | undefined>;
}

/** How an auxiliary request was answered, for the request log and metrics. */
export interface AuxiliaryMark {
  task: AuxiliaryTask;
  client: string;
  answeredBy: 'kimi' | 'local';
}

export interface AuxiliaryTurn {
  events: AsyncIterable<ChatEvent>;
  /** The account serving the call ('' when answered locally). */
  readonly accountId: string;
  readonly promptTokens: number;
  auxiliary: AuxiliaryMark;
  abandon(): void;
}

export interface AuxiliaryDeps {
  relay: Pick<Relay, 'open'>;
  janitor: Pick<Janitor, 'schedule'>;
  options: AuxiliaryOptions;
}

export async function startAuxiliaryTurn(
  deps: AuxiliaryDeps,
  call: AuxiliaryCall,
  requested: ResolvedModel,
  signal: AbortSignal,
  onFailure?: RelayRequest['onFailure'],
): Promise<AuxiliaryTurn> {
  const mark = (answeredBy: AuxiliaryMark['answeredBy']): AuxiliaryMark => ({ task: call.task, client: call.client, answeredBy });
  if (call.task === 'title' && deps.options.localTitles) {
    const title = localTitle(call.excerpt);
    const text = call.jsonKey ? JSON.stringify({ [call.jsonKey]: title }) : title;
    return { events: localEvents(text), accountId: '', promptTokens: 0, auxiliary: mark('local'), abandon: () => undefined };
  }
  const model = cheapModel((await deps.options.model?.()) ?? requested);
  const text = auxiliaryPrompt(call);
  const turn = await deps.relay.open({ upstream: { text, model }, signal, onFailure });
  let chatId: string | undefined;
  const { janitor } = deps;
  async function* run(): AsyncGenerator<ChatEvent> {
    try {
      for await (const ev of reshaped(turn.events, call)) {
        if (ev.type === 'meta' && ev.chatId) chatId = ev.chatId;
        yield ev;
      }
    } finally {
      // Whatever happened, the temporary chat goes at once: auxiliary chats are never kept.
      if (chatId) void janitor.schedule(turn.accountId, chatId).catch(() => undefined);
    }
  }
  return {
    events: run(),
    get accountId() {
      return turn.accountId;
    },
    promptTokens: estimateTokens(text),
    auxiliary: mark('kimi'),
    abandon: () => turn.abandon(),
  };
}
