/**
 * What a finished turn is saved as: the conversation record, its transcript, and the context
 * an implicit conversation is found again by.
 */
import { filesOf } from '../attachments/attachment.js';
import { storedAttachments } from '../attachments/kept-files.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import type { ConversationRecord, TranscriptMessage } from '../store/store.js';
import type { KimiProtocol } from '../upstream/kimi/types.js';
import { fingerprint } from './fingerprint.js';
import type { ChatMessage } from './messages.js';
import type { TurnOutcome } from './turn-tap.js';

/** The parts of a request that decide whether it may continue an implicit conversation. */
export interface ReuseScope {
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  sessionHint?: string;
}

/**
 * What must match, besides the messages, for a request to continue an implicit conversation:
 * the offered functions and the output format (their instructions are in that upstream chat;
 * a request offering others cannot continue it), and the client's session hint, so that two
 * agent sessions with the same opening never continue each other's chat.
 */
export function reuseContext(scope: ReuseScope): string {
  if (!scope.tools && !scope.responseFormat && !scope.sessionHint) return '';
  return JSON.stringify([scope.tools?.tools ?? [], scope.responseFormat ?? null, scope.sessionHint ?? null]);
}

/** Client messages as stored; a tool result that names no call has nothing to pair with and is dropped. */
export function toTranscript(messages: ChatMessage[]): TranscriptMessage[] {
  return messages
    .filter((m) => m.role !== 'tool' || m.toolCallId !== undefined)
    .map((m) => ({
      role: m.role,
      content: m.content,
      ...(m.toolCalls ? { toolCalls: m.toolCalls } : {}),
      ...(m.toolCallId !== undefined ? { toolCallId: m.toolCallId } : {}),
      ...(filesOf([m]).length > 0 ? { attachments: storedAttachments(filesOf([m])) } : {}),
    }));
}

/** A conversation's turn as the request shaped it, before it ran. */
export interface TurnToRecord {
  conversationId: string;
  owner: string;
  protocol: KimiProtocol;
  /** The model id the client asked for. */
  model: string;
  /** The stored conversation the turn continued, branched or restarted (none for a new one). */
  previous: ConversationRecord | undefined;
  /** The stored transcript the turn builds on: empty on a restart, cut at the branch point. */
  base: TranscriptMessage[];
  /** The messages the turn sent. */
  fresh: ChatMessage[];
  implicit: boolean;
  reuse: ReuseScope;
}

/** How the turn ran: on which account, into which upstream chat, and whether it continued the previous one. */
export interface TurnRun {
  accountId: string;
  /** The upstream chat the turn ended in. */
  chatId: string;
  outcome: TurnOutcome;
  /** The turn continued the previous upstream chat (neither restarted nor migrated). */
  continued: boolean;
  now: number;
}

export function conversationAfterTurn(turn: TurnToRecord, run: TurnRun): ConversationRecord {
  const o = run.outcome;
  const { previous } = turn;
  const transcript: TranscriptMessage[] = [
    ...turn.base,
    ...toTranscript(turn.fresh),
    {
      role: 'assistant',
      content: o.answer,
      ...(o.assistantMessageId ? { upstreamId: o.assistantMessageId } : {}),
      ...(o.toolCalls.length > 0 ? { toolCalls: o.toolCalls } : {}),
    },
  ];
  const next: ConversationRecord = {
    id: turn.conversationId,
    owner: turn.owner,
    accountId: run.accountId,
    protocol: turn.protocol,
    model: turn.model,
    upstreamChatId: run.chatId,
    transcript,
    createdAt: previous?.createdAt ?? run.now,
    updatedAt: run.now,
  };
  const parent = o.assistantMessageId ?? (run.continued ? previous?.lastAssistantMessageId : undefined);
  if (parent) next.lastAssistantMessageId = parent;
  if (turn.implicit) {
    next.implicit = true;
    next.fingerprint = fingerprint(transcript, reuseContext(turn.reuse));
  }
  return next;
}
