/** OpenAI request messages → the neutral messages the proxy works with. */
import { attachmentMarker, type Attachment } from '../attachments/attachment.js';
import { openAIAttachment } from '../attachments/openai-parts.js';
import type { ToolCall } from '../core/chat-event.js';
import { ProxyError } from '../core/errors.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: Role;
  content: string;
  /** Tool name or participant name, when the client gave one. */
  name?: string;
  /** Assistant turns: the calls the model made (their results follow as `tool` messages). */
  toolCalls?: ToolCall[];
  /** Tool results: the id of the call this message answers. */
  toolCallId?: string;
  /** Images and documents, in order; `content` marks where each stood among the text parts. */
  attachments?: Attachment[];
}

export interface IncomingMessage {
  role: string;
  content?: unknown;
  name?: unknown;
  tool_call_id?: unknown;
  /** Assistant turns: `[{id, type:"function", function:{name, arguments}}]`. */
  tool_calls?: unknown;
  /** Legacy assistant turns (`functions` API): one call without an id. */
  function_call?: unknown;
}

const ROLE_MAP: Record<string, Role> = {
  system: 'system',
  developer: 'system', // OpenAI's o-series name for system instructions (NextChat sends it)
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
};

/**
 * Flattens content parts to text, collecting images and documents as attachments (a marker
 * in the text keeps their place). A part the proxy cannot forward is rejected with 400 naming
 * it: silently dropping it would make the model claim it "cannot see" it.
 */
function readContent(content: unknown, path: string, counter: { n: number }): { text: string; attachments: Attachment[] } {
  const attachments: Attachment[] = [];
  if (content === null || content === undefined) return { text: '', attachments };
  if (typeof content === 'string') return { text: content, attachments };
  if (!Array.isArray(content)) {
    throw new ProxyError('invalid_request', `${path} must be a string or an array of content parts.`, { param: path });
  }
  const texts: string[] = [];
  content.forEach((part: unknown, j) => {
    const p = part as { type?: unknown; text?: unknown } | null;
    const type = typeof p?.type === 'string' ? p.type : undefined;
    if (type === 'text' || type === 'input_text') {
      if (typeof p?.text !== 'string') throw new ProxyError('invalid_request', `${path}[${j}].text must be a string.`, { param: `${path}[${j}].text` });
      texts.push(p.text);
      return;
    }
    const attachment = openAIAttachment(part, `${path}[${j}]`, counter);
    attachments.push(attachment);
    texts.push(attachmentMarker(attachment));
  });
  return { text: texts.join('\n'), attachments };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Arguments as JSON text: clients send a string; an object is accepted and serialised. */
function argumentsText(v: unknown): string {
  if (typeof v === 'string') return v;
  return v === undefined || v === null ? '{}' : JSON.stringify(v);
}

function toolCallsOf(m: IncomingMessage, i: number): ToolCall[] | undefined {
  if (m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls)) throw new ProxyError('invalid_request', `messages[${i}].tool_calls must be an array.`, { param: `messages[${i}].tool_calls` });
    const calls = m.tool_calls.map((c: unknown, j): ToolCall => {
      const call = c as { id?: unknown; function?: { name?: unknown; arguments?: unknown } } | null;
      const name = str(call?.function?.name);
      if (!name) throw new ProxyError('invalid_request', `messages[${i}].tool_calls[${j}].function.name must be a string.`, { param: `messages[${i}].tool_calls[${j}].function.name` });
      return { id: str(call?.id) ?? `call_${i}_${j}`, name, arguments: argumentsText(call?.function?.arguments) };
    });
    return calls.length > 0 ? calls : undefined;
  }
  const legacy = m.function_call as { name?: unknown; arguments?: unknown } | null | undefined;
  const name = str(legacy?.name);
  // Legacy calls have no id: the function result that follows is matched by position.
  return name ? [{ id: `call_legacy_${i}`, name, arguments: argumentsText(legacy?.arguments) }] : undefined;
}

export function normalizeMessages(messages: IncomingMessage[]): ChatMessage[] {
  let legacyCallId: string | undefined;
  const counter = { n: 0 };
  return messages.map((m, i) => {
    // Own keys only: "constructor", "toString" or "__proto__" are not roles.
    const role = Object.hasOwn(ROLE_MAP, m.role) ? ROLE_MAP[m.role] : undefined;
    if (!role) {
      throw new ProxyError('invalid_request', `messages[${i}].role "${String(m.role).slice(0, 40)}" is not one of system, developer, user, assistant, tool.`, {
        param: `messages[${i}].role`,
      });
    }
    const { text, attachments } = readContent(m.content, `messages[${i}].content`, counter);
    const out: ChatMessage = { role, content: text };
    if (attachments.length > 0) out.attachments = attachments;
    if (typeof m.name === 'string' && m.name) out.name = m.name;
    if (role === 'assistant') {
      const calls = toolCallsOf(m, i);
      if (calls) out.toolCalls = calls;
      legacyCallId = m.function_call ? calls?.[0]?.id : undefined;
    } else if (role === 'tool') {
      const id = str(m.tool_call_id) ?? (m.role === 'function' ? legacyCallId : undefined);
      if (id !== undefined) out.toolCallId = id;
    }
    return out;
  });
}
