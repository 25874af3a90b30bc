/** OpenAI request messages → the neutral messages the proxy works with. */
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
}

export interface IncomingMessage {
  role: string;
  content?: unknown;
  name?: unknown;
  tool_call_id?: unknown;
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
 * Flattens content parts to text. A part the proxy cannot forward is rejected with 400
 * naming it: silently dropping an image would make the model claim it "cannot see" it.
 */
function contentToText(content: unknown, path: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
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
    const shown = type === undefined ? 'a part without a type' : `content part type "${type.slice(0, 40)}"`;
    throw new ProxyError('unsupported_content', `${path}[${j}]: ${shown} cannot be forwarded to Kimi by this proxy; only text parts are supported.`, {
      param: `${path}[${j}].type`,
    });
  });
  return texts.join('\n');
}

export function normalizeMessages(messages: IncomingMessage[]): ChatMessage[] {
  return messages.map((m, i) => {
    // Own keys only: "constructor", "toString" or "__proto__" are not roles.
    const role = Object.hasOwn(ROLE_MAP, m.role) ? ROLE_MAP[m.role] : undefined;
    if (!role) {
      throw new ProxyError('invalid_request', `messages[${i}].role "${String(m.role).slice(0, 40)}" is not one of system, developer, user, assistant, tool.`, {
        param: `messages[${i}].role`,
      });
    }
    const out: ChatMessage = { role, content: contentToText(m.content, `messages[${i}].content`) };
    if (typeof m.name === 'string' && m.name) out.name = m.name;
    return out;
  });
}
