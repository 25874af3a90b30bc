/**
 * Re-renders a conversation with tool calls in the canonical dialect before it is folded
 * into Kimi's one message: earlier assistant calls from the client's neutral `toolCalls`
 * (never from the model's drifted text), tool results as labelled data records carrying the
 * call's id, name and arguments, client text with our markers neutralised, and the injected
 * instructions after the client's system text.
 */
import type { ToolCall } from '../core/chat-event.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import type { ChatMessage } from '../conversations/messages.js';
import { CALLS_CLOSE, CALLS_OPEN, INVOKE_CLOSE, P, PC, PARAM_CLOSE, RESULT_CLOSE, escapeMarkers, invokeOpen, paramOpen, resultOpen } from './markers.js';
import { jsonFormatPrompt, jsonReminder, toolReminder, toolSystemPrompt } from './prompt.js';

export interface RenderToolOptions {
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  /** Longer tool results keep their head and tail around a note. */
  resultMaxChars: number;
  /** The instructions for the offered tools (default: rendered anew). */
  systemPrompt?: (tools: ToolRequest) => string;
  /** Where the calls that results answer are looked up (the whole request when only new messages are rendered). */
  callsFrom?: readonly ChatMessage[];
  /** The upstream chat already has the instructions: add only the reminder. */
  continuing?: boolean;
}

/** A string value as the dialect carries it: raw, in CDATA when it could be mistaken for markup. */
function renderValue(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  if (!value.includes('<') && !value.includes(']]>') && !/^\r?\n|\r?\n$/.test(value)) return value;
  return `<![CDATA[${value.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

export function renderCallBlock(calls: readonly ToolCall[]): string {
  const lines = [CALLS_OPEN];
  for (const call of calls) {
    lines.push(invokeOpen(call.name));
    let args: unknown;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      args = undefined;
    }
    if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
      for (const [k, v] of Object.entries(args)) lines.push(`${paramOpen(k)}${renderValue(v)}${PARAM_CLOSE}`);
    } else if (call.arguments.trim() !== '') {
      // Arguments that were never a JSON object (a client's own history) travel as they are.
      lines.push(`${paramOpen('input')}${renderValue(call.arguments)}${PARAM_CLOSE}`);
    }
    lines.push(INVOKE_CLOSE);
  }
  lines.push(CALLS_CLOSE);
  return lines.join('\n');
}

function budget(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.7);
  const tail = max - head;
  return `${text.slice(0, head)}\n[… ${text.length - head - tail} characters of this result omitted …]\n${text.slice(text.length - tail)}`;
}

const ARGS_IN_RESULT_MAX = 2_000;

export function renderResult(callId: string, call: ToolCall | undefined, content: string, maxChars: number): string {
  const args = call ? escapeMarkers(call.arguments.length > ARGS_IN_RESULT_MAX ? `${call.arguments.slice(0, ARGS_IN_RESULT_MAX)}…` : call.arguments) : '';
  return [
    resultOpen(callId, call?.name ?? 'unknown'),
    ...(call ? [`${P}arguments>${args}${PC}arguments>`] : []),
    `${P}output>`,
    escapeMarkers(budget(content, maxChars)),
    `${PC}output>`,
    RESULT_CLOSE,
  ].join('\n');
}

/** True when the conversation needs the tool rendering (functions offered, JSON asked, or calls in history). */
export function usesToolRendering(messages: readonly ChatMessage[], opts: { tools?: ToolRequest; responseFormat?: ResponseFormat }): boolean {
  return (
    (opts.tools !== undefined && opts.tools.tools.length > 0) ||
    (opts.responseFormat !== undefined && opts.responseFormat.kind !== 'text') ||
    messages.some((m) => m.toolCalls !== undefined || m.toolCallId !== undefined)
  );
}

export function renderToolConversation(messages: readonly ChatMessage[], opts: RenderToolOptions): ChatMessage[] {
  const calls = new Map<string, ToolCall>();
  for (const m of opts.callsFrom ?? messages) for (const c of m.toolCalls ?? []) calls.set(c.id, c);

  const out: ChatMessage[] = messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'assistant': {
        const text = escapeMarkers(m.content);
        if (!m.toolCalls?.length) return { ...m, content: text };
        return { role: 'assistant', content: text.trim() ? `${text}\n\n${renderCallBlock(m.toolCalls)}` : renderCallBlock(m.toolCalls) };
      }
      case 'tool': {
        const id = m.toolCallId ?? '';
        const call = calls.get(id) ?? (m.name ? { id, name: m.name, arguments: '' } : undefined);
        return { role: 'tool', toolCallId: id, content: renderResult(id, call, m.content, opts.resultMaxChars) };
      }
      default:
        return { ...m, content: escapeMarkers(m.content) };
    }
  });

  const offer = opts.tools && opts.tools.tools.length > 0 && opts.tools.choice.kind !== 'none' ? opts.tools : undefined;
  const format = opts.responseFormat;
  const system = [offer ? (opts.systemPrompt ?? toolSystemPrompt)(offer) : undefined, format ? jsonFormatPrompt(format) : undefined].filter((s): s is string => s !== undefined);
  const reminder = [offer ? toolReminder(offer) : undefined, format ? jsonReminder(format) : undefined].filter((s): s is string => s !== undefined);
  if (system.length > 0 && opts.continuing !== true) {
    const lastSystem = out.findLastIndex((m) => m.role === 'system');
    out.splice(lastSystem + 1, 0, { role: 'system', content: system.join('\n\n') });
  }
  const last = out.length - 1;
  if (reminder.length > 0 && last >= 0 && out[last]!.role !== 'assistant') {
    out[last] = { ...out[last]!, content: `${out[last]!.content}\n\n${reminder.join(' ')}` };
  }
  return out;
}
