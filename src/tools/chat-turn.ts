/**
 * The tool emulation's two hooks into a chat turn (used by conversations/chat-service.ts):
 * the upstream message rendered in the tool dialect, and the event pipeline with its repair
 * turns on the same upstream chat and account.
 */
import type { ChatEvent } from '../core/chat-event.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import { foldMessages } from '../conversations/fold.js';
import type { ChatMessage } from '../conversations/messages.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { Relay, RelayTurn } from '../relay/relay.js';
import type { ToolNoteSink } from './notes.js';
import { renderToolConversation, usesToolRendering } from './history.js';
import { toolPipeline } from './pipeline.js';
import { SchemaCache } from './schema-cache.js';
import { ToolSets } from './tool-sets.js';
import type { SchemaMismatchPolicy } from './tool-calls.js';
import type { AttemptFailure } from '../relay/attempt-loop.js';

/** The tool-call and JSON-output emulation's settings (docs/tools.md). */
export interface ToolOptions {
  schemas: SchemaCache;
  /** Offered tool sets checked and rendered once (built on `schemas`). */
  toolSets: ToolSets;
  /** Repair turns on the same upstream chat when a call or JSON answer cannot be used. */
  repairTurns: number;
  schemaMismatch: SchemaMismatchPolicy;
  /** Longer tool results are cut to their head and tail. */
  resultMaxChars: number;
  /** Drift, parse failures, schema mismatches and repairs (metrics and debug logs). */
  onNote?: ToolNoteSink;
}

export function defaultToolOptions(): ToolOptions {
  const schemas = new SchemaCache();
  return { schemas, toolSets: new ToolSets(schemas), repairTurns: 1, schemaMismatch: 'forward', resultMaxChars: 100_000 };
}

export interface ToolTurnInput {
  model: ResolvedModel;
  messages: ChatMessage[];
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  signal: AbortSignal;
  onUpstreamFailure?: (failure: AttemptFailure) => void;
}

/** The one upstream message of a turn, and the system texts inside it (repeated on every step of a session). */
export interface FoldedPrompt {
  text: string;
  systemTexts: string[];
}

/**
 * The one upstream message for `messages` (all of the request's, or only the new ones); with
 * tools or JSON output, the conversation in the tool dialect. A continued chat already has
 * the instructions: it gets only the short reminder.
 */
export function foldTurn(messages: ChatMessage[], input: ToolTurnInput, continuing: boolean, opts: ToolOptions): FoldedPrompt {
  const rendered =
    !usesToolRendering(messages, input) && !usesToolRendering(input.messages, input)
      ? messages
      : renderToolConversation(messages, {
          ...(input.tools ? { tools: input.tools } : {}),
          ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
          resultMaxChars: opts.resultMaxChars,
          systemPrompt: (tools) => opts.toolSets.systemPrompt(tools),
          callsFrom: input.messages,
          continuing,
        });
  return { text: foldMessages(rendered), systemTexts: rendered.filter((m) => m.role === 'system').map((m) => m.content) };
}

/** Tool calls and JSON output read out of the answer; repair turns continue the same chat and account. */
export function withTools(events: AsyncIterable<ChatEvent>, turn: RelayTurn, relay: Relay, input: ToolTurnInput, opts: ToolOptions): AsyncIterable<ChatEvent> {
  if (!usesToolRendering(input.messages, input)) return events;
  return toolPipeline(events, {
    ...(input.tools ? { tools: input.tools } : {}),
    ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
    schemas: opts.schemas,
    repairTurns: opts.repairTurns,
    schemaMismatch: opts.schemaMismatch,
    ...(opts.onNote ? { onNote: opts.onNote } : {}),
    followUp: async (text, after) =>
      (
        await relay.open({
          upstream: { text, model: input.model, ...(after.chatId ? { chatId: after.chatId } : {}), ...(after.assistantMessageId ? { parentId: after.assistantMessageId } : {}) },
          accountId: turn.accountId,
          signal: input.signal,
          onFailure: input.onUpstreamFailure,
        })
      ).events,
  });
}
